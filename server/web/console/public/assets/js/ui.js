// Small DOM helpers shared by the pages. Text always goes in as text nodes: fault texts and
// notes come from terminals and technicians, and must never become markup.
import { t } from './i18n.js';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) { el.replaceChildren(); append(el, children); return el; }

export const loading = () => h('div', { class: 'state spinner', role: 'status' }, t('loading'));
export const empty = (text) => h('div', { class: 'state' }, text || t('empty'));

// A problem (RFC 9457) as the server worded it: its title, then its detail.
export function errorBox(err, retry) {
  return h('div', { class: 'state error', role: 'alert' },
    h('strong', {}, err?.title || t('error')),
    err?.status ? ` (${err.status})` : '',
    err?.detail ? h('div', {}, err.detail) : '',
    retry ? h('div', {}, h('button', { type: 'button', class: 'btn', onclick: retry }, t('retry'))) : '');
}

export function badge(cls, text) {
  return h('span', { class: `badge st-${cls}` }, text);
}

export function toast(text, isError) {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast${isError ? ' error' : ''}` }, text);
  box.append(el);
  setTimeout(() => el.remove(), isError ? 8000 : 4000);
}

// Sorts rows by a column, numbers as numbers, nulls last, text in the zh collation so that
// Chinese names sort as people expect.
const collator = new Intl.Collator('zh-CN', { numeric: true });
export function sortRows(rows, col, dir) {
  if (!col) return rows;
  const sign = dir === 'desc' ? -1 : 1;
  const get = col.sortValue || ((r) => r[col.key]);
  return [...rows].sort((a, b) => {
    const x = get(a); const y = get(b);
    if (x == null && y == null) return 0;
    if (x == null) return 1;
    if (y == null) return -1;
    if (typeof x === 'number' && typeof y === 'number') return sign * (x - y);
    return sign * collator.compare(String(x), String(y));
  });
}

// A sortable data table. columns: [{key, label, num, render(row)->node|text, sortValue, wrap}]
// sort: {key, dir}, onSort(key, dir). rowAttrs(row) gives the <tr>'s attributes (data-*,
// class). The caption names the table for screen readers.
export function table({ columns, rows, sort, onSort, caption, rowAttrs, before }) {
  const col = columns.find((c) => c.key === sort?.key);
  const sorted = sort && col && !col.nosort ? sortRows(rows, col, sort.dir) : rows;
  const head = h('tr', {}, columns.map((c) => {
    const dir = sort?.key === c.key ? (sort.dir === 'desc' ? 'descending' : 'ascending') : null;
    const label = c.label;
    if (c.nosort || !onSort) return h('th', { class: c.num ? 'num' : null, scope: 'col' }, c.head || label);
    return h('th', { class: c.num ? 'num' : null, scope: 'col', 'aria-sort': dir },
      h('button', {
        type: 'button',
        onclick: () => onSort(c.key, sort?.key === c.key && sort.dir !== 'desc' ? 'desc' : 'asc'),
      }, label));
  }));
  const body = h('tbody', {});
  const addRow = (r, extra = {}) => {
    const attrs = { ...(rowAttrs ? rowAttrs(r) : {}), ...extra };
    body.append(h('tr', attrs, columns.map((c) => {
      const v = c.render ? c.render(r) : r[c.key];
      return h('td', { class: [c.num ? 'num' : '', c.wrap ? 'wrap' : ''].join(' ').trim() || null },
        v === null || v === undefined ? '—' : v);
    })));
  };
  for (const r of sorted) {
    if (before) before(r, body, addRow); else addRow(r);
  }
  return h('div', { class: 'tablewrap' },
    h('table', { class: 'data' }, caption ? h('caption', {}, caption) : null, h('thead', {}, head), body));
}

// limit/offset paging as the API does it.
export function pager(total, limit, offset, go) {
  const a = total ? offset + 1 : 0;
  const b = Math.min(offset + limit, total);
  return h('nav', { class: 'pager', 'aria-label': 'pages' },
    h('button', { type: 'button', class: 'btn', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }, t('prev')),
    h('span', {}, t('rows_of', a, b, total)),
    h('button', { type: 'button', class: 'btn', disabled: offset + limit >= total, onclick: () => go(offset + limit) }, t('next')));
}

// A <select> with an "all" first option; value '' means no filter.
export function select(name, label, options, value, onchange) {
  const sel = h('select', { name, id: `f-${name}`, onchange: (e) => onchange(e.target.value) },
    h('option', { value: '' }, t('all')),
    options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, text)));
  return h('label', { for: `f-${name}` }, label, sel);
}

// ECharts, loaded as a classic script (vendor/echarts.min.js). Each chart is disposed when its
// page goes away (the router calls disposeCharts) so nothing keeps a listener on a dead node.
const charts = new Set();
export function chart(container, option, label) {
  container.setAttribute('role', 'img');
  if (label) container.setAttribute('aria-label', label);
  if (!window.echarts) { container.append(empty('ECharts not loaded')); return null; }
  const c = window.echarts.init(container, null, { renderer: 'canvas' });
  // A user who asked the system for less motion gets charts drawn at once, not animated in.
  const still = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  c.setOption({
    textStyle: { fontFamily: getComputedStyle(document.documentElement).fontFamily },
    ...(still ? { animation: false } : {}), ...option,
  });
  charts.add(c);
  return c;
}
export function disposeCharts() { for (const c of charts) c.dispose(); charts.clear(); }
window.addEventListener('resize', () => { for (const c of charts) c.resize(); });

export const STATE_COLORS = {
  up: '#2e8b57', degraded: '#d68a00', down: '#c62828', maintenance: '#6a5acd', unknown: '#8a93a3',
};

// Definition list from [label, value] pairs.
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

export function kpi(label, value) {
  return h('div', { class: 'kpi' }, h('b', {}, value), h('span', {}, label));
}
