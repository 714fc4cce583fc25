// What the terminal page and the Commands page share: a command's status badge, the commands
// table, the remote-action panel (buttons by role; the server checks the role again, and
// kioskd once more when it applies the request) and a terminal's inventory block.
import { api } from '../api.js';
import { t } from '../i18n.js';
import * as f from '../fmt.js';
import { h, table, kv, toast, badge, empty } from '../ui.js';

const CLASS = {
  queued: 'unknown', sent: 'degraded', received: 'degraded', done: 'up',
  failed: 'down', refused: 'down', expired: 'down', cancelled: 'unknown',
  running: 'degraded', halted: 'down',
};
export const cmdBadge = (s) => badge(CLASS[s] || 'unknown', t(`cs_${s}`) === `cs_${s}` ? s : t(`cs_${s}`));
export const roBadge = (s) => badge(CLASS[s] || 'unknown', t(`rs_${s}`));

export function cmdTable(rows, caption, withDevice = true) {
  return table({
    caption, rows,
    rowAttrs: (r) => ({ dataset: { cmdId: r.id, status: r.status } }),
    columns: [
      { key: 'id', label: '#' },
      withDevice ? { key: 'device', label: t('device') } : null,
      { key: 'kind', label: t('cmd_kind') },
      { key: 'args', label: t('cmd_args'), render: (r) => (r.args && r.args !== '[]' ? JSON.parse(r.args).join(' ') : '') },
      { key: 'status', label: t('status'), render: (r) => cmdBadge(r.status) },
      { key: 'created', label: t('at'), render: (r) => f.time(r.created) },
      { key: 'ended', label: t('cmd_ended'), render: (r) => f.time(r.ended) },
      { key: 'detail', label: t('detail'), wrap: true },
      { key: 'by', label: t('cmd_by') },
      { key: 'rollout', label: t('ro_list') },
    ].filter(Boolean),
  });
}

// The kinds each role may send from a terminal's page (docs/WEB.md "Commands ...").
const TECH = [['probe', 'cmd_probe', []], ['logs', 'cmd_logs', []],
  ['maintenance', 'cmd_maint_on', ['on']], ['maintenance', 'cmd_maint_off', ['off']]];
const OPS = [['restart-app', 'cmd_restart_app', []], ['reboot', 'cmd_reboot', []],
  ['restart-agent', 'cmd_restart_agent', []]];

export function actionsPanel(session, device, onSent) {
  const reason = h('input', { id: 'cmd-reason', size: 40, 'aria-label': t('cmd_reason'), placeholder: t('cmd_reason') });
  const status = h('p', { class: 'muted', id: 'cmd-status', role: 'status' });
  const kinds = session.kind === 'operator' ? [...TECH, ...OPS] : TECH;
  async function send(kind, label, args) {
    const why = reason.value.trim();
    if (!why) { toast(t('cmd_reason_needed'), true); reason.focus(); return; }
    if (['reboot', 'restart-app', 'restart-agent', 'set-config'].includes(kind) && !window.confirm(t('cmd_confirm', t(label)))) return;
    const a = [...args];
    if (kind === 'maintenance' && a[0] === 'on' && session.user) a.push(session.user.slice(0, 31));
    try {
      const r = await api.post('/commands', { kind, args: a, reason: why, targets: { devices: [device] } });
      status.textContent = t('cmd_queued', r.request);
      toast(t('cmd_queued', r.request));
      onSent?.(r.request);
    } catch (e) {
      toast(`${e.title}${e.detail ? `: ${e.detail}` : ''}`, true);
    }
  }
  const buttons = kinds.map(([kind, label, args]) => h('button', {
    type: 'button', class: `btn${kind === 'probe' ? ' primary' : ''}`,
    dataset: { cmd: args[0] ? `${kind}-${args[0]}` : kind }, onclick: () => send(kind, label, args),
  }, t(label)));
  let cfg = null;
  if (session.kind === 'operator') {
    const key = h('input', { id: 'cmd-key', size: 22, 'aria-label': t('cmd_key'), placeholder: t('cmd_key') });
    const val = h('input', { id: 'cmd-value', size: 14, 'aria-label': t('cmd_value'), placeholder: t('cmd_value') });
    cfg = h('div', { class: 'btns', style: { marginTop: '6px' } }, key, val,
      h('button', { type: 'button', class: 'btn', dataset: { cmd: 'set-config' },
        onclick: () => send('set-config', 'cmd_set_config', [key.value.trim(), val.value.trim()]) }, t('cmd_set_config')));
  }
  return h('section', { class: 'card', 'aria-labelledby': 'cmd-h' }, h('h2', { id: 'cmd-h' }, t('cmd_title')),
    h('label', { for: 'cmd-reason' }, t('cmd_reason'), ' ', reason),
    h('div', { class: 'btns', style: { marginTop: '6px' } }, buttons), cfg, status);
}

export function invBlock(inv) {
  if (!inv) return h('section', { class: 'card grow', 'aria-labelledby': 'inv-h' }, h('h2', { id: 'inv-h' }, t('inv_title')), empty(t('inv_none')));
  let periph = [];
  try { periph = JSON.parse(inv.periph || '[]'); } catch { periph = []; }
  return h('section', { class: 'card grow', 'aria-labelledby': 'inv-h' }, h('h2', { id: 'inv-h' }, t('inv_title')),
    kv([
      [t('inv_os'), `${inv.os || '—'} ${inv.os_version || ''}`],
      [t('inv_kernel'), inv.kernel],
      [t('inv_agent'), inv.agent],
      [t('inv_app'), inv.app ? `${inv.app} ${inv.app_version || ''}` : null],
      [t('inv_cpu'), inv.cpu ? `${inv.cpu} × ${inv.cores}` : null],
      [t('inv_mem'), inv.mem_mb ? f.mb(inv.mem_mb) : null],
      [t('inv_disk'), inv.disk_gb ? `${f.int(inv.disk_free_gb)} / ${f.int(inv.disk_gb)} GB` : null],
      [t('inv_periph'), periph.length ? h('ul', { class: 'plain' }, periph.map((p) => h('li', {}, `${p.name}: ${p.model || '—'} / ${p.fw || '—'}`))) : null],
      [t('inv_changed'), f.time(inv.changed)],
      inv.rejected ? [t('inv_rejected'), `${inv.rejected} (${f.time(inv.rejected_at)})`] : null,
    ].filter(Boolean)));
}
