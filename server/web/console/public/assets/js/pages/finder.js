// The public zone finder (no login): GET /api/v1/public/zones. Zones, addresses, opening
// hours, and what can be done there right now (terminals in service, items available).
import { getAll } from '../api.js';
import { t } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, empty, errorBox, table, select, badge } from '../ui.js';
import { setParams } from '../app.js';

// Opening hours arrive as text ("08:30-17:00") or as the deployment's object
// ({weekday, weekend}); show either.
function hoursText(hrs) {
  if (hrs == null) return '—';
  if (typeof hrs === 'string') return hrs;
  const parts = [];
  if (hrs.weekday) parts.push(`${t('hours_weekday')} ${hrs.weekday}`);
  parts.push(hrs.weekend ? `${t('hours_weekend')} ${hrs.weekend}` : t('hours_weekend_closed'));
  return parts.join(t('list_sep'));
}

export async function render(ctx) {
  const { main, params } = ctx;
  const st = { unit: params.get('unit') || '', bank: params.get('bank') || '', q: params.get('q') || '', open: params.get('open') === '1',
    sort: params.get('sort') || '', dir: params.get('dir') || 'asc' };
  const filters = h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() });
  const box = h('div', {}, loading());
  main.append(h('h1', {}, t('finder_title')), h('p', { class: 'muted' }, t('finder_hint')), filters, box);
  let rows;
  try { rows = await getAll('/public/zones'); } catch (e) { clear(box, errorBox(e)); return; }
  if (!ctx.alive()) return;
  const units = [...new Map(rows.map((z) => [z.unit, z.unit_name || z.unit])).entries()].sort();
  const banks = [...new Map(rows.map((z) => [z.bank, z.bank_name || z.bank])).entries()].sort();
  const sync = () => setParams({ unit: st.unit, bank: st.bank, q: st.q, open: st.open ? '1' : '', sort: st.sort, dir: st.sort ? st.dir : '' });
  const inService = (z) => z.in_service ?? z.terminals_in_service;
  const serving = (z) => (z.open_now ?? true) && (inService(z) ?? 0) > 0;
  clear(filters,
    select('unit', t('unit'), units, st.unit, (v) => { st.unit = v; sync(); draw(); }),
    select('bank', t('bank'), banks, st.bank, (v) => { st.bank = v; sync(); draw(); }),
    h('label', { for: 'f-q' }, t('search'), h('input', { id: 'f-q', type: 'search', value: st.q, oninput: (e) => { st.q = e.target.value.trim(); sync(); draw(); } })),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', id: 'f-open', checked: st.open, onchange: (e) => { st.open = e.target.checked; sync(); draw(); } }), t('only_open')));
  function draw() {
    const q = st.q.toLowerCase();
    const shown = rows.filter((z) => (!st.unit || z.unit === st.unit) && (!st.bank || z.bank === st.bank) && (!st.open || serving(z))
      && (!q || `${z.name} ${z.address} ${z.zone}`.toLowerCase().includes(q)));
    if (!shown.length) { clear(box, empty()); return; }
    clear(box, table({
      caption: `${t('finder_title')}: ${shown.length}`, rows: shown, sort: { key: st.sort, dir: st.dir },
      onSort: (k, d) => { st.sort = k; st.dir = d; sync(); draw(); },
      rowAttrs: (z) => ({ dataset: { zone: z.zone } }),
      columns: [
        { key: 'name', label: t('name'), wrap: true },
        { key: 'unit', label: t('unit'), render: (z) => z.unit_name || z.unit },
        { key: 'bank', label: t('bank'), render: (z) => z.bank_name || z.bank },
        { key: 'address', label: t('address'), wrap: true },
        { key: 'hours', label: t('hours'), wrap: true, render: (z) => hoursText(z.hours), sortValue: (z) => hoursText(z.hours) },
        { key: 'open_now', label: t('open_now'), render: (z) => (z.open_now == null ? '—' : badge(z.open_now ? 'up' : 'unknown', f.bool(z.open_now))) },
        { key: 'in_service', label: t('in_service'), num: true, sortValue: inService, render: (z) => `${f.int(inService(z))} / ${f.int(z.terminals)}` },
        { key: 'items_available', label: t('items_available'), num: true, render: (z) => (z.items_available == null ? '—' : `${f.int(z.items_available)}${z.items ? ` / ${f.int(z.items)}` : ''}`) },
      ],
    }));
  }
  draw();
}
