// events.js: the live event stream (one Streaming API session for the whole console,
// kept while other views are shown) and the Events view: newest first, expandable rows
// with the ChangeEventHeader laid out, pause, filters, replay from an id, the earliest
// or a time. At most MAX events are kept.

import { api, session, query, platformEvents, orgToken, VERSION } from './api.js';
import { Bayeux } from './cometd.js';
import { h, fill, link, jsonBlock, clock, notice, newId } from './dom.js';

const MAX = 2000;
const OFF_KEY = 'forcebus.console.channels.off';
const EXTRA_KEY = 'forcebus.console.channels.extra';
const CHANGE_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW',
  'created', 'updated', 'deleted', 'undeleted'];

const state = {
  events: [], // oldest first
  seq: 0,
  received: 0,
  skipped: 0, // before the from-time
  paused: false,
  pausedAt: 0, // seq when paused
  channels: [], // {channel, kind, label}
  discoveryErrors: [],
  replay: { mode: 'recent', id: '', time: '' },
  minTime: null,
  filters: { object: '', field: '', type: '', text: '' },
  status: 'idle',
  detail: '',
  subscribed: new Map(),
  expanded: new Set(),
  entities: new Set(),
};

let client = null;
let view = null; // the mounted view's handles, or null
const statusListeners = new Set();

export function onStatus(fn) {
  statusListeners.add(fn);
  fn(state.status, state.detail);
}

function setStatus(s, detail = '') {
  state.status = s;
  state.detail = detail;
  for (const fn of statusListeners) fn(s, detail);
  view?.renderStatus();
}

const offChannels = () => new Set(JSON.parse(sessionStorage.getItem(OFF_KEY) || '[]'));
const extraChannels = () => JSON.parse(sessionStorage.getItem(EXTRA_KEY) || '[]');

/** The channels the org offers: change events, platform events, PushTopics, generic and custom channels. */
async function discover() {
  const found = [{ channel: '/data/ChangeEvents', kind: 'change', label: 'Every change event' }];
  const errors = [];
  const tryIt = async (what, fn) => {
    try {
      await fn();
    } catch (e) {
      errors.push(`${what}: ${e.message}`);
    }
  };
  await Promise.all([
    tryIt('platform events', async () => {
      for (const d of await platformEvents()) found.push({ channel: `/event/${d.name}`, kind: 'platform', label: d.config?.label || d.name });
    }),
    tryIt('PushTopics', async () => {
      const r = await query('SELECT Name FROM PushTopic WHERE IsActive = true');
      for (const t of r.records) found.push({ channel: `/topic/${t.Name}`, kind: 'pushtopic', label: 'PushTopic' });
    }),
    tryIt('generic channels', async () => {
      const r = await query('SELECT Name FROM StreamingChannel');
      for (const c of r.records) {
        const ch = c.Name.startsWith('/u/') ? c.Name : `/u/${c.Name}`;
        found.push({ channel: ch, kind: 'generic', label: 'Generic channel' });
      }
    }),
    tryIt('custom channels', async () => {
      const r = await query('SELECT DeveloperName, ChannelType FROM PlatformEventChannel', { tooling: true });
      for (const c of r.records) {
        const data = String(c.ChannelType).toLowerCase() === 'data';
        found.push({ channel: `/${data ? 'data' : 'event'}/${c.DeveloperName}__chn`, kind: data ? 'change' : 'platform', label: 'Custom channel' });
      }
    }),
  ]);
  for (const ch of extraChannels()) if (!found.some((f) => f.channel === ch)) found.push({ channel: ch, kind: 'extra', label: 'Added' });
  const order = { change: 0, platform: 1, pushtopic: 2, generic: 3, extra: 4 };
  found.sort((a, b) => order[a.kind] - order[b.kind] || a.channel.localeCompare(b.channel));
  state.channels = found;
  state.discoveryErrors = errors;
}

