// A DEVELOPMENT TOOL, not the test of record: a small stand-in for kiosk-web that serves the
// console's files and canned JSON shaped as /work/notes/api-contract.md (and, once it exists,
// docs/openapi.yaml) describe, so the console and its browser test can be built before the
// real server exists. The test of record runs console.test.mjs against a real kiosk-web on a
// real store. Data is generated from fixtures/deployment.json with a fixed seed.
//
//   node mock-server.mjs [--port N]       prints "listening http://127.0.0.1:PORT" and the
//                                         KF_WEB_USERS JSON for its canned logins
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../..');
const PUBLIC = path.resolve(process.env.KF_CONSOLE_DIR || path.join(ROOT, 'server/web/console/public'));
const dep = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures/deployment.json'), 'utf8'));
const portArg = process.argv.indexOf('--port');
const PORT = portArg > 0 ? Number(process.argv[portArg + 1]) : Number(process.env.PORT || 0);

export const USERS = {
  operator: { user: 'op', password: 'op-pass', role: 'operator', display: '运维管理员 张' },
  technician: { user: 'wang', password: 'wang-pass', role: 'technician', display: '王师傅' },
  'bank:ICBC': { user: 'icbc', password: 'icbc-pass', role: 'bank:ICBC', bank: 'ICBC', display: '工行审计 李' },
  bureau: { user: 'bureau', password: 'bureau-pass', role: 'bureau', display: '政务服务局 赵' },
};

// ---- deterministic data -------------------------------------------------------------------
let seed = 20261207;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const NOW = Date.now();
const iso = (ms) => {
  const d = new Date(ms + 8 * 3600e3);
  return `${d.toISOString().slice(0, 19)}+08:00`;
};
const unitName = Object.fromEntries(dep.units.map((u) => [u.code, u.name]));
const bankName = Object.fromEntries(dep.banks.map((b) => [b.code, b.name]));
const hoursText = (z) => `${z.hours.weekday}${z.hours.weekend ? `；周末 ${z.hours.weekend}` : '；周末休息'}`;

const zones = dep.zones.map((z) => ({
  zone: z.id, name: z.name, unit: z.unit, unit_name: unitName[z.unit], bank: z.bank, bank_name: bankName[z.bank],
  branch: z.branch, address: z.address, hours: hoursText(z), kiosks: z.kiosks, itms: z.itms, terminals: z.kiosks + z.itms,
}));
const zoneBy = Object.fromEntries(zones.map((z) => [z.zone, z]));

const PERIPHS = ['screen', 'id_card_reader', 'a4_printer', 'receipt_printer', 'camera', 'cash_module'];
const FAULTS = [['SCR-TOUCH', 'screen'], ['PRN-JAM', 'a4_printer'], ['IDR-ERR', 'id_card_reader'], ['RCP-OUT', 'receipt_printer']];
const terminals = [];
let n = 0;
const perUnit = {};
for (const z of dep.zones) {
  for (const kind of [...Array(z.kiosks).fill('kiosk'), ...Array(z.itms).fill('itm')]) {
    n += 1;
    perUnit[z.unit] = (perUnit[z.unit] || 0) + 1;
    const r = rnd();
    const status = r < 0.84 ? 'up' : r < 0.91 ? 'degraded' : r < 0.96 ? 'down' : r < 0.98 ? 'maintenance' : 'unknown';
    const fault = status === 'degraded' || (status === 'down' && rnd() < 0.3) ? pick(FAULTS) : null;
    terminals.push({
      terminal: `A-${String(n).padStart(6, '0')}`, device: `KF-${z.unit}-${String(perUnit[z.unit]).padStart(4, '0')}`,
      zone: z.id, zone_name: z.name, bank: z.bank, bank_name: bankName[z.bank], kind, status,
      since: iso(NOW - Math.floor(rnd() * 72 * 3600e3)),
      parts: status === 'down' && !fault ? 'terminal' : fault ? fault[1] : null,
      faults: fault ? `${fault[0]}(${status === 'down' ? 'critical' : 'major'})` : null,
      maintenance: status === 'maintenance' ? 'wang' : null,
      items_out: status === 'up' ? 0 : status === 'unknown' ? null : status === 'down' || status === 'maintenance' ? 75 : 12 + Math.floor(rnd() * 20),
      items: 75,
    });
  }
}
const termBy = Object.fromEntries(terminals.map((x) => [x.terminal, x]));

// A mass outage: every terminal of three 鲁山县 zones dropped together (the branch network).
const OUTAGE_ID = 9001;
const outageZones = zones.filter((z) => z.unit === 'LS').slice(0, 3).map((z) => z.zone);
const outageSince = NOW - 95 * 60e3;
for (const x of terminals) {
  if (outageZones.includes(x.zone)) Object.assign(x, { status: 'down', since: iso(outageSince), parts: 'terminal', faults: null, items_out: 75 });
}

