// One terminal: GET /api/v1/terminals/{asset} -> {state, items_out, incidents, history}
// (tables the answer lacks are shown as empty: health and peripherals are read when a server
// sends them) and GET /api/v1/terminals/{asset}/timeline?days=N, its changes of state (the
// SLA facts): registry and state, health, peripherals, the items it cannot serve, then its
// states over the last days as bands (presence, maintenance, faults, each peripheral that
// changed, and its incidents) with the changes in a table below, then its open incidents.
import { api, getAll, url } from '../api.js';
import { t, tv } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, empty, errorBox, table, kv, badge, chart } from '../ui.js';
import { stateBadge, incBadge, kindText } from './common.js';
import { actionsPanel, invBlock, cmdTable } from './cmdui.js';

const one = (x) => (Array.isArray(x) ? x[x.length - 1] ?? null : x ?? null);
const many = (x) => (Array.isArray(x) ? x : x ? [x] : []);

export async function render(ctx) {
  const { main, arg, session } = ctx;
  const canCmd = ['operator', 'technician'].includes(session?.kind);
  let cmds = [];
  const box = h('div', {}, loading());
  main.append(h('p', {}, h('a', { href: '#/fleet' }, `← ${t('nav_fleet')}`)), box);
  let doc, facts, days = 7;
  const tlPath = `/terminals/${encodeURIComponent(arg)}/timeline`;
  async function load() {
    try {
      [doc, facts] = await Promise.all([
        api.get(`/terminals/${encodeURIComponent(arg)}`),
        getAll(tlPath, { days }, 3000),
      ]);
      const dev = one(doc.state)?.device_id || one(doc.state)?.device || one(doc.inventory)?.device;
      cmds = canCmd && dev ? (await api.get('/commands', { device: dev, limit: 20 })).items : [];
    } catch (e) { clear(box, errorBox(e, load)); return; }
    if (!ctx.alive()) return;
    draw();
  }
  function draw() {
    const term = { ...one(doc.state), ...one(doc.terminal) };
    const itemsOut = many(doc.items_out);
    const health = one(doc.health);
    const periph = many(doc.peripherals);
    const incs = many(doc.incidents);
    const changes = facts.filter((r) => !r.initial && r.kind !== 'cut').reverse();
    const shown = changes.slice(0, TABLE_MAX);
    const status = term.status ?? doc.state?.status;
    clear(box,
      h('h1', {}, `${t('term_title')} ${term.asset || arg} `, term.device_id || term.device ? h('span', { class: 'muted' }, `(${term.device_id || term.device}) `) : null, status ? stateBadge(status) : null),
      h('div', { class: 'row' },
        h('section', { class: 'card grow', 'aria-labelledby': 'reg-h' }, h('h2', { id: 'reg-h' }, t('registry')),
          kv([
            [t('kind'), kindText(term.kind)],
            [t('parts'), term.parts], [t('faults'), term.faults], [t('maintenance'), term.maintenance],
            [t('zone'), `${term.zone ?? '—'} ${term.zone_name ?? ''}`],
            [t('unit'), term.unit_name || term.unit],
            [t('bank'), term.bank_name || term.bank],
            [t('branch'), term.branch],
            [t('lease'), term.lease],
            [t('online'), f.bool(term.online)],
            [t('since'), f.time(term.since)],
            [t('last_seen'), f.time(term.last_seen)],
            [t('agent'), term.agent],
            [t('clock_offset'), term.clock_offset_ms == null ? '—' : `${f.int(term.clock_offset_ms)} ms`],
          ])),
        h('section', { class: 'card grow', 'aria-labelledby': 'health-h' }, h('h2', { id: 'health-h' }, t('health')),
          health ? kv([
            [t('at'), f.time(health.at)],
            [t('cpu'), health.cpu_pct == null ? '—' : `${f.dec(health.cpu_pct)} %`],
            [t('temp'), health.temp_c == null ? '—' : `${f.dec(health.temp_c)} °C`],
            [t('mem_avail'), `${f.mb(health.mem_avail_mb)} / ${f.mb(health.mem_total_mb)}`],
            [t('disk_avail'), `${f.mb(health.disk_avail_mb)} / ${f.mb(health.disk_total_mb)}`],
            [t('uptime'), f.dur(health.uptime_s)],
            [t('net_up'), f.bool(health.net_up)],
          ]) : empty())),
      h('div', { class: 'row' }, invBlock(one(doc.inventory)),
        canCmd ? h('div', { class: 'grow' },
          actionsPanel(session, term.device_id || term.device || one(doc.inventory)?.device, () => setTimeout(load, 1500)),
          h('section', { 'aria-labelledby': 'cmds-h' }, h('h2', { id: 'cmds-h' }, t('cmd_recent')),
            cmds.length ? cmdTable(cmds, t('cmd_recent'), false) : empty())) : null),
      h('section', { 'aria-labelledby': 'tl-h' },
        h('div', { class: 'tl-head' },
          h('h2', { id: 'tl-h' }, t('timeline')),
          h('label', { for: 'tl-days' }, `${t('tl_period')} `,
            h('select', { id: 'tl-days', onchange: (e) => { days = Number(e.target.value); load(); } },
              [1, 7, 30, 90].map((n) => h('option', { value: n, selected: n === days }, t('tl_days', n))))),
          h('a', { class: 'btn', href: url(tlPath, { days, format: 'csv' }), download: `${arg}-timeline.csv` }, t('tl_csv'))),
        timelineChart(),
        legend(),
        facts.some((r) => r.kind === 'cut') ? h('p', { class: 'muted' }, t('tl_cut')) : null,
        shown.length ? table({
          caption: t('tl_changes'), rows: shown,
          columns: [
            { key: 'at', label: t('at'), render: (r) => f.time(r.at) },
            { key: 'kind', label: t('tl_subject'), render: (r) => subject(r) },
            { key: 'value', label: t('tl_change'), render: (r) => badge(VALUE_CLASS[r.value] || 'unknown', tv('tv_', r.value)) },
            { key: 'state', label: t('detail'), render: (r) => detail(r) },
            { key: 'device', label: t('device') },
          ],
        }) : empty(t('tl_none')),
        changes.length > shown.length ? h('p', { class: 'muted' }, t('tl_more', shown.length, changes.length)) : null),
      h('section', { 'aria-labelledby': 'inc-h' }, h('h2', { id: 'inc-h' }, t('incidents_of')),
        incs.length ? table({
          caption: t('incidents_of'), rows: incs,
          columns: [
            { key: 'id', label: '#', num: true, render: (r) => h('a', { href: `#/incident/${r.id}` }, String(r.id)) },
            { key: 'cause', label: t('cause') },
            { key: 'part', label: t('part') },
            { key: 'state', label: t('state'), render: (r) => incBadge(r.state) },
            { key: 'since', label: t('since'), render: (r) => f.time(r.since) },
            { key: 'attribution', label: t('attribution') },
            { key: 'breached', label: t('breached') },
          ],
        }) : empty()),
      h('section', { 'aria-labelledby': 'per-h' }, h('h2', { id: 'per-h' }, t('peripherals')),
        periph.length ? table({
          caption: t('peripherals'), rows: periph,
          columns: [
            { key: 'periph', label: t('periph') },
            { key: 'state', label: t('state'), render: (r) => badge(r.state, r.state) },
            { key: 'usable', label: t('usable'), render: (r) => f.bool(r.usable) },
            { key: 'since', label: t('since'), render: (r) => f.time(r.since) },
          ],
        }) : empty()),
      h('section', { 'aria-labelledby': 'out-h' }, h('h2', { id: 'out-h' }, `${t('items_out')} (${itemsOut.length || term.items_out || 0})`),
        itemsOut.length ? table({
          caption: t('items_out'), rows: itemsOut,
          columns: [
            { key: 'item', label: t('code') },
            { key: 'item_name', label: t('name') },
            { key: 'family_name', label: t('family'), render: (r) => r.family_name || r.family },
          ],
        }) : empty()));
    drawChart(lanesOf(facts, [...many(doc.history), ...incs], days));
  }
  let chartBox = null;
  function timelineChart() {
    chartBox = h('div', { class: 'chart', id: 'tl-chart', style: { height: '220px' } });
    return chartBox;
  }
  // One row per lane, each span a rectangle coloured by its state; a pale track shows the
  // period where a lane has nothing to say (no fault, not in maintenance).
  function drawChart({ lanes, from, to }) {
    clear(chartBox);
    chartBox.style.height = `${40 + 26 * lanes.length}px`;
    const data = [];
    lanes.forEach((lane, y) => {
      data.push({ value: [y, from, to, '', ''], itemStyle: { color: '#eef1f5' }, track: true });
      for (const sp of lane.spans) {
        data.push({ value: [y, sp.from, sp.to, sp.text, lane.label], itemStyle: { color: sp.color } });
      }
    });
    chart(chartBox, {
      animation: false,
      grid: { left: 8, right: 24, top: 8, bottom: 4, containLabel: true },
      xAxis: {
        type: 'time', min: from, max: to, splitLine: { show: true, lineStyle: { color: '#e3e7ee' } },
        axisLabel: { hideOverlap: true, formatter: (v) => f.timeMs(v).slice(5, days > 2 ? 10 : 16) },
      },
      yAxis: { type: 'category', inverse: true, data: lanes.map((l) => l.label), axisTick: { show: false }, axisLine: { show: false } },
      tooltip: {
        formatter: (p) => (p.value[3] ? `${p.value[4]}: ${p.value[3]}<br>${f.timeMs(p.value[1])} → ${p.value[2] >= to ? t('tl_now') : f.timeMs(p.value[2])}` : ''),
      },
      series: [{
        type: 'custom', data,
        renderItem: (params, api2) => {
          const a = api2.coord([api2.value(1), api2.value(0)]);
          const b = api2.coord([api2.value(2), api2.value(0)]);
          const hgt = api2.size([0, 1])[1] * (data[params.dataIndex].track ? 0.7 : 0.56);
          return { type: 'rect', shape: { x: a[0], y: a[1] - hgt / 2, width: Math.max(2, b[0] - a[0]), height: hgt }, style: api2.style() };
        },
        encode: { x: [1, 2], y: 0 },
      }],
    }, t('timeline'));
  }
  ctx.onEvent = (type, row) => {
    if ((type === 'fleet' && row?.terminal === arg) || (type === 'incident' && row?.terminal === arg)) load();
  };
  await load();
}

