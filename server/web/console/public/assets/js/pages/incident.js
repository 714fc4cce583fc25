// One incident (GET /api/v1/incidents/{id} -> {incident, history}) and, for the maintenance
// company, its actions (POST /incidents/{id}/actions). An action is queued for kioskd (202):
// the page shows it as sent, then watches the incident until kioskd has applied it.
import { api } from '../api.js';
import { t, tv } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, errorBox, table, kv, toast, empty, badge } from '../ui.js';
import { incBadge } from './common.js';

const ACTIONS = ['ack', 'onsite', 'resolve', 'close', 'note', 'assign'];
// What makes sense in each state; kioskd refuses the rest anyway (and says why).
const ALLOWED = {
  opened: ['ack', 'onsite', 'resolve', 'note', 'assign'],
  reopened: ['ack', 'onsite', 'resolve', 'note', 'assign'],
  acknowledged: ['onsite', 'resolve', 'note', 'assign'],
  on_site: ['resolve', 'note', 'assign'],
  resolved: ['close', 'note'],
  closed: ['note'],
};
const one = (x) => (Array.isArray(x) ? x[0] ?? {} : x ?? {});

export async function render(ctx) {
  const { main, arg, session } = ctx;
  const canAct = ['operator', 'technician'].includes(session.kind);
  const box = h('div', {}, loading());
  const status = h('div', { id: 'action-status', role: 'status', 'aria-live': 'polite', class: 'muted' });
  main.append(h('p', {}, h('a', { href: '#/incidents' }, `← ${t('nav_incidents')}`)), box);
  let doc = null;

  async function load() {
    try { doc = await api.get(`/incidents/${encodeURIComponent(arg)}`); } catch (e) { clear(box, errorBox(e, load)); return null; }
    if (ctx.alive()) draw();
    return doc;
  }

  function draw() {
    const i = one(doc.incident);
    const hist = Array.isArray(doc.history) ? doc.history : [];
    const left = (s) => (s == null ? '—' : h('span', { class: s < 0 ? 'neg' : null }, f.dur(s)));
    clear(box,
      h('h1', {}, `${t('inc_detail')} #${i.id ?? arg} `, h('span', { id: 'incident-state', dataset: { state: i.state || '' } }, incBadge(i.state)),
        i.breached ? [' ', badge('breached', tv('br_', i.breached))] : null),
      h('div', { class: 'row' },
        h('section', { class: 'card grow' }, kv([
          [t('terminal'), i.terminal ? h('a', { href: `#/terminal/${encodeURIComponent(i.terminal)}` }, `${i.terminal} (${i.device ?? ''})`) : '—'],
          [t('zone'), `${i.zone ?? ''} ${i.zone_name ?? ''}`],
          [t('bank'), i.bank_name || i.bank],
          [t('cause'), tv('cause_', i.cause)], [t('part'), i.part], [t('severity'), i.severity],
          [t('detail'), i.detail], [t('attribution'), tv('attr_', i.attribution)], [t('assignee'), i.assignee],
        ])),
        h('section', { class: 'card grow' }, kv([
          [t('since'), f.time(i.since)], [t('opened'), f.time(i.opened)],
          [t('acknowledged'), i.acknowledged ? `${f.time(i.acknowledged)} ${i.acknowledged_by ?? ''}` : '—'],
          [t('on_site'), i.on_site ? `${f.time(i.on_site)} ${i.on_site_by ?? ''} (${f.dur(i.on_site_duration_s)})` : '—'],
          [t('resolved'), i.resolved ? `${f.time(i.resolved)} ${i.resolved_by ?? ''}` : '—'],
          [t('closed'), f.time(i.closed)],
          [t('response_due'), [f.time(i.response_due), ' · ', left(i.response_left_s)]],
          [t('restore_due'), [f.time(i.restore_due), ' · ', left(i.restore_left_s)]],
        ]))),
      canAct ? actionsPanel(i) : null,
      h('h2', {}, t('history')),
      hist.length ? table({
        caption: t('history'), rows: hist,
        columns: [
          { key: 'at', label: t('at'), render: (r) => f.time(r.at) },
          { key: 'event', label: t('event') },
          { key: 'who', label: t('who') },
          { key: 'detail', label: t('detail'), wrap: true },
        ],
      }) : empty());
  }

  function actionsPanel(i) {
    const allowed = new Set(ALLOWED[i.state] || ACTIONS);
    const text = h('textarea', { id: 'action-text', rows: 2, 'aria-label': t('action_text'), placeholder: t('action_text') });
    const to = h('input', { id: 'action-to', 'aria-label': t('assign_to'), placeholder: t('assign_to'), size: 22, value: i.assignee || '' });
    const buttons = ACTIONS.map((k) => h('button', {
      type: 'button', class: `btn${k === 'ack' ? ' primary' : ''}`, dataset: { action: k }, disabled: !allowed.has(k),
      onclick: () => act(k, text.value.trim(), to.value.trim()),
    }, t(`act_${k}`)));
    return h('section', { class: 'card', 'aria-label': t('inc_detail') },
      h('label', { for: 'action-text' }, t('action_text'), text),
      h('div', { class: 'btns', style: { marginTop: '6px' } }, buttons, to), status);
  }

  async function act(kind, text, to) {
    if (kind === 'resolve' && !text) { toast(t('note_required'), true); return; }
    const before = one(doc.incident);
    const beforeLen = (doc.history || []).length;
    for (const b of box.querySelectorAll('button[data-action]')) b.disabled = true;
    try {
      await api.post(`/incidents/${encodeURIComponent(arg)}/actions`, { kind, text: text || undefined, to: kind === 'assign' ? to : undefined });
    } catch (e) {
      toast(`${e.title}${e.detail ? `: ${e.detail}` : ''}`, true);
      draw();
      return;
    }
    status.textContent = t('action_sent');
    // kioskd applies queued actions within a few seconds ([sla] tick_s): watch for the change.
    for (let n = 0; n < 30 && ctx.alive(); n++) {
      await new Promise((r) => setTimeout(r, 1000));
      const d = await load();
      if (!d) return;
      const now = one(d.incident);
      if (now.state !== before.state || (d.history || []).length !== beforeLen || now.assignee !== before.assignee) {
        status.textContent = t('action_done', now.state);
        toast(t('action_done', now.state));
        return;
      }
    }
    if (ctx.alive()) status.textContent = t('action_pending');
  }

  ctx.onEvent = (type, row) => { if (type === 'incident' && String(row?.id) === String(arg)) load(); };
  await load();
}
