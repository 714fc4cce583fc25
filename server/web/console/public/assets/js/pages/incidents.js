// The incident queue (GET /api/v1/incidents): least time left first as the server orders it,
// filters in the URL, mass outages as one parent row with its children folded, and for the
// maintenance company bulk acknowledgement of the selected rows (POST /incidents/actions).
import { api } from '../api.js';
import { t, tv } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, empty, errorBox, table, pager, select, toast, badge } from '../ui.js';
import { setParams } from '../app.js';
import { zones, unitsOf, banksOf, zoneCode, incBadge } from './common.js';

const ACTORS = new Set(['operator', 'technician']);

export async function render(ctx) {
  const { main, params, session } = ctx;
  const canAct = ACTORS.has(session.kind);
  const st = {
    status: params.get('status') || 'open', unit: params.get('unit') || '', bank: params.get('bank') || '',
    zone: params.get('zone') || '', assignee: params.get('assignee') || '', flat: params.get('flat') === '1',
    sort: params.get('sort') || '', dir: params.get('dir') || 'asc',
    offset: Number(params.get('offset') || 0), limit: 100,
  };
  const filters = h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() });
  const bulk = h('div', { class: 'btns', style: { margin: '6px 0' } });
  const listBox = h('div', {}, loading());
  main.append(h('h1', {}, t('inc_title')));
  if (!canAct) main.append(h('p', { class: 'muted' }, t('readonly_bank')));
  main.append(filters, bulk, listBox);

  let zs = [];
  try { zs = await zones(); } catch { /* filters by code still work */ }
  const sync = () => setParams({ status: st.status === 'open' ? '' : st.status, unit: st.unit, bank: st.bank, zone: st.zone,
    assignee: st.assignee, flat: st.flat ? '1' : '', sort: st.sort, dir: st.sort ? st.dir : '', offset: st.offset || '' });
  const apply = () => { st.offset = 0; sync(); load(); };
  let timer = null;
  const drawFilters = () => clear(filters,
    h('label', { for: 'f-status' }, t('status'), h('select', { id: 'f-status', onchange: (e) => { st.status = e.target.value; apply(); } },
      h('option', { value: 'open', selected: st.status === 'open' }, t('inc_open')),
      h('option', { value: 'all', selected: st.status === 'all' }, t('inc_all')))),
    select('unit', t('unit'), unitsOf(zs), st.unit, (v) => { st.unit = v; st.zone = ''; drawFilters(); apply(); }),
    session.kind === 'bank' ? null : select('bank', t('bank'), banksOf(zs), st.bank, (v) => { st.bank = v; st.zone = ''; drawFilters(); apply(); }),
    select('zone', t('zone'), zs.filter((z) => (!st.unit || z.unit === st.unit) && (!st.bank || z.bank === st.bank)).map((z) => [zoneCode(z), `${zoneCode(z)} ${z.name || z.zone_name || ''}`]), st.zone, (v) => { st.zone = v; apply(); }),
    h('label', { for: 'f-assignee' }, t('assignee'), h('input', { id: 'f-assignee', value: st.assignee, size: 10,
      oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => { st.assignee = e.target.value.trim(); apply(); }, 400); } })),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', checked: st.flat, onchange: (e) => { st.flat = e.target.checked; apply(); } }), t('flat')));
  drawFilters();

  const selected = new Set();
  const expanded = new Set();
  let page = null;
  const idsOf = (r) => (r.children?.length ? [r.id, ...r.children.map((c) => c.id)].filter((x) => x != null) : [r.id]);

  function drawBulk() {
    if (!canAct) return;
    const note = h('input', { id: 'bulk-note', placeholder: t('bulk_note'), 'aria-label': t('bulk_note'), size: 28 });
    clear(bulk,
      h('button', { type: 'button', class: 'btn primary', id: 'bulk-ack', disabled: !selected.size,
        onclick: async (e) => {
          e.target.disabled = true;
          try {
            await api.post('/incidents/actions', { kind: 'ack', ids: [...selected], text: note.value.trim() || undefined });
            toast(t('action_sent'));
            selected.clear();
            setTimeout(() => ctx.alive() && load(), 1500);
          } catch (ex) { toast(`${ex.title}${ex.detail ? `: ${ex.detail}` : ''}`, true); e.target.disabled = false; }
        } }, t('bulk_ack', selected.size)), note);
  }

  const left = (s) => (s == null ? '—' : h('span', { class: s < 0 ? 'neg' : null }, f.dur(s)));
  const columns = [
    canAct ? {
      key: '_sel', nosort: true, label: t('select_row'),
      head: h('input', { type: 'checkbox', 'aria-label': t('select_all'), onchange: (e) => {
        for (const r of page.items) for (const id of idsOf(r)) { if (e.target.checked) selected.add(id); else selected.delete(id); }
        draw();
      } }),
      render: (r) => h('input', { type: 'checkbox', 'aria-label': `${t('select_row')} ${r.id}`, checked: idsOf(r).every((id) => selected.has(id)),
        dataset: { id: String(r.id) },
        onchange: (e) => { for (const id of idsOf(r)) { if (e.target.checked) selected.add(id); else selected.delete(id); } draw(); } }),
    } : null,
    { key: 'id', label: '#', num: true, render: (r) => (r.children?.length
      ? h('span', {}, h('button', { type: 'button', class: 'link', 'aria-expanded': expanded.has(r.id) ? 'true' : 'false',
        'aria-label': `${expanded.has(r.id) ? t('collapse') : t('expand')} ${r.id}`,
        onclick: () => { if (expanded.has(r.id)) expanded.delete(r.id); else expanded.add(r.id); draw(); } }, expanded.has(r.id) ? '▾' : '▸'), ' ',
        r.kind === 'outage' ? String(r.id) : h('a', { href: `#/incident/${r.id}` }, String(r.id)))
      : h('a', { href: `#/incident/${r.id}` }, String(r.id))) },
    { key: 'terminal', label: t('terminal'), render: (r) => (r.children?.length
      ? [badge('down', t('outage')), ' ', t('outage_children', r.children.length)]
      : h('a', { href: `#/terminal/${encodeURIComponent(r.terminal)}` }, r.terminal)) },
    { key: 'zone', label: t('zone'), wrap: true, render: (r) => h('span', { title: r.zone || r.unit }, r.zone_name || r.unit_name || r.zone || r.unit) },
    { key: 'bank', label: t('bank'), render: (r) => r.bank_name || r.bank },
    { key: 'cause', label: t('cause'), render: (r) => tv('cause_', r.cause) },
    { key: 'part', label: t('part') },
    { key: 'state', label: t('state'), render: (r) => incBadge(r.state) },
    { key: 'since', label: t('since'), render: (r) => f.time(r.since) },
    { key: 'response_left_s', label: t('response_left'), num: true, render: (r) => left(r.response_left_s) },
    { key: 'restore_left_s', label: t('restore_left'), num: true, render: (r) => left(r.restore_left_s) },
    { key: 'breached', label: t('breached'), render: (r) => (r.breached ? badge('breached', tv('br_', r.breached)) : '—') },
    { key: 'attribution', label: t('attribution'), render: (r) => tv('attr_', r.attribution) },
    { key: 'assignee', label: t('assignee') },
  ].filter(Boolean);

  function draw() {
    drawBulk();
    if (!page.items?.length) { clear(listBox, empty()); return; }
    clear(listBox,
      table({
        columns, rows: page.items, caption: t('inc_title'),
        sort: { key: st.sort, dir: st.dir },
        onSort: (k, d) => { st.sort = k; st.dir = d; sync(); draw(); },
        rowAttrs: (r) => ({
          class: [r.children?.length ? 'parent' : '', idsOf(r).every((id) => selected.has(id)) ? 'selected' : ''].join(' ').trim() || null,
          dataset: { id: String(r.id), bank: r.bank || '', state: r.state || '' },
        }),
        // A parent is followed by its children when unfolded.
        before: (r, body, addRow) => {
          addRow(r);
          if (r.children?.length && expanded.has(r.id)) {
            for (const c of r.children) addRow(c, { class: 'child', dataset: { id: String(c.id), bank: c.bank || '', state: c.state || '', parent: String(r.id) } });
          }
        },
      }),
      pager(page.total ?? page.items.length, st.limit, st.offset, (o) => { st.offset = o; sync(); load(); }));
  }

  async function load() {
    if (!page) clear(listBox, loading());
    try {
      page = await api.get('/incidents', {
        status: st.status === 'open' ? undefined : st.status, unit: st.unit, bank: st.bank, zone: st.zone, assignee: st.assignee,
        flat: st.flat ? 1 : undefined, limit: st.limit, offset: st.offset,
      });
      if (!ctx.alive()) return;
      draw();
    } catch (e) { clear(listBox, errorBox(e, load)); }
  }
  // An "incident" event: reload the page of the queue (cheap: one page), batched.
  let pending = null;
  ctx.onEvent = (type) => {
    if (type !== 'incident' || pending) return;
    pending = setTimeout(() => { pending = null; if (ctx.alive()) load(); }, 700);
  };
  await load();
}
