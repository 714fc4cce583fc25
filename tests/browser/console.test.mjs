// Browser test of the console: playwright-core driving Debian's chromium (no browser
// download). Runs against any kiosk-web (the real one on a real store is the test of record;
// mock-server.mjs is only for developing the console).
//
//   KF_WEB_URL=http://127.0.0.1:8443      the console's base URL
//   KF_WEB_USERS='{"operator":{"user":"..","password":".."},"technician":{..},
//                  "bank:ICBC":{..},"bureau":{..}}'   one login per role (the key's part before
//                                         ':' names the role; a bank's code comes from the session)
//   KF_WEB_SHOTS=DIR                      screenshots and downloads (default ./shots)
//   KF_CHROMIUM=/usr/bin/chromium         the browser (default)
//   KF_WEB_TOUR=zh,en                     the tour of every page: in these languages (default
//                                         both), or 0 to skip it
//   KF_WEB_DOC_SHOTS=DIR                  also a small JPEG of the first screen of each page
//                                         (docs/guides/CONSOLE.md shows those)
//
// Prints one line per check and "N passed, N failed"; exits 1 when any check failed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const BASE = (process.env.KF_WEB_URL || '').replace(/\/+$/, '');
const SHOTS = path.resolve(process.env.KF_WEB_SHOTS || 'shots');
const EXEC = process.env.KF_CHROMIUM || '/usr/bin/chromium';
if (!BASE || !process.env.KF_WEB_USERS) {
  console.error('console.test.mjs: set KF_WEB_URL and KF_WEB_USERS (see the head of this file)');
  process.exit(2);
}
const USERS = JSON.parse(process.env.KF_WEB_USERS);
fs.mkdirSync(SHOTS, { recursive: true });

// What each role's menu holds, and so what it must not: written out here, independently of
// the console's own table, because this is what the test asserts.
const PAGES = ['fleet', 'incidents', 'commands', 'bills', 'weekly', 'coverage', 'assessments', 'finder'];
const SEES = {
  operator: ['fleet', 'incidents', 'commands', 'bills', 'weekly', 'coverage', 'assessments', 'finder'],
  technician: ['fleet', 'incidents', 'commands', 'finder'],
  bank: ['fleet', 'incidents', 'bills', 'finder'],
  bureau: ['fleet', 'weekly', 'coverage', 'assessments', 'finder'],
};
// One API route per page a role must be refused by the server, not only by the menu.
const REFUSED = {
  technician: ['/api/v1/bills', '/api/v1/reports/weekly', '/api/v1/assessments'],
  bank: ['/api/v1/reports/weekly', '/api/v1/assessments', '/api/v1/users'],
  bureau: ['/api/v1/incidents', '/api/v1/bills', '/api/v1/users'],
};
const kindOf = (key) => key.split(':')[0];

let passed = 0;
let failed = 0;
const jsErrors = [];
async function check(name, fn) {
  const t0 = Date.now();
  const secs = () => `(${((Date.now() - t0) / 1000).toFixed(1)} s)`;
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} ${secs()}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name} ${secs()}: ${String(e.message || e).split('\n')[0]}`);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
const DOC = process.env.KF_WEB_DOC_SHOTS ? path.resolve(process.env.KF_WEB_DOC_SHOTS) : null;
if (DOC) fs.mkdirSync(DOC, { recursive: true });
async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  if (DOC) await page.screenshot({ path: path.join(DOC, `${name}.jpg`), type: 'jpeg', quality: 70 });
}
// The browser asks for reduced motion (newPage), so charts are drawn without their second of
// animation; two frames and a moment let the canvas paint before a screenshot.
const settle = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 150)))));

const browser = await chromium.launch({
  executablePath: EXEC, headless: true,
  // root in a container has no user namespace for chromium's sandbox
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});

async function newPage(lang = 'zh') {
  const ctx = await browser.newContext({
    locale: lang === 'en' ? 'en-US' : 'zh-CN', timezoneId: 'UTC', // UTC: times must still show in Asia/Shanghai
    viewport: { width: 1440, height: 900 }, acceptDownloads: true, ignoreHTTPSErrors: true, reducedMotion: 'reduce',
  });
  await ctx.addInitScript((l) => { if (!sessionStorage.getItem('kf.test')) { localStorage.setItem('kf.lang', l); sessionStorage.setItem('kf.test', '1'); } }, lang);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => jsErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

async function login(page, key) {
  const { user, password } = USERS[key];
  await page.goto(`${BASE}/#/login`);
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.waitForSelector('#logout:not([hidden])', { timeout: 15000 });
  return page.evaluate(async () => (await fetch('api/v1/session')).json());
}

