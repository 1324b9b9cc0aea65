// orgs.js: the Orgs & controls view. For the admin: the server's orgs with their counts,
// making one, and switching the console to one (its token is used everywhere after).
// For everyone: the org's test controls as buttons, with their state after each press.

import { api, admin, listOrgs, session } from './api.js';
import { h, fill, errorBox, notice, jsonBlock, newId } from './dom.js';

const FAILURES = ['replayid.corrupted', 'service.unavailable', 'auth.error', 'topic.not.found',
  'subscription.limit.exceeded', 'managed.subscription.already.active', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE'];
const RPCS = ['Subscribe', 'Publish', 'PublishStream', 'GetSchema', 'GetTopic', 'ManagedSubscribe'];
const GAPS = ['GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE'];

export function orgsView(root, route, ctx) {
  const orgsBox = h('section.card', { 'aria-labelledby': 'orgs-h' });
  const controlsBox = h('section.card', { 'aria-labelledby': 'controls-h' });
  fill(root, h('h1', 'Orgs & controls'), h('div.stack', orgsBox, controlsBox));
  if (session.current?.mode === 'admin') orgsSection(orgsBox, ctx);
  else {
    fill(orgsBox, h('h2#orgs-h', 'Orgs'),
      h('p.muted', 'You signed in as a user of this org. Sign out and sign in with the server\'s admin key (',
        h('code', 'admin_key'), ' in the ready line) to list the server\'s orgs, make one and switch between them.'));
  }
  controlsSection(controlsBox);
  return undefined;
}

// ---------------------------------------------------------------- orgs (admin)

function orgsSection(box, ctx) {
  const list = h('div.table-wrap');
  const made = h('div', { 'aria-live': 'polite' });
  const name = h('input', { type: 'text', id: 'org-name', placeholder: 'ci-worker-1', required: true, 'aria-label': 'New org name' });
  const form = h('form.inline', {
    on: {
      async submit(ev) {
        ev.preventDefault();
        if (!name.value.trim()) return;
        try {
          const r = await admin('/forcebus/v1/orgs', { method: 'POST', body: { name: name.value.trim() } });
          fill(made, notice('ok', h('strong', `Made org ${r.name || name.value} `), h('code', r.org_id), '. Its user: ',
            h('code', r.username), ' / ', h('code', r.password), '. ',
            h('button.small', { type: 'button', on: { click: () => ctx.switchOrg(r.org_id) } }, 'Switch to it')));
          name.value = '';
          load();
        } catch (e) {
          fill(made, errorBox(e));
        }
      },
    },
  }, h('label', { for: 'org-name' }, 'New org'), name, h('button.primary', { type: 'submit', id: 'create-org' }, 'Create org'));
  fill(box, h('div.section-head', h('h2#orgs-h', 'Orgs'), h('button', { type: 'button', on: { click: () => load() } }, 'Refresh')), form, made, list);

  async function load() {
    try {
      const { orgs } = await listOrgs();
      ctx.setOrgs(orgs);
      const cur = session.current?.orgId;
      fill(list, h('table.grid', { id: 'orgs' },
        h('thead', h('tr', ['Name', 'Org id', 'Username', 'Records', 'Events', 'Log', 'Last replay id', 'Sessions', 'Streams', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', orgs.map((o) => h('tr', { class: o.org_id === cur ? 'current' : undefined, dataset: { org: o.org_id } },
          h('td', o.name, o.default ? [' ', h('span.chip', 'default')] : null, o.loaded === false ? [' ', h('span.chip.muted', 'resting')] : null),
          h('td.mono', o.org_id),
          h('td.mono', o.username || ''),
          h('td.num', fmt(o.records)),
          h('td.num', fmt(o.events)),
          h('td.num', bytes(o.log?.bytes)),
          h('td.num', fmt(o.log?.last_replay_id)),
          h('td.num', fmt(o.subscribers?.cometd)),
          h('td.num', fmt(o.subscribers?.pubsub)),
          h('td', o.org_id === cur ? h('span.chip.ok', 'current')
            : h('button.small', { type: 'button', dataset: { switch: o.org_id }, on: { click: () => ctx.switchOrg(o.org_id) } }, 'Switch')))))));
    } catch (e) {
      fill(list, errorBox(e));
    }
  }
  load();
}

const fmt = (n) => (n === undefined || n === null ? '—' : Number(n).toLocaleString('en-US'));
function bytes(n) {
  if (n === undefined || n === null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// ---------------------------------------------------------------- test controls

function controlsSection(box) {
  const stateBox = h('div.control-state', { id: 'control-state', role: 'status', 'aria-live': 'polite' });
  const result = h('div.control-result', { 'aria-live': 'polite' });

  async function call(path, body, label) {
    fill(result, h('p.muted', `${label}…`));
    try {
      const r = await api(`/forcebus/v1/control${path}`, body === undefined ? {} : { method: body === null ? 'DELETE' : 'POST', body: body || undefined });
      if (r && r.clock) showState(r);
      else await refresh();
      fill(result, notice('ok', h('strong', `${label}: done. `), r?.events ? [`${r.events.length} event(s) published.`, jsonBlock(r.events)] : null));
    } catch (e) {
      fill(result, errorBox(e));
    }
  }

  function showState(s) {
    const on = (v) => h('span', { class: v ? 'chip warn' : 'chip' }, v ? 'on' : 'off');
    fill(stateBox,
      h('dl.kv',
        h('dt', 'Clock'), h('dd', h('code#clock-now', s.clock.now), ' ', h('span.muted', offsetText(s.clock.offset_secs)), ' ', s.clock.frozen ? h('span.chip.warn', 'frozen') : null),
        h('dt', 'Active'), h('dd', s.active.length ? s.active.map((a) => h('span.chip.warn', a)) : h('span.muted', 'nothing')),
        h('dt', 'Delivery delay'), h('dd', `${s.streaming.delivery_delay_ms} ms`),
        h('dt', 'Sessions dropped'), h('dd', String(s.streaming.session_drops)),
        h('dt', 'Pub/Sub failures armed'), h('dd', s.pubsub.fail.length ? s.pubsub.fail.map((f) => h('code.chip', JSON.stringify(f))) : h('span.muted', 'none')),
        h('dt', 'Keepalives suppressed'), h('dd', on(s.pubsub.suppress_keepalives))));
  }

  async function refresh() {
    try {
      showState(await api('/forcebus/v1/control'));
    } catch (e) {
      fill(stateBox, errorBox(e));
    }
  }

  const field = (label, input) => {
    input.id ||= newId('c');
    return h('span.field', h('label', { for: input.id }, label), input);
  };

  // clock
  const secs = h('input.narrow', { type: 'number', id: 'advance-secs', min: '1', value: '3600' });
  const quick = [['1 min', 60], ['1 h', 3600], ['1 day', 86400], ['3 days', 259200]].map(([t, n]) =>
    h('button.small', { type: 'button', on: { click: () => { secs.value = String(n); } } }, t));
  const clockCard = h('div.control',
    h('h3', 'Clock'),
    h('p.muted', 'Moves the org\'s clock forward: tokens expire, events age past retention (3 days makes every stored replay id invalid), dates follow.'),
    h('div.inline', field('Seconds', secs), quick),
    h('div.inline',
      h('button.primary', { type: 'button', id: 'advance-clock', on: { click: () => call('/clock', { advance_secs: Number(secs.value) }, `Advance the clock ${secs.value} s`) } }, 'Advance the clock'),
      h('button', { type: 'button', on: { click: () => call('/clock', { freeze: true }, 'Freeze the clock') } }, 'Freeze'),
      h('button', { type: 'button', on: { click: () => call('/clock', { freeze: false }, 'Unfreeze the clock') } }, 'Unfreeze')));

  // gap and overflow events
  const obj = h('input.narrow', { type: 'text', value: 'Account' });
  const gapType = h('select', GAPS.map((g) => h('option', { value: g }, g)));
  const gapIds = h('input', { type: 'text', placeholder: '001…, 001…', spellcheck: 'false' });
  const gapCard = h('div.control',
    h('h3', 'Gap and overflow events'),
    h('p.muted', 'Header-only change events through every change event channel of the object, as Salesforce sends them.'),
    h('div.inline', field('Object', obj), field('Change type', gapType), field('Record ids', gapIds)),
    h('div.inline',
      h('button.primary', {
        type: 'button', id: 'gap', on: {
          click: () => call('/gap', { object: obj.value.trim(), changeType: gapType.value, recordIds: gapIds.value.split(/[\s,]+/).filter(Boolean) }, `Publish ${gapType.value}`),
        },
      }, 'Publish a gap event'),
      h('button', { type: 'button', id: 'overflow', on: { click: () => call('/gap', { object: obj.value.trim(), overflow: true }, 'Publish GAP_OVERFLOW') } }, 'Publish an overflow event')));

  // streaming
  const delay = h('input.narrow', { type: 'number', min: '0', value: '0' });
  const streamingCard = h('div.control',
    h('h3', 'Streaming API'),
    h('p.muted', 'Dropping sessions forgets every CometD session: clients get 403::Unknown client and handshake again (this console too).'),
    h('div.inline',
      h('button.primary', { type: 'button', id: 'drop-sessions', on: { click: () => call('/streaming', { drop_sessions: true }, 'Drop streaming sessions') } }, 'Drop streaming sessions')),
    h('div.inline', field('Delivery delay (ms)', delay),
      h('button', { type: 'button', on: { click: () => call('/streaming', { delivery_delay_ms: Number(delay.value) || 0 }, 'Set the delivery delay') } }, 'Set delay')));

  // pub/sub
  const fail = h('select', FAILURES.map((f) => h('option', { value: f }, f)));
  const rpc = h('select', h('option', { value: '' }, 'any call'), RPCS.map((r) => h('option', { value: r }, r)));
  const times = h('input.narrow', { type: 'number', min: '1', value: '1' });
  const pubsubCard = h('div.control',
    h('h3', 'Pub/Sub API'),
    h('p.muted', 'Ends the next calls with Salesforce\'s status, message and error-code trailer.'),
    h('div.inline', field('Failure', fail), field('Call', rpc), field('Times', times)),
    h('div.inline',
      h('button.primary', {
        type: 'button', id: 'fail-pubsub', on: {
          click: () => call('/pubsub', { fail: fail.value, ...(rpc.value ? { rpc: rpc.value } : {}), times: Number(times.value) || 1 }, `Fail the next ${rpc.value || 'Pub/Sub'} call`),
        },
      }, 'Fail the next Pub/Sub call'),
      h('button', { type: 'button', on: { click: () => call('/pubsub', { suppress_keepalives: true }, 'Hold keepalives back') } }, 'Hold keepalives'),
      h('button', { type: 'button', on: { click: () => call('/pubsub', { suppress_keepalives: false }, 'Send keepalives') } }, 'Send keepalives'),
      h('button', { type: 'button', on: { click: () => call('/pubsub', { end_streams: true }, 'End every stream') } }, 'End streams'),
      h('button', { type: 'button', on: { click: () => call('/pubsub', { reset_streams: true }, 'Reset every stream') } }, 'Reset streams')));

  fill(box,
    h('div.section-head', h('h2#controls-h', 'Test controls'),
      h('button', { type: 'button', id: 'clear-controls', on: { click: () => call('', null, 'Turn every control off') } }, 'Turn every control off'),
      h('button', { type: 'button', on: { click: refresh } }, 'Refresh')),
    h('div.controls-layout',
      h('div.controls-grid', clockCard, gapCard, streamingCard, pubsubCard),
      h('aside.state-panel', h('h3', 'Current state'), stateBox, result)));
  refresh();
}

function offsetText(secs) {
  if (!secs) return '(real time)';
  const s = Math.round(secs);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `(+${d ? `${d}d ` : ''}${hh ? `${hh}h ` : ''}${m ? `${m}m ` : ''}${s % 60 ? `${s % 60}s` : ''} ahead)`.replace(' )', ')');
}
