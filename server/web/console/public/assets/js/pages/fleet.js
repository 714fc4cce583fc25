// Fleet: every terminal the role may see with its live state (GET /api/v1/fleet, the rows of
// `kioskctl state`), a map-like treemap of zones by unit -> bank -> zone coloured by their
// worst terminal, and a paged, filtered, sortable list. Live changes arrive as "fleet" events.
import { api, getAll } from '../api.js';
import { t, tv } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, empty, errorBox, table, pager, select, chart, STATE_COLORS, kpi } from '../ui.js';
import { setParams } from '../app.js';
import { zones, unitsOf, banksOf, zoneCode, stateBadge, kindText } from './common.js';

const STATES = ['up', 'degraded', 'down', 'maintenance', 'unknown'];
const WORST = { down: 4, degraded: 3, maintenance: 2, unknown: 1, up: 0 };

export async function render(ctx) {
  const { main, params, session } = ctx;
  const st = {
    unit: params.get('unit') || '', bank: params.get('bank') || '', zone: params.get('zone') || '',
    state: params.get('state') || '', kind: params.get('kind') || '', q: params.get('q') || '',
    sort: params.get('sort') || '', dir: params.get('dir') || 'asc',
    offset: Number(params.get('offset') || 0), limit: 100,
  };
  const head = h('div', {}, h('h1', {}, t('fleet_title')));
  const kpis = h('div', { class: 'kpis' });
  const mapBox = h('div', { class: 'chart tall', id: 'fleet-map' });
  const listBox = h('div', {}, loading());
  const filters = h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() });
  main.append(head, kpis,
    h('section', { class: 'card', 'aria-labelledby': 'map-h' },
      h('h2', { id: 'map-h' }, t('fleet_map')),
      h('div', { class: 'legend' }, STATES.map((s) => h('span', {}, h('i', { style: { background: STATE_COLORS[s] } }), tv('st_', s)))),
      mapBox, h('p', { class: 'muted' }, t('fleet_map_note'))),
    h('section', { 'aria-labelledby': 'list-h' }, h('h2', { id: 'list-h' }, t('fleet_list')), filters, listBox));

  let zs = [];
  try { zs = await zones(); } catch { /* the list still works without names */ }
  const zoneBy = new Map(zs.map((z) => [zoneCode(z), z]));
  const unitOf = (r) => r.unit || zoneBy.get(r.zone)?.unit || null;
  const unitName = (r) => r.unit_name || zoneBy.get(r.zone)?.unit_name || unitOf(r);

  // Filters: selects apply at once; the search box on Enter or after a pause.
  const apply = () => { st.offset = 0; sync(); loadList(); };
  const sync = () => setParams({ unit: st.unit, bank: st.bank, zone: st.zone, state: st.state, kind: st.kind, q: st.q, sort: st.sort, dir: st.sort ? st.dir : '', offset: st.offset || '' });
  let timer = null;
  const q = h('input', { id: 'f-q', type: 'search', value: st.q, placeholder: t('q_placeholder'),
    oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => { st.q = e.target.value.trim(); apply(); }, 300); } });
  const zoneOpts = () => zs.filter((z) => (!st.unit || z.unit === st.unit) && (!st.bank || z.bank === st.bank))
    .map((z) => [zoneCode(z), `${zoneCode(z)} ${z.name || z.zone_name || ''}`]);
  const drawFilters = () => clear(filters,
    select('unit', t('unit'), unitsOf(zs), st.unit, (v) => { st.unit = v; st.zone = ''; drawFilters(); apply(); }),
    session.kind === 'bank' ? null : select('bank', t('bank'), banksOf(zs), st.bank, (v) => { st.bank = v; st.zone = ''; drawFilters(); apply(); }),
    select('zone', t('zone'), zoneOpts(), st.zone, (v) => { st.zone = v; apply(); }),
    select('state', t('state'), STATES.map((s) => [s, tv('st_', s)]), st.state, (v) => { st.state = v; apply(); }),
    select('kind', t('kind'), ['kiosk', 'itm'].map((k) => [k, kindText(k)]), st.kind, (v) => { st.kind = v; apply(); }),
    h('label', { for: 'f-q' }, t('search'), q),
    h('button', { type: 'button', class: 'btn', onclick: () => { Object.assign(st, { unit: '', bank: '', zone: '', state: '', kind: '', q: '' }); q.value = ''; drawFilters(); apply(); } }, t('clear')));
  drawFilters();

  const columns = [
    { key: 'terminal', label: t('terminal'), render: (r) => h('a', { href: `#/terminal/${encodeURIComponent(r.terminal)}` }, r.terminal) },
    { key: 'device', label: t('device') },
    { key: 'kind', label: t('kind'), render: (r) => kindText(r.kind) },
    { key: 'status', label: t('state'), render: (r) => stateBadge(r.status), sortValue: (r) => WORST[r.status] ?? 1 },
    { key: 'since', label: t('since'), render: (r) => f.time(r.since) },
    { key: 'unit', label: t('unit'), render: unitName, sortValue: unitOf },
    { key: 'bank', label: t('bank'), render: (r) => r.bank_name || r.bank },
    { key: 'zone', label: t('zone'), render: (r) => h('span', { title: r.zone }, r.zone_name || r.zone), wrap: true },
    { key: 'parts', label: t('parts') },
    { key: 'faults', label: t('faults') },
    { key: 'items_out', label: t('items_out'), num: true, render: (r) => (r.items_out == null ? '—' : `${r.items_out} / ${r.items ?? '—'}`) },
    { key: 'maintenance', label: t('maintenance') },
  ];

  let page = null;
  async function loadList() {
    clear(listBox, loading());
    try {
      // The filter is named like the column it filters (status), as kiosk-web's list routes do.
      page = await api.get('/fleet', { unit: st.unit, bank: st.bank, zone: st.zone, status: st.state, kind: st.kind, q: st.q, limit: st.limit, offset: st.offset });
      if (!ctx.alive()) return;
      drawList();
    } catch (e) { clear(listBox, errorBox(e, loadList)); }
  }
  function drawList() {
    if (!page.items?.length) { clear(listBox, empty()); return; }
    clear(listBox,
      table({
        columns, rows: page.items, caption: t('fleet_list'),
        sort: { key: st.sort, dir: st.dir },
        onSort: (k, d) => { st.sort = k; st.dir = d; sync(); drawList(); },
        rowAttrs: (r) => ({ dataset: { terminal: r.terminal, bank: r.bank || '', status: r.status || '' } }),
      }),
      pager(page.total ?? page.items.length, st.limit, st.offset, (o) => { st.offset = o; sync(); loadList(); }));
  }

  // The whole fleet for the map and the counts (scoped by the server to what the role sees).
  const all = new Map();
  let mapChart = null;
  function drawMap() {
    const rows = [...all.values()];
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const r of rows) counts[r.status in counts ? r.status : 'unknown'] += 1;
    clear(kpis, kpi(t('terminals'), f.int(rows.length)), STATES.map((s) => kpi(tv('st_', s), f.int(counts[s]))));
    // unit -> bank -> zone -> worst state
    const tree = new Map();
    for (const r of rows) {
      const u = unitOf(r) || '?';
      const uName = unitName(r) || u;
      if (!tree.has(u)) tree.set(u, { name: uName, banks: new Map() });
      const banks = tree.get(u).banks;
      const b = r.bank || '?';
      if (!banks.has(b)) banks.set(b, { name: r.bank_name || b, zones: new Map() });
      const zm = banks.get(b).zones;
      if (!zm.has(r.zone)) zm.set(r.zone, { name: r.zone_name || r.zone, n: 0, worst: 'up', counts: {} });
      const z = zm.get(r.zone);
      z.n += 1;
      z.counts[r.status] = (z.counts[r.status] || 0) + 1;
      if ((WORST[r.status] ?? 1) > (WORST[z.worst] ?? 0)) z.worst = r.status || 'unknown';
    }
    // Inside its bank's box a zone is named by its branch (支行), the rest is repeated above.
    const shortZone = (code, name, bank) => zoneBy.get(code)?.branch
      || name.replace(/政银通办服务专区$/, '').replace(bank || '', '').replace(/^平顶山/, '');
    const data = [...tree].sort().map(([u, U]) => ({
      name: U.name, code: u,
      children: [...U.banks].sort().map(([b, B]) => ({
        name: B.name, code: b,
        children: [...B.zones].sort().map(([zc, Z]) => ({
          name: shortZone(zc, Z.name, B.name), full: Z.name, code: zc, value: Z.n, worst: Z.worst, counts: Z.counts,
          itemStyle: { color: STATE_COLORS[Z.worst] || STATE_COLORS.unknown },
        })),
      })),
    }));
    const option = {
      tooltip: {
        formatter: (p) => {
          const d = p.data || {};
          if (!d.counts) return `${d.code ?? ''} ${p.name}: ${p.value} ${t('terminals')}`;
          const parts = Object.entries(d.counts).map(([s, n]) => `${tv('st_', s)} ${n}`).join(' · ');
          return `${d.code}<br>${d.full}<br>${parts}`;
        },
      },
      series: [{
        type: 'treemap', roam: false, nodeClick: false, breadcrumb: { show: false },
        width: '100%', height: '100%', top: 0, left: 0, visibleMin: 1,
        label: { show: true, fontSize: 10, overflow: 'truncate' },
        upperLabel: { show: true, height: 18, color: '#fff', fontSize: 11 },
        // levels[0] is the root (not drawn), then units, banks, zones.
        levels: [
          { itemStyle: { borderWidth: 0, gapWidth: 4 }, upperLabel: { show: false } },
          { itemStyle: { borderColor: '#17325c', borderWidth: 3, gapWidth: 2, color: '#17325c' }, upperLabel: { show: true, backgroundColor: '#17325c' } },
          { itemStyle: { borderColor: '#8a93a3', borderWidth: 2, gapWidth: 1, color: '#8a93a3' }, upperLabel: { show: true, height: 16, fontSize: 10, backgroundColor: '#8a93a3' } },
          { itemStyle: { borderColor: '#fff', borderWidth: 1 } },
        ],
        data,
      }],
    };
    if (mapChart) mapChart.setOption(option, { replaceMerge: ['series'] });
    else {
      mapChart = chart(mapBox, option, t('fleet_map'));
      mapChart?.on('click', (p) => {
        const code = p.data?.code;
        if (!code || !p.data.counts) return;
        st.zone = code; drawFilters(); apply();
        document.getElementById('list-h').scrollIntoView({ behavior: 'smooth' });
      });
    }
  }
  async function loadAll() {
    try {
      const rows = await getAll('/fleet');
      if (!ctx.alive()) return;
      all.clear();
      for (const r of rows) all.set(r.terminal, r);
      drawMap();
    } catch (e) { clear(mapBox, errorBox(e, loadAll)); }
  }

  // A "fleet" event carries the terminal's new state row; merge it where it is shown. Redraws
  // are batched: a branch losing its network sends many events at once.
  let pending = null;
  ctx.onEvent = (type, row) => {
    if (type !== 'fleet' || !row?.terminal) return;
    all.set(row.terminal, { ...all.get(row.terminal), ...row });
    const i = page?.items?.findIndex((r) => r.terminal === row.terminal) ?? -1;
    if (i >= 0) page.items[i] = { ...page.items[i], ...row };
    if (pending) return;
    pending = setTimeout(() => { pending = null; if (!ctx.alive()) return; drawMap(); if (i >= 0 || page) drawList(); }, 500);
  };
  // The bureau has no event stream (the contract's /events is O T B): refresh by polling.
  if (session.kind === 'bureau') {
    const iv = setInterval(() => { if (ctx.alive()) loadAll(); }, 60000);
    ctx.cleanup = () => clearInterval(iv);
  }
  await Promise.all([loadAll(), loadList()]);
}