async function navItems(page) {
  await page.waitForSelector('#nav a[data-nav]');
  return page.$$eval('#nav a[data-nav]', (as) => as.map((a) => a.dataset.nav));
}

async function apiAll(page, route) {
  return page.evaluate(async (r) => {
    const out = [];
    for (let offset = 0; ; offset += 1000) {
      const res = await fetch(`api/v1${r}${r.includes('?') ? '&' : '?'}limit=1000&offset=${offset}`);
      if (!res.ok) throw new Error(`${r}: HTTP ${res.status}`);
      const j = await res.json();
      out.push(...j.items);
      if (!j.items.length || offset + 1000 >= j.total) return out;
    }
  }, route);
}

// ---- the public finder, no login ---------------------------------------------------------
await check('public zone finder works without a login', async () => {
  const page = await newPage();
  await page.goto(`${BASE}/#/finder`);
  await page.waitForSelector('tr[data-zone]', { timeout: 15000 });
  const n = await page.locator('tr[data-zone]').count();
  assert(n > 0, 'no zone listed');
  const nav = await navItems(page);
  assert(!nav.includes('fleet') && !nav.includes('incidents'), `menu shows ${nav} without a login`);
  const res = await page.evaluate(async () => (await fetch('api/v1/fleet')).status);
  assert(res === 401, `GET /api/v1/fleet without a session gave ${res}, not 401`);
  await shot(page, 'finder-public-zh');
  await page.context().close();
});

