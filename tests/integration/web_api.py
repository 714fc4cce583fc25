#!/usr/bin/python3
"""kiosk-web's API against a real store (tests/integration/web_api.sh builds it).

Generated from docs/openapi.yaml: every operation as every role (anonymous, operator,
technician, bank ICBC, bank PSBC, bureau) must answer as its x-roles say; a bank's user
never receives another bank's terminals, incidents, bills or disputes from any route;
bad input gets the documented error and changes nothing; the file and the server's route
table (kiosk-web --routes) must name the same routes, roles and parameters.
Standard library and Debian's python3-yaml only.
"""
import argparse
import datetime
import gzip
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

import yaml

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, file=sys.stderr)


class Web:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port

    def req(self, method, path, body=None, headers=None, raw=False):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            h.setdefault("Content-Type", "application/json")
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        if data is not None:
            conn.send(data)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, payload


class Who:
    """A caller: anonymous, a session (cookie + CSRF) or a token."""

    def __init__(self, name, role, bank=None, cookie=None, csrf=None, token=None):
        self.name, self.role, self.bank = name, role, bank
        self.cookie, self.csrf, self.token = cookie, csrf, token

    def headers(self, unsafe=False):
        h = {}
        if self.cookie:
            h["Cookie"] = "kf_session=" + self.cookie
            if unsafe and self.csrf:
                h["X-CSRF-Token"] = self.csrf
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        return h


def login(web, user, pw="pass-word-operator"):
    st, h, body = web.req("POST", "/api/v1/session", {"user": user, "password": pw})
    if st != 200:
        return st, None
    cookie = h.get("set-cookie", "")
    check("HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie,
          f"session cookie attributes: {cookie}")
    sid = cookie.split(";")[0].split("=", 1)[1]
    j = json.loads(body)
    return st, (sid, j)


def problem_ok(st, h, body, what):
    check(h.get("content-type", "").startswith("application/problem+json"),
          f"{what}: {st} is not a problem+json ({h.get('content-type')})")
    try:
        p = json.loads(body)
        check(p.get("status") == st and "title" in p and "detail" in p and "type" in p,
              f"{what}: problem fields {p}")
    except ValueError:
        check(False, f"{what}: problem body is not JSON: {body[:80]!r}")


def db_state(db):
    """What must not change when a request is refused."""
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return tuple(c.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM sla_actions",
            "SELECT count(*) FROM bill_disputes",
            "SELECT count(*) FROM audit_log",
            "SELECT count(*) FROM users",
            "SELECT count(*) FROM cmd_requests",
            "SELECT count(*) FROM commands",
            "SELECT count(*) FROM sqlite_master",
            "SELECT group_concat(state) FROM sla_incidents"))
    finally:
        c.close()


def compare_routes(spec, routes):
    ops = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            q = set()
            for p in op.get("parameters", []):
                if "$ref" in p:
                    p = spec["components"]["parameters"][p["$ref"].split("/")[-1]]
                if p["in"] == "query":
                    q.add(p["name"])
            ops[(method.upper(), path)] = (set(op.get("x-roles", [])), q)
    table = {(r["method"], r["path"]): (set(r["roles"]),
                                        set((r["params"] or "").split(",")) - {""})
             for r in routes}
    for k in sorted(set(ops) - set(table)):
        check(False, f"{k} is in docs/openapi.yaml but not in the route table")
    for k in sorted(set(table) - set(ops)):
        check(False, f"{k} is in the route table but not in docs/openapi.yaml")
    for k in sorted(set(ops) & set(table)):
        check(ops[k][0] == table[k][0], f"{k}: x-roles {ops[k][0]} != table {table[k][0]}")
        check(ops[k][1] == table[k][1], f"{k}: parameters {ops[k][1]} != table {table[k][1]}")
    return ops


def example_path(spec, path, op):
    for p in op.get("parameters", []):
        if "$ref" in p:
            continue
        if p["in"] == "path":
            path = path.replace("{%s}" % p["name"], urllib.parse.quote(str(p["example"]), safe=""))
    q = {}
    for p in op.get("parameters", []):
        if "$ref" not in p and p["in"] == "query" and p.get("required"):
            q[p["name"]] = p["example"]
    return path + ("?" + urllib.parse.urlencode(q) if q else "")


# What belongs to which bank in the store web_api.sh builds.
OWN = {"ICBC": ["A-000001", "KF-XH-0001", "ICBC-0000"], "PSBC": ["A-000002", "KF-XH-0002", "PSBC-0000"]}


def other_bank_leak(who, body):
    if who.role != "bank":
        return None
    other = "PSBC" if who.bank == "ICBC" else "ICBC"
    text = body.decode("utf-8", "replace")
    for marker in OWN[other]:
        if marker in text:
            return marker
    return None


# Documents the store holds none of (an assessment needs a rubric and half a year).
ABSENT = {"/api/v1/assessments/{period}", "/api/v1/outages/{id}", "/api/v1/outages/{id}/actions",
          "/api/v1/commands/{id}", "/api/v1/command-requests/{id}", "/api/v1/rollouts/{id}",
          "/api/v1/rollouts/{id}/halt", "/api/v1/rollouts/{id}/resume",
          "/api/v1/commands/{id}/logs"}


def body_for(path, who):
    if path == "/api/v1/incidents/actions":
        return {"kind": "note", "text": f"web test by {who.name}", "ids": [1]}
    if path.endswith("/actions"):
        return {"kind": "note", "text": f"web test by {who.name}"}
    if path.endswith("/disputes"):
        return {"line": 1, "reason": f"web test by {who.name}"}
    if path == "/api/v1/commands":
        return {"kind": "probe", "reason": f"web test by {who.name}", "targets": {"zone": "Z-XH-001"}}
    if path.startswith("/api/v1/rollouts/"):
        return {"reason": f"web test by {who.name}"}
    return None


