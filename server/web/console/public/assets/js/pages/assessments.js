// The half-year assessment (GET /api/v1/assessments, /assessments/{YYYY-HN}: the
// "kioskfleet.assessment/1" document) and the delisting watchlist (GET /api/v1/watchlist):
// scores by zone with pass/fail, the bank ranking, units, with charts.
import { api } from '../api.js';
import { t, tv } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, empty, errorBox, table, chart, badge, kpi, select } from '../ui.js';
import { setParams } from '../app.js';
import { zones } from './common.js';

const VIEWS = ['zones', 'banks', 'units', 'watchlist'];

export async function render(ctx) {
  const { main, params } = ctx;
  const st = { view: VIEWS.includes(params.get('view')) ? params.get('view') : 'zones', period: params.get('period') || '',
    result: params.get('result') || '', unit: params.get('unit') || '', sort: params.get('sort') || '', dir: params.get('dir') || 'asc' };
  const head = h('div', { class: 'filters' });
  const tabs = h('nav', { class: 'tabs', 'aria-label': t('as_title') });
  const box = h('div', {}, loading());
  main.append(h('h1', {}, t('as_title')), head, tabs, box);
  let zs = [];
  try { zs = await zones(); } catch { /* codes only */ }
  const zoneName = new Map(zs.map((z) => [z.zone ?? z.id, z.name ?? z.zone_name]));
  const bankName = new Map(zs.map((z) => [z.bank, z.bank_name]));
  const unitName = new Map(zs.map((z) => [z.unit, z.unit_name]));
  let list;
  try { list = (await api.get('/assessments', { limit: 100 })).items || []; } catch (e) { clear(box, errorBox(e)); return; }
  if (!ctx.alive()) return;
  list.sort((a, b) => String(b.period).localeCompare(String(a.period)));
  if (!st.period && list.length) st.period = list[0].period;
  const sync = () => setParams({ view: st.view === 'zones' ? '' : st.view, period: st.period, result: st.result, unit: st.unit, sort: st.sort, dir: st.sort ? st.dir : '' });
  const dls = h('span', { class: 'btns' });
  clear(head,
    h('label', { for: 'f-period' }, t('period'), h('select', { id: 'f-period', onchange: (e) => { st.period = e.target.value; sync(); load(); } },
      [...new Set(list.map((a) => a.period))].map((p) => h('option', { value: p, selected: p === st.period }, p)))), dls);
  const drawTabs = () => clear(tabs, VIEWS.map((v) => h('a', { href: '#', 'aria-current': v === st.view ? 'page' : null, dataset: { view: v },
    onclick: (e) => { e.preventDefault(); st.view = v; st.sort = ''; sync(); drawTabs(); draw(); } }, t(v === 'watchlist' ? 'watchlist' : `as_${v}`))));
  drawTabs();

  let doc = null;
  let watch = null;
  async function load() {
    clear(box, loading());
    clear(dls, st.period ? h('a', { class: 'btn', href: `api/v1/assessments/${encodeURIComponent(st.period)}?format=xlsx`, download: `${st.period}.xlsx` }, 'XLSX') : null);
    try {
      [doc, watch] = await Promise.all([
        st.period ? api.get(`/assessments/${encodeURIComponent(st.period)}`) : Promise.resolve(null),
        api.get('/watchlist', { limit: 1000 }),
      ]);
    } catch (e) { clear(box, errorBox(e, load)); return; }
    if (ctx.alive()) draw();
  }

  const resultBadge = (r) => badge(r || 'unknown', r ? t(r) : '—');
  function sorted(rows, columns, caption, attrs) {
    return table({ columns, rows, caption, sort: { key: st.sort, dir: st.dir }, rowAttrs: attrs,
      onSort: (k, d) => { st.sort = k; st.dir = d; sync(); draw(); } });
  }

  function draw() {
    if (st.view === 'watchlist') { drawWatch(); return; }
    if (!doc) { clear(box, empty()); return; }
    const zrows = doc.zones || [];
    const passed = zrows.filter((z) => z.result === 'pass').length;
    const failed = zrows.filter((z) => z.result === 'fail').length;
    const header = [
      h('p', { class: 'muted' }, `${doc.period} (${doc.from} – ${doc.to}) · v${doc.version ?? 1} · `, doc.status === 'draft' ? badge('degraded', t('draft')) : doc.status ?? ''),
      h('div', { class: 'kpis' }, kpi(t('zones'), f.int(zrows.length)), kpi(t('passed'), f.int(passed)), kpi(t('failed_n'), f.int(failed)),
        kpi(t('pass_rate'), passed + failed ? f.bp(Math.floor((10000 * passed) / (passed + failed))) : '—'),
        kpi(t('watchlist'), f.int(watch?.items?.length ?? watch?.total))),
    ];
    if (st.view === 'zones') {
      const rows = zrows.filter((z) => (!st.result || z.result === st.result) && (!st.unit || z.unit === st.unit));
      const dist = h('div', { class: 'chart', id: 'chart-score-dist' });
      const units = [...new Set(zrows.map((z) => z.unit))].sort();
      const measures = [...new Set(zrows.flatMap((z) => (z.criteria || []).map((c) => c.measure)))];
      clear(box, header,
        h('section', { class: 'card' }, h('h2', { style: { marginTop: 0 } }, t('chart_score_dist')), dist),
        h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
          select('result', t('result'), ['pass', 'fail', 'not_assessed'].map((r) => [r, t(r)]), st.result, (v) => { st.result = v; sync(); draw(); }),
          select('unit', t('unit'), units.map((u) => [u, unitName.get(u) || u]), st.unit, (v) => { st.unit = v; sync(); draw(); })),
        rows.length ? sorted(rows, [
          { key: 'zone', label: t('zone') },
          { key: '_name', label: t('name'), wrap: true, render: (r) => zoneName.get(r.zone) ?? '—', sortValue: (r) => zoneName.get(r.zone) },
          { key: 'unit', label: t('unit'), render: (r) => unitName.get(r.unit) || r.unit },
          { key: 'bank', label: t('bank'), render: (r) => bankName.get(r.bank) || r.bank },
          { key: 'service_days', label: t('days'), num: true },
          { key: 'txns_ok', label: t('ok'), num: true, render: (r) => f.int(r.txns_ok) },
          ...measures.map((m) => ({ key: `m_${m}`, label: m, num: true,
            sortValue: (r) => r.criteria?.find((c) => c.measure === m)?.score_cp,
            render: (r) => { const c = r.criteria?.find((x) => x.measure === m); return c ? h('span', { class: c.pass === false ? 'neg' : null }, f.x100(c.score_cp)) : '—'; } })),
          { key: 'total_cp', label: t('score'), num: true, render: (r) => f.x100(r.total_cp) },
          { key: 'result', label: t('result'), render: (r) => resultBadge(r.result) },
          { key: 'reason', label: t('reason') },
        ], t('as_zones'), (r) => ({ dataset: { zone: r.zone, result: r.result || '' } })) : empty());
      const bins = Array.from({ length: 10 }, (_, i) => ({ name: `${i * 10}–${i * 10 + 10}`, pass: 0, fail: 0 }));
      for (const z of zrows) {
        if (z.total_cp == null) continue;
        const b = bins[Math.min(9, Math.floor(z.total_cp / 1000))];
        if (z.result === 'pass') b.pass += 1; else b.fail += 1;
      }
      chart(dist, {
        tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 40, right: 10, top: 30, bottom: 30 },
        xAxis: { type: 'category', data: bins.map((b) => b.name), name: t('score') }, yAxis: { type: 'value', name: t('zones') },
        series: [
          { name: t('pass'), type: 'bar', stack: 's', data: bins.map((b) => b.pass), itemStyle: { color: '#2e8b57' } },
          { name: t('fail'), type: 'bar', stack: 's', data: bins.map((b) => b.fail), itemStyle: { color: '#c62828' } },
        ],
      }, t('chart_score_dist'));
    } else {
      const banks = st.view === 'banks';
      const rows = (banks ? doc.banks : doc.units) || [];
      const key = banks ? 'bank' : 'unit';
      const names = banks ? bankName : unitName;
      const cbox = h('div', { class: 'chart', id: banks ? 'chart-bank-rank' : 'chart-unit-pass' });
      clear(box, header,
        h('section', { class: 'card' }, h('h2', { style: { marginTop: 0 } }, t(banks ? 'chart_bank_rank' : 'chart_unit_pass')), cbox),
        rows.length ? sorted(rows, [
          banks ? { key: 'rank', label: t('rank'), num: true } : null,
          { key, label: t(key), render: (r) => `${names.get(r[key]) || ''} (${r[key]})`, sortValue: (r) => r[key] },
          { key: 'zones', label: t('zones'), num: true },
          { key: 'assessed', label: t('assessed'), num: true },
          { key: 'passed', label: t('passed'), num: true },
          { key: 'failed', label: t('failed_n'), num: true },
          { key: 'not_assessed', label: t('not_assessed'), num: true },
          { key: 'pass_rate_bp', label: t('pass_rate'), num: true, render: (r) => f.bp(r.pass_rate_bp) },
          { key: 'mean_score_cp', label: t('mean_score'), num: true, render: (r) => f.x100(r.mean_score_cp ?? (r.mean_score == null ? null : r.mean_score * 100)) },
          { key: 'activity', label: t('activity'), num: true, render: (r) => f.x100(r.activity) },
          { key: 'availability_bp', label: t('availability'), num: true, render: (r) => f.bp(r.availability_bp) },
        ].filter(Boolean), t(banks ? 'as_banks' : 'as_units'), (r) => ({ dataset: { code: r[key] } })) : empty());
      const cats = rows.map((r) => names.get(r[key]) || r[key]);
      chart(cbox, banks ? {
        tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 50, right: 50, top: 30, bottom: 40 },
        xAxis: { type: 'category', data: cats, axisLabel: { interval: 0 } },
        yAxis: [{ type: 'value', name: t('pass_rate'), max: 100, axisLabel: { formatter: '{value}%' } }, { type: 'value', name: t('mean_score'), max: 100 }],
        series: [
          { name: t('pass_rate'), type: 'bar', data: rows.map((r) => (r.pass_rate_bp == null ? null : r.pass_rate_bp / 100)), itemStyle: { color: '#1f5fbf' },
            label: { show: true, position: 'top', formatter: (p) => `#${rows[p.dataIndex].rank ?? ''}` } },
          { name: t('mean_score'), type: 'line', yAxisIndex: 1, data: rows.map((r) => (r.mean_score_cp == null ? null : r.mean_score_cp / 100)), itemStyle: { color: '#d68a00' } },
        ],
      } : {
        tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 40, right: 10, top: 30, bottom: 30 },
        xAxis: { type: 'category', data: cats, axisLabel: { interval: 0 } }, yAxis: { type: 'value' },
        series: [
          { name: t('pass'), type: 'bar', stack: 's', data: rows.map((r) => r.passed), itemStyle: { color: '#2e8b57' } },
          { name: t('fail'), type: 'bar', stack: 's', data: rows.map((r) => r.failed), itemStyle: { color: '#c62828' } },
          { name: t('not_assessed'), type: 'bar', stack: 's', data: rows.map((r) => r.not_assessed), itemStyle: { color: '#8a93a3' } },
        ],
      }, t(banks ? 'chart_bank_rank' : 'chart_unit_pass'));
    }
  }

  function drawWatch() {
    const rows = watch?.items || [];
    clear(box, rows.length ? sorted(rows, [
      { key: 'zone', label: t('zone') },
      { key: '_name', label: t('name'), wrap: true, render: (r) => zoneName.get(r.zone) ?? '—' },
      { key: 'unit', label: t('unit'), render: (r) => unitName.get(r.unit) || r.unit },
      { key: 'bank', label: t('bank'), render: (r) => bankName.get(r.bank) || r.bank },
      { key: 'standing', label: t('standing'), render: (r) => badge(r.standing, tv('sd_', r.standing)) },
      { key: 'streak', label: t('streak'), num: true },
      { key: 'last_period', label: t('last_period') },
      { key: 'last_result', label: t('last_result'), render: (r) => (r.last_result ? resultBadge(r.last_result) : '—') },
      { key: 'last_total', label: t('last_total'), num: true, render: (r) => f.dec(r.last_total, 2) },
      { key: 'delisted_from', label: t('delisted_from') },
      { key: 'problem', label: t('detail'), wrap: true },
    ], t('watchlist'), (r) => ({ dataset: { zone: r.zone } })) : empty());
  }
  await load();
}