const incidents = [];
let incId = 100;
for (const x of terminals) {
  if (x.status !== 'down' && x.status !== 'degraded') continue;
  const inOutage = outageZones.includes(x.zone);
  const fault = x.faults ? x.faults.split('(')[0] : null;
  const resp = inOutage ? 7200 - 95 * 60 : Math.floor(rnd() * 9000) - 1800;
  const state = inOutage ? 'opened' : pick(['opened', 'opened', 'acknowledged', 'on_site', 'resolved']);
  incidents.push({
    id: ++incId, terminal: x.terminal, device: x.device, zone: x.zone, zone_name: x.zone_name, bank: x.bank, bank_name: x.bank_name,
    cause: fault || 'offline', part: fault ? x.parts : null, attribution: rnd() < 0.85 ? 'company' : 'bank_power', state,
    since: x.since, response_left_s: state === 'opened' ? resp : null, restore_left_s: state === 'resolved' ? null : resp + 21600,
    breached: resp < 0 && state === 'opened' ? 'response' : null, assignee: state === 'opened' ? null : 'wang',
    outage: inOutage ? OUTAGE_ID : null,
    _history: [{ at: x.since, event: 'opened', who: 'kioskd', detail: fault ? `${fault} on ${x.parts}` : 'offline past the grace' }],
  });
}
const incBy = Object.fromEntries(incidents.map((i) => [i.id, i]));
const publicRow = (i) => { const { _history, ...r } = i; return r; };
// The parent of a mass outage over the rows the caller may see: a bank's folded parent holds
// only its own terminals (the scoping applies to children too).
const outageRow = (visible = incidents) => {
  const kids = visible.filter((i) => i.outage === OUTAGE_ID && i.state !== 'closed').map(publicRow);
  const z = zoneBy[outageZones[0]];
  return {
    id: OUTAGE_ID, kind: 'outage', scope: 'unit', terminal: null, device: null, unit: 'LS', unit_name: unitName.LS,
    zone: null, zone_name: `${unitName.LS}：${outageZones.length} 个专区同时离线（网点网络）`,
    // one bank when all its terminals are that bank's, none when the outage spans banks
    bank: new Set(kids.map((k) => k.bank)).size === 1 ? z.bank : null, bank_name: new Set(kids.map((k) => k.bank)).size === 1 ? z.bank_name : null,
    cause: 'offline', part: null, attribution: 'company', state: kids.every((k) => k.state !== 'opened') ? 'acknowledged' : 'opened',
    since: iso(outageSince), response_left_s: Math.min(...kids.map((k) => k.response_left_s ?? Infinity)) === Infinity ? null : Math.min(...kids.map((k) => k.response_left_s ?? Infinity)),
    restore_left_s: 7200 - 95 * 60 + 21600, breached: null, assignee: null, children: kids,
  };
};

// Bills: three closed months per bank, lines from the bank's own terminals.
const MONTHS = ['2026-09', '2026-10', '2026-11'];
const bills = [];
for (const b of dep.banks) {
  MONTHS.forEach((m, k) => {
    const mine = terminals.filter((x) => x.bank === b.code);
    const lines = [];
    for (const x of mine) {
      const add = (kind, unit, rate, text) => {
        const net = kind === 'credit' ? -Math.round(unit * 0.05) : unit;
        const tax = Math.round((net * rate) / 10000);
        lines.push({ no: lines.length + 1, kind, asset: x.terminal, terminal_kind: x.kind, model: null, zone: x.zone, period: m,
          days: kind === 'credit' ? null : 30, period_days: kind === 'credit' ? null : 30, unit_fen: kind === 'credit' ? null : unit,
          basis: kind === 'credit' ? { availability_bp: 9712, target_bp: 9800, share_bp: 500, breaches: 1 } : null,
          net_fen: net, tax_rate_bp: rate, tax_fen: tax, gross_fen: net + tax, text });
      };
      if (x.kind === 'kiosk') add('lease', 120000, 1300, `租赁费 ${x.terminal}`);
      add('maintenance', x.kind === 'kiosk' ? 30000 : 50000, 600, `维护费 ${x.terminal}`);
      if (rnd() < 0.1) add('credit', x.kind === 'kiosk' ? 30000 : 50000, 600, `SLA 抵扣 ${x.terminal}: 9712 < 9800, 5%`);
    }
    const sum = (k, ls = lines) => ls.reduce((a, l) => a + l[k], 0);
    const rates = [...new Set(lines.map((l) => l.tax_rate_bp))].sort((p, q) => p - q);
    const number = `${b.code}-${String(k + 1).padStart(6, '0')}`;
    const [y, mo] = m.split('-').map(Number);
    bills.push({
      row: { number, type: 'bill', bank: b.code, period: m, ref: null, ref_line: null, issued: iso(Date.UTC(y, mo, 6, 4)), issued_by: 'billing',
        net_fen: sum('net_fen'), tax_fen: sum('tax_fen'), gross_fen: sum('gross_fen'), digest: crypto.createHash('sha256').update(number).digest('hex') },
      doc: { doc: 'kioskfleet.bill/1', status: 'issued', number, bank: { code: b.code, name: b.name }, period: m,
        from_ms: Date.UTC(y, mo - 1, 1) - 8 * 3600e3, to_ms: Date.UTC(y, mo, 1) - 8 * 3600e3, issued_at_ms: Date.UTC(y, mo, 6, 4),
        prices_include_tax: false, contracts: [{ id: `${b.code}-2026`, version: 1, effective_from: '2026-01-01', effective_to: null }],
        lines, totals: { by_rate: rates.map((r) => { const ls = lines.filter((l) => l.tax_rate_bp === r); return { tax_rate_bp: r, net_fen: sum('net_fen', ls), tax_fen: sum('tax_fen', ls), gross_fen: sum('gross_fen', ls) }; }),
          net_fen: sum('net_fen'), tax_fen: sum('tax_fen'), gross_fen: sum('gross_fen') },
        gross_capital: '人民币（模拟数据）', inputs: { contracts: '00'.repeat(32) } },
    });
  });
}
const disputes = [];