/** Replay option for every channel from the chosen mode. */
async function replayOption() {
  const r = state.replay;
  state.minTime = null;
  if (r.mode === 'earliest') return -2;
  if (r.mode === 'new') return -1;
  if (r.mode === 'id') {
    const n = Number(r.id);
    if (!Number.isInteger(n)) throw new Error('Give a replay id (a whole number; -1 new events, -2 the earliest).');
    return n;
  }
  if (r.mode === 'time') {
    const t = new Date(r.time).getTime();
    if (!Number.isFinite(t)) throw new Error('Give a date and time to replay from.');
    state.minTime = t;
    return -2;
  }
  // recent: the last 200 events of the org's log
  try {
    const log = await api('/forcebus/v1/events?after=0&limit=1');
    const last = Number(log.lastReplayId) || 0;
    return last > 200 ? last - 200 : -2;
  } catch {
    return -1;
  }
}

let starts = 0;

/** (Re)starts the stream: channels found again, every selected one subscribed. */
export async function startStream({ rediscover = true } = {}) {
  if (!session.current) return;
  const mine = ++starts;
  client?.stop();
  client = null;
  if (rediscover) {
    setStatus('connecting', 'finding channels');
    await discover();
    if (mine !== starts) return; // a newer start (or a stop) came meanwhile
  }
  let replay;
  try {
    replay = await replayOption();
  } catch (e) {
    setStatus('stopped', e.message);
    return;
  }
  if (mine !== starts) return;
  const off = offChannels();
  const channels = new Map(state.channels.filter((c) => !off.has(c.channel)).map((c) => [c.channel, replay]));
  state.events = [];
  state.expanded.clear();
  state.received = 0;
  state.skipped = 0;
  state.subscribed = new Map();
  view?.renderAll();
  view?.renderChannels();
  if (!channels.size) {
    setStatus('stopped', 'No channel selected');
    return;
  }
  client = new Bayeux({
    url: `/cometd/${VERSION}`,
    token: () => session.current?.token,
    onMessage: receive,
    onState(s, detail) {
      if (s === 'subscribed') {
        state.subscribed = new Map(detail);
        view?.renderChannels();
        return;
      }
      setStatus(s, typeof detail === 'string' ? detail : '');
    },
    async onAuthFailed() {
      const s = session.current;
      if (s?.mode !== 'admin' || !s.adminKey || s.acting) return false;
      const t = await orgToken(s.orgId);
      session.update({ token: t.access_token });
      return true;
    },
  });
  client.start(channels);
}

/** The Streaming API client id of this console's own session (null when none). */
export const streamClientId = () => client?.clientId || null;

export function stopStream() {
  starts += 1;
  client?.stop();
  client = null;
  state.events = [];
  state.channels = [];
  state.expanded.clear();
  state.entities.clear();
  setStatus('idle');
}

window.addEventListener('pagehide', () => client?.stop());
// Back from the browser's page cache: the session was ended on the way out.
window.addEventListener('pageshow', (ev) => { if (ev.persisted && session.current) startStream({ rediscover: false }); });

// ---------------------------------------------------------------- one event

/** The parts of a message every row shows. */
function classify(m) {
  const d = m.data || {};
  const ch = m.channel || '';
  const header = d.payload?.ChangeEventHeader;
  const e = { channel: ch, data: d, replayId: d.event?.replayId ?? null, schema: d.schema || null, arrived: Date.now() };
  if (header) {
    e.kind = 'change';
    e.entity = header.entityName || '';
    e.changeType = header.changeType || '';
    e.recordIds = header.recordIds || [];
    e.time = Number(header.commitTimestamp) || parseTime(d.payload?.LastModifiedDate) || e.arrived;
    e.fields = [...(header.changedFields || []), ...(header.nulledFields || []), ...(header.diffFields || []),
      ...Object.keys(d.payload).filter((k) => k !== 'ChangeEventHeader')];
  } else if (ch.startsWith('/topic/')) {
    e.kind = 'pushtopic';
    e.entity = d.sobject?.attributes?.type || ch.slice(7);
    e.changeType = d.event?.type || '';
    e.recordIds = d.sobject?.Id ? [d.sobject.Id] : [];
    e.time = parseTime(d.event?.createdDate) || e.arrived;
    e.fields = Object.keys(d.sobject || {});
  } else if (ch.startsWith('/u/')) {
    e.kind = 'generic';
    e.entity = ch.slice(3);
    e.changeType = '';
    e.recordIds = [];
    e.time = parseTime(d.event?.createdDate) || e.arrived;
    e.fields = [];
  } else {
    e.kind = 'platform';
    e.entity = ch.startsWith('/event/') && !ch.endsWith('__chn') ? ch.slice(7) : (d.payload && schemaName(d) || ch);
    e.changeType = '';
    e.recordIds = [];
    e.time = parseTime(d.payload?.CreatedDate) || e.arrived;
    e.fields = Object.keys(d.payload || {});
  }
  return e;
}

