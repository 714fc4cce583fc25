#!/usr/bin/env python3
"""Assertions of tests/integration/worked_month.sh: a bill, or a month's SLA rows, exactly as
the worked month of docs/BILLING.md says. Exit 1, printing each difference, when they differ.

  worked_month.py bill FILE EXPECTED
      EXPECTED, one item a line:
        no kind asset days/period_days unit net tax gross [BASIS PERIOD]
          ("-" for null; BASIS avail/target/share/breaches, or REF:LINE for an adjustment)
        rate RATE_BP net tax gross     (the totals per tax rate, in the bill's order)
        total net tax gross
        capital 人民币…
        issued_at YYYY-MM-DD HH:MM:SS  (local)
        contracts v1,v2
  worked_month.py sla FILE EXPECTED
      FILE the CSV of `kioskctl --format csv sla --month M --by terminal`; EXPECTED one row a
      line: key scheduled excluded downtime uptime availability target met incidents
      other_incidents response_breaches restore_breaches ("-": n/a, an empty field)
"""
import csv
import json
import sys
from datetime import datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8))
problems = []


def want(what, got, exp):
    if str(got) != str(exp):
        problems.append("%s: got %s, want %s" % (what, got, exp))


def bill(path, expected):
    b = json.load(open(path, encoding="utf-8"))
    lines, rates = [], []
    for row in expected.strip().splitlines():
        f = row.split()
        if not f:
            continue
        if f[0] == "rate":
            rates.append([int(x) for x in f[1:]])
        elif f[0] == "total":
            t = b["totals"]
            want("total", [t["net_fen"], t["tax_fen"], t["gross_fen"]], [int(x) for x in f[1:]])
        elif f[0] == "capital":
            want("gross_capital", b["gross_capital"], f[1])
        elif f[0] == "issued_at":
            at = datetime.strptime(" ".join(f[1:]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
            want("issued_at_ms", b["issued_at_ms"], int(at.timestamp()) * 1000)
        elif f[0] == "contracts":
            want("contracts", ",".join("v%d" % c["version"] for c in b["contracts"]), f[1])
        else:
            lines.append(f)
    want("number of lines", len(b["lines"]), len(lines))
    for l, f in zip(b["lines"], lines):
        days = "-" if l["days"] is None else "%d/%d" % (l["days"], l["period_days"])
        unit = "-" if l["unit_fen"] is None else l["unit_fen"]
        got = [l["no"], l["kind"], l["asset"] or "-", days, unit,
               l["net_fen"], l["tax_fen"], l["gross_fen"]]
        bs = l["basis"]
        if bs is not None:
            if "ref" in bs:
                got.append("%s:%d" % (bs["ref"], bs["line"]))
            else:
                av = "-" if bs["availability_bp"] is None else bs["availability_bp"]
                got.append("%s/%s/%s/%s" % (av, bs["target_bp"], bs["share_bp"], bs["breaches"]))
            got.append(l["period"])
        want("line %s" % f[0], " ".join(map(str, got)), " ".join(f))
        want("line %s: net + tax = gross" % f[0], l["net_fen"] + l["tax_fen"], l["gross_fen"])
    want("totals by rate",
         [[r["tax_rate_bp"], r["net_fen"], r["tax_fen"], r["gross_fen"]]
          for r in b["totals"]["by_rate"]], rates)


def sla(path, expected):
    rows = [r for r in csv.DictReader(open(path, encoding="utf-8-sig")) if r["scope"] == "terminal"]
    cols = ("key scheduled_s excluded_s downtime_s uptime_s availability_bp target_bp met "
            "incidents other_incidents response_breaches restore_breaches").split()
    got = [" ".join(r[c] or "-" for c in cols) for r in rows]
    exp = [" ".join(l.split()) for l in expected.strip().splitlines() if l.strip()]
    want("number of terminals", len(got), len(exp))
    for g, e in zip(got, exp):
        want("terminal %s" % e.split()[0], g, e)


if __name__ == "__main__":
    {"bill": bill, "sla": sla}[sys.argv[1]](sys.argv[2], sys.argv[3])
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)