def every_route_every_role(web, spec, ops, callers, db):
    for (method, path), (roles, _) in sorted(ops.items()):
        op = spec["paths"][path][method.lower()]
        if (method, path) == ("DELETE", "/api/v1/session") or path == "/api/v1/events":
            continue  # below
        for who in callers:
            role_key = "public" if who.role is None else who.role
            allowed = "public" in roles or role_key in roles
            url = example_path(spec, path, op)
            if who.role == "bank" and who.bank == "PSBC":
                # the examples are ICBC's: for PSBC's user they do not exist
                pass
            before = db_state(db)
            body = body_for(path, who) if method == "POST" and path != "/api/v1/session" else None
            if path == "/api/v1/session" and method == "POST":
                body = {"user": "nobody-" + who.name, "password": "wrong-password"}
            st, h, payload = web.req(method, url, body, who.headers(unsafe=method != "GET"))
            what = f"{method} {url} as {who.name}"
            if path == "/api/v1/session" and method == "POST":
                check(st == 401, f"{what}: wrong login answered {st}")
                continue
            if not allowed:
                check(st == (401 if who.role is None else 403), f"{what}: refused role got {st}")
                problem_ok(st, h, payload, what)
                check(db_state(db) == before, f"{what}: a refused call changed the store")
                continue
            leak = other_bank_leak(who, payload) if st < 300 else None
            check(leak is None, f"{what}: {who.bank}'s user received {leak}")
            example_is_other_bank = who.role == "bank" and who.bank == "PSBC" and any(
                m in url for m in OWN["ICBC"] + ["/incidents/1"])
            if example_is_other_bank:
                check(st == 404, f"{what}: another bank's object answered {st}")
                problem_ok(st, h, payload, what)
                check(db_state(db) == before, f"{what}: a call on another bank's object changed the store")
                continue
            if path in ABSENT and st == 404:
                check(db_state(db) == before, f"{what}: a 404 changed the store")
                continue  # nothing of the kind in this store
            if method == "POST":
                check(st == 202, f"{what}: allowed action answered {st}: {payload[:200]!r}")
                check(db_state(db) != before, f"{what}: an accepted action changed nothing")
            else:
                check(st == 200, f"{what}: allowed read answered {st}: {payload[:200]!r}")
                check("etag" in h or path in ("/metrics",), f"{what}: no ETag")
                if h.get("content-type", "").startswith("application/json"):
                    j = json.loads(payload)
                    if "limit" in (r for r in ops[(method, path)][1]):
                        check(isinstance(j.get("items"), list) and "total" in j,
                              f"{what}: not a list envelope")
                    if who.role == "bank":
                        for row in j.get("items", []) if isinstance(j, dict) else []:
                            b = row.get("bank")
                            if b is not None and "public" not in roles and path not in (
                                    "/api/v1/zones", "/api/v1/usage"):
                                check(b == who.bank, f"{what}: row of bank {b}")


def bank_documents(web, icbc, psbc, db):
    for who, mine, other in ((icbc, "ICBC-000001", "PSBC-000001"), (psbc, "PSBC-000001", "ICBC-000001")):
        for fmt in ("", "?format=csv", "?format=xlsx", "?format=pdf"):
            st, h, body = web.req("GET", f"/api/v1/bills/{mine}{fmt}", None, who.headers())
            check(st == 200, f"{who.name}: own bill {fmt} {st}")
            if fmt == "?format=csv":
                check(body[:3] == b"\xef\xbb\xbf", "bill CSV has no BOM")
                check("attachment" in h.get("content-disposition", ""), "CSV download name")
            if fmt == "?format=xlsx":
                check(body[:2] == b"PK", "bill XLSX is not a zip")
            if fmt == "?format=pdf":
                check(body[:4] == b"%PDF", "bill PDF is not a PDF")
            st, h, body = web.req("GET", f"/api/v1/bills/{other}{fmt}", None, who.headers())
            check(st == 404, f"{who.name}: another bank's bill {fmt} answered {st}")
        before = db_state(db)
        st, h, body = web.req("POST", f"/api/v1/bills/{other}/disputes", {"line": 1, "reason": "x"},
                              who.headers(unsafe=True))
        check(st == 404 and db_state(db) == before, f"{who.name}: dispute on another bank's bill {st}")
        st, h, body = web.req("GET", "/api/v1/bills?format=csv", None, who.headers())
        check(st == 200 and body[:3] == b"\xef\xbb\xbf" and h["content-type"].startswith("text/csv")
              and mine.encode() in body and other.encode() not in body, f"{who.name}: bills as CSV {st}")
        st, _, body = web.req("GET", "/api/v1/bills?format=xlsx", None, who.headers())
        check(st == 400, f"bills?format=xlsx: {st}")


def terminal_page(web, icbc):
    st, h, body = web.req("GET", "/api/v1/terminals/A-000001", None, icbc.headers())
    j = json.loads(body) if st == 200 else {}
    check(st == 200 and j["state"]["terminal"] == "A-000001" and
          [r["id"] for r in j["incidents"]] == [1] and [r["id"] for r in j["history"]] == [1],
          f"terminal page: {st} {body[:300]!r}")


def terminal_timeline(web, icbc, psbc):
    """The terminal's changes of state (web_api.sh writes eight facts per terminal, the first
    before the default week: the row saying where presence stood as the week began)."""
    st, h, body = web.req("GET", "/api/v1/terminals/A-000001/timeline", None, icbc.headers())
    j = json.loads(body) if st == 200 else {}
    rows = j.get("items", [])
    check(st == 200 and j["total"] == 8 and [r["kind"] for r in rows] ==
          ["presence", "periph", "fault", "maint", "periph", "fault", "maint", "presence"] and
          rows[0]["value"] == "online" and rows[0]["initial"] in (True, 1) and
          not any(r["initial"] for r in rows[1:]) and rows[-1]["source"] == "heartbeat" and
          rows[1]["state"] == "media_jam" and rows[0]["at"] <= rows[-1]["at"],
          f"timeline: {st} {body[:300]!r}")
    st, h, body = web.req("GET", "/api/v1/terminals/A-000001/timeline?days=90&kind=periph", None,
                          icbc.headers())
    check(st == 200 and json.loads(body)["total"] == 2, f"timeline kind=periph: {st} {body[:200]!r}")
    st, h, body = web.req("GET", "/api/v1/terminals/A-000001/timeline?format=csv", None,
                          icbc.headers())
    check(st == 200 and body[:3] == b"\xef\xbb\xbf" and b"media_jam" in body and b"received" in body,
          f"timeline CSV: {st} {body[:200]!r}")
    for bad in ("0", "91", "x", "", "7.5"):
        st, h, body = web.req("GET", "/api/v1/terminals/A-000001/timeline?days=" + bad, None,
                              icbc.headers())
        check(st == 400, f"timeline days={bad!r}: {st}")
    st, h, body = web.req("GET", "/api/v1/terminals/A-000001/timeline", None, psbc.headers())
    check(st == 404 and b"KF-XH-0001" not in body, f"another bank's timeline: {st} {body[:200]!r}")
    st, h, body = web.req("GET", "/api/v1/terminals/A-000009/timeline", None, icbc.headers())
    check(st == 404, f"no such terminal's timeline: {st}")


