// dom.js: DOM helpers every view uses (text only, never HTML from data): elements built
// with h(), a node's children replaced, links to console routes, notices and error boxes,
// pretty JSON, times. Below every view and the forms; it imports only api.js.

import { ApiError } from './api.js';

/**
 * h('tag.class#id', {attr: value, on: {click}}, ...children). Strings become text nodes.
 * `class`, `for`, `dataset`, boolean attributes and properties (value, checked) work.
 */
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement(m?.[1] || 'div');
  for (const part of (m?.[2] || '').match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'class') el.classList.add(...String(v).split(/\s+/).filter(Boolean));
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
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

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link to a console route (`#records/...`). */
export const link = (route, ...text) => h('a', { href: `#${route}` }, ...text);

let uid = 0;
export const newId = (p = 'f') => `${p}-${++uid}`;

/** A short notice (kind: ok | error | info), removable. */
export function notice(kind, ...children) {
  return h(`div.notice.${kind}`, { role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** The errors of a failed call as a list (Salesforce's errorCode and message). */
export function errorBox(e) {
  if (!(e instanceof ApiError)) return notice('error', String(e?.message || e));
  return notice('error',
    h('strong', `${e.status ? `HTTP ${e.status}` : 'No answer'} `),
    h('ul.errors', e.errors.map((x) => h('li',
      h('code', x.errorCode), ' ', x.message,
      x.fields?.length ? h('span.muted', ` (fields: ${x.fields.join(', ')})`) : null))));
}

/** A view's "not in this server" answer for an endpoint a newer server has. */
export function notAvailable(path) {
  return notice('info', h('strong', 'Not available in this server. '),
    'This server does not answer ', h('code', path), ' yet (HTTP 404); a newer forcebus does.');
}

/** Pretty JSON in a <pre>. */
export const jsonBlock = (v) => h('pre.json', JSON.stringify(v, null, 2));

/** Formats a time as local `HH:MM:SS.mmm` (with the date when not today). */
export function clock(t) {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t ?? '');
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${time}`;
}