// ---- each role: its menu, and the server refusing what the menu hides --------------------
const sessions = {};
for (const key of Object.keys(USERS)) {
  const kind = kindOf(key);
  await check(`${key}: logs in and sees exactly its menu`, async () => {
    const page = await newPage();
    const s = await login(page, key);
    sessions[key] = s;
    assert(String(s.role).startsWith(kind), `session role ${s.role}, expected ${kind}`);
    const nav = await navItems(page);
    const want = SEES[kind];
    for (const p of PAGES) {
      if (want.includes(p)) assert(nav.includes(p), `menu lacks ${p}`);
      else assert(!nav.includes(p), `menu shows ${p}`);
    }
    await settle(page);
    await shot(page, `home-${kind}-zh`);
    for (const route of REFUSED[kind] || []) {
      const st = await page.evaluate(async (r) => (await fetch(r.replace(/^\//, ''))).status, route);
      assert(st === 403, `${route} gave ${st} to ${key}, not 403`);
    }
    // A hidden page typed in by hand says it is not for this role (and the server refuses its data).
    const hidden = PAGES.find((p) => !want.includes(p));
    if (hidden) {
      await page.goto(`${BASE}/#/${hidden}`);
      await page.waitForSelector('.state.error', { timeout: 10000 });
    }
    await page.context().close();
  });
}

// ---- a bank sees only its own ------------------------------------------------------------
const bankKey = Object.keys(USERS).find((k) => kindOf(k) === 'bank');
if (bankKey) {
  await check(`${bankKey}: the fleet, incidents and bills are its own only`, async () => {
    const page = await newPage();
    const s = await login(page, bankKey);
    const code = s.bank || String(s.role).split(':')[1];
    assert(code, 'the session names no bank');
    await page.goto(`${BASE}/#/fleet`);
    await page.waitForSelector('tr[data-terminal]', { timeout: 15000 });
    const banks = await page.$$eval('tr[data-terminal]', (rs) => [...new Set(rs.map((r) => r.dataset.bank))]);
    assert(banks.length === 1 && banks[0] === code, `fleet list shows banks ${banks}`);
    // Plain lists only: a filter the server does not take is a 400 there (kiosk-web refuses
    // unknown parameters), and the folded queue's children are checked with their parents.
    for (const route of ['/fleet', '/incidents', '/bills', '/zones', '/disputes']) {
      const rows = await apiAll(page, route);
      const other = rows.flatMap((r) => [r, ...(r.children || [])]).filter((r) => r.bank && r.bank !== code);
      assert(!other.length, `${route} returned ${other.length} rows of other banks`);
    }
    await settle(page);
    await shot(page, 'fleet-bank-zh');
    await page.context().close();
  });

  await check(`${bankKey}: downloads its bill as XLSX and PDF`, async () => {
    const page = await newPage();
    await login(page, bankKey);
    await page.goto(`${BASE}/#/bills`);
    await page.waitForSelector('tr[data-number] a[href^="#/bill/"]', { timeout: 15000 });
    await page.click('tr[data-number] a[href^="#/bill/"]');
    await page.waitForSelector('a[data-download="xlsx"]');
    await shot(page, 'bill-bank-zh');
    for (const [ext, magic] of [['xlsx', Buffer.from('PK\x03\x04', 'latin1')], ['pdf', Buffer.from('%PDF-')]]) {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`a[data-download="${ext}"]`)]);
      const file = path.join(SHOTS, `bill-download.${ext}`);
      await dl.saveAs(file);
      const bytes = fs.readFileSync(file);
      assert(bytes.length > 0, `${ext}: empty download`);
      assert(bytes.subarray(0, magic.length).equals(magic), `${ext}: starts ${bytes.subarray(0, 5).toString('hex')}, not ${ext}`);
    }
    await page.context().close();
  });

  await check(`${bankKey}: disputes a line of its bill and sees the dispute listed`, async () => {
    const page = await newPage();
    await login(page, bankKey);
    await page.goto(`${BASE}/#/bills`);
    await page.waitForSelector('tr[data-number] a[href^="#/bill/"]', { timeout: 15000 });
    await page.click('tr[data-number] a[href^="#/bill/"]');
    await page.waitForSelector('#dispute-line');
    const before = await page.locator('#dl-h + div tr').count();
    await page.fill('#dispute-reason', 'browser test: line 1 days in service do not match our records');
    await page.click('#dispute-submit');
    await page.waitForFunction((n) => document.querySelectorAll('#dl-h + div tbody tr').length > Math.max(0, n - 1), before, { timeout: 15000 });
    await shot(page, 'bill-disputed-zh');
    await page.context().close();
  });
}

// ---- a technician acknowledges an incident and sees it change ---------------------------
const techKey = Object.keys(USERS).find((k) => kindOf(k) === 'technician');
const opKey0 = Object.keys(USERS).find((k) => kindOf(k) === 'operator');
if (techKey) {
  await check(`${techKey}: acknowledges an incident and sees it change`, async () => {
    const page = await newPage();
    await login(page, techKey);
    await page.goto(`${BASE}/#/incidents`);
    await page.waitForSelector('tr[data-id]', { timeout: 15000 });
    // An opened incident of one terminal; a mass outage's children are folded under their
    // parent, so unfold the parents when no single one is in view.
    const pickOpened = () => page.$$eval('tr[data-id]:not(.parent)', (rs) => rs.find((r) => ['opened', 'reopened'].includes(r.dataset.state))?.dataset.id);
    let id = await pickOpened();
    if (!id) {
      for (const b of await page.$$('tr.parent button[aria-expanded="false"]')) await b.click();
      id = await pickOpened();
    }
    assert(id, 'no opened incident in the queue to acknowledge');
    await shot(page, 'incidents-technician-zh');
    await page.goto(`${BASE}/#/incident/${id}`);
    await page.waitForSelector('#incident-state[data-state="opened"], #incident-state[data-state="reopened"]');
    await page.fill('#action-text', 'browser test: on my way');
    await page.click('button[data-action="ack"]');
    // kioskd applies queued actions within a few seconds ([sla] tick_s)
    await page.waitForSelector('#incident-state[data-state="acknowledged"]', { timeout: 45000 });
    await shot(page, 'incident-acknowledged-zh');
    await page.context().close();
  });
}

// ---- a technician probes a terminal from its page; no reboot button for them --------------
if (techKey) {
  await check(`${techKey}: probes a terminal from its page (queued for kioskd), no reboot button`, async () => {
    const page = await newPage();
    await login(page, techKey);
    await page.goto(`${BASE}/#/terminal/A-000401`);
    await page.waitForSelector('#cmd-reason', { timeout: 15000 });
    assert(await page.locator('button[data-cmd="probe"]').count() === 1, 'no probe button');
    assert(await page.locator('button[data-cmd="maintenance-on"]').count() === 1, 'no maintenance button');
    assert(await page.locator('button[data-cmd="reboot"]').count() === 0, 'a technician sees reboot');
    await page.waitForSelector('#inv-h');
    assert(!(await page.textContent('section[aria-labelledby="inv-h"]')).includes('尚未上报'), 'the terminal shows no inventory');
    // The server refuses a technician's reboot whatever the page shows.
    const st = await page.evaluate(async () => {
      const s = await (await fetch('api/v1/session')).json();
      const r = await fetch('api/v1/commands', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
        body: JSON.stringify({ kind: 'reboot', reason: 'x', targets: { devices: ['KF-XH-0401'] } }) });
      return r.status;
    });
    assert(st === 403, `a technician's reboot answered ${st}`);
    await page.fill('#cmd-reason', 'browser test: printer?');
    await page.click('button[data-cmd="probe"]');
    await page.waitForSelector('#cmd-status:has-text("请求")', { timeout: 10000 });
    // kioskd applies the request within a second or so; the page lists the command.
    await page.waitForSelector('tr[data-cmd-id]', { timeout: 30000 });
    await shot(page, 'terminal-probe-technician-zh');
    await page.context().close();
  });
}