const TABLE_MAX = 200;
const HOUR = 3600000;
const C = { up: '#2e8b57', down: '#c62828', degraded: '#d68a00', maint: '#6a5acd', unknown: '#8a93a3', inc: '#e57373' };
const VALUE_CLASS = { online: 'up', offline: 'down', usable: 'up', unusable: 'degraded', raised: 'down', cleared: 'up', on: 'maintenance', off: 'up' };
const ms = (iso) => new Date(iso).getTime();

function subject(r) {
  if (r.kind === 'periph') return `${t('fk_periph')} · ${tv('p_', r.periph)}`;
  if (r.kind === 'fault') return `${t('fk_fault')} · ${r.code}${r.periph ? ` (${tv('p_', r.periph)})` : ''}`;
  return tv('fk_', r.kind);
}

function detail(r) {
  if (r.kind === 'presence') return tv('src_', r.source);
  if (r.kind === 'periph') return tv('ps_', r.state);
  if (r.kind === 'fault') return tv('sev_', r.sev);
  if (r.kind === 'maint') return r.who ? `${t('who')}: ${r.who}` : null;
  return null;
}

function legend() {
  const item = (color, text) => h('span', {}, h('i', { style: { background: color } }), text);
  return h('p', { class: 'legend' },
    item(C.up, t('tl_k_up')), item(C.down, t('tl_k_down')), item(C.degraded, t('tl_k_unusable')),
    item(C.maint, t('tl_k_maint')), item(C.inc, t('tl_k_incident')), item(C.unknown, t('tl_k_unknown')));
}