// The weekly report, coverage and assessment documents, shaped as docs/REPORTS.md says.
function rollup(code, name, zs) {
  const terms = zs.reduce((a, z) => a + z.terminals, 0);
  const ok = Math.floor(terms * (20 + rnd() * 30));
  const prev = Math.floor(ok * (0.8 + rnd() * 0.4));
  return { code, name, zones: zs.length, zones_commissioned: zs.length, zones_reporting: zs.length - (rnd() < 0.3 ? 1 : 0),
    zones_active: zs.length - Math.floor(rnd() * 2), planned_kiosks: zs.reduce((a, z) => a + z.kiosks, 0), planned_itms: zs.reduce((a, z) => a + z.itms, 0),
    planned: terms, commissioned: terms, reporting: terms - Math.floor(rnd() * 2), active: terms - Math.floor(rnd() * 3), terminal_days: terms * 5,
    ok, failed: Math.floor(ok * 0.04), abandoned: Math.floor(ok * 0.06), total: ok + Math.floor(ok * 0.1), ok_per_terminal_day_x100: Math.floor((100 * ok) / (terms * 5)),
    ok_prev: prev, ok_change: ok - prev, ok_change_pm: prev ? Math.floor((1000 * (ok - prev)) / prev) : null,
    owed_s: terms * 5 * 30600, uptime_s: Math.floor(terms * 5 * 30600 * 0.97), availability_bp: 9500 + Math.floor(rnd() * 480), target_bp: 9800,
    availability_prev_bp: 9600, availability_change_bp: -100 + Math.floor(rnd() * 300), open_incidents: Math.floor(rnd() * 4) };
}
function weekDoc(week, prev, from, to) {
  const units = dep.units.map((u) => rollup(u.code, u.name, zones.filter((z) => z.unit === u.code)));
  const banks = dep.banks.map((b) => rollup(b.code, b.name, zones.filter((z) => z.bank === b.code)));
  const fleet = rollup(null, null, zones); delete fleet.code; delete fleet.name;
  fleet.ok = units.reduce((a, u) => a + u.ok, 0); fleet.ok_prev = units.reduce((a, u) => a + u.ok_prev, 0);
  fleet.ok_change = fleet.ok - fleet.ok_prev; fleet.ok_change_pm = Math.floor((1000 * fleet.ok_change) / fleet.ok_prev);
  const zrows = zones.map((z) => ({ z, ok: Math.floor(rnd() * 400), td: z.terminals * 5 })).map((r) => ({ ...r, x: Math.floor((100 * r.ok) / r.td) }));
  zrows.sort((a, b) => b.x - a.x);
  const rank = (r, i) => ({ rank: i + 1, zone: r.z.zone, name: r.z.name, bank: r.z.bank, ok: r.ok, terminal_days: r.td, ok_per_terminal_day_x100: r.x });
  return { doc: 'kioskfleet.week/1', week, previous_week: prev, from, to, draft: false, availability_as_of: `${to}T16:00:00.000Z`,
    days: [], inputs: {}, fleet, uncounted: 0, units, banks, zones: [], families: [], items: [],
    inactive_zones: zones.slice(40, 44).map((z) => ({ zone: z.zone, name: z.name, unit: z.unit, bank: z.bank, status: 'commissioned', commissioned: z.terminals, reporting: 0, terminal_days: 0 })),
    idle_terminals: [], busiest: zrows.slice(0, 10).map(rank), quietest: zrows.slice(-10).reverse().map((r, i) => rank(r, zrows.length - 1 - i)) };
}
const WEEKS = [['2026-W49', '2026-W48', '2026-11-30', '2026-12-06'], ['2026-W48', '2026-W47', '2026-11-23', '2026-11-29'], ['2026-W47', '2026-W46', '2026-11-16', '2026-11-22']];
const weekDocs = Object.fromEntries(WEEKS.map((w) => [w[0], weekDoc(...w)]));