// ---- a group: the technician's dry run on the Commands page; the operator's kinds ---------
if (techKey) {
  await check(`${techKey}: dry-runs a probe to a zone from the Commands page (nothing queued), no operator kinds`, async () => {
    const page = await newPage();
    await login(page, techKey);
    await page.goto(`${BASE}/#/commands`);
    await page.waitForSelector('#g-kind', { timeout: 15000 });
    const kinds = await page.$$eval('#g-kind option', (os) => os.map((o) => o.value));
    assert(!kinds.includes('reboot') && !kinds.includes('update'), `a technician may pick ${kinds}`);
    const before = await page.evaluate(async () => (await (await fetch('api/v1/commands?limit=1000')).json()).total);
    await page.fill('#g-zone', 'Z-XH-004');
    await page.fill('#g-reason', 'browser test: which terminals?');
    await page.click('#g-dry');
    await page.waitForSelector('#g-out p[data-count]', { timeout: 10000 });
    const n = await page.getAttribute('#g-out p[data-count]', 'data-count');
    assert(n === '1', `the dry run of Z-XH-004 found ${n} terminals, not 1`);
    assert((await page.textContent('#g-out')).includes('KF-XH-0401'), 'the dry run does not list KF-XH-0401');
    const after = await page.evaluate(async () => (await (await fetch('api/v1/commands?limit=1000')).json()).total);
    assert(after === before, `a dry run queued commands (${before} then ${after})`);
    await shot(page, 'commands-dry-run-technician-zh');
    await page.context().close();
  });
}
if (opKey0) {
  await check(`${opKey0}: the Commands page offers update with the stored packages, and the artifacts route is the operator's`, async () => {
    const page = await newPage();
    await login(page, opKey0);
    await page.goto(`${BASE}/#/commands`);
    await page.waitForSelector('#g-kind', { timeout: 15000 });
    await page.selectOption('#g-kind', 'update');
    await page.waitForSelector('#g-artifact option', { state: 'attached', timeout: 15000 });
    const r = await page.evaluate(async () => (await fetch('api/v1/artifacts')).status);
    assert(r === 200, `GET /api/v1/artifacts answered the operator ${r}`);
    await page.context().close();
  });
}

// ---- the bureau opens the weekly report --------------------------------------------------
const bureauKey = Object.keys(USERS).find((k) => kindOf(k) === 'bureau');
if (bureauKey) {
  await check(`${bureauKey}: opens the weekly report`, async () => {
    const page = await newPage();
    await login(page, bureauKey);
    await page.goto(`${BASE}/#/weekly`);
    await page.waitForSelector('#week-title', { timeout: 20000 });
    await page.waitForSelector('#chart-activity canvas');
    const units = await page.locator('tr[data-code]').count();
    assert(units > 0, 'the report lists no unit');
    await settle(page);
    await shot(page, 'weekly-bureau-zh');
    await page.context().close();
  });
}