def queue_features(web, tech, db):
    """Assignment and bulk actions, queued for kioskd (which is not running here)."""
    before = db_state(db)
    st, h, body = web.req("POST", "/api/v1/incidents/actions",
                          {"kind": "assign", "to": "wang", "ids": [1, 2]}, tech.headers(unsafe=True))
    check(st == 202 and len(json.loads(body)["actions"]) == 2, f"bulk assign: {st} {body[:200]!r}")
    check(db_state(db)[0] == before[0] + 2, "bulk assign queued two actions")
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = c.execute("SELECT kind, assignee, who FROM sla_actions ORDER BY id DESC LIMIT 2").fetchall()
    c.close()
    check(all(r[1] == "wang" and r[2] == "tech" for r in rows), f"assign rows: {rows}")
    st, h, body = web.req("GET", "/api/v1/incidents?flat=1&unassigned=1", None, tech.headers())
    check(st == 200, f"flat unassigned: {st}")
    st, h, body = web.req("GET", "/api/v1/incidents?assignee=wang&unassigned=1", None, tech.headers())
    check(st == 400, f"assignee with unassigned: {st}")
    st, h, body = web.req("GET", "/api/v1/outages", None, tech.headers())
    check(st == 200 and "items" in json.loads(body), f"outages: {st}")


def command_features(web, ops, tech, icbc, db):
    """Roles on commands (kioskd is not running here: requests stay queued), a dry run, the
    inventory as each role counts it."""
    before = db_state(db)
    st, h, body = web.req("POST", "/api/v1/commands",
                          {"kind": "reboot", "reason": "x", "targets": {"devices": ["KF-XH-0001"]}},
                          tech.headers(unsafe=True))
    check(st == 403, f"a technician's reboot: {st} {body[:200]!r}")
    problem_ok(st, h, body, "technician reboot")
    check(db_state(db) == before, "a refused reboot queued something")
    for bad in ({"kind": "probe", "reason": "x", "targets": {}},
                {"kind": "probe", "reason": "", "targets": {"zone": "Z-XH-001"}},
                {"kind": "warp", "reason": "x", "targets": {"zone": "Z-XH-001"}},
                {"kind": "maintenance", "args": ["sideways"], "reason": "x", "targets": {"zone": "Z"}},
                {"kind": "probe", "reason": "x", "targets": {"zone": "Z"}, "halt_rate": "5%"},
                {"kind": "probe", "reason": "x", "targets": {"zone": "Z"}, "canary": "200%"}):
        st, h, body = web.req("POST", "/api/v1/commands", bad, ops.headers(unsafe=True))
        check(st == 400, f"bad command {bad}: {st}")
    check(db_state(db) == before, "a bad command queued something")
    st, h, body = web.req("POST", "/api/v1/commands",
                          {"kind": "restart-app", "reason": "x", "dry_run": True, "canary": 1,
                           "targets": {"zone": "Z-XH-001"}}, ops.headers(unsafe=True))
    j = json.loads(body) if st == 200 else {}
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    want = [r[0] for r in c.execute("SELECT d.device_id FROM devices d JOIN assets a USING (asset_id)"
                                    " WHERE a.zone_id = 'Z-XH-001' AND d.status = 1"
                                    " ORDER BY d.device_id")]
    c.close()
    check(st == 200 and j.get("count") == len(want) and j.get("targets") == want and want
          and j.get("canary") == 1, f"dry run: {st} {body[:200]!r}, want {want}")
    check(db_state(db) == before, "a dry run queued something")
    st, h, body = web.req("POST", "/api/v1/commands",
                          {"kind": "maintenance", "args": ["on", "T-1"], "reason": "on site",
                           "targets": {"devices": ["KF-XH-0001"]}}, tech.headers(unsafe=True))
    check(st == 202 and json.loads(body).get("request", 0) > 0, f"a technician's maintenance: {st}")
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    row = c.execute("SELECT by, role, status FROM cmd_requests ORDER BY id DESC LIMIT 1").fetchone()
    c.close()
    check(row == ("tech", 2, "pending"), f"the request row: {row}")
    st, h, body = web.req("GET", "/api/v1/inventory?by=bank", None, icbc.headers())
    banks = {r["bank"] for r in json.loads(body)["items"]} if st == 200 else None
    check(banks is not None and banks <= {"ICBC"}, f"a bank's inventory: {st} {banks}")
    st, h, body = web.req("GET", "/api/v1/inventory?by=nonsense", None, icbc.headers())
    check(st == 400, f"inventory by an unknown field: {st}")


def bank_lists(web, icbc, psbc):
    """Lists with parameters the generated pass leaves out: still the bank's own rows."""
    for who, mine in ((icbc, 1), (psbc, 2)):
        st, h, body = web.req("GET", "/api/v1/incidents?status=all&days=30", None, who.headers())
        ids = [r["id"] for r in json.loads(body)["items"]] if st == 200 else None
        check(ids == [mine], f"{who.name}: incidents?status=all gave {st} {ids}")
        st, h, body = web.req("GET", "/api/v1/sla?month=2026-09&by=bank", None, who.headers())
        banks = {r["bank"] for r in json.loads(body)["items"]} if st == 200 else None
        check(banks is not None and banks <= {who.bank, None}, f"{who.name}: sla by bank gave {st} {banks}")
        st, h, body = web.req("GET", "/api/v1/fleet?bank=" + ("PSBC" if mine == 1 else "ICBC"), None,
                              who.headers())
        check(st == 200 and json.loads(body)["total"] == 0, f"{who.name}: filtering by another bank")