function schemaName(d) {
  return d.payload?.attributes?.type || null;
}

function parseTime(v) {
  if (v === undefined || v === null || v === '') return 0;
  if (typeof v === 'number') return v;
  const t = Date.parse(String(v).replace(/\+0000$/, 'Z'));
  return Number.isFinite(t) ? t : 0;
}

/** Order of the list: the org's time, then the replay id, then arrival. */
function before(a, b) {
  if (a.time !== b.time) return a.time < b.time;
  if (a.replayId !== null && b.replayId !== null && a.replayId !== b.replayId) return a.replayId < b.replayId;
  return a.seq < b.seq;
}

const eventListeners = new Set();

/** Calls `fn(event)` for each event received; returns the unsubscribe function. */
export function onEvent(fn) {
  eventListeners.add(fn);
  return () => eventListeners.delete(fn);
}

/** The newest events kept on a channel. */
export function recent(channel, n = 10) {
  return state.events.filter((e) => e.channel === channel).slice(-n).reverse();
}

function receive(m) {
  const e = classify(m);
  if (state.minTime !== null && e.time < state.minTime) {
    state.skipped += 1;
    view?.later();
    return;
  }
  e.seq = ++state.seq;
  state.received += 1;
  let i = state.events.length;
  while (i > 0 && before(e, state.events[i - 1])) i -= 1;
  state.events.splice(i, 0, e);
  if (e.entity) state.entities.add(e.entity);
  let evicted = null;
  if (state.events.length > MAX) {
    evicted = state.events.splice(0, state.events.length - MAX);
    for (const x of evicted) state.expanded.delete(x.seq);
  }
  view?.added(e, evicted, i === state.events.length - 1);
  for (const fn of eventListeners) fn(e);
}

function matches(e) {
  const f = state.filters;
  if (f.object) {
    const o = f.object.toLowerCase();
    if (!e.entity.toLowerCase().includes(o) && !e.channel.toLowerCase().includes(o)) return false;
  }
  if (f.type && e.changeType.toUpperCase() !== f.type.toUpperCase()) return false;
  if (f.field) {
    const wanted = f.field.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    const have = e.fields.map((x) => x.toLowerCase());
    if (!wanted.some((w) => have.some((x) => x === w || x.startsWith(`${w}.`)))) return false;
  }
  if (f.text) {
    e.text ||= JSON.stringify(e.data).toLowerCase() + e.channel.toLowerCase();
    if (!e.text.includes(f.text.toLowerCase())) return false;
  }
  return true;
}

// ---------------------------------------------------------------- the view

const KIND_LABEL = { change: 'change', platform: 'platform', pushtopic: 'PushTopic', generic: 'generic' };

function ids(list, entity) {
  if (!list.length) return '';
  const shown = list.slice(0, 2).map((id, i) => [i ? ' ' : '', recordLink(entity, id)]);
  return [shown, list.length > 2 ? h('span.muted', ` +${list.length - 2}`) : null];
}

/** The object of a PushTopic notification's record, when the message names it. */
const d0 = (e) => e.data.sobject?.attributes?.type || null;

function recordLink(entity, id) {
  if (/^0{15}/.test(id)) return h('code', id);
  return h('a.mono', { href: `#records/${entity && /^[A-Za-z]\w*$/.test(entity) ? `${entity}/` : ''}${id}` }, id);
}

