// What the terminal page and the Commands page share: a command's status badge, the commands
// table, the remote-action panel (buttons by role; the server checks the role again, and
// kioskd once more when it applies the request) and a terminal's inventory block.
import { api } from '../api.js';
import { t } from '../i18n.js';
import * as f from '../fmt.js';
import { h, clear, table, kv, toast, badge, empty } from '../ui.js';

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

// The group form of the Commands page: a kind the role may send, the selectors of `kioskctl
// cmd send` (all must match, at least one), a dry run that lists the targets before anything
// is queued, and an optional canary (a rollout in waves) with its failure threshold. The
// server checks everything again (POST /api/v1/commands); kioskd applies the request.
const GROUP_KINDS = {
  technician: [['probe', 'cmd_probe'], ['logs', 'cmd_logs'], ['maintenance-on', 'cmd_maint_on'], ['maintenance-off', 'cmd_maint_off']],
  operator: [['restart-app', 'cmd_restart_app'], ['restart-agent', 'cmd_restart_agent'], ['reboot', 'cmd_reboot'], ['update', 'cmd_update']],
};
const SELECTORS = ['zone', 'bank', 'unit', 'agent_version', 'app_version'];

export function groupForm(session, onSent) {
  const ops = session.kind === 'operator';
  const kinds = ops ? [...GROUP_KINDS.technician, ...GROUP_KINDS.operator] : GROUP_KINDS.technician;
  const input = (id, label, attrs = {}) => {
    const el = h('input', { id: `g-${id}`, size: 14, ...attrs });
    return [el, h('label', { for: `g-${id}` }, `${label} `, el)];
  };
  const kindSel = h('select', { id: 'g-kind' }, kinds.map(([k, label]) => h('option', { value: k }, t(label))));
  const [units, unitsL] = input('units', t('cmd_units'), { value: 'kiosk-app.service', size: 22 });
  const [span, spanL] = input('span', t('cmd_span'), { value: '3600', size: 6, inputmode: 'numeric' });
  const artSel = h('select', { id: 'g-artifact' });
  const artL = h('label', { for: 'g-artifact' }, `${t('cmd_artifact')} `, artSel);
  const sel = Object.fromEntries(SELECTORS.map((k) => [k, input(k, t(`sel_${k}`))]));
  const termKind = h('select', { id: 'g-termkind' }, h('option', { value: '' }, t('all')),
    h('option', { value: 'kiosk' }, 'kiosk'), h('option', { value: 'itm' }, 'itm'));
  const [canary, canaryL] = input('canary', t('cmd_canary'), { size: 6, placeholder: '10%' });
  const [haltN, haltL] = input('halt', t('cmd_halt_failures'), { size: 4, inputmode: 'numeric' });
  const [reason, reasonL] = input('reason', t('cmd_reason'), { size: 40 });
  const out = h('div', { id: 'g-out', role: 'status', class: 'muted' });
  const argsBox = h('div', { class: 'btns' });
  function showArgs() {
    const k = kindSel.value;
    clear(argsBox, k === 'logs' ? [unitsL, spanL] : k === 'update' ? artL : null);
  }
  kindSel.addEventListener('change', showArgs);
  if (ops) {
    api.get('/artifacts', { limit: 200 }).then((r) => {
      clear(artSel, r.items.map((a) => h('option', { value: `${a.name}\t${a.version}` }, `${a.name} ${a.version} (${a.kinds})`)));
      if (!r.items.length) artSel.append(h('option', { value: '' }, t('cmd_no_artifact')));
    }).catch(() => artSel.append(h('option', { value: '' }, t('cmd_no_artifact'))));
  }
  function body(dry) {
    const k = kindSel.value;
    const b = { kind: k, args: [], reason: reason.value.trim(), targets: {} };
    if (k.startsWith('maintenance-')) { b.kind = 'maintenance'; b.args = [k.slice(12)]; }
    if (k === 'logs') b.args = [units.value.trim(), span.value.trim()];
    if (k === 'update') b.args = artSel.value ? artSel.value.split('\t') : [];
    for (const s of SELECTORS) { const v = sel[s][0].value.trim(); if (v) b.targets[s] = v; }
    if (termKind.value) b.targets.kind = termKind.value;
    if (canary.value.trim()) b.canary = /^\d+$/.test(canary.value.trim()) ? Number(canary.value.trim()) : canary.value.trim();
    if (haltN.value.trim()) b.halt_failures = Number(haltN.value.trim());
    if (dry) b.dry_run = true;
    return b;
  }
  async function go(dry) {
    const b = body(dry);
    if (!Object.keys(b.targets).length) { toast(t('cmd_need_selector'), true); return; }
    if (!b.reason) { toast(t('cmd_reason_needed'), true); reason.focus(); return; }
    if (!dry && ['reboot', 'restart-app', 'restart-agent', 'update'].includes(b.kind) &&
        !window.confirm(t('cmd_confirm_group', t(kinds.find(([k]) => k === kindSel.value)[1])))) return;
    try {
      const r = await api.post('/commands', b);
      if (dry) {
        clear(out, h('p', { dataset: { count: r.count } }, t('cmd_dry', r.count, b.canary !== undefined ? r.canary : 0)),
          r.targets.length ? h('p', { class: 'mono' }, r.targets.slice(0, 50).join(' '), r.targets.length > 50 ? ' …' : '') : null);
      } else {
        clear(out, h('p', {}, t('cmd_queued', r.request)));
        toast(t('cmd_queued', r.request));
        onSent?.(r.request);
      }
    } catch (e) {
      clear(out, h('p', { class: 'error' }, `${e.title}${e.detail ? `: ${e.detail}` : ''}`));
    }
  }
  showArgs();
  return h('section', { class: 'card', 'aria-labelledby': 'g-h' }, h('h2', { id: 'g-h' }, t('cmd_group')),
    h('div', { class: 'btns' }, h('label', { for: 'g-kind' }, `${t('cmd_kind')} `, kindSel)),
    argsBox,
    h('div', { class: 'btns' }, SELECTORS.map((s) => sel[s][1]), h('label', { for: 'g-termkind' }, `${t('sel_kind')} `, termKind)),
    h('div', { class: 'btns' }, canaryL, haltL),
    h('div', { class: 'btns' }, reasonL,
      h('button', { type: 'button', class: 'btn', id: 'g-dry', onclick: () => go(true) }, t('cmd_dry_run')),
      h('button', { type: 'button', class: 'btn primary', id: 'g-send', onclick: () => go(false) }, t('cmd_send'))),
    out);
}