function coverageDoc() {
  const unitRows = dep.units.map((u) => {
    const zs = zones.filter((z) => z.unit === u.code);
    const com = zs.length - (u.code === 'SL' ? 3 : u.code === 'JX' ? 1 : 0);
    const terms = zs.reduce((a, z) => a + z.terminals, 0);
    return { code: u.code, name: u.name, zones_target: 10, zones_planned: zs.length, zones_delisted: 0, zones_commissioned: com,
      zones_reporting: com - (rnd() < 0.4 ? 1 : 0), planned: terms, commissioned: terms - (zs.length - com) * 2,
      commissioned_kiosks: zs.reduce((a, z) => a + z.kiosks, 0), commissioned_itms: zs.reduce((a, z) => a + z.itms, 0), reporting: terms - 3, met: com >= 10 };
  });
  const bankRows = dep.banks.map((b) => {
    const zs = zones.filter((z) => z.bank === b.code);
    const terms = zs.reduce((a, z) => a + z.terminals, 0);
    return { code: b.code, name: b.name, zones_target: null, zones_planned: zs.length, zones_delisted: 0, zones_commissioned: zs.length - 1,
      zones_reporting: zs.length - 2, planned: terms, commissioned: terms - 2, commissioned_kiosks: zs.reduce((a, z) => a + z.kiosks, 0),
      commissioned_itms: zs.reduce((a, z) => a + z.itms, 0), reporting: terms - 4, met: null };
  });
  const zc = unitRows.reduce((a, u) => a + u.zones_commissioned, 0);
  return { doc: 'kioskfleet.coverage/1', at: '2026-12-06', reporting_from: '2026-11-30', reporting_to: '2026-12-06',
    targets: { zones_min: 200, banks_min: 6, units_min: 10, zones_per_unit_min: 10, itm_items_min: 70, families_min: 8 }, inputs: {},
    checks: [
      { target: 'zones', required: 200, planned: zones.length, commissioned: zc, reporting: zc - 4, met: zc >= 200, plan_met: true },
      { target: 'banks', required: 6, planned: 6, commissioned: 6, reporting: 6, met: true, plan_met: true },
      { target: 'units', required: 10, planned: 10, commissioned: unitRows.filter((u) => u.met).length, reporting: 8, met: unitRows.every((u) => u.met), plan_met: true },
      { target: 'itm_items', required: 70, planned: dep.items.length, commissioned: dep.items.length, reporting: dep.items.length, met: true, plan_met: true },
      { target: 'families', required: 8, planned: 8, commissioned: 8, reporting: 8, met: true, plan_met: true },
    ],
    units: [...unitRows, { code: 'all', name: '全市合计', zones_target: 200, zones_planned: zones.length, zones_delisted: 0, zones_commissioned: zc, zones_reporting: zc - 4, planned: terminals.length, commissioned: terminals.length - 8, commissioned_kiosks: 0, commissioned_itms: 0, reporting: terminals.length - 12, met: zc >= 200 }],
    banks: bankRows, families: dep.families.map((f) => ({ code: f.code, name: f.name, items: dep.items.filter((i) => i.family === f.code).length })), delisted: [] };
}

const MEASURES = ['activity', 'availability', 'coverage_days'];
function assessDoc(period) {
  const zs = zones.map((z) => {
    const criteria = MEASURES.map((m) => { const sc = Math.floor(rnd() * 3400); return { measure: m, num: 0, den: 0, value: 0, score_cp: sc, pass: sc > 1200 }; });
    const total = criteria.reduce((a, c) => a + c.score_cp, 0);
    const result = rnd() < 0.04 ? 'not_assessed' : total >= 6000 ? 'pass' : 'fail';
    return { zone: z.zone, unit: z.unit, bank: z.bank, planned: z.terminals, from: '2026-01-01', to: '2026-07-01', service_days: 120, terminals: z.terminals,
      terminal_days: z.terminals * 120, txns_ok: Math.floor(rnd() * 9000), owed_s: 0, uptime_s: 0, result,
      reason: result === 'fail' ? 'score' : result === 'not_assessed' ? 'short' : null, total_cp: result === 'not_assessed' ? null : total, criteria: result === 'not_assessed' ? [] : criteria };
  });
  const agg = (key, code) => {
    const mine = zs.filter((z) => z[key] === code);
    const passed = mine.filter((z) => z.result === 'pass').length; const failed = mine.filter((z) => z.result === 'fail').length;
    const assessed = passed + failed;
    return { [key]: code, zones: mine.length, assessed, passed, failed, not_assessed: mine.length - assessed,
      pass_rate_bp: assessed ? Math.floor((10000 * passed) / assessed) : null,
      mean_score_cp: assessed ? Math.floor(mine.filter((z) => z.total_cp != null).reduce((a, z) => a + z.total_cp, 0) / assessed) : null,
      activity: 300 + Math.floor(rnd() * 300), availability_bp: 9600 + Math.floor(rnd() * 350) };
  };
  const banks = dep.banks.map((b) => agg('bank', b.code)).sort((a, b) => (b.pass_rate_bp - a.pass_rate_bp) || (b.mean_score_cp - a.mean_score_cp));
  banks.forEach((b, i) => { b.rank = i + 1; });
  return { doc: 'kioskfleet.assessment/1', period, from: '2026-01-01', to: '2026-07-01', status: 'issued', issued_at_ms: Date.UTC(2026, 6, 3),
    version: 1, supersedes: null, reason: null, rubric: {}, inputs: {}, zones: zs, units: dep.units.map((u) => agg('unit', u.code)),
    banks: banks.map(({ rank, ...r }) => ({ rank, ...r })) };
}
const assessment = assessDoc('2026-H1');
const watchlist = assessment.zones.filter((z) => z.result === 'fail').slice(0, 14).map((z, i) => ({
  zone: z.zone, unit: z.unit, bank: z.bank, standing: i < 3 ? 'proposed' : 'watch', streak: i < 3 ? 2 : 1,
  last_period: '2026-H1', last_result: 'fail', last_total: z.total_cp / 100, delisted_from: null, problem: null }));