def bad_input(web, ops_tok, icbc, tech, db, tokens):
    anon = {}
    # Sessions and tokens that are not.
    for h, what in ((anon, "no credentials"),
                    ({"Cookie": "kf_session=" + "ab" * 32}, "forged session"),
                    ({"Cookie": "kf_session=../../etc"}, "malformed session"),
                    ({"Authorization": "Bearer " + tokens["expired"]}, "expired token"),
                    ({"Authorization": "Bearer " + tokens["revoked"]}, "revoked token"),
                    ({"Authorization": "Bearer kft_" + "A" * 43}, "unknown token"),
                    ({"Authorization": "Basic b3BzOng="}, "basic auth"),
                    ({"Authorization": "Bearer " + "x" * 500}, "oversize token")):
        st, hh, body = web.req("GET", "/api/v1/fleet", None, h)
        check(st == 401, f"{what}: {st}")
        problem_ok(st, hh, body, what)
    st, _ = login(web, "gone")
    check(st == 401, f"a disabled user logged in: {st}")
    # CSRF: a cookie without the session's token changes nothing.
    before = db_state(db)
    for h in ({"Cookie": "kf_session=" + tech.cookie},
              {"Cookie": "kf_session=" + tech.cookie, "X-CSRF-Token": "0" * 64}):
        st, hh, body = web.req("POST", "/api/v1/incidents/1/actions", {"kind": "ack"}, h)
        check(st == 403, f"CSRF missing or wrong: {st}")
        problem_ok(st, hh, body, "csrf")
    check(db_state(db) == before, "a request without CSRF changed the store")
    # Bodies.
    T = {"Authorization": "Bearer " + ops_tok}
    for body, ctype, want, what in (
            (b"{" + b" " * 5000 + b"}", "application/json", 413, "oversize body"),
            (b'{"kind":"ack"}', "text/plain", 415, "not JSON"),
            (b'{"kind":', "application/json", 400, "malformed JSON"),
            (b'{"kind":"explode"}', "application/json", 400, "unknown kind"),
            (b'{"kind":"note"}', "application/json", 400, "note without text"),
            (b'{"kind":"note","text":"' + b"x" * 300 + b'"}', "application/json", 400, "long text"),
            (b'[1,2]', "application/json", 400, "an array")):
        st, hh, payload = web.req("POST", "/api/v1/incidents/1/actions", body,
                                  dict(T, **{"Content-Type": ctype}))
        check(st == want, f"{what}: {st} (want {want})")
        if want != 413:
            problem_ok(st, hh, payload, what)
        check(db_state(db) == before, f"{what}: changed the store")
    for body, what in (({"kind": "ack", "ids": []}, "no ids"), ({"kind": "ack", "ids": [1, 1]}, "an id twice"),
                       ({"kind": "ack", "ids": [1, "2"]}, "an id as text"),
                       ({"kind": "ack", "ids": list(range(1, 1002))}, "1001 ids"),
                       ({"kind": "ack", "ids": [1, 999999]}, "one id unknown"),
                       ({"kind": "assign"}, "assign without to"), ({"kind": "ack", "to": "x", "ids": [1]}, "ack with to"),
                       ({"kind": "attribute", "text": "r", "to": "nobody", "ids": [1]}, "attribute to what")):
        st, hh, payload = web.req("POST", "/api/v1/incidents/actions", json.dumps(body).encode(), T)
        check(st in (400, 404, 413), f"bulk {what}: {st}")
        check(db_state(db) == before, f"bulk {what}: changed the store")
    for bad in ("abc", "0", "-1", "99999999999999999999", "1%00", "1;DROP TABLE users"):
        st, hh, payload = web.req("GET", "/api/v1/incidents/" + urllib.parse.quote(bad), None, T)
        check(st in (400, 404), f"incident id {bad!r}: {st}")
    # Filters.
    for q in ("limit=abc", "limit=-1", "limit=100000", "offset=x", "offset=-5", "bogus=1",
              "limit=1&limit=2", "bank=%ZZ", "limit"):
        st, hh, payload = web.req("GET", "/api/v1/fleet?" + q, None, T)
        check(st == 400, f"filter {q}: {st}")
        problem_ok(st, hh, payload, f"filter {q}")
    for q in ("from=2026-09-01", "from=x&to=y", "from=2026-09-30&to=2026-09-01",
              "from=2020-01-01&to=2026-01-01", "from=2026-09-01&to=2026-09-30&by=evil"):
        st, hh, payload = web.req("GET", "/api/v1/usage?" + q, None, T)
        check(st == 400, f"usage {q}: {st}")
    st, hh, payload = web.req("GET", "/api/v1/bills/ICBC-000001?format=docx", None, T)
    check(st == 400, f"unknown format: {st}")
    # Unknown routes and methods.
    for m, p, want in (("GET", "/api/v1/nope", 404), ("PUT", "/api/v1/fleet", 405),
                       ("DELETE", "/api/v1/incidents/1", 405), ("POST", "/", 405)):
        st, hh, payload = web.req(m, p, None, T)
        check(st == want, f"{m} {p}: {st}")
        problem_ok(st, hh, payload, f"{m} {p}")
    check(db_state(db) == before, "bad input changed the store")


# Quotes, comments, statement breaks, LIKE's wildcards, a backslash: each must reach SQLite
# bound as a value, never as SQL.
SQLI = ["' OR '1'='1", "1; DROP TABLE users; --", "') UNION SELECT * FROM users --", "%", "_\\",
        "A-000001' --"]


def sql_metacharacters(web, spec, ops, ops_tok, icbc, db):
    T = {"Authorization": "Bearer " + ops_tok}
    before = db_state(db)
    for (method, path), (roles, params) in sorted(ops.items()):
        if method != "GET" or path == "/api/v1/events":
            continue
        op = spec["paths"][path]["get"]
        for v in SQLI:
            base = example_path(spec, path, op)
            quoted = urllib.parse.quote(v, safe="%")
            urls = []
            if "{" in path:  # the path parameter itself
                urls.append(path.split("{")[0] + quoted + path.split("}")[1])
            sep = "&" if "?" in base else "?"
            for p in sorted(params - {"limit", "offset"}):
                urls.append(f"{base}{sep}{p}={quoted}")
            for k, url in enumerate(urls):
                # Every parameter as the operator; the path's own as a bank's user too.
                for who in ((T, icbc.headers()) if k == 0 and "{" in path else (T,)):
                    st, h, body = web.req("GET", url, None, who)
                    check(st in (200, 400, 403, 404), f"GET {url}: {st} {body[:120]!r}")
                    if st >= 400:
                        problem_ok(st, h, body, f"GET {url}")
                    if st == 200 and path in ("/api/v1/fleet", "/api/v1/incidents", "/api/v1/zones",
                                              "/api/v1/bills", "/api/v1/disputes", "/api/v1/users"):
                        j = json.loads(body)
                        check(j["total"] == 0 or "q=" in url, f"GET {url}: a filter by {v!r} matched rows")
    check(db_state(db) == before, "SQL metacharacters changed the store")


