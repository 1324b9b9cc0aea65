// requests.js: the Requests view, the server's journal of recent API calls (method, path,
// status, time, duration, error body), as WireMock and LocalStack show it. Refreshed
// every two seconds; filtered by status class and text; error bodies expand.

import { api, ApiError } from './api.js';
import { h, fill, errorBox, notAvailable, clock, jsonBlock } from './dom.js';

const EVERY_MS = 2000;
const OWN = /^\/forcebus\/v1\/(requests|subscribers)\b/;

export function requestsView(root, route) {
  let cls = route.params.get('status') || '';
  let text = route.params.get('q') || '';
  const expanded = new Set();
  const classes = ['', '2', '3', '4', '5'];
  const group = h('div.segmented', { role: 'radiogroup', 'aria-label': 'Status class' });
  const drawGroup = () => fill(group, classes.map((c) => h('button', {
    type: 'button', role: 'radio', 'aria-checked': String(cls === c), dataset: { status: c || 'all' },
    on: { click: () => { cls = c; drawGroup(); draw(); } },
  }, c ? `${c}xx` : 'All')));
  drawGroup();
  const search = h('input', { type: 'search', id: 'request-filter', placeholder: 'path or method', 'aria-label': 'Filter requests', value: text });
  search.addEventListener('input', () => { text = search.value.trim().toLowerCase(); draw(); });
  const hideOwn = h('input', { type: 'checkbox', checked: true });
  hideOwn.addEventListener('change', () => draw());
  const auto = h('input', { type: 'checkbox', checked: true });
  const summary = h('p.summary', { role: 'status' });
  const body = h('div.table-wrap');
  fill(root,
    h('div.page-head', h('h1', 'Requests'),
      h('div.actions', group, search, h('label', hideOwn, ' Hide the console\'s polling'), h('label', auto, ' Refresh every 2 s'))),
    summary, body);

  let last = null;
  let timer = null;
  let stopped = false;

  async function refresh() {
    try {
      last = await api('/forcebus/v1/requests?limit=200');
      draw();
    } catch (e) {
      if (e instanceof ApiError && e.missing) {
        fill(summary);
        fill(body, notAvailable('/forcebus/v1/requests'));
        return; // no point asking again
      }
      fill(body, errorBox(e));
    }
    if (!stopped && auto.checked) timer = setTimeout(refresh, EVERY_MS);
  }
  auto.addEventListener('change', () => {
    clearTimeout(timer);
    if (auto.checked) refresh();
  });

  function draw() {
    if (!last) return;
    const all = last.requests || [];
    const rows = all.filter((r) => (!cls || String(r.status).startsWith(cls))
      && (!hideOwn.checked || !OWN.test(r.path))
      && (!text || `${r.method} ${r.path}`.toLowerCase().includes(text)));
    const errors = all.filter((r) => r.status >= 400).length;
    fill(summary, h('strong', String(rows.length)), ` of the last ${all.length} requests shown · ${errors} failed · updated ${clock(new Date())}`);
    if (!rows.length) {
      fill(body, h('p.empty', 'No request matches.'));
      return;
    }
    const tbody = h('tbody');
    for (const r of rows) {
      const key = `${r.time} ${r.method} ${r.path}`;
      const hasBody = r.error !== null && r.error !== undefined;
      const tr = h('tr.req', { tabindex: hasBody ? '0' : undefined, 'aria-expanded': hasBody ? String(expanded.has(key)) : undefined },
        h('td.time', { title: r.time }, clock(r.time)),
        h('td', h('span.method', r.method)),
        h('td.mono.path', { title: readable(r.path) }, readable(r.path)),
        h('td', h(`span.status.s${String(r.status)[0]}`, String(r.status))),
        h('td.num', `${Number(r.millis).toFixed(1)} ms`),
        h('td.nowrap', hasBody ? h('span.muted', expanded.has(key) ? '▾ error' : '▸ error') : ''));
      const detail = h('tr.detail-row', h('td', { colspan: '6' }, hasBody ? errorDetail(r) : null));
      detail.hidden = !expanded.has(key);
      if (hasBody) {
        const toggle = (ev) => {
          if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
          ev.preventDefault();
          if (expanded.has(key)) expanded.delete(key);
          else expanded.add(key);
          draw();
        };
        tr.addEventListener('click', toggle);
        tr.addEventListener('keydown', toggle);
      }
      tbody.append(tr, detail);
    }
    const focused = document.activeElement?.closest?.('tr.req') ? [...body.querySelectorAll('tr.req')].indexOf(document.activeElement) : -1;
    fill(body, h('table.grid.requests', { id: 'requests' },
      h('thead', h('tr', ['Time', 'Method', 'Path', 'Status', 'Duration', ''].map((c) => h('th', { scope: 'col' }, c)))), tbody));
    if (focused >= 0) body.querySelectorAll('tr.req')[focused]?.focus();
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** A path with its query string decoded, as it was written. */
function readable(path) {
  const i = path.indexOf('?');
  if (i < 0) return path;
  try {
    return `${path.slice(0, i)}?${decodeURIComponent(path.slice(i + 1).replace(/\+/g, ' '))}`;
  } catch {
    return path;
  }
}

function errorDetail(r) {
  const err = r.error;
  const head = h('p.mono', h('strong', r.method), ' ', readable(r.path));
  if (Array.isArray(err)) {
    return h('div.detail', head, h('ul.errors', err.map((e) => h('li', h('code', e.errorCode || e.statusCode || ''), ' ', e.message || JSON.stringify(e)))), jsonBlock(err));
  }
  if (typeof err === 'string') return h('div.detail', head, h('pre.json', err));
  return h('div.detail', head, jsonBlock(err));
}