// ---- HTTP ---------------------------------------------------------------------------------
const sessions = new Map(); // sid -> {user..., csrf}
const sseClients = new Set();
let actionSeq = 0;

function send(res, status, body, headers = {}) {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(data);
}
function problem(res, status, title, detail) {
  send(res, status, { type: 'about:blank', title, status, detail }, { 'Content-Type': 'application/problem+json' });
}
function list(res, rows, q) {
  const limit = Math.min(Number(q.get('limit') || 100), 1000);
  const offset = Number(q.get('offset') || 0);
  send(res, 200, { items: rows.slice(offset, offset + limit), total: rows.length, limit, offset });
}
const kindOf = (s) => (s?.role?.startsWith('bank') ? 'bank' : s?.role);
function sessionOf(req) {
  const m = /(?:^|;\s*)kf_session=([^;]+)/.exec(req.headers.cookie || '');
  return m ? sessions.get(m[1]) || null : null;
}
async function bodyOf(req) {
  let b = '';
  for await (const c of req) { b += c; if (b.length > 65536) throw new Error('too large'); }
  return b ? JSON.parse(b) : {};
}
function broadcast(type, data, bank) {
  for (const c of sseClients) {
    if (kindOf(c.s) === 'bank' && bank && c.s.bank !== bank) continue; // scoped like the rest
    c.res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

// kioskd applies a queued action a little later: so does the mock.
function applyAction(i, kind, text, to, who) {
  const at = iso(Date.now());
  const refuse = (why) => i._history.push({ at, event: `${kind} refused`, who, detail: why });
  if (kind === 'ack') {
    if (!['opened', 'reopened'].includes(i.state)) refuse('already so');
    else Object.assign(i, { state: 'acknowledged', acknowledged: at, acknowledged_by: who, response_left_s: null, assignee: i.assignee || who });
  } else if (kind === 'onsite') Object.assign(i, { state: 'on_site', on_site: at, on_site_by: who });
  else if (kind === 'resolve') Object.assign(i, { state: 'resolved', resolved: at, resolved_by: who, restore_left_s: null });
  else if (kind === 'close') { if (i.state !== 'resolved') refuse('not allowed while the incident is ' + i.state); else Object.assign(i, { state: 'closed', closed: at }); }
  else if (kind === 'assign') i.assignee = to;
  if (!i._history.at(-1)?.event?.endsWith('refused')) i._history.push({ at, event: kind, who, detail: kind === 'assign' ? `→ ${to}${text ? `: ${text}` : ''}` : text || null });
  broadcast('incident', publicRow(i), i.bank);
}

const ROLES = { // route -> roles allowed, as the contract's brackets say
  fleet: 'operator technician bank bureau', terminals: 'operator technician bank', incidents: 'operator technician bank',
  outages: 'operator technician', zones: 'operator technician bank bureau', bills: 'operator bank', reports: 'operator bureau',
  coverage: 'operator bureau', assessments: 'operator bureau', watchlist: 'operator bureau', users: 'operator', disputes: 'operator bank', events: 'operator technician bank',
  usage: 'operator bank bureau', sla: 'operator technician bank bureau',
};

async function api(req, res, u) {
  const p = u.pathname.replace(/^\/api\/v1/, '');
  const q = u.searchParams;
  const s = sessionOf(req);
  if (p === '/session') {
    if (req.method === 'POST') {
      const b = await bodyOf(req);
      const found = Object.values(USERS).find((x) => x.user === b.user && x.password === b.password);
      if (!found) return problem(res, 401, '用户名或密码错误', 'unknown user or wrong password');
      const sid = crypto.randomBytes(16).toString('hex');
      const sess = { user: found.user, role: found.role, bank: found.bank || null, display: found.display, csrf: crypto.randomBytes(16).toString('hex') };
      sessions.set(sid, sess);
      return send(res, 200, sess, { 'Set-Cookie': `kf_session=${sid}; HttpOnly; SameSite=Strict; Path=/` });
    }
    if (!s) return problem(res, 401, 'Unauthorized', 'no session');
    if (req.method === 'DELETE') { sessions.delete(/kf_session=([^;]+)/.exec(req.headers.cookie)[1]); res.writeHead(204, { 'Set-Cookie': 'kf_session=; Max-Age=0; Path=/' }); return res.end(); }
    return send(res, 200, s);
  }
  if (p === '/public/zones') {
    return list(res, zones.map((z) => {
      const ts = terminals.filter((x) => x.zone === z.zone);
      const up = ts.filter((x) => x.status === 'up' || x.status === 'degraded');
      return { zone: z.zone, name: z.name, bank: z.bank, bank_name: z.bank_name, unit: z.unit, unit_name: z.unit_name, address: z.address,
        hours: dep.zones.find((d) => d.id === z.zone).hours, open_now: true, terminals: ts.length, terminals_in_service: up.length,
        items_available: up.length ? 75 - Math.min(...up.map((x) => x.items_out ?? 0)) : 0, items: 75 };
    }), q);
  }
  if (!s) return problem(res, 401, 'Unauthorized', 'sign in first');
  const top = p.split('/')[1];
  const kind = kindOf(s);
  if (!ROLES[top] || !ROLES[top].split(' ').includes(kind)) return problem(res, ROLES[top] ? 403 : 404, ROLES[top] ? '无权访问' : 'Not Found', `${p} is not for ${s.role}`);
  if (req.method !== 'GET' && req.headers['x-csrf-token'] !== s.csrf) return problem(res, 403, 'CSRF token missing or wrong', 'send X-CSRF-Token');
  const mineOnly = (rows) => (kind === 'bank' ? rows.filter((r) => r.bank === s.bank) : rows);
  let m;

  if (p === '/events') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': hello\n\n');
    const c = { res, s };
    sseClients.add(c);
    req.on('close', () => sseClients.delete(c));
    return undefined;
  }
  if (p === '/zones') return list(res, mineOnly(zones), q);
  if (p === '/fleet') {
    const qq = (q.get('q') || '').toLowerCase();
    return list(res, mineOnly(terminals).filter((x) => (!q.get('unit') || zoneBy[x.zone].unit === q.get('unit')) && (!q.get('bank') || x.bank === q.get('bank'))
      && (!q.get('zone') || x.zone === q.get('zone')) && (!(q.get('status') || q.get('state')) || x.status === (q.get('status') || q.get('state')))
      && (!q.get('kind') || x.kind === q.get('kind')) && (!qq || `${x.terminal} ${x.device} ${x.zone_name}`.toLowerCase().includes(qq))), q);
  }
  if ((m = /^\/terminals\/([^/]+)$/.exec(p))) {
    const x = termBy[decodeURIComponent(m[1])];
    if (!x || (kind === 'bank' && x.bank !== s.bank)) return problem(res, 404, 'Not Found', 'no such terminal');
    const z = zoneBy[x.zone];
    const incs = incidents.filter((i) => i.terminal === x.terminal).map(publicRow);
    const t0 = Date.parse(x.since);
    return send(res, 200, {
      terminal: { device_id: x.device, asset: x.terminal, kind: x.kind, zone: x.zone, zone_name: x.zone_name, unit: z.unit, unit_name: z.unit_name,
        bank: x.bank, bank_name: x.bank_name, branch: z.branch, lease: `${x.bank}-2026/L-${x.terminal}`, status: x.status, parts: x.parts, faults: x.faults, maintenance: x.maintenance, items_out: x.items_out, items: x.items, online: x.status !== 'down',
        since: x.since, last_seen: iso(NOW - 20e3), acked_seq: 18234, agent: '1.4.0', boot_id: 'b1f3', clock_offset_ms: 120, health_dropped: 0, registered: '2026-03-02T09:00:00+08:00' },
      health: { at: iso(NOW - 60e3), seq: 18230, cpu_pct: 12.5, temp_c: 47.0, mem_total_mb: 3882, mem_avail_mb: 2011, disk_total_mb: 59000, disk_avail_mb: 40100, uptime_s: 352800, net_up: x.status !== 'down' },
      peripherals: PERIPHS.slice(0, x.kind === 'itm' ? 6 : 5).map((pp) => ({ periph: pp, state: x.parts === pp ? 'hw_error' : x.status === 'down' ? 'offline' : 'online', usable: x.parts !== pp && x.status !== 'down', since: x.since })),
      incidents: incs,
      items_out: x.items_out ? dep.items.slice(0, Math.min(x.items_out, 12)).map((it) => ({ item: it.code, item_name: it.name, family: it.family, family_name: dep.families.find((f) => f.code === it.family).name })) : [],
      timeline: [
        { at: iso(t0 - 86400e3 * 3), kind: 'state', status: 'up', event: 'state', who: null, detail: null },
        { at: iso(t0 - 86400e3 * 2), kind: 'state', status: 'degraded', event: 'state', who: null, detail: 'PRN-JAM(major) a4_printer' },
        { at: iso(t0 - 86400e3 * 2 + 3 * 3600e3), kind: 'state', status: 'up', event: 'state', who: null, detail: null },
        { at: x.since, kind: 'state', status: x.status, event: 'state', who: null, detail: x.faults || x.parts },
        ...incs.flatMap((i) => incBy[i.id]._history.map((hh) => ({ at: hh.at, kind: 'incident', incident: i.id, event: hh.event, who: hh.who, detail: hh.detail }))),
      ],
    });
  }
  if (p === '/incidents') {
    const open = (q.get('status') || 'open') === 'open';
    let rows = mineOnly(incidents).filter((i) => (!open || i.state !== 'closed') && (!q.get('unit') || zoneBy[i.zone].unit === q.get('unit'))
      && (!q.get('bank') || i.bank === q.get('bank')) && (!q.get('zone') || i.zone === q.get('zone')) && (!q.get('assignee') || i.assignee === q.get('assignee')));
    const flat = q.get('flat') === '1';
    const out = [];
    if (!flat && rows.some((i) => i.outage === OUTAGE_ID)) out.push(outageRow(rows));
    for (const i of rows) if (flat || i.outage !== OUTAGE_ID) out.push(publicRow(i));
    out.sort((a, b) => (a.response_left_s ?? 1e9) - (b.response_left_s ?? 1e9));
    rows = out;
    return list(res, rows, q);
  }
  if (p === '/incidents/actions' && req.method === 'POST') {
    if (kind !== 'operator' && kind !== 'technician') return problem(res, 403, '无权操作', 'technician actions only');
    const b = await bodyOf(req);
    if (b.kind !== 'ack' || !Array.isArray(b.ids)) return problem(res, 400, 'Bad Request', 'bulk needs kind ack and ids');
    const ids = b.ids.map(Number).filter((id) => incBy[id]);
    setTimeout(() => ids.forEach((id) => applyAction(incBy[id], 'ack', b.text, null, s.user)), 1200);
    return send(res, 202, { actions: ids.map(() => ++actionSeq) });
  }
  if ((m = /^\/incidents\/(\d+)(\/actions)?$/.exec(p))) {
    const i = incBy[Number(m[1])];
    if (!i || (kind === 'bank' && i.bank !== s.bank)) return problem(res, 404, 'Not Found', 'no such incident');
    if (m[2]) {
      if (req.method !== 'POST') return problem(res, 405, 'Method Not Allowed', '');
      if (kind !== 'operator' && kind !== 'technician') return problem(res, 403, '无权操作', 'technician actions only');
      const b = await bodyOf(req);
      if (!['ack', 'onsite', 'resolve', 'close', 'note', 'assign'].includes(b.kind)) return problem(res, 400, 'Bad Request', `unknown kind ${b.kind}`);
      if (b.kind === 'assign' && !b.to) return problem(res, 400, 'Bad Request', 'assign needs "to"');
      setTimeout(() => applyAction(i, b.kind, b.text, b.to, s.user), 1200);
      return send(res, 202, { action: ++actionSeq });
    }
    const z = zoneBy[i.zone];
    return send(res, 200, { incident: { ...publicRow(i), severity: i.cause === 'offline' ? 'critical' : 'major', detail: i._history[0].detail, opened: iso(Date.parse(i.since) + 120e3),
      acknowledged: i.acknowledged ?? null, acknowledged_by: i.acknowledged_by ?? null, on_site: i.on_site ?? null, on_site_by: i.on_site_by ?? null, on_site_duration_s: i.on_site ? 1200 : null,
      resolved: i.resolved ?? null, resolved_by: i.resolved_by ?? null, closed: i.closed ?? null,
      response_due: iso(Date.parse(i.since) + 7200e3), restore_due: iso(Date.parse(i.since) + 28800e3), down_spans: 1, unit: z.unit }, history: i._history });
  }
  if (p === '/outages') return list(res, [outageRow(mineOnly(incidents))], q);
  if (p === '/bills') {
    const period = q.get('period') || q.get('month'); // kiosk-web: period (the column); the draft contract: month
    return list(res, bills.filter((b) => (kind !== 'bank' || b.row.bank === s.bank) && (!q.get('bank') || b.row.bank === q.get('bank')) && (!period || b.row.period === period)).map((b) => b.row).reverse(), q);
  }
  if ((m = /^\/bills\/([A-Z]+-\d{6})(\.xlsx|\.pdf|\.csv|\/bundle|\/disputes)?$/.exec(p))) {
    const b = bills.find((x) => x.row.number === m[1]);
    if (!b || (kind === 'bank' && b.row.bank !== s.bank)) return problem(res, 404, 'Not Found', 'no such bill');
    // ?format=xlsx (kiosk-web's route table) or .xlsx (the draft contract): both served.
    if (!m[2] && q.get('format')) m[2] = `.${q.get('format')}`;
    const file = (type, ext, data) => send(res, 200, data, { 'Content-Type': type, 'Content-Disposition': `attachment; filename="${b.row.number}${ext}"` });
    if (m[2] === '/disputes') {
      if (kind !== 'bank') return problem(res, 403, '无权操作', 'only the bank disputes its bill');
      const d = await bodyOf(req);
      if (!Number.isInteger(d.line) || !b.doc.lines.find((l) => l.no === d.line) || !d.reason) return problem(res, 400, '无效的异议', 'line must be a line of the bill and reason is required');
      disputes.push({ id: disputes.length + 1, bill: b.row.number, bank: s.bank, line: d.line, opened: iso(Date.now()), by: s.user, reason: d.reason, state: 'open' });
      return send(res, 202, { dispute: disputes.length });
    }
    // Mock files: right magic bytes and type, not real documents (kioskctl's renderers make those).
    if (m[2] === '.xlsx') return file('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', '.xlsx', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(200, 0)]));
    if (m[2] === '.pdf') return file('application/pdf', '.pdf', Buffer.from(`%PDF-1.4\n% mock bill ${b.row.number}\n%%EOF\n`));
    if (m[2] === '.csv') return file('text/csv; charset=utf-8', '.csv', `\ufeff账单编号,${b.row.number}\n`);
    if (m[2] === '/bundle') return file('application/json', '.bundle.json', JSON.stringify({ doc: 'kioskfleet.bundle/1', bill: b.doc }));
    return send(res, 200, b.doc);
  }
  if (p === '/reports/weekly') return list(res, WEEKS.map(([w]) => ({ week: w, version: 1, issued: iso(NOW), issued_by: 'kioskd' })), q);
  if ((m = /^\/reports\/weekly\/(\d{4}-W\d{2})(\.xlsx|\.pdf|\.csv)?$/.exec(p))) {
    if (!m[2] && q.get('format')) m[2] = `.${q.get('format')}`;
    const d = weekDocs[m[1]];
    if (!d) return problem(res, 404, 'Not Found', `week ${m[1]} not issued`);
    if (m[2] === '.pdf') return send(res, 200, Buffer.from('%PDF-1.4\n% mock week\n%%EOF\n'), { 'Content-Type': 'application/pdf' });
    if (m[2]) return send(res, 200, Buffer.from('PK\x03\x04mock', 'latin1'), { 'Content-Type': 'application/octet-stream' });
    return send(res, 200, d);
  }
  if (p === '/coverage') return send(res, 200, coverageDoc());
  if (p === '/assessments') return list(res, [{ period: '2026-H1', version: 1, status: 'issued', issued: iso(Date.UTC(2026, 6, 3)) }], q);
  if ((m = /^\/assessments\/(\d{4}-H[12])(\.xlsx)?$/.exec(p))) {
    if (m[1] !== '2026-H1') return problem(res, 404, 'Not Found', 'not issued');
    if (!m[2] && q.get('format')) m[2] = `.${q.get('format')}`;
    return m[2] ? send(res, 200, Buffer.from('PK\x03\x04mock', 'latin1'), { 'Content-Type': 'application/octet-stream' }) : send(res, 200, assessment);
  }
  if (p === '/watchlist') return list(res, watchlist, q);
  if (p === '/disputes') return list(res, disputes.filter((d) => (kind !== 'bank' || d.bank === s.bank) && (!q.get('bill') || d.bill === q.get('bill')) && (!q.get('state') || d.state === q.get('state'))), q);
  if (p === '/users') return list(res, Object.values(USERS).map(({ password, ...r }) => r), q);
  return problem(res, 404, 'Not Found', p);
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };
function serveStatic(req, res, u) {
  const rel = u.pathname === '/' ? 'index.html' : decodeURIComponent(u.pathname).replace(/^\/+/, '');
  const file = path.resolve(PUBLIC, rel);
  if (!file.startsWith(PUBLIC + path.sep)) return problem(res, 404, 'Not Found', '');
  fs.readFile(file, (err, data) => {
    if (err) return problem(res, 404, 'Not Found', u.pathname);
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(data);
  });
}