// The lanes of the chart from the timeline's rows (oldest first: initial rows, maybe a cut,
// then the changes) over [now - days, now]. A series' state before its first row in the
// period is its initial row's, else unknown (presence) or nothing to show; before a cut,
// unknown.
function lanesOf(rows, incidents, days) {
  const to = Date.now();
  const from = to - days * 24 * HOUR;
  const cut = rows.find((r) => r.kind === 'cut');
  const start = cut ? Math.max(from, ms(cut.at)) : from;
  const series = new Map();
  const key = (r) => (r.kind === 'periph' ? `p:${r.periph}` : r.kind === 'fault' ? `f:${r.code}` : r.kind);
  for (const r of rows) {
    if (r.kind === 'cut') continue;
    const k = key(r);
    if (!series.has(k)) series.set(k, []);
    series.get(k).push(r);
  }
  // [from, to) spans of one series, each with the row in force (null: not known). With no
  // initial row the series never changed before the period: dflt (a peripheral never
  // reported is usable); after a cut, not known.
  const spansOf = (list, dflt = null) => {
    const out = [];
    let cur = cut ? null : dflt;
    let at = start;
    for (const r of list) {
      if (r.initial) { if (!cut) cur = r; continue; }
      const t0 = Math.max(start, ms(r.at));
      if (t0 > at) out.push({ from: at, to: t0, r: cur });
      cur = r; at = t0;
    }
    if (to > at) out.push({ from: at, to, r: cur });
    return out;
  };
  const lanes = [];
  const lane = (label, spans) => {
    if (cut && start > from) spans.unshift({ from, to: start, color: C.unknown, text: t('tl_k_unknown') });
    lanes.push({ label, spans });
  };
  const unknown = (sp) => ({ ...sp, color: C.unknown, text: t('tl_k_unknown') });
  lane(t('fk_presence'), spansOf(series.get('presence') || []).map((sp) => (sp.r
    ? { ...sp, color: sp.r.value === 'online' ? C.up : C.down, text: `${tv('tv_', sp.r.value)}${sp.r.source ? ` (${tv('src_', sp.r.source)})` : ''}` }
    : unknown(sp))));
  lane(t('fk_maint'), spansOf(series.get('maint') || []).filter((s) => s.r?.value === 'on')
    .map((s) => ({ ...s, color: C.maint, text: `${tv('tv_', 'on')}${s.r.who ? ` (${s.r.who})` : ''}` })));
  const faults = [];
  for (const [k, list] of series) {
    if (!k.startsWith('f:')) continue;
    for (const s of spansOf(list)) {
      if (s.r?.value === 'raised') faults.push({ ...s, color: s.r.sev === 'critical' ? C.down : C.degraded, text: `${s.r.code} · ${tv('sev_', s.r.sev)}` });
    }
  }
  lane(t('fk_fault'), faults.sort((a, b) => a.from - b.from));
  const periphs = [...series.keys()].filter((k) => k.startsWith('p:')).sort();
  for (const k of periphs) {
    const list = series.get(k);
    lane(tv('p_', list[0].periph), spansOf(list, { value: 'usable' }).map((sp) => (sp.r
      ? { ...sp, color: sp.r.value === 'usable' ? C.up : C.degraded, text: `${tv('tv_', sp.r.value)}${sp.r.state ? ` · ${tv('ps_', sp.r.state)}` : ''}` }
      : unknown(sp))));
  }
  const seen = new Set();
  const incSpans = [];
  for (const i of incidents) {
    if (i.id == null || seen.has(i.id)) continue;
    seen.add(i.id);
    const a = ms(i.opened ?? i.since);
    const b = i.resolved ? ms(i.resolved) : to;
    if (!(b > from) || Number.isNaN(a)) continue;
    incSpans.push({ from: Math.max(from, a), to: Math.min(to, b), color: C.inc, text: `#${i.id} ${tv('cause_', i.cause)}${i.part ? ` · ${tv('p_', i.part)}` : ''} · ${tv('istate_', i.state)}` });
  }
  lanes.push({ label: t('tl_incidents'), spans: incSpans });
  return { lanes, from, to };
}
