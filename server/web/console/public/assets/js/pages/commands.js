// The Commands page: the newest commands with their status, the rollouts with their waves
// (halt and resume: the operator's), the terminals counted by an inventory field, and a form
// sending a command to a group (cmdui.js groupForm). GET /api/v1/commands, /rollouts,
// /rollouts/{id}, /inventory, /artifacts; POST /commands, .../halt|resume.
import { api } from '../api.js';
import { t } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, loading, errorBox, table, toast, empty } from '../ui.js';
import { cmdTable, roBadge, groupForm } from './cmdui.js';
import { setParams } from '../app.js';

const FIELDS = ['agent', 'app_version', 'os', 'kernel', 'kind', 'unit', 'bank', 'periph', 'cpu', 'mem_gb'];

export async function render(ctx) {
  const { main, session, params } = ctx;
  const box = h('div', {}, loading());
  // The group form is drawn once, above the lists that reload (what was typed stays).
  main.append(h('h1', {}, t('nav_commands')), groupForm(session, () => setTimeout(load, 1500)), box);
  let by = FIELDS.includes(params.get('by')) ? params.get('by') : 'agent';
  let open = null; // the rollout whose waves are shown
  async function load() {
    let cmds, ros, inv, waves = null;
    try {
      [cmds, ros, inv] = await Promise.all([
        api.get('/commands', { limit: 50 }),
        api.get('/rollouts', { limit: 50 }),
        api.get('/inventory', { by, limit: 200 }),
      ]);
      if (open) waves = await api.get(`/rollouts/${encodeURIComponent(open)}`);
    } catch (e) { clear(box, errorBox(e, load)); return; }
    if (!ctx.alive()) return;
    draw(cmds, ros, inv, waves);
  }
  async function move(id, op) {
    const reason = window.prompt(t('ro_reason_prompt'));
    if (!reason) return;
    try {
      const r = await api.post(`/rollouts/${encodeURIComponent(id)}/${op}`, { reason });
      toast(t('cmd_queued', r.request));
      setTimeout(load, 1500);
    } catch (e) { toast(`${e.title}${e.detail ? `: ${e.detail}` : ''}`, true); }
  }
  function draw(cmds, ros, inv, waves) {
    const ops = session.kind === 'operator';
    clear(box,
      h('section', { 'aria-labelledby': 'ro-h' }, h('h2', { id: 'ro-h' }, t('ro_list')),
        ros.items.length ? table({
          caption: t('ro_list'), rows: ros.items,
          rowAttrs: (r) => ({ dataset: { rollout: r.id, status: r.status } }),
          columns: [
            { key: 'id', label: '#', render: (r) => h('button', { type: 'button', class: 'link', onclick: () => { open = r.id; load(); } }, r.id) },
            { key: 'kind', label: t('cmd_kind') },
            { key: 'status', label: t('status'), render: (r) => roBadge(r.status) },
            { key: 'wave', label: t('ro_wave'), render: (r) => `${r.wave} / ${r.waves}` },
            { key: 'total', label: t('ro_terminals'), num: true },
            { key: 'open', label: t('ro_open'), num: true },
            { key: 'done', label: t('ro_done'), num: true },
            { key: 'failures', label: t('ro_failures'), num: true },
            { key: 'created', label: t('at'), render: (r) => f.time(r.created) },
            { key: 'by', label: t('cmd_by') },
            { key: 'reason', label: t('reason'), wrap: true },
            ops ? { key: 'act', label: '', nosort: true, render: (r) => (r.status === 'running'
              ? h('button', { type: 'button', class: 'btn', dataset: { halt: r.id }, onclick: () => move(r.id, 'halt') }, t('ro_halt'))
              : r.status === 'halted'
                ? h('button', { type: 'button', class: 'btn primary', dataset: { resume: r.id }, onclick: () => move(r.id, 'resume') }, t('ro_resume'))
                : '') } : null,
          ].filter(Boolean),
        }) : empty(),
        waves ? h('div', { class: 'card' }, h('h3', {}, `${open} · ${t('ro_waves')}`),
          table({
            caption: t('ro_waves'), rows: [].concat(waves.rollout_waves || []),
            columns: ['wave', 'terminals', 'queued', 'sent', 'received', 'done', 'failures', 'cancelled']
              .map((k) => ({ key: k, label: k === 'wave' ? t('ro_wave') : k === 'terminals' ? t('ro_terminals') : k === 'failures' ? t('ro_failures') : t(`cs_${k}`), num: true })),
          })) : null),
      h('section', { 'aria-labelledby': 'cl-h' }, h('h2', { id: 'cl-h' }, t('cmd_list')),
        cmds.items.length ? cmdTable(cmds.items, t('cmd_list')) : empty()),
      h('section', { 'aria-labelledby': 'inv-g-h' },
        h('div', { class: 'tl-head' }, h('h2', { id: 'inv-g-h' }, t('inv_grouped')),
          h('label', { for: 'inv-by' }, `${t('inv_by')} `,
            h('select', { id: 'inv-by', onchange: (e) => { by = e.target.value; setParams({ by }); load(); } },
              FIELDS.map((k) => h('option', { value: k, selected: k === by }, k))))),
        inv.items.length ? table({
          caption: t('inv_grouped'), rows: inv.items,
          rowAttrs: (r) => ({ dataset: { inv: r[by] ?? '' } }),
          columns: [{ key: by, label: by }, { key: 'terminals', label: t('ro_terminals'), num: true }],
        }) : empty(t('inv_none'))));
  }
  ctx.onEvent = null;
  await load();
}