function changeChip(t) {
  if (!t) return '';
  const u = t.toUpperCase();
  const cls = u.startsWith('GAP') ? 'gap' : u.startsWith('UNDELETE') ? 'undelete' : u.startsWith('CREATE') ? 'create'
    : u.startsWith('UPDATE') ? 'update' : u.startsWith('DELETE') ? 'delete' : 'other';
  return h(`span.ct.ct-${cls}`, t);
}

function row(e) {
  const tr = h('tr.ev', { tabindex: '0', 'aria-expanded': String(state.expanded.has(e.seq)), dataset: { seq: e.seq } },
    h('td.time', { title: new Date(e.time).toISOString() }, clock(e.time)),
    h('td.channel', e.channel),
    h('td.num', e.replayId ?? ''),
    h('td', h(`span.kind.k-${e.kind}`, KIND_LABEL[e.kind]), ' ', h('span.entity', e.entity)),
    h('td', changeChip(e.changeType)),
    h('td.ids', ids(e.recordIds, e.kind === 'change' ? e.entity : d0(e))));
  return tr;
}

function fieldChips(list, cls = '') {
  if (!list?.length) return h('span.muted', 'none');
  return list.map((f) => h(`span.field${cls}`, f));
}

function dl(pairs) {
  return h('dl.kv', pairs.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v)]));
}

function isoOf(ms) {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** The expanded event: header laid out, the payload's fields, the whole message. */
function detail(e) {
  const d = e.data;
  const parts = [];
  const ident = [
    ['Channel', h('code', e.channel)],
    e.replayId !== null ? ['Replay id', h('code', String(e.replayId))] : null,
    e.schema ? ['Schema id', link(`schema/id/${e.schema}`, h('code', e.schema))] : null,
    d.event?.EventUuid ? ['EventUuid', h('code', d.event.EventUuid)] : null,
    ['Received', clock(e.arrived)],
  ];
  let changed = new Set();
  if (e.kind === 'change') {
    const x = d.payload.ChangeEventHeader;
    changed = new Set([...(x.changedFields || []), ...(x.nulledFields || []), ...(x.diffFields || [])]);
    parts.push(h('section.header-grid', { 'aria-label': 'ChangeEventHeader' },
      h('h3', 'ChangeEventHeader'),
      dl([
        ['changeType', changeChip(x.changeType)],
        ['entityName', link(`schema/${x.entityName}`, x.entityName)],
        ['recordIds', h('span', (x.recordIds || []).map((id, i) => [i ? ', ' : '', recordLink(x.entityName, id)]))],
        ['changedFields', h('span.fields.changed-fields', fieldChips(x.changedFields))],
        ['nulledFields', h('span.fields.nulled-fields', fieldChips(x.nulledFields, '.nulled'))],
        ['diffFields', h('span.fields.diff-fields', fieldChips(x.diffFields, '.diff'))],
        ['changeOrigin', h('code', x.changeOrigin || '—')],
        ['transactionKey', h('code', x.transactionKey || '—')],
        ['sequenceNumber', h('code', String(x.sequenceNumber ?? '—'))],
        ['commitNumber', h('code', String(x.commitNumber ?? '—'))],
        ['commitTimestamp', h('span', h('code', String(x.commitTimestamp ?? '—')), ' ', h('span.muted', isoOf(x.commitTimestamp)))],
        ['commitUser', x.commitUser ? h('a.mono', { href: `#records/User/${x.commitUser}` }, x.commitUser) : '—'],
      ])));
  } else if (e.kind === 'pushtopic') {
    ident.push(['Event type', changeChip(d.event?.type)], ['createdDate', d.event?.createdDate || '']);
  }
  const fields = e.kind === 'pushtopic' ? d.sobject : e.kind === 'generic' ? null : d.payload;
  if (fields && typeof fields === 'object') {
    const body = Object.entries(fields).filter(([k]) => k !== 'ChangeEventHeader' && k !== 'attributes');
    parts.push(h('section.payload-box', { 'aria-label': 'Fields' }, h('h3', `${e.kind === 'pushtopic' ? 'sobject' : 'Fields'} (${body.length})`),
      h('table.fields-table', h('tbody', body.map(([k, v]) => h('tr', { class: changed.has(k) ? 'changed' : undefined },
        h('th', { scope: 'row' }, k), h('td', valueCell(k, v))))))));
  } else if (e.kind === 'generic') {
    parts.push(h('section.payload-box', h('h3', 'Payload'), h('pre.json', String(d.payload ?? ''))));
  }
  const raw = jsonBlock({ channel: e.channel, data: d });
  const copy = h('button.small', { type: 'button', on: { click: () => copyText(JSON.stringify({ channel: e.channel, data: d }, null, 2), copy) } }, 'Copy JSON');
  const actions = h('div.detail-actions',
    e.recordIds.length && !/^0{15}/.test(e.recordIds[0]) ? h('button.small', { type: 'button', on: { click: () => setFilter('text', e.recordIds[0]) } }, 'Only this record') : null,
    e.entity ? h('button.small', { type: 'button', on: { click: () => setFilter('object', e.entity) } }, `Only ${e.entity}`) : null,
    copy);
  return h('div.detail',
    h('div.detail-top', h('div.ident', ident.filter(Boolean).map(([k, v]) => h('span', h('span.muted', `${k} `), v))), actions),
    h('div.detail-body', parts),
    h('details.raw', h('summary', 'Whole message (JSON)'), raw));
}

function valueCell(k, v) {
  if (v === null) return h('span.null', 'null');
  if (typeof v === 'object') return h('code.obj', JSON.stringify(v));
  if (typeof v === 'string' && /Id$/.test(k) && /^[a-zA-Z0-9]{15,18}$/.test(v)) return h('a.mono', { href: `#records/${v}` }, v);
  return h('span.val', String(v));
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Copy failed';
  }
  setTimeout(() => { button.textContent = 'Copy JSON'; }, 1500);
}

