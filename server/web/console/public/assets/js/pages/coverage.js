// Coverage against the plan (GET /api/v1/coverage: the "kioskfleet.coverage/1" document):
// a progress bar per target (200+ zones, 10+ per unit, 6 banks, 70+ items on ITMs, the 8
// families), zones by unit against the target as a chart, and the unit and bank tables.
import { api } from '../api.js';
import { t } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, errorBox, table, chart, badge, empty } from '../ui.js';
import { setParams } from '../app.js';

export async function render(ctx) {
  const { main, params } = ctx;
  let at = params.get('at') || '';
  const box = h('div', {}, loading());
  const atInput = h('input', { id: 'f-at', type: 'date', value: at, onchange: (e) => { at = e.target.value; setParams({ at }); load(); } });
  main.append(h('h1', {}, t('cov_title')), h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
    h('label', { for: 'f-at' }, t('at_date'), atInput)), box);

  async function load() {
    clear(box, loading());
    let d;
    try { d = await api.get('/coverage', { at }); } catch (e) { clear(box, errorBox(e, load)); return; }
    if (ctx.alive()) draw(d);
  }
  function draw(d) {
    const checks = d.checks || [];
    const units = (d.units || []).filter((u) => u.code !== 'all');
    const unitsChart = h('div', { class: 'chart', id: 'chart-cov-units' });
    clear(box,
      h('p', { class: 'muted' }, `${t('at_date')} ${d.at ?? ''}`, d.reporting_from ? ` · ${t('reporting')} ${d.reporting_from} – ${d.reporting_to}` : ''),
      h('section', { class: 'card', 'aria-labelledby': 'checks-h' }, h('h2', { id: 'checks-h', style: { marginTop: 0 } }, t('target')),
        checks.length ? table({
          caption: t('target'), rows: checks,
          columns: [
            { key: 'target', label: t('target'), render: (r) => t(`t_${r.target}`) },
            { key: 'required', label: t('required'), num: true, render: (r) => `≥ ${f.int(r.required)}` },
            { key: 'planned', label: t('planned'), num: true },
            { key: 'commissioned', label: t('commissioned'), num: true },
            { key: 'reporting', label: t('reporting'), num: true },
            { key: '_bar', label: '', nosort: true, render: (r) => progress(r.commissioned, r.required, r.planned, r.met) },
            { key: 'met', label: t('met'), render: (r) => badge(r.met ? 'pass' : 'fail', r.met ? t('yes') : t('no')) },
          ],
          rowAttrs: (r) => ({ dataset: { target: r.target } }),
        }) : empty()),
      h('section', { class: 'card' }, h('h2', { style: { marginTop: 0 } }, t('chart_cov_units')), unitsChart),
      h('h2', {}, t('units_table')), units.length ? table({ caption: t('units_table'), rows: d.units, columns: cols(true) }) : empty(),
      h('h2', {}, t('banks_table')), (d.banks || []).length ? table({ caption: t('banks_table'), rows: d.banks, columns: cols(false) }) : empty());
    const target = units[0]?.zones_target ?? null;
    chart(unitsChart, {
      tooltip: { trigger: 'axis' }, legend: { top: 0 },
      grid: { left: 40, right: 70, top: 30, bottom: 40 },
      xAxis: { type: 'category', data: units.map((u) => u.name || u.code), axisLabel: { interval: 0 } },
      yAxis: { type: 'value' },
      series: [
        { name: t('zones_commissioned'), type: 'bar', itemStyle: { color: '#2e8b57' }, data: units.map((u) => ({ value: u.zones_commissioned, itemStyle: { color: u.met ? '#2e8b57' : '#d68a00' } })),
          markLine: target == null ? undefined : { symbol: 'none', data: [{ yAxis: target, name: t('zones_target') }], lineStyle: { color: '#c62828', type: 'dashed' }, label: { formatter: `${t('target')} ${target}` } } },
        { name: t('zones_planned'), type: 'bar', data: units.map((u) => u.zones_planned), itemStyle: { color: '#a9bedf' } },
      ],
    }, t('chart_cov_units'));
  }
  await load();
}

// commissioned against required, with the plan marked: the bar is full at the target.
function progress(value, required, planned, met) {
  const max = Math.max(required || 1, planned || 0, value || 0);
  const pct = Math.min(100, (100 * (value || 0)) / max);
  return h('div', { class: `bar${met ? ' met' : ''}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': required, 'aria-valuenow': value,
    title: `${value} / ${required}` },
  h('i', { style: { width: `${pct}%` } }), h('em', { style: { left: `${(100 * required) / max}%` } }));
}

function cols(isUnit) {
  return [
    { key: 'code', label: t('code') },
    { key: 'name', label: t('name') },
    isUnit ? { key: 'zones_target', label: t('zones_target'), num: true } : null,
    { key: 'zones_planned', label: t('zones_planned'), num: true },
    { key: 'zones_commissioned', label: t('zones_commissioned'), num: true },
    { key: 'zones_reporting', label: `${t('zones')} ${t('reporting')}`, num: true },
    { key: 'planned', label: `${t('terminals')} ${t('planned')}`, num: true },
    { key: 'commissioned_kiosks', label: `${t('kind_kiosk')}`, num: true },
    { key: 'commissioned_itms', label: 'ITM', num: true },
    { key: 'reporting', label: `${t('terminals')} ${t('reporting')}`, num: true },
    isUnit ? { key: 'met', label: t('met'), render: (r) => (r.met == null ? '—' : badge(r.met ? 'pass' : 'fail', r.met ? t('yes') : t('no'))) } : null,
  ].filter(Boolean);
}