// ---- the language switch is remembered ----------------------------------------------------
await check('the English switch changes the words and is remembered', async () => {
  const page = await newPage('zh');
  await page.goto(`${BASE}/#/finder`);
  await page.waitForSelector('tr[data-zone]');
  assert((await page.textContent('h1')).includes('服务专区'), 'not Chinese first');
  await page.click('#lang');
  await page.waitForFunction(() => document.querySelector('h1')?.textContent.includes('Find a service zone'));
  await page.reload();
  await page.waitForSelector('tr[data-zone]');
  assert((await page.textContent('h1')).includes('Find a service zone'), 'English not remembered after a reload');
  await page.context().close();
});

// ---- a tour: every page in both languages, for people to look at --------------------------
const TOUR = process.env.KF_WEB_TOUR ?? 'zh,en';
if (TOUR !== '0') {
  const opKey = Object.keys(USERS).find((k) => kindOf(k) === 'operator');
  for (const lang of TOUR.split(',')) {
    await check(`tour of every page (${lang})`, async () => {
      const page = await newPage(lang);
      if (opKey) {
        await login(page, opKey);
        const visit = async (hash, wait, name) => {
          await page.goto(`${BASE}/${hash}`);
          await page.waitForSelector(wait, { timeout: 20000 });
          await settle(page);
          await shot(page, `${name}-${lang}`);
        };
        await visit('#/fleet', 'tr[data-terminal]', 'fleet');
        // a terminal with something to show (degraded or down) when there is one
        const term = await page.$$eval('tr[data-terminal]', (rs) => (rs.find((r) => r.dataset.status === 'degraded') || rs.find((r) => r.dataset.status === 'down') || rs[0]).dataset.terminal);
        await visit(`#/terminal/${encodeURIComponent(term)}`, '#per-h', 'terminal');
        await visit('#/commands', 'tr[data-rollout]', 'commands');
        await visit('#/incidents', 'tr[data-id]', 'incidents');
        const parent = page.locator('tr.parent button[aria-expanded]');
        if (await parent.count()) { await parent.first().click(); await shot(page, `incidents-outage-${lang}`); }
        const inc = await page.$eval('tr[data-id]:not(.parent) a[href^="#/incident/"]', (a) => a.getAttribute('href'));
        await visit(inc, '#incident-state', 'incident');
        await visit('#/bills', 'tr[data-number]', 'bills');
        await visit('#/weekly', '#week-title', 'weekly');
        await visit('#/coverage', 'tr[data-target]', 'coverage');
        await visit('#/assessments', 'tr[data-zone]', 'assessments-zones');
        await visit('#/assessments?view=banks', '#chart-bank-rank canvas', 'assessments-banks');
        await visit('#/assessments?view=units', '#chart-unit-pass canvas', 'assessments-units');
        await visit('#/assessments?view=watchlist', '.tablewrap, .state', 'assessments-watchlist');
        await visit('#/finder', 'tr[data-zone]', 'finder');
      }
      await page.context().close();
      if (bankKey) {
        const bp = await newPage(lang);
        await login(bp, bankKey);
        await bp.goto(`${BASE}/#/bills`);
        await bp.waitForSelector('tr[data-number] a[href^="#/bill/"]', { timeout: 15000 });
        await bp.click('tr[data-number] a[href^="#/bill/"]');
        await bp.waitForSelector('#dispute-line');
        await shot(bp, `bill-dispute-${lang}`);
        await bp.context().close();
      }
      const lp = await newPage(lang);
      await lp.goto(`${BASE}/#/login`);
      await lp.waitForSelector('#login-user');
      await shot(lp, `login-${lang}`);
      await lp.context().close();
    });
  }
}

await check('no JavaScript error on any page', async () => {
  assert(!jsErrors.length, jsErrors.slice(0, 3).join(' | '));
});

await browser.close();
console.log(`screenshots in ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