function setFilter(k, v) {
  state.filters[k] = v;
  view?.syncFilters();
  view?.renderAll();
}

/** Mounts the Events view; returns its unmount function. */
export function eventsView(root, route) {
  for (const k of ['object', 'field', 'type', 'text']) if (route.params.has(k)) state.filters[k] = route.params.get(k);

  const statusEl = h('span.stream-status', { id: 'stream-status', role: 'status' });
  const pauseBtn = h('button', { type: 'button', id: 'pause', on: { click: togglePause } });
  const clearBtn = h('button', { type: 'button', on: { click: () => { state.events = []; state.expanded.clear(); state.skipped = 0; renderAll(); } } }, 'Clear');

  const modeId = newId('replay');
  const mode = h('select', { id: modeId, 'aria-label': 'Replay from' },
    h('option', { value: 'recent' }, 'The last 200 events'),
    h('option', { value: 'new' }, 'New events only (-1)'),
    h('option', { value: 'earliest' }, 'The earliest retained (-2)'),
    h('option', { value: 'id' }, 'After replay id…'),
    h('option', { value: 'time' }, 'From a time…'));
  mode.value = state.replay.mode;
  const replayId = h('input.narrow', { type: 'number', id: 'replay-id', 'aria-label': 'Replay id', placeholder: 'replay id', value: state.replay.id });
  const replayTime = h('input', { type: 'datetime-local', id: 'replay-time', step: '1', 'aria-label': 'Replay from time', value: state.replay.time });
  const showReplayInputs = () => {
    replayId.hidden = mode.value !== 'id';
    replayTime.hidden = mode.value !== 'time';
  };
  mode.addEventListener('change', showReplayInputs);
  showReplayInputs();
  const replayForm = h('form.inline', { on: { submit: (ev) => { ev.preventDefault(); applyReplay(); } } },
    h('label', { for: modeId }, 'Replay'), mode, replayId, replayTime, h('button', { type: 'submit', id: 'replay' }, 'Subscribe'));

  const fObject = h('input', { type: 'search', id: 'filter-object', placeholder: 'Account, Order_Shipped__e…', list: 'entity-list', value: state.filters.object });
  const entityList = h('datalist', { id: 'entity-list' });
  const fField = h('input', { type: 'search', id: 'filter-field', placeholder: 'Phone, Name…', value: state.filters.field });
  const fType = h('select', { id: 'filter-type' }, h('option', { value: '' }, 'any'), CHANGE_TYPES.map((t) => h('option', { value: t }, t)));
  fType.value = state.filters.type;
  const fText = h('input', { type: 'search', id: 'filter-text', placeholder: 'record id, value…', value: state.filters.text });
  const counts = h('span.counts', { id: 'event-counts', role: 'status' });
  const onFilter = () => {
    state.filters = { object: fObject.value.trim(), field: fField.value.trim(), type: fType.value, text: fText.value.trim() };
    const p = new URLSearchParams(Object.entries(state.filters).filter(([, v]) => v));
    history.replaceState(null, '', `#events${p.toString() ? `?${p}` : ''}`);
    renderAll();
  };
  for (const el of [fObject, fField, fText]) el.addEventListener('input', onFilter);
  fType.addEventListener('change', onFilter);
  const filters = h('div.filters', { role: 'search', 'aria-label': 'Filter events' },
    h('label', 'Object ', fObject), entityList,
    h('label', 'Field ', fField),
    h('label', 'Change type ', fType),
    h('label', 'Text ', fText),
    counts);

  const channelsBox = h('div.channel-list');
  const channelsSummary = h('summary');
  const channels = h('details.channels', channelsSummary, channelsBox);

  const tbody = h('tbody');
  const empty = h('div.empty');
  const table = h('table.grid.events', { 'aria-label': 'Events, newest first' },
    h('thead', h('tr', ['Time', 'Channel', 'Replay id', 'Kind / entity', 'Change type', 'Record ids'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody);
  const rows = new Map(); // seq -> {tr, detailTr}

  fill(root,
    h('div.toolbar', statusEl, pauseBtn, clearBtn, h('span.sep'), replayForm),
    filters, channels, h('div.table-wrap', table, empty));

  function togglePause() {
    state.paused = !state.paused;
    state.pausedAt = state.seq;
    if (!state.paused) renderAll();
    renderStatus();
    renderCounts();
  }

  function renderStatus() {
    const labels = { idle: 'Not connected', connecting: 'Connecting…', connected: 'Live', reconnecting: 'Reconnecting…', stopped: 'Stopped' };
    statusEl.dataset.state = state.status;
    fill(statusEl, h('span.dot'), labels[state.status] || state.status, state.detail ? h('span.muted', ` ${state.detail}`) : null);
    pauseBtn.textContent = state.paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(state.paused));
  }

  function renderCounts() {
    const shown = rows.size;
    const total = state.events.length;
    const waiting = state.paused ? state.events.filter((e) => e.seq > state.pausedAt).length : 0;
    fill(counts, h('strong', String(shown)), ` shown of ${total} kept`,
      total - shown - waiting > 0 ? ` · ${total - shown - waiting} hidden by filters` : '',
      waiting ? h('span.paused', ` · ${waiting} new while paused`) : '',
      state.skipped ? ` · ${state.skipped} before the from-time skipped` : '',
      total >= MAX ? ` · the oldest are dropped past ${MAX}` : '');
    empty.hidden = shown > 0;
    fill(empty, total ? 'No event matches the filters.' : state.status === 'connected' ? 'Waiting for events… write a record or publish an event.' : '');
    fill(entityList, [...state.entities].sort().map((x) => h('option', { value: x })));
  }

  function renderChannels() {
    const off = offChannels();
    const on = state.channels.filter((c) => !off.has(c.channel)).length;
    fill(channelsSummary, `Channels: ${on} of ${state.channels.length} subscribed`,
      [...state.subscribed.values()].some(Boolean) ? h('span.bad', ' (some refused)') : '');
    const boxes = state.channels.map((c) => {
      const id = newId('ch');
      const err = state.subscribed.get(c.channel);
      return h('div.ch',
        h('input', { type: 'checkbox', id, checked: !off.has(c.channel), dataset: { channel: c.channel } }),
        h('label', { for: id }, h('code', c.channel), ' ', h('span.muted', c.label)),
        err ? h('span.bad', ` ${err}`) : null);
    });
    const add = h('input', { type: 'text', placeholder: '/data/AccountChangeEvent', 'aria-label': 'Add a channel' });
    const all = (v) => channelsBox.querySelectorAll('input[type=checkbox]').forEach((b) => { b.checked = v; });
    fill(channelsBox,
      h('div.ch-grid', boxes),
      state.discoveryErrors.length ? notice('info', `Some channels could not be listed: ${state.discoveryErrors.join('; ')}`) : null,
      h('form.inline', {
        on: {
          submit(ev) {
            ev.preventDefault();
            const ch = add.value.trim();
            if (!/^\/(data|event|topic|u)\/\S+$/.test(ch)) return;
            const extra = extraChannels();
            if (!extra.includes(ch)) sessionStorage.setItem(EXTRA_KEY, JSON.stringify([...extra, ch]));
            startStream();
          },
        },
      }, add, h('button', { type: 'submit' }, 'Add channel'), h('span.sep'),
      h('button', { type: 'button', on: { click: () => all(true) } }, 'All'),
      h('button', { type: 'button', on: { click: () => all(false) } }, 'None'),
      h('button.primary', { type: 'button', on: { click: applyChannels } }, 'Apply'),
      h('button', { type: 'button', on: { click: () => startStream() } }, 'Find channels again')));
  }

  function applyChannels() {
    const off = [...channelsBox.querySelectorAll('input[type=checkbox]')].filter((b) => !b.checked).map((b) => b.dataset.channel);
    sessionStorage.setItem(OFF_KEY, JSON.stringify(off));
    startStream({ rediscover: false });
  }

  function applyReplay() {
    state.replay = { mode: mode.value, id: replayId.value, time: replayTime.value };
    startStream({ rediscover: false });
  }

  function rowsFor(e) {
    const tr = row(e);
    const detailTr = h('tr.detail-row', h('td', { colspan: '6' }));
    detailTr.hidden = true;
    const toggle = (ev) => {
      if (ev.target.closest('a, button, input, summary')) return;
      if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
      const open = !state.expanded.has(e.seq);
      if (open) state.expanded.add(e.seq);
      else state.expanded.delete(e.seq);
      show(open);
    };
    const show = (open) => {
      tr.setAttribute('aria-expanded', String(open));
      detailTr.hidden = !open;
      if (open && !detailTr.firstChild.firstChild) detailTr.firstChild.append(detail(e));
    };
    tr.addEventListener('click', toggle);
    tr.addEventListener('keydown', toggle);
    if (state.expanded.has(e.seq)) show(true);
    return { tr, detailTr };
  }

  function renderAll() {
    rows.clear();
    const frag = document.createDocumentFragment();
    for (let i = state.events.length - 1; i >= 0; i -= 1) {
      const e = state.events[i];
      if (state.paused && e.seq > state.pausedAt) continue;
      if (!matches(e)) continue;
      const r = rowsFor(e);
      rows.set(e.seq, r);
      frag.append(r.tr, r.detailTr);
    }
    tbody.replaceChildren(frag);
    renderCounts();
  }

  let pending = null;
  /** A full redraw (or just the counts) soon, once for a burst of events. */
  function later(full = false) {
    if (pending) {
      pending.full ||= full;
      return;
    }
    pending = { full };
    setTimeout(() => {
      const p = pending;
      pending = null;
      if (p.full) renderAll();
      else renderCounts();
    }, 30);
  }

  function added(e, evicted, newest) {
    for (const x of evicted || []) {
      const r = rows.get(x.seq);
      if (r) {
        r.tr.remove();
        r.detailTr.remove();
        rows.delete(x.seq);
      }
    }
    if (!state.paused && matches(e)) {
      if (!newest) {
        later(true); // a replayed event older than some shown: redraw in order
        return;
      }
      const r = rowsFor(e);
      rows.set(e.seq, r);
      tbody.prepend(r.tr, r.detailTr);
    }
    later();
  }

  function syncFilters() {
    fObject.value = state.filters.object;
    fField.value = state.filters.field;
    fType.value = state.filters.type;
    fText.value = state.filters.text;
  }

  view = { renderAll, renderStatus, renderCounts, renderChannels, added, syncFilters, later };
  renderStatus();
  renderChannels();
  renderAll();
  return () => { view = null; };
}
