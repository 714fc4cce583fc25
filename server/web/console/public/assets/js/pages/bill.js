// One bill (GET /api/v1/bills/{number}: the signed "kioskfleet.bill/1" document), its
// downloads (.xlsx .pdf .csv, and the bundle a bank checks offline) and, for the bank, the
// dispute form (POST /bills/{number}/disputes {line, reason} -> 202).
import { api } from '../api.js';
import { t, tv } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, errorBox, table, kv, toast, empty, badge } from '../ui.js';

export async function render(ctx) {
  const { main, arg, session } = ctx;
  const box = h('div', {}, loading());
  main.append(h('p', {}, h('a', { href: '#/bills' }, `← ${t('nav_bills')}`)), box);
  let b;
  try { b = await api.get(`/bills/${encodeURIComponent(arg)}`); } catch (e) { clear(box, errorBox(e)); return; }
  if (!ctx.alive()) return;
  const lines = b.lines || [];
  // GET /api/v1/disputes?bill=: this bill's disputes and the company's answers.
  const disputesBox = h('div', {}, loading());
  async function loadDisputes() {
    try {
      const d = await api.get('/disputes', { bill: b.number || arg, limit: 1000 });
      if (!ctx.alive()) return;
      clear(disputesBox, d.items?.length ? table({
        caption: t('disputes'), rows: d.items,
        columns: [
          { key: 'id', label: '#', num: true },
          { key: 'line', label: t('line_no'), num: true },
          { key: 'opened', label: t('opened'), render: (r) => f.time(r.opened) },
          { key: 'by', label: t('who') },
          { key: 'reason', label: t('dispute_reason'), wrap: true },
          { key: 'state', label: t('state'), render: (r) => badge(r.state === 'accepted' ? 'pass' : r.state === 'refused' ? 'fail' : 'degraded', tv('ds_', r.state)) },
          { key: 'answer', label: t('answer'), wrap: true },
          { key: 'credit_note', label: t('bill_credit_note') },
        ],
      }) : empty());
    } catch (e) { clear(disputesBox, errorBox(e)); }
  }
  const n = encodeURIComponent(b.number || arg);
  const dl = (ext, label) => h('a', { class: 'btn', href: `api/v1/bills/${n}?format=${ext}`, download: `${b.number || arg}.${ext}`, dataset: { download: ext } }, label);
  clear(box,
    h('h1', {}, `${t('bill_bill')} ${b.number || arg} `, b.status === 'draft' ? badge('degraded', t('draft')) : null),
    h('div', { class: 'row' },
      h('section', { class: 'card grow' }, kv([
        [t('bank'), `${b.bank?.name ?? ''} (${b.bank?.code ?? ''})`],
        [t('period'), b.period],
        [t('issued'), f.timeMs(b.issued_at_ms)],
        [t('net'), `${f.fen(b.totals?.net_fen)} ${t('yuan')}`],
        [t('tax'), `${f.fen(b.totals?.tax_fen)} ${t('yuan')}`],
        [t('gross'), h('strong', {}, `${f.fen(b.totals?.gross_fen)} ${t('yuan')}`)],
        [t('gross_capital'), b.gross_capital],
      ])),
      h('section', { class: 'card grow' }, h('h2', { style: { marginTop: 0 } }, t('download')),
        h('div', { class: 'btns' }, dl('xlsx', 'XLSX'), dl('pdf', 'PDF'), dl('csv', 'CSV')),
        (b.totals?.by_rate || []).length ? table({
          caption: t('tax'), rows: b.totals.by_rate,
          columns: [
            { key: 'tax_rate_bp', label: t('tax_rate'), num: true, render: (r) => f.bp(r.tax_rate_bp) },
            { key: 'net_fen', label: t('net'), num: true, render: (r) => f.fen(r.net_fen) },
            { key: 'tax_fen', label: t('tax'), num: true, render: (r) => f.fen(r.tax_fen) },
            { key: 'gross_fen', label: t('gross'), num: true, render: (r) => f.fen(r.gross_fen) },
          ],
        }) : null)),
    h('h2', {}, t('bill_lines')),
    lines.length ? table({
      caption: t('bill_lines'), rows: lines, sort: { key: 'no', dir: 'asc' },
      columns: [
        { key: 'no', label: t('line_no'), num: true },
        { key: 'kind', label: t('type'), render: (r) => tv('lk_', r.kind) },
        { key: 'asset', label: t('terminal') },
        { key: 'zone', label: t('zone') },
        { key: 'period', label: t('period') },
        { key: 'days', label: t('days'), num: true, render: (r) => (r.days == null ? '—' : `${r.days}/${r.period_days}`) },
        { key: 'unit_fen', label: t('unit_price'), num: true, render: (r) => f.fen(r.unit_fen) },
        { key: 'net_fen', label: t('net'), num: true, render: (r) => f.fen(r.net_fen) },
        { key: 'tax_rate_bp', label: t('tax_rate'), num: true, render: (r) => f.bp(r.tax_rate_bp) },
        { key: 'tax_fen', label: t('tax'), num: true, render: (r) => f.fen(r.tax_fen) },
        { key: 'gross_fen', label: t('gross'), num: true, render: (r) => f.fen(r.gross_fen) },
        { key: 'text', label: t('text'), wrap: true },
        // A bank disputes from the line it is reading: the form below takes that line.
        session.kind === 'bank' ? { key: '_d', label: '', nosort: true, render: (r) => h('button', {
          type: 'button', class: 'btn', 'aria-label': `${t('dispute')} ${r.no}`,
          onclick: () => { const sel = document.getElementById('dispute-line'); sel.value = String(r.no); document.getElementById('dispute-reason').focus(); },
        }, t('dispute_short')) } : null,
      ].filter(Boolean),
    }) : empty(),
    h('section', { 'aria-labelledby': 'dl-h' }, h('h2', { id: 'dl-h' }, t('disputes')), disputesBox),
    session.kind === 'bank' ? disputeForm(b, lines, loadDisputes) : null);
  await loadDisputes();
}

function disputeForm(b, lines, reload) {
  const line = h('select', { id: 'dispute-line', required: true },
    lines.map((l) => h('option', { value: l.no }, `${l.no} · ${tv('lk_', l.kind)} ${l.asset ?? ''} ${f.fen(l.gross_fen)}`)));
  const reason = h('textarea', { id: 'dispute-reason', required: true, rows: 3 });
  const btn = h('button', { type: 'submit', class: 'btn primary', id: 'dispute-submit' }, t('dispute_submit'));
  const out = h('div', { role: 'status', 'aria-live': 'polite' });
  return h('section', { class: 'card', 'aria-labelledby': 'disp-h' },
    h('h2', { id: 'disp-h', style: { marginTop: 0 } }, t('dispute')),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        btn.disabled = true;
        out.replaceChildren();
        try {
          await api.post(`/bills/${encodeURIComponent(b.number)}/disputes`, { line: Number(line.value), reason: reason.value.trim() });
          out.append(t('dispute_sent'));
          toast(t('dispute_sent'));
          reason.value = '';
          reload();
        } catch (ex) { out.append(errorBox(ex)); }
        btn.disabled = false;
      },
    },
    h('div', { class: 'row' }, h('label', { for: 'dispute-line' }, t('dispute_line'), line),
      h('label', { for: 'dispute-reason', style: { flex: '1 1 360px' } }, t('dispute_reason'), reason)),
    h('div', { class: 'btns', style: { marginTop: '6px' } }, btn), out));
}
