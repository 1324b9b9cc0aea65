// subscribers.js: the Subscribers view. Streaming API sessions, Pub/Sub streams and
// managed subscriptions with their channel, replay position, lag (events and seconds),
// client address and user, from /forcebus/v1/subscribers, refreshed every two seconds.

import { api, ApiError, listOrgs, session } from './api.js';
import { h, fill, link, errorBox, notAvailable, clock } from './dom.js';
import { streamClientId } from './events.js';

const EVERY_MS = 2000;

export function subscribersView(root) {
  let protocol = '';
  const pick = h('select', { id: 'subscriber-protocol', 'aria-label': 'Protocol' },
    h('option', { value: '' }, 'every protocol'), h('option', { value: 'cometd' }, 'Streaming API (CometD)'),
    h('option', { value: 'pubsub' }, 'Pub/Sub API'), h('option', { value: 'managed' }, 'managed subscriptions'));
  pick.addEventListener('change', () => { protocol = pick.value; draw(); });
  const auto = h('input', { type: 'checkbox', checked: true });
  const summary = h('p.summary', { role: 'status' });
  const body = h('div.table-wrap');
  fill(root, h('div.page-head', h('h1', 'Subscribers'),
    h('div.actions', pick, h('label', auto, ' Refresh every 2 s'))), summary, body);

  let last = null;
  let timer = null;
  let stopped = false;

  async function refresh() {
    try {
      last = await api('/forcebus/v1/subscribers');
      draw();
    } catch (e) {
      if (e instanceof ApiError && e.missing) await fallback();
      else fill(body, errorBox(e));
    }
    if (!stopped && auto.checked) timer = setTimeout(refresh, EVERY_MS);
  }
  auto.addEventListener('change', () => {
    clearTimeout(timer);
    if (auto.checked) refresh();
  });

  async function fallback() {
    const parts = [notAvailable('/forcebus/v1/subscribers')];
    if (session.current?.mode === 'admin') {
      try {
        const { orgs } = await listOrgs();
        const org = orgs.find((o) => o.org_id === session.current.orgId);
        if (org) parts.push(h('p', `This org has ${org.subscribers?.cometd ?? 0} Streaming API session(s) and ${org.subscribers?.pubsub ?? 0} Pub/Sub stream(s) open; its log ends at replay id ${org.log?.last_replay_id ?? '?'}.`));
      } catch { /* the note is enough */ }
    }
    fill(summary);
    fill(body, parts);
  }

  function draw() {
    if (!last) return;
    const all = last.subscribers || [];
    const rows = all.filter((s) => !protocol || s.protocol === protocol);
    const by = (p) => all.filter((s) => s.protocol === p).length;
    fill(summary, `The log ends at replay id `, h('strong', String(last.lastReplayId ?? '?')), ` · ${by('cometd')} Streaming API, ${by('pubsub')} Pub/Sub, ${by('managed')} managed · updated ${clock(new Date())}`);
    if (!rows.length) {
      fill(body, h('p.empty', 'No subscriber.'));
      return;
    }
    fill(body, h('table.grid', { id: 'subscribers' },
      h('thead', h('tr', ['Protocol', 'Channel', 'Replay position', 'Lag (events)', 'Lag (s)', 'Client address', 'User', 'Since', 'Id'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', rows.map((s) => h('tr',
        h('td', h(`span.kind.k-${s.protocol}`, s.protocol)),
        h('td.mono', s.channel),
        h('td.num', s.replayId ?? '—'),
        h('td.num', { class: lagClass(s.lagEvents) }, String(s.lagEvents ?? '—')),
        h('td.num', { class: lagClass(s.lagSeconds > 5 ? 100 : s.lagSeconds > 0 ? 1 : 0) }, s.lagSeconds === null || s.lagSeconds === undefined ? '—' : Number(s.lagSeconds).toFixed(1)),
        h('td.mono', s.address || '—'),
        h('td', s.user ? link(`records/User/${s.user}`, h('span.mono', s.user)) : '—'),
        h('td', { title: s.since || '' }, s.since ? clock(s.since) : '—'),
        h('td.mono.muted', s.id, s.id === streamClientId() ? [' ', h('span.chip', 'this console')] : null))))));
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function lagClass(n) {
  if (!n) return 'lag-0';
  return n >= 100 ? 'lag-high' : 'lag-some';
}
