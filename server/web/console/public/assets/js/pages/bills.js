// A bank's bills (GET /api/v1/bills, rows of `kioskctl bill list`), the operator's for every
// bank; each opens on its own page with its lines, downloads and the dispute form.
import { api } from '../api.js';
import { t, tv } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, empty, errorBox, table, pager, select } from '../ui.js';
import { setParams } from '../app.js';
import { zones, banksOf } from './common.js';

export async function render(ctx) {
  const { main, params, session } = ctx;
  const st = { bank: params.get('bank') || '', month: params.get('month') || '', offset: Number(params.get('offset') || 0), limit: 100,
    sort: params.get('sort') || '', dir: params.get('dir') || 'asc' };
  const filters = h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() });
  const listBox = h('div', {}, loading());
  main.append(h('h1', {}, t('bills_title'), session.bank ? ` · ${session.bank}` : ''), filters, listBox);
  let zs = [];
  if (session.kind !== 'bank') { try { zs = await zones(); } catch { /* codes only */ } }
  const sync = () => setParams({ bank: st.bank, month: st.month, offset: st.offset || '', sort: st.sort, dir: st.sort ? st.dir : '' });
  clear(filters,
    session.kind === 'bank' ? null : select('bank', t('bank'), banksOf(zs), st.bank, (v) => { st.bank = v; st.offset = 0; sync(); load(); }),
    h('label', { for: 'f-month' }, t('month'), h('input', { id: 'f-month', type: 'month', value: st.month,
      onchange: (e) => { st.month = e.target.value; st.offset = 0; sync(); load(); } })));
  let page;
  const columns = [
    { key: 'number', label: t('number'), render: (r) => h('a', { href: `#/bill/${encodeURIComponent(r.number)}` }, r.number) },
    { key: 'type', label: t('type'), render: (r) => tv('bill_', r.type?.replace('-', '_')) },
    { key: 'bank', label: t('bank') },
    { key: 'period', label: t('period') },
    { key: 'ref', label: 'ref' },
    { key: 'issued', label: t('issued'), render: (r) => f.time(r.issued) },
    { key: 'net_fen', label: t('net'), num: true, render: (r) => f.fen(r.net_fen) },
    { key: 'tax_fen', label: t('tax'), num: true, render: (r) => f.fen(r.tax_fen) },
    { key: 'gross_fen', label: t('gross'), num: true, render: (r) => f.fen(r.gross_fen) },
    { key: '_dl', label: t('download'), nosort: true, render: (r) => h('span', { class: 'btns' },
      ['xlsx', 'pdf', 'csv'].map((x) => h('a', { class: 'btn', href: `api/v1/bills/${encodeURIComponent(r.number)}?format=${x}`, download: `${r.number}.${x}` }, x.toUpperCase()))) },
  ];
  function draw() {
    if (!page.items?.length) { clear(listBox, empty()); return; }
    clear(listBox, table({ columns, rows: page.items, caption: t('bills_title'), sort: { key: st.sort, dir: st.dir },
      onSort: (k, d) => { st.sort = k; st.dir = d; sync(); draw(); }, rowAttrs: (r) => ({ dataset: { number: r.number, bank: r.bank || '' } }) }),
    pager(page.total ?? page.items.length, st.limit, st.offset, (o) => { st.offset = o; sync(); load(); }));
  }
  async function load() {
    clear(listBox, loading());
    try {
      page = await api.get('/bills', { bank: st.bank, period: st.month, limit: st.limit, offset: st.offset });
      if (ctx.alive()) draw();
    } catch (e) { clear(listBox, errorBox(e, load)); }
  }
  await load();
}
