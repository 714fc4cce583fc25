// The console: hash routing (#/page/arg?filters), the session, the role's menu and the live
// event stream. Pages are plain ES modules exporting render(ctx); no framework: the pages are
// tables, forms and a few charts, and a hundred lines of routing cost less than a build step.
import { api, setCsrf, setUnauthorizedHandler, openEvents } from './api.js';
import { t, getLang, setLang } from './i18n.js';
import { h, clear, errorBox, disposeCharts } from './ui.js';

// Which pages each role has. The server enforces every one of these (a hidden link is a
// convenience, never a control); this only keeps menus to what a role can use.
export const MENUS = {
  operator: ['fleet', 'incidents', 'commands', 'bills', 'weekly', 'coverage', 'assessments', 'finder'],
  technician: ['fleet', 'incidents', 'commands', 'finder'],
  bank: ['fleet', 'incidents', 'bills', 'finder'],
  bureau: ['fleet', 'weekly', 'coverage', 'assessments', 'finder'],
};
const HOME = { operator: 'fleet', technician: 'incidents', bank: 'fleet', bureau: 'weekly' };
// Pages reached from another page, allowed where their parent page is.
const CHILD = { terminal: 'fleet', incident: 'incidents', bill: 'bills' };
const PUBLIC = new Set(['login', 'finder']);

const pages = {
  login: () => import('./pages/login.js'),
  fleet: () => import('./pages/fleet.js'),
  terminal: () => import('./pages/terminal.js'),
  incidents: () => import('./pages/incidents.js'),
  incident: () => import('./pages/incident.js'),
  commands: () => import('./pages/commands.js'),
  bills: () => import('./pages/bills.js'),
  bill: () => import('./pages/bill.js'),
  weekly: () => import('./pages/weekly.js'),
  coverage: () => import('./pages/coverage.js'),
  assessments: () => import('./pages/assessments.js'),
  finder: () => import('./pages/finder.js'),
};

// The session answer: {user, role, bank, display, csrf}; role is operator, technician,
// bureau or bank:<code> (a plain "bank" with the code in `bank` is accepted too).
export const session = { user: null, kind: null, bank: null, display: null };

function adoptSession(s) {
  const role = s?.role || '';
  session.user = s?.user || null;
  session.kind = role.startsWith('bank') ? 'bank' : role || null;
  session.bank = session.kind === 'bank' ? (s.bank || role.split(':')[1] || null) : null;
  session.display = s?.display || s?.user || null;
  setCsrf(s?.csrf);
}

export function can(page) {
  if (PUBLIC.has(page)) return true;
  const menu = MENUS[session.kind] || [];
  return menu.includes(page) || menu.includes(CHILD[page]);
}

// Live events go to the current page if it listens (ctx.onEvent).
let events = null;
let current = { onEvent: null, cleanup: null };
function startEvents() {
  if (events || !['operator', 'technician', 'bank'].includes(session.kind)) return;
  const live = document.getElementById('live');
  live.hidden = false;
  events = openEvents(
    (type, data) => current.onEvent?.(type, data),
    (up) => {
      live.className = `live ${up ? 'on' : 'off'}`;
      live.textContent = up ? t('live_on') : t('live_off');
      live.title = live.textContent;
    });
}
function stopEvents() {
  events?.close();
  events = null;
  document.getElementById('live').hidden = true;
}

export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const [page, ...rest] = path.split('/').map(decodeURIComponent);
  return { page: page || '', arg: rest.join('/') || null, params: new URLSearchParams(query) };
}

// Filters live in the URL so that a view can be bookmarked and sent; replaceState, because a
// new history entry per keystroke would make Back useless.
export function setParams(params) {
  const { page, arg } = parseHash();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null && v !== false) q.set(k, v);
  const s = q.toString();
  history.replaceState(null, '', `#/${page}${arg ? `/${encodeURIComponent(arg)}` : ''}${s ? `?${s}` : ''}`);
}

export function go(hash) { location.hash = hash; }

function renderChrome(page) {
  document.title = `${t('brand')} kioskfleet`;
  document.getElementById('brand-name').textContent = t('brand');
  document.getElementById('skip-link').textContent = t('skip');
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('main_menu'));
  const items = session.kind ? MENUS[session.kind] : ['finder'];
  const active = CHILD[page] || page;
  clear(nav, items.map((p) => h('a', {
    href: `#/${p}`, dataset: { nav: p }, 'aria-current': p === active ? 'page' : null,
  }, t(`nav_${p}`))));
  const who = document.getElementById('whoami');
  who.textContent = session.kind
    ? `${session.display} · ${t(`role_${session.kind}`)}${session.bank ? ` ${session.bank}` : ''}` : '';
  const lang = document.getElementById('lang');
  lang.textContent = t('lang_switch');
  lang.setAttribute('aria-label', getLang() === 'zh' ? 'Switch to English' : '切换到中文');
  const out = document.getElementById('logout');
  out.hidden = !session.kind;
  out.textContent = t('logout');
  if (!session.kind) {
    // Not signed in: offer the way in beside the public finder.
    if (page !== 'login') nav.append(h('a', { href: '#/login', dataset: { nav: 'login' } }, t('sign_in')));
  }
}

let seq = 0;
async function route() {
  const { page, arg, params } = parseHash();
  const mine = ++seq;
  current.cleanup?.();
  current = { onEvent: null, cleanup: null };
  disposeCharts();
  const main = document.getElementById('main');

  let target = page;
  if (!target) target = session.kind ? HOME[session.kind] : 'login';
  if (!pages[target]) { renderChrome(target); clear(main, errorBox({ title: t('not_found') })); return; }
  if (!session.kind && !PUBLIC.has(target)) {
    // Remember where the user was going, then come back after login.
    sessionStorage.setItem('kf.after', location.hash);
    location.replace('#/login');
    return;
  }
  if (session.kind && target === 'login') { location.replace(`#/${HOME[session.kind]}`); return; }
  if (!can(target)) { renderChrome(target); clear(main, errorBox({ title: t('forbidden'), status: 403 })); return; }

  renderChrome(target);
  const mod = await pages[target]();
  if (mine !== seq) return; // the user moved on while the module loaded
  clear(main);
  const ctx = {
    main, arg, params, session,
    set onEvent(fn) { current.onEvent = fn; },
    set cleanup(fn) { current.cleanup = fn; },
    alive: () => mine === seq,
  };
  try {
    await mod.render(ctx);
  } catch (e) {
    if (mine === seq) main.append(errorBox(e));
  }
}

export async function loggedIn(s) {
  adoptSession(s);
  startEvents();
  const after = sessionStorage.getItem('kf.after');
  sessionStorage.removeItem('kf.after');
  location.replace(after && !after.startsWith('#/login') ? after : `#/${HOME[session.kind]}`);
  await route();
}

async function logout() {
  try { await api.del('/session'); } catch { /* gone already */ }
  adoptSession(null);
  stopEvents();
  location.hash = '#/login';
}

async function boot() {
  setUnauthorizedHandler(() => {
    if (!session.kind) return;
    adoptSession(null);
    stopEvents();
    sessionStorage.setItem('kf.after', location.hash);
    location.hash = '#/login';
  });
  document.getElementById('lang').addEventListener('click', () => {
    setLang(getLang() === 'zh' ? 'en' : 'zh');
    route();
  });
  document.getElementById('logout').addEventListener('click', logout);
  try {
    adoptSession(await api.get('/session', null, { quiet401: true }));
    startEvents();
  } catch { adoptSession(null); }
  window.addEventListener('hashchange', route);
  await route();
}

boot();