def static_files(web, console_dir):
    st, h, body = web.req("GET", "/")
    check(st == 200 and h["content-type"].startswith("text/html") and b"console" in body, f"/: {st}")
    check(h.get("cache-control") == "no-cache", "index.html is revalidated")
    st, h, body = web.req("GET", "/?lang=en")
    check(st == 200 and b"console" in body, f"the console with a query: {st}")
    st, h, body = web.req("GET", "/fleet/A-000001")
    check(st == 200 and b"console" in body, f"a console route answers index.html: {st}")
    st, h_js, body = web.req("GET", "/assets/app-3f9a1c2b.js")
    h = h_js
    check(st == 200 and h["content-type"].startswith("text/javascript"), f"js: {st} {h.get('content-type')}")
    check("immutable" in h.get("cache-control", ""), "hashed asset is immutable")
    for p in ("/../outside/secret.txt", "/%2e%2e/outside/secret.txt", "/assets/%2e%2e/%2e%2e/outside/secret.txt",
              "/%2E%2E%2Foutside%2Fsecret.txt", "/assets/link.txt", "/out/secret.txt", "/a%00b",
              "/..%5coutside%5csecret.txt", "/./index.html", "//etc/passwd", "/nope.js", "/%ZZ",
              "/assets/../../outside/secret.txt"):
        st, h, body = web.req("GET", p)
        check(st in (400, 404) and b"secret" not in body, f"static {p}: {st} {body[:60]!r}")
    # A file is kept while it is the same on disk, sent gzip-encoded to whoever accepts it;
    # replaced (a new inode, as an upgrade does) or rewritten in place, the new bytes are sent.
    path = os.path.join(console_dir, "assets", "big-0123abcd.js")
    gz = {"Accept-Encoding": "gzip, deflate, br"}
    for n, how in ((1, "new"), (2, "replaced"), (3, "rewritten")):
        text = "".join(f"console.log('line {i} of version {n}');\n" for i in range(300 * n)).encode()
        if how == "rewritten":
            with open(path, "r+b") as f:
                f.write(text)
        else:
            with open(path + ".tmp", "wb") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
        for _ in range(2):
            st, h, plain = web.req("GET", "/assets/big-0123abcd.js")
            st2, h2, packed = web.req("GET", "/assets/big-0123abcd.js", None, gz)
            check(st == 200 and plain == text and "content-encoding" not in h,
                  f"static {how}: {st} {len(plain)} of {len(text)}")
            check(st2 == 200 and h2.get("content-encoding") == "gzip" and len(packed) < len(text) // 4
                  and gzip.decompress(packed) == text, f"static {how}, gzip: {st2} {h2}")
            check("Accept-Encoding" in h2.get("vary", "") and h2["etag"] == h["etag"][:-1] + '-gz"'
                  and "immutable" in h2.get("cache-control", ""), f"static {how}: headers {h2}")
        st, h3, body = web.req("GET", "/assets/big-0123abcd.js", None, dict(gz, **{"If-None-Match": h2["etag"]}))
        check(st == 304 and body == b"", f"static {how}: If-None-Match: {st}")
    os.unlink(path)
    st, h, body = web.req("GET", "/assets/big-0123abcd.js")
    check(st == 404 and h.get("cache-control") == "no-store",
          f"static: a removed file is still served, or its 404 may be kept: {st} {h}")
    st, h, body = web.req("GET", "/assets/app-3f9a1c2b.js", None, {"If-None-Match": '"x", ' + h_js["etag"]})
    check(st == 304 and body == b"" and "content-length" not in h and "immutable" in h.get("cache-control", ""),
          f"static: 304: {st} {h}")


def etag_304(web, who):
    st, h, body = web.req("GET", "/api/v1/zones", None, who.headers())
    st2, h2, body2 = web.req("GET", "/api/v1/zones", None, dict(who.headers(), **{"If-None-Match": h["etag"]}))
    check(st2 == 304 and body2 == b"", f"If-None-Match: {st2}")
    st3, _, _ = web.req("GET", "/api/v1/zones", None, dict(who.headers(), **{"If-None-Match": '"x"'}))
    check(st3 == 200, f"a stale ETag: {st3}")