const server = http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  try {
    if (u.pathname === '/healthz') return send(res, 200, { ok: true });
    if (u.pathname.startsWith('/api/v1/')) return await api(req, res, u);
    return serveStatic(req, res, u);
  } catch (e) {
    return problem(res, 500, 'Internal Server Error', String(e.message || e));
  }
});

// A terminal changes state now and then, so the live view has something to show.
const flipper = setInterval(() => {
  const x = pick(terminals.filter((tt) => !outageZones.includes(tt.zone)));
  x.status = x.status === 'up' ? pick(['degraded', 'down']) : 'up';
  x.since = iso(Date.now());
  x.items_out = x.status === 'up' ? 0 : x.status === 'down' ? 75 : 20;
  broadcast('fleet', x, x.bank);
}, 4000);

server.listen(PORT, '127.0.0.1', () => {
  const { port } = server.address();
  const users = Object.fromEntries(Object.entries(USERS).map(([k, v]) => [k, { user: v.user, password: v.password }]));
  console.log(`listening http://127.0.0.1:${port}`);
  console.log(`KF_WEB_USERS='${JSON.stringify(users)}'`);
});
const stop = () => { clearInterval(flipper); for (const c of sseClients) c.res.end(); server.close(() => process.exit(0)); setTimeout(() => process.exit(0), 500).unref(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
