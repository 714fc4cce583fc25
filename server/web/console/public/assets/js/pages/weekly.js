// The bureau's weekly report (周报): the issued weeks (GET /api/v1/reports/weekly) and one
// week's "kioskfleet.week/1" document (GET /reports/weekly/{YYYY-Www}), with the city's
// figures, activity by unit against the week before, the rankings and the idle zones.
import { api } from '../api.js';
import { t } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, empty, errorBox, table, chart, kpi, badge } from '../ui.js';
import { setParams } from '../app.js';

export async function render(ctx) {
  const { main, params } = ctx;
  const head = h('div', { class: 'filters' });
  const box = h('div', {}, loading());
  main.append(h('h1', {}, t('weekly_title')), head, box);
  let weeks;
  try { weeks = (await api.get('/reports/weekly', { limit: 200 })).items || []; } catch (e) { clear(box, errorBox(e)); return; }
  if (!ctx.alive()) return;
  // kiosk-web lists issued documents by their period (kioskctl report list's columns).
  weeks = weeks.map((w) => ({ ...w, week: w.week || w.period }));
  weeks.sort((a, b) => String(b.week).localeCompare(String(a.week)));
  if (!weeks.length) { clear(box, empty()); return; }
  let week = params.get('week') || weeks[0].week;
  const sel = h('select', { id: 'f-week', onchange: (e) => { week = e.target.value; setParams({ week }); load(); } },
    [...new Set(weeks.map((w) => w.week))].map((w) => h('option', { value: w, selected: w === week }, w)));
  const dls = h('span', { class: 'btns' });
  clear(head, h('label', { for: 'f-week' }, t('choose_week'), sel), dls);

  async function load() {
    clear(box, loading());
    const w = encodeURIComponent(week);
    clear(dls, ['xlsx', 'pdf', 'csv'].map((x) => h('a', { class: 'btn', href: `api/v1/reports/weekly/${w}?format=${x}`, download: `${week}.${x}` }, x.toUpperCase())));
    let d;
    try { d = await api.get(`/reports/weekly/${w}`); } catch (e) { clear(box, errorBox(e, load)); return; }
    if (ctx.alive()) draw(d);
  }

  function draw(d) {
    const fl = d.fleet || {};
    const units = d.units || [];
    const actBox = h('div', { class: 'chart', id: 'chart-activity' });
    const chgBox = h('div', { class: 'chart', id: 'chart-change' });
    const change = (r) => h('span', { class: r.ok_change_pm < 0 ? 'neg' : r.ok_change_pm > 0 ? 'pos' : null }, f.pm(r.ok_change_pm));
    const rollCols = (codeLabel) => [
      { key: 'name', label: codeLabel, render: (r) => `${r.name ?? ''} (${r.code})`, sortValue: (r) => r.code },
      { key: 'zones_active', label: `${t('zones_active')} / ${t('zones')}`, num: true, render: (r) => `${f.int(r.zones_active)} / ${f.int(r.zones)}` },
      { key: 'reporting', label: `${t('reporting')} / ${t('commissioned')}`, num: true, render: (r) => `${f.int(r.reporting)} / ${f.int(r.commissioned)}` },
      { key: 'ok', label: t('ok'), num: true, render: (r) => f.int(r.ok) },
      { key: 'failed', label: t('failed'), num: true, render: (r) => f.int(r.failed) },
      { key: 'abandoned', label: t('abandoned'), num: true, render: (r) => f.int(r.abandoned) },
      { key: 'ok_prev', label: t('ok_prev'), num: true, render: (r) => f.int(r.ok_prev) },
      { key: 'ok_change_pm', label: t('ok_change'), num: true, render: change },
      { key: 'ok_per_terminal_day_x100', label: t('ok_per_day'), num: true, render: (r) => f.x100(r.ok_per_terminal_day_x100) },
      { key: 'availability_bp', label: t('availability'), num: true, render: (r) => f.bp(r.availability_bp) },
      { key: 'open_incidents', label: t('open_incidents'), num: true },
    ];
    const sortable = (rows, cols, caption, key = 'code') => {
      const s = { key: null, dir: 'asc' };
      const wrap = h('div', {});
      const drawT = () => clear(wrap, table({ columns: cols, rows, caption, sort: s, onSort: (k, dir) => { s.key = k; s.dir = dir; drawT(); }, rowAttrs: (r) => ({ dataset: { code: r[key] ?? '' } }) }));
      drawT();
      return wrap;
    };
    clear(box,
      h('h2', { id: 'week-title' }, `${d.week} (${d.from} – ${d.to}) `, d.draft ? badge('degraded', t('draft')) : null,
        h('span', { class: 'muted' }, ` · ${t('last_week')} ${d.previous_week ?? ''}`)),
      h('div', { class: 'kpis' },
        kpi(t('ok'), f.int(fl.ok)),
        kpi(t('ok_change'), f.pm(fl.ok_change_pm)),
        kpi(t('ok_per_day'), f.x100(fl.ok_per_terminal_day_x100)),
        kpi(t('availability'), f.bp(fl.availability_bp)),
        kpi(`${t('zones_active')} / ${t('zones')}`, `${f.int(fl.zones_active)} / ${f.int(fl.zones)}`),
        kpi(`${t('reporting')} / ${t('commissioned')}`, `${f.int(fl.reporting)} / ${f.int(fl.commissioned)}`),
        kpi(t('open_incidents'), f.int(fl.open_incidents))),
      h('div', { class: 'row' },
        h('section', { class: 'card grow' }, h('h2', { style: { marginTop: 0 } }, t('chart_activity')), actBox),
        h('section', { class: 'card grow' }, h('h2', { style: { marginTop: 0 } }, t('chart_change')), chgBox)),
      h('h2', {}, t('units_table')), units.length ? sortable(units, rollCols(t('unit')), t('units_table')) : empty(),
      h('h2', {}, t('banks_table')), (d.banks || []).length ? sortable(d.banks, rollCols(t('bank')), t('banks_table')) : empty(),
      h('div', { class: 'row' },
        h('section', { class: 'grow' }, h('h2', {}, t('busiest')), rankTable(d.busiest || [], t('busiest'))),
        h('section', { class: 'grow' }, h('h2', {}, t('quietest')), rankTable(d.quietest || [], t('quietest')))),
      h('h2', {}, t('inactive_zones')),
      (d.inactive_zones || []).length ? sortable(d.inactive_zones, [
        { key: 'zone', label: t('zone') },
        { key: 'name', label: t('name'), wrap: true },
        { key: 'unit', label: t('unit') },
        { key: 'bank', label: t('bank') },
        { key: 'status', label: t('status') },
        { key: 'commissioned', label: t('commissioned'), num: true },
        { key: 'reporting', label: t('reporting'), num: true },
        { key: 'terminal_days', label: t('terminal_days'), num: true },
      ], t('inactive_zones'), 'zone') : empty());
    const names = units.map((u) => u.name || u.code);
    chart(actBox, {
      tooltip: { trigger: 'axis' }, legend: { top: 0 },
      grid: { left: 50, right: 10, top: 30, bottom: 40 },
      xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: names.length > 8 ? 30 : 0 } },
      yAxis: { type: 'value' },
      series: [
        { name: t('this_week'), type: 'bar', data: units.map((u) => u.ok), itemStyle: { color: '#1f5fbf' } },
        { name: t('last_week'), type: 'bar', data: units.map((u) => u.ok_prev), itemStyle: { color: '#a9bedf' } },
      ],
    }, t('chart_activity'));
    chart(chgBox, {
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v == null ? t('new_') : `${v.toFixed(1)}%`) },
      grid: { left: 50, right: 10, top: 20, bottom: 40 },
      xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: names.length > 8 ? 30 : 0 } },
      yAxis: { type: 'value', axisLabel: { formatter: '{value}%' } },
      series: [{ type: 'bar', data: units.map((u) => ({ value: u.ok_change_pm == null ? null : u.ok_change_pm / 10,
        itemStyle: { color: (u.ok_change_pm ?? 0) < 0 ? '#c62828' : '#2e8b57' } })) }],
    }, t('chart_change'));
  }
  await load();
}

function rankTable(rows, caption) {
  if (!rows.length) return empty();
  return table({
    caption, rows,
    columns: [
      { key: 'rank', label: t('rank'), num: true },
      { key: 'name', label: t('zone'), wrap: true, render: (r) => h('span', { title: r.zone }, r.name || r.zone) },
      { key: 'bank', label: t('bank') },
      { key: 'ok', label: t('ok'), num: true, render: (r) => f.int(r.ok) },
      { key: 'terminal_days', label: t('terminal_days'), num: true },
      { key: 'ok_per_terminal_day_x100', label: t('ok_per_day'), num: true, render: (r) => f.x100(r.ok_per_terminal_day_x100) },
    ],
  });
}