def metric(web, ops_tok, name):
    st, h, body = web.req("GET", "/metrics", None, {"Authorization": "Bearer " + ops_tok})
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def answer_cache(cweb, web_nocache, ops_tok, icbc_tok, db, max_age_s, max_entries, max_bytes):
    """The answer cache (docs/WEB.md), on a second kiosk-web with a long max age and small
    bounds: never across scopes, shared inside one; stale at most max age; emptied by an
    action; one computation for calls that arrive together; bounds held."""
    s = {}
    for user, role, bank in (("icbc", "bank", "ICBC"), ("psbc", "bank", "PSBC"),
                             ("tech", "technician", None), ("bureau", "bureau", None)):
        st, got = login(cweb, user)
        check(st == 200, f"cache: login {user}: {st}")
        s[user] = Who(user, role, bank, cookie=got[0], csrf=got[1]["csrf"])
    icbc_t = Who("icbc-token", "bank", "ICBC", token=icbc_tok)
    ops = Who("ops-token", "operator", token=ops_tok)

    def get(who, path):
        st, h, body = cweb.req("GET", path, None, who.headers())
        return st, body

    def m(name):
        return metric(cweb, ops_tok, "kioskweb_answer_cache_" + name) or 0

    # Scopes. The same path asked by every scope, twice over: each bank sees only its own
    # rows, whoever of the other scopes asked first; one bank's user and its token share.
    path = "/api/v1/fleet?limit=100"
    miss0, hit0 = m("misses_total"), m("hits_total")
    for _ in range(2):
        for who, total in ((s["icbc"], 1), (s["psbc"], 1), (s["tech"], 2), (ops, 2),
                           (s["bureau"], 2), (icbc_t, 1)):
            st, body = get(who, path)
            leak = other_bank_leak(who, body)
            check(st == 200 and json.loads(body)["total"] == total and leak is None,
                  f"cache: {who.name} fleet: {st} leak {leak} {body[:120]!r}")
    check(m("misses_total") - miss0 == 5, f"cache: 5 scopes, misses {m('misses_total') - miss0}")
    check(m("hits_total") - hit0 == 7, f"cache: hits inside the scopes {m('hits_total') - hit0}")
    st, body = get(Who("anonymous", None), path)
    check(st == 401, f"cache: anonymous fleet after the cached ones: {st}")
    # A terminal the other bank had answered (and cached) is still not found for this one.
    st, _ = get(s["icbc"], "/api/v1/terminals/A-000001")
    check(st == 200, f"cache: ICBC's terminal: {st}")
    st, body = get(s["psbc"], "/api/v1/terminals/A-000001")
    check(st == 404 and b"KF-XH-0001" not in body and b"ICBC" not in body,
          f"cache: PSBC asks ICBC's: {st} {body[:200]!r}")
    st, body = get(ops, "/api/v1/terminals/A-000002")
    st2, body2 = get(s["icbc"], "/api/v1/terminals/A-000002")
    check(st == 200 and st2 == 404 and b"PSBC" not in body2, f"cache: ICBC asks PSBC's: {st2}")

    # Max age: a change made behind kiosk-web's back shows once the kept answer is older.
    zpath = "/api/v1/zones?q=Z-XH-001&limit=1"  # one zone: an answer within the bounds
    c = sqlite3.connect(db, timeout=10)
    (name,) = c.execute("SELECT name FROM zones WHERE id = 'Z-XH-001'").fetchone()
    st, first = get(s["bureau"], zpath)
    t0 = time.monotonic()
    check(st == 200 and b"Z-XH-001" in first and len(first) < max_bytes, f"cache: {zpath}: {first[:200]!r}")
    c.execute("UPDATE zones SET name = ? WHERE id = 'Z-XH-001'", (name + " cache-test",))
    c.commit()
    st, second = get(s["bureau"], zpath)
    check(second == first or time.monotonic() - t0 >= max_age_s,
          "cache: an answer changed before its max age (expected the kept one)")
    time.sleep(max_age_s + 0.3)
    st, third = get(s["bureau"], zpath)
    check(st == 200 and "cache-test" in third.decode(), "cache: no change after the max age")

    # An action through kiosk-web empties the cache: the next answer is computed afresh.
    c.execute("UPDATE zones SET name = ? WHERE id = 'Z-XH-001'", (name,))
    c.commit()
    t0 = time.monotonic()
    inv0 = m("invalidations_total")
    st, h, body = cweb.req("POST", "/api/v1/incidents/actions",
                           {"kind": "note", "text": "cache test", "ids": [1]},
                           s["tech"].headers(unsafe=True))
    check(st == 202, f"cache: the action: {st} {body[:120]!r}")
    st, fourth = get(s["bureau"], zpath)
    check(m("invalidations_total") == inv0 + 1, "cache: the action did not empty the cache")
    check(time.monotonic() - t0 < max_age_s, "cache: too slow to tell the action's effect")
    check(st == 200 and "cache-test" not in fourth.decode(),
          "cache: an answer from before the action was served after it")
    c.close()

    # One computation for calls that arrive together.
    import threading
    spath = "/api/v1/sla?month=2026-09&by=terminal"
    miss0 = m("misses_total")
    bodies = []

    def one():
        bodies.append(get(ops, spath))
    th = [threading.Thread(target=one) for _ in range(8)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    check(len(bodies) == 8 and all(b == bodies[0] for b in bodies) and bodies[0][0] == 200,
          "cache: the calls that came together got different answers")
    check(m("misses_total") - miss0 == 1, f"cache: {m('misses_total') - miss0} computations for one key")

    # Answers over a settled period (docs/WEB.md "Answers over settled periods"): kept past
    # the max age while the store's stamp of their days holds, found current by one read of
    # the stamp; computed again once anything they read changes, not when another month's
    # rows do.
    upath = "/api/v1/usage?from=2026-09-01&to=2026-09-30&by=zone&limit=1"  # within 4 KiB
    st, u0 = web_nocache.req("GET", upath, None, ops.headers())[::2]
    check(st == 200, f"period: {upath}: {st}")
    zone = json.loads(u0)["items"][0]["zone"]
    c = sqlite3.connect(db, timeout=10)
    dev, asset = c.execute("SELECT d.device_id, a.asset_id FROM devices d"
                           " JOIN assets a USING (asset_id) ORDER BY 1 LIMIT 1").fetchone()
    (item,) = c.execute("SELECT code FROM items ORDER BY code LIMIT 1").fetchone()

    def usage_add(d, ok):
        """What kioskd's commit writes for ok transactions on day d: the day's row and its
        month's (a whole month is read from usage_monthly)."""
        day = (datetime.date.fromisoformat(d) - datetime.date(1970, 1, 1)).days
        c.execute("INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok)"
                  " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET ok = ok + excluded.ok",
                  (day, zone, asset, dev, item, ok))
        c.execute("INSERT INTO usage_monthly(month, device_id, zone_id, item, ok)"
                  " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET ok = ok + excluded.ok",
                  (int(d[:4] + d[5:7]), dev, zone, item, ok))
        c.commit()

    st, u1 = get(ops, upath)
    check(st == 200 and zone.encode() in u1, f"period: {upath}: {st} {u1[:200]!r}")
    rc0, miss0 = m("rechecks_total"), m("misses_total")
    time.sleep(max_age_s + 0.3)
    st, u2 = get(ops, upath)
    check(st == 200 and u2 == u1 and m("rechecks_total") == rc0 + 1
          and m("misses_total") == miss0, "period: not kept past the max age, nothing changed")
    usage_add("2026-11-03", 7)  # another month
    time.sleep(max_age_s + 0.3)
    t0 = time.monotonic()
    st, u3 = get(ops, upath)
    check(st == 200 and u3 == u1 and m("rechecks_total") == rc0 + 2
          and m("misses_total") == miss0, "period: November's usage dropped September's answer")
    usage_add("2026-09-14", 7)
    st, u4 = get(ops, upath)
    check(u4 == u1 or time.monotonic() - t0 >= max_age_s, "period: changed before its max age")
    time.sleep(max_age_s + 0.3)
    st, u5 = get(ops, upath)
    check(st == 200 and u5 != u1 and m("misses_total") == miss0 + 1,
          f"period: September's usage changed and the kept answer was served: {u5[:300]!r}")
    # The same answer as a call with the cache off would compute: the one kiosk-web without.
    st, h, fresh = web_nocache.req("GET", upath, None, ops.headers())
    check(st == 200 and fresh == u5, "period: the recomputed answer differs from a fresh one")
    # A registry change counts for every period: the SLA of September is computed again.
    spath_b = f"/api/v1/sla?month=2026-09&by=zone&zone={zone}"
    st, s1 = get(ops, spath_b)
    miss1 = m("misses_total")
    time.sleep(max_age_s + 0.3)
    st, s2 = get(ops, spath_b)
    check(st == 200 and s2 == s1 and m("misses_total") == miss1, "period: SLA not kept")
    c.execute("UPDATE zones SET name = name || ' x' WHERE id = ?", (zone,))
    c.commit()
    time.sleep(max_age_s + 0.3)
    st, s3 = get(ops, spath_b)
    check(st == 200 and m("misses_total") == miss1 + 1, "period: a zone's change did not count")
    c.execute("UPDATE zones SET name = substr(name, 1, length(name) - 2) WHERE id = ?", (zone,))
    usage_add("2026-09-14", -7)
    usage_add("2026-11-03", -7)
    for t in ("usage_daily", "usage_monthly"):
        c.execute(f"DELETE FROM {t} WHERE ok = 0 AND failed = 0 AND abandoned = 0"
                  " AND device_id = ? AND item = ?", (dev, item))
    c.commit()
    c.close()

    # A kept answer is sent as it was kept, gzip-encoded to a caller that accepts it
    # (docs/WEB.md "The answer cache"): the same bytes once inflated, its own strong ETag,
    # If-None-Match per representation, HEAD with the length it would send.
    for k in range(1, 40):
        gpath = f"/api/v1/zones?limit={k}"
        st, plain = web_nocache.req("GET", gpath, None, ops.headers())[::2]
        if len(plain) >= 1200:
            break
    check(1200 <= len(plain) <= 2400, f"gzip: no answer of 1.2 to 2.4 KB ({len(plain)})")
    hit0 = m("hits_total")

    def gget(ae, extra=None, method="GET"):
        h = dict(ops.headers(), **(extra or {}))
        if ae is not None:
            h["Accept-Encoding"] = ae
        return cweb.req(method, gpath, None, h)
    st, h1, b1 = gget(None)
    check(st == 200 and b1 == plain and "content-encoding" not in h1
          and "Accept-Encoding" in h1.get("vary", ""), f"gzip: identity: {st} {h1}")
    st, h2, b2 = gget("gzip, deflate, br, zstd")
    check(st == 200 and h2.get("content-encoding") == "gzip" and len(b2) < len(plain)
          and int(h2["content-length"]) == len(b2) and gzip.decompress(b2) == plain,
          f"gzip: encoded: {st} {h2}")
    check(h2["etag"] == h1["etag"][:-1] + '-gz"', f"gzip: ETags {h1['etag']} {h2['etag']}")
    for ae, enc in (("gzip;q=0, br", None), ("br", None), ("*", "gzip"), ("x-gzip;q=0.5", "gzip"),
                    ("", None)):
        st, h, b = gget(ae)
        got = h.get("content-encoding")
        check(st == 200 and got == enc and (gzip.decompress(b) if got else b) == plain,
              f"gzip: Accept-Encoding {ae!r}: {st} {got}")
    st, h, b = gget("gzip", {"If-None-Match": h2["etag"]})
    check(st == 304 and b == b"" and h["etag"] == h2["etag"], f"gzip: 304 on its tag: {st}")
    st, h, b = gget(None, {"If-None-Match": h2["etag"]})
    check(st == 200 and b == plain, f"gzip: the gzip tag matched the identity answer: {st}")
    st, h, b = gget(None, {"If-None-Match": '"x", W/' + h1["etag"]})
    check(st == 304, f"gzip: a weak tag in a list: {st}")
    st, h, b = gget("gzip", None, "HEAD")
    check(st == 200 and b == b"" and int(h["content-length"]) == len(b2)
          and h.get("content-encoding") == "gzip", f"gzip: HEAD: {st} {h}")
    # 12 calls, two keys (GET, HEAD): most are hits (a few more misses when the 3 s max age
    # passes under the sanitizers' pace); a miss answers from the body it keeps, too.
    check(m("hits_total") - hit0 >= 6, f"gzip: answered from the kept body {m('hits_total') - hit0}")

    # Bounds: many keys; the entries and bytes never pass the limits.
    for k in range(1, 3 * max_entries):
        for p in (f"/api/v1/zones?limit={k}", f"/api/v1/fleet?limit={k}"):
            st, _ = get(ops, p)
            check(st == 200, f"cache: {p}: {st}")
        e, b = m("entries"), m("bytes")
        check(e <= max_entries and b <= max_bytes, f"cache: bounds passed: {e} entries, {b} bytes")
    st, big = get(ops, "/api/v1/fleet?format=csv")
    check(st == 200 and m("bytes") <= max_bytes, "cache: a large answer")
    check(m("evictions_total") >= 2 * max_entries, f"cache: evictions {m('evictions_total')}")


def events(web, icbc, bureau, db):
    st, h, body = web.req("GET", "/api/v1/events", None, bureau.headers())
    check(st == 403, f"events as bureau: {st}")
    conn = http.client.HTTPConnection(web.host, web.port, timeout=10)
    conn.request("GET", "/api/v1/events", headers=icbc.headers())
    r = conn.getresponse()
    check(r.status == 200 and r.getheader("Content-Type", "").startswith("text/event-stream"),
          f"events: {r.status}")
    first = r.readline()
    check(first.startswith(b"retry:"), f"events preamble: {first!r}")
    w = sqlite3.connect(db, timeout=10)
    w.execute("UPDATE sla_incidents SET state = 'acknowledged' WHERE id = 2")  # PSBC's
    w.commit()
    time.sleep(1.5)
    w.execute("UPDATE sla_incidents SET state = 'acknowledged' WHERE id = 1")  # ICBC's
    w.commit()
    got = b""
    deadline = time.time() + 6
    while time.time() < deadline and b'"id":1' not in got:
        line = r.readline()
        if not line:
            break
        got += line
    data = [l for l in got.split(b"\n") if l.startswith(b"data:")]
    check(any(b'"id":1' in l for l in data), f"ICBC's incident change not streamed: {got!r}")
    check(not any(b'"id":2' in l or b"A-000002" in l for l in data), f"PSBC's change reached ICBC: {got!r}")
    conn.close()
    for i in (1, 2):
        w.execute("UPDATE sla_incidents SET state = 'opened' WHERE id = ?", (i,))
    w.commit()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--openapi", required=True)
    ap.add_argument("--routes", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--cache-base", help="a second kiosk-web: max age 3 s, 6 entries, 4 KiB")
    a = ap.parse_args()
    spec = yaml.safe_load(open(a.openapi, encoding="utf-8"))
    routes = json.load(open(a.routes))
    web = Web(a.base)
    ops = compare_routes(spec, routes)

    def tok(name):
        with open(os.path.join(a.dir, "token." + name)) as f:
            return [w for w in f.read().split() if w.startswith("kft_")][0]
    tokens = {n: tok(n) for n in ("ops", "icbc", "expired", "revoked")}

    callers = [Who("anonymous", None)]
    sessions = {}
    for user, role, bank in (("ops", "operator", None), ("tech", "technician", None),
                             ("icbc", "bank", "ICBC"), ("psbc", "bank", "PSBC"),
                             ("bureau", "bureau", None)):
        st, got = login(web, user)
        check(st == 200, f"login {user}: {st}")
        sid, j = got
        check(j["role"] == role and j.get("bank") == bank and len(j["csrf"]) == 64,
              f"session of {user}: {j}")
        w = Who(user, role, bank, cookie=sid, csrf=j["csrf"])
        sessions[user] = w
        callers.append(w)
    callers.append(Who("icbc-token", "bank", "ICBC", token=tokens["icbc"]))
    callers.append(Who("ops-token", "operator", token=tokens["ops"]))
    st, h, body = web.req("GET", "/api/v1/session", None, sessions["icbc"].headers())
    check(st == 200 and json.loads(body)["csrf"] == sessions["icbc"].csrf, "GET session gives the CSRF token")

    if a.cache_base:
        t = time.time()
        answer_cache(Web(a.cache_base), web, tokens["ops"], tokens["icbc"], a.db, 3.0, 6, 4096)
        print(f"  {time.time() - t:.1f} s: answer_cache", file=sys.stderr)
    t = time.time()
    every_route_every_role(web, spec, ops, callers, a.db)
    print(f"  {time.time() - t:.1f} s: every_route_every_role", file=sys.stderr)
    t = time.time()
    bank_documents(web, sessions["icbc"], sessions["psbc"], a.db)
    bank_lists(web, sessions["icbc"], sessions["psbc"])
    queue_features(web, sessions["tech"], a.db)
    command_features(web, sessions["ops"], sessions["tech"], sessions["icbc"], a.db)
    terminal_page(web, sessions["icbc"])
    terminal_timeline(web, sessions["icbc"], sessions["psbc"])
    print(f"  {time.time() - t:.1f} s: bank_documents", file=sys.stderr)
    t = time.time()
    bad_input(web, tokens["ops"], sessions["icbc"], sessions["tech"], a.db, tokens)
    print(f"  {time.time() - t:.1f} s: bad_input", file=sys.stderr)
    t = time.time()
    sql_metacharacters(web, spec, ops, tokens["ops"], sessions["icbc"], a.db)
    print(f"  {time.time() - t:.1f} s: sql_metacharacters", file=sys.stderr)
    static_files(web, os.path.join(a.dir, "console"))
    etag_304(web, sessions["bureau"])
    t = time.time()
    events(web, sessions["icbc"], sessions["bureau"], a.db)
    print(f"  {time.time() - t:.1f} s: events", file=sys.stderr)

    st, h, body = web.req("GET", "/metrics", None, {"Authorization": "Bearer " + tokens["ops"]})
    check(st == 200 and b"kioskweb_requests_total" in body and b"kioskfleet_incidents_open" in body,
          f"/metrics: {st}")
    check(b"kioskd_receipt_to_commit_seconds_bucket" in body and b"kioskd_rejected_total{" in body
          and b"kioskweb_kioskd_metrics_readable 1" in body, "/metrics lacks kioskd's figures")
    st, _, _ = web.req("GET", "/metrics", None, {"Authorization": "Bearer " + tokens["icbc"]})
    check(st == 403, f"/metrics as a bank: {st}")
    # Logout ends the session; a CSRF-less logout is refused.
    bw = sessions["bureau"]
    st, _, _ = web.req("DELETE", "/api/v1/session", None, {"Cookie": "kf_session=" + bw.cookie})
    check(st == 403, f"logout without CSRF: {st}")
    st, h, _ = web.req("DELETE", "/api/v1/session", None, bw.headers(unsafe=True))
    check(st == 204 and "Max-Age=0" in h.get("set-cookie", ""), f"logout: {st}")
    st, _, _ = web.req("GET", "/api/v1/zones", None, bw.headers())
    check(st == 401, f"a logged-out session still works: {st}")
    # A user disabled while logged in is out at the next request.
    ctl = os.environ.get("KF_BIN_KIOSKCTL")
    if ctl:
        subprocess.run([ctl, "--db", a.db, "user", "disable", "psbc", "--by", "it", "--reason", "test",
                        "--server-key", os.path.join(a.dir, "server.key")], check=True,
                       stdout=subprocess.DEVNULL)
        st, _, _ = web.req("GET", "/api/v1/fleet", None, sessions["psbc"].headers())
        check(st == 401, f"a disabled user's session still works: {st}")
        st, _, _ = web.req("GET", "/api/v1/fleet", None, sessions["psbc"].headers())
        check(st == 401, f"the disabled user's session was not ended: {st}")
    # Failed logins: the limit (3 a minute in the test's config), then 429 even for the right password.
    codes = [login(web, "tech", "wrong-password")[0] for _ in range(3)]
    check(codes == [401, 401, 401], f"wrong passwords: {codes}")
    st, h, body = web.req("POST", "/api/v1/session", {"user": "tech", "password": "pass-word-operator"})
    check(st == 429 and int(h.get("retry-after", "0")) > 0, f"login past the limit: {st}")
    problem_ok(st, h, body, "429")

    if FAILS:
        print(f"{len(FAILS)} failure(s)", file=sys.stderr)
        return 1
    print(f"web_api.py: {len(ops)} operations x {len(callers)} callers, ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
