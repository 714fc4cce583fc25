// One terminal: GET /api/v1/terminals/{asset} -> {terminal, health, peripherals, incidents,
// timeline} as the contract has it (kiosk-web's first cut answers {state, items_out,
// incidents}: both are read): registry and state, the latest health sample, every
// peripheral, the service items it cannot serve, its incidents and a timeline of state
// changes and incident events, newest first. A table the answer lacks is shown as empty.
import { api } from '../api.js';
import { t, tv } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, empty, errorBox, table, kv, badge, chart, STATE_COLORS } from '../ui.js';
import { stateBadge, incBadge, kindText } from './common.js';

const one = (x) => (Array.isArray(x) ? x[x.length - 1] ?? null : x ?? null);
const many = (x) => (Array.isArray(x) ? x : x ? [x] : []);

export async function render(ctx) {
  const { main, arg } = ctx;
  const box = h('div', {}, loading());
  main.append(h('p', {}, h('a', { href: '#/fleet' }, `← ${t('nav_fleet')}`)), box);
  let doc;
  async function load() {
    try { doc = await api.get(`/terminals/${encodeURIComponent(arg)}`); } catch (e) { clear(box, errorBox(e, load)); return; }
    if (!ctx.alive()) return;
    draw();
  }
  function draw() {
    const term = { ...one(doc.state), ...one(doc.terminal) };
    const itemsOut = many(doc.items_out);
    const health = one(doc.health);
    const periph = many(doc.peripherals);
    const incs = many(doc.incidents);
    const tl = many(doc.timeline).slice().sort((a, b) => String(b.at).localeCompare(String(a.at)));
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
        }) : empty()),
      h('section', { 'aria-labelledby': 'tl-h' }, h('h2', { id: 'tl-h' }, t('timeline')),
        timelineChart(tl),
        tl.length ? table({
          caption: t('timeline'), rows: tl,
          columns: [
            { key: 'at', label: t('at'), render: (r) => f.time(r.at) },
            { key: 'event', label: t('event'), render: (r) => eventCell(r) },
            { key: 'who', label: t('who') },
            { key: 'detail', label: t('detail'), wrap: true, render: (r) => r.detail ?? r.text ?? null },
          ],
        }) : empty()),
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
        }) : empty()));
    drawChart(tl);
  }
  let chartBox = null;
  function timelineChart(tl) {
    chartBox = tl.some((r) => r.status) ? h('div', { class: 'chart', style: { height: '120px' } }) : null;
    return chartBox;
  }
  // The states as coloured spans along time: the timeline's state rows, oldest first, each
  // lasting until the next (the last until now).
  function drawChart(tl) {
    if (!chartBox) return;
    const states = tl.filter((r) => r.status).slice().reverse();
    const now = Date.now();
    const data = states.map((r, i) => {
      const from = new Date(r.at).getTime();
      const to = i + 1 < states.length ? new Date(states[i + 1].at).getTime() : now;
      return { value: [0, from, to, r.status], itemStyle: { color: STATE_COLORS[r.status] || STATE_COLORS.unknown } };
    });
    chart(chartBox, {
      grid: { left: 10, right: 20, top: 10, bottom: 30 },
      xAxis: { type: 'time', axisLabel: { formatter: (v) => f.time(new Date(v).toISOString()).slice(5, 16) } },
      yAxis: { type: 'category', data: [''], show: false },
      tooltip: { formatter: (p) => `${tv('st_', p.value[3])}<br>${f.time(new Date(p.value[1]).toISOString())} → ${f.time(new Date(p.value[2]).toISOString())}` },
      series: [{
        type: 'custom', data,
        renderItem: (params, api2) => {
          const a = api2.coord([api2.value(1), 0]);
          const b = api2.coord([api2.value(2), 0]);
          const hgt = api2.size([0, 1])[1] * 0.6;
          return { type: 'rect', shape: { x: a[0], y: a[1] - hgt / 2, width: Math.max(1, b[0] - a[0]), height: hgt }, style: api2.style() };
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

function eventCell(r) {
  if (r.status) return [stateBadge(r.status), ' ', r.event && r.event !== 'state' ? r.event : ''];
  if (r.incident != null) return [h('a', { href: `#/incident/${r.incident}` }, `#${r.incident}`), ' ', r.event ?? ''];
  return r.event ?? r.kind ?? '—';
}
