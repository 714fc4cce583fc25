// The one place that talks to kiosk-web (/api/v1, docs/openapi.yaml). Errors are RFC 9457
// problem details and are thrown as ApiError carrying their title and detail for the page to
// show. Unsafe methods send the session's CSRF token; the server checks it, we only carry it.

const BASE = 'api/v1';
let csrf = null;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem?.title || `HTTP ${status}`;
    this.detail = problem?.detail || '';
    this.problem = problem;
  }
}

// Called with the session answer's csrf on login and on session restore.
export function setCsrf(token) { csrf = token || null; }

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export function url(path, params) {
  const u = `${BASE}${path}`;
  if (!params) return u;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `${u}?${s}` : u;
}

async function problemOf(res) {
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) {
    try { return await res.json(); } catch { /* fall through */ }
  }
  return { title: `${res.status} ${res.statusText}` };
}

async function request(method, path, { params, body, quiet401 } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(url(path, params), {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { title: 'Network error', detail: String(e.message || e) });
  }
  if (res.status === 401 && !quiet401) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const api = {
  get: (path, params, opts = {}) => request('GET', path, { params, ...opts }),
  post: (path, body) => request('POST', path, { body: body ?? {} }),
  del: (path) => request('DELETE', path),
};

// Every page of a list endpoint, for the few views that need the whole set (the fleet map:
// 212 zones, a few hundred terminals); capped so a mistake cannot loop forever.
export async function getAll(path, params = {}, cap = 20000) {
  const limit = 1000;
  let offset = 0;
  const items = [];
  for (;;) {
    const page = await api.get(path, { ...params, limit, offset });
    items.push(...(page.items || []));
    offset += limit;
    if (!page.items?.length || offset >= (page.total ?? 0) || offset >= cap) break;
  }
  return items;
}

// Server-Sent Events: one EventSource for the app, re-dispatched to whoever listens.
// EventSource reconnects by itself; we only report the state for the "live" indicator.
export function openEvents(onEvent, onState) {
  const es = new EventSource(url('/events'), { withCredentials: true });
  es.onopen = () => onState(true);
  es.onerror = () => onState(false);
  for (const type of ['fleet', 'incident']) {
    es.addEventListener(type, (ev) => {
      let data = null;
      try { data = JSON.parse(ev.data); } catch { /* an unparsable event still means "changed" */ }
      onEvent(type, data);
    });
  }
  return es;
}
