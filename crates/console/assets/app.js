// app.js: the console's shell. Sign-in (OAuth authorization code with PKCE as the public
// client `forcebus-console`, or the server's admin key), the top bar (org, user, view
// tabs, sign out), hash routing (#events, #records/Account/001…, …), the org switch, and
// acting as another user (what the top bar says, and going back).

import { api, session, listOrgs, orgToken, tokenExchange, query, forget, revoke, onExpired, ApiError } from './api.js';
import { actingAs, ownUsername, userToken, beginActing, endActing, sessionTokens } from './acting.js';
import { h, fill, errorBox, notice } from './dom.js';
import { publishView } from './forms.js';
import { eventsView, startStream, stopStream, onStatus } from './events.js';
import { recordsView } from './records.js';
import { schemaView } from './schema.js';
import { subscribersView } from './subscribers.js';
import { orgsView } from './orgs.js';
import { requestsView } from './requests.js';
import { usersView } from './users.js';

const PKCE_KEY = 'forcebus.console.pkce';
const CLIENT_ID = 'forcebus-console';
const redirectUri = () => `${location.origin}/forcebus/console/`;

const VIEWS = [
  ['events', 'Events', eventsView],
  ['publish', 'Publish', publishView],
  ['records', 'Records', recordsView],
  ['schema', 'Schema', schemaView],
  ['subscribers', 'Subscribers', subscribersView],
  ['users', 'Users', usersView],
  ['orgs', 'Orgs & controls', orgsView],
  ['requests', 'Requests', requestsView],
];

const app = document.getElementById('app');
let orgs = []; // the admin's org list, for the switcher
let unmount = null;

// ---------------------------------------------------------------- PKCE

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

async function sha256(text) {
  const data = new TextEncoder().encode(text);
  if (globalThis.crypto?.subtle) return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return sha256js(data); // not a secure context (plain HTTP to a non-loopback address)
}

/** SHA-256 for pages without crypto.subtle. */
function sha256js(msg) {
  const primes = [];
  for (let n = 2; primes.length < 64; n += 1) if (primes.every((p) => n % p)) primes.push(n);
  const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  const K = primes.map((p) => frac(Math.cbrt(p)));
  const H = primes.slice(0, 8).map((p) => frac(Math.sqrt(p)));
  const len = msg.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(msg);
  padded[len] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 4, len * 8);
  view.setUint32(padded.length - 8, Math.floor(len / 2 ** 29));
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i += 1) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i += 1) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = H;
    for (let i = 0; i < 64; i += 1) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      [hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
    }
    [a, b, c, d, e, f, g, hh].forEach((x, i) => { H[i] = (H[i] + x) >>> 0; });
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  H.forEach((x, i) => ov.setUint32(i * 4, x));
  return out;
}

async function startOAuth() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const back = location.hash && location.hash !== '#' ? location.hash : '#events';
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, back }));
  const challenge = b64url(await sha256(verifier));
  const p = new URLSearchParams({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri(),
    code_challenge: challenge, code_challenge_method: 'S256', state,
  });
  location.assign(`/services/oauth2/authorize?${p}`);
}

/** Back from the sign-in page with ?code=…&state=…: the code exchanged for a token. */
async function finishOAuth(params) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  sessionStorage.removeItem(PKCE_KEY);
  const back = saved?.back || '#events';
  history.replaceState(null, '', `/forcebus/console${back}`);
  if (params.get('error')) throw new Error(`${params.get('error')}: ${params.get('error_description') || ''}`);
  if (!saved || saved.state !== params.get('state')) throw new Error('The sign-in came back with an unknown state; start again.');
  const t = await tokenExchange({
    grant_type: 'authorization_code', client_id: CLIENT_ID, code: params.get('code'),
    code_verifier: saved.verifier, redirect_uri: redirectUri(),
  });
  session.save({ mode: 'user', token: t.access_token });
  await describeSession();
}

/** Fills the session with who and where: userinfo and the org's name. */
async function describeSession() {
  const me = await api('/services/oauth2/userinfo');
  let orgName = '';
  try {
    orgName = (await query('SELECT Id, Name FROM Organization')).records[0]?.Name || '';
  } catch { /* a name is a nicety */ }
  session.update({
    orgId: me.organization_id, userId: me.user_id, userName: me.name || me.preferred_username,
    username: me.preferred_username, orgName,
  });
}

async function adminSignIn(key) {
  const { orgs: list } = await listOrgs(key);
  orgs = list;
  const org = list.find((o) => o.default) || list[0];
  if (!org) throw new Error('The server has no org.');
  const t = await orgToken(org.org_id, key);
  session.save({ mode: 'admin', adminKey: key, token: t.access_token, orgId: t.org_id || org.org_id });
  await describeSession();
}

// ---------------------------------------------------------------- sign-in page

function signInPage(error) {
  stopStream();
  unmount?.();
  unmount = null;
  document.title = 'Sign in · forcebus console';
  const key = h('input', { type: 'password', id: 'admin-key', autocomplete: 'off', spellcheck: 'false', placeholder: 'fbk_…', required: true });
  const msg = h('div', { 'aria-live': 'polite' }, error ? errorBox(error) : null);
  const keyForm = h('form.stack', {
    on: {
      async submit(ev) {
        ev.preventDefault();
        fill(msg, h('p.muted', 'Signing in…'));
        try {
          await adminSignIn(key.value.trim());
          shell();
        } catch (e) {
          session.clear();
          fill(msg, e instanceof ApiError && e.status === 401
            ? notice('error', 'The server refused this key (401). It is the ready line\'s ', h('code', 'admin_key'), '.')
            : errorBox(e));
        }
      },
    },
  },
  h('label', { for: 'admin-key' }, 'Admin key'), key,
  h('button', { type: 'submit', id: 'signin-admin' }, 'Sign in with the admin key'));
  fill(app, h('div.signin',
    h('div.card',
      h('div.brand.big', h('span.logo', { 'aria-hidden': 'true' }), 'forcebus ', h('span.muted', 'console')),
      h('p.muted', 'Events, records, schemas, subscribers and test controls of this forcebus server.'),
      h('button.primary.wide', { type: 'button', id: 'signin-oauth', on: { click: () => startOAuth().catch((e) => fill(msg, errorBox(e))) } },
        'Sign in with a username and password'),
      h('p.muted.small', 'Through the server\'s OAuth sign-in page (authorization code with PKCE).'),
      h('div.or', h('span', 'or, for the whole server')),
      keyForm, msg)));
}

// ---------------------------------------------------------------- the shell

function parseRoute() {
  const raw = location.hash.slice(1) || 'events';
  const [path, qs = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  // A part is a view, an object, an id or a word: never a path of its own (`..`), so a
  // crafted link cannot aim the console's API calls elsewhere on the server.
  const safe = parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p));
  if (!safe || !VIEWS.some(([k]) => k === parts[0])) return { view: 'events', parts: ['events'], params: new URLSearchParams() };
  return { view: parts[0], parts, params: new URLSearchParams(qs) };
}

function topBar() {
  const s = session.current;
  const orgPart = s.mode === 'admin'
    ? h('label.org-switch', h('span.sr-only', 'Org'),
      h('select', { id: 'org-switch', on: { change: (ev) => switchOrg(ev.target.value) } },
        (orgs.length ? orgs : [{ org_id: s.orgId, name: s.orgName }]).map((o) => h('option', { value: o.org_id, selected: o.org_id === s.orgId }, `${o.name || o.org_id}`))))
    : h('span.org-name', s.orgName || 'Org');
  const status = h('span.live', { id: 'live', title: 'Streaming API' }, h('span.dot'), h('span.label', ''));
  const tabs = h('nav.tabs', { 'aria-label': 'Views' },
    VIEWS.map(([k, label]) => h('a', { href: `#${k}`, id: `tab-${k}`, dataset: { view: k } }, label)));
  const bar = h(actingAs() ? 'div.topbar.acting' : 'div.topbar',
    h('div.brand', h('span.logo', { 'aria-hidden': 'true' }), 'forcebus'),
    h('div.org', orgPart, h('code.org-id', { id: 'org-id', title: 'Org id' }, s.orgId || '')),
    tabs,
    h('div.right', status,
      h('a.user', { id: 'user-name', href: `#records/User/${s.userId}`, title: s.username || '' }, s.userName || s.username || 'user'),
      s.mode === 'admin' && !actingAs() ? h('span.chip.admin', 'admin') : null,
      h('button.ghost', { type: 'button', id: 'signout', on: { click: signOut } }, 'Sign out')));
  return h('header.top', bar, actingStrip());
}

/** While acting as a user: a strip under the bar says so, with the way back. */
function actingStrip() {
  const who = actingAs();
  if (!who) return null;
  const { profile } = session.current.acting;
  return h('div.acting-as', { id: 'acting-as', role: 'status' },
    h('span', 'Acting as ', h('strong', who), profile ? h('span.muted', ` (${profile})`) : null,
      '. Every view and the event stream use their token.'),
    h('button.small', { type: 'button', id: 'back-to-own', on: { click: () => backToOwn() } }, `Back to ${ownUsername() || 'yourself'}`));
}

/** Acts as the user `username` ({name, profile}): every view and the stream use their token. Throws the refusal. */
async function actAs(username, about = {}) {
  const made = await userToken(username);
  stopStream();
  beginActing(made, about);
  afterIdentityChange();
}

function backToOwn() {
  stopStream();
  endActing();
  afterIdentityChange();
}

function afterIdentityChange() {
  const banner = document.getElementById('banner');
  if (banner) {
    delete banner.dataset.expired;
    fill(banner);
  }
  refreshTopBar();
  startStream();
  route();
}

function shell() {
  const main = h('main.view-host', { id: 'main' });
  fill(app, topBar(), h('div.banner', { id: 'banner' }), main);
  if (!listening) {
    listening = true;
    onStatus((st, detail) => {
      liveStatus = [st, detail];
      showLive();
    });
  }
  showLive();
  if (session.current.mode === 'admin' && !orgs.length) {
    listOrgs().then((r) => { orgs = r.orgs; refreshTopBar(); }).catch(() => {});
  }
  startStream();
  route();
}

function refreshTopBar() {
  const old = app.querySelector('header.top');
  if (!old) return;
  old.replaceWith(topBar());
  markTab();
  showLive();
}

let liveStatus = ['idle', ''];
let listening = false;
function showLive() {
  const live = document.getElementById('live');
  if (!live) return;
  const [st, detail] = liveStatus;
  live.dataset.state = st;
  live.title = `Streaming API: ${st}${detail ? ` (${detail})` : ''}`;
  live.querySelector('.label').textContent = { connected: 'live', connecting: 'connecting', reconnecting: 'reconnecting', stopped: 'stopped', idle: 'off' }[st] || st;
}

function markTab() {
  const { view } = parseRoute();
  for (const a of app.querySelectorAll('nav.tabs a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function route() {
  const main = document.getElementById('main');
  if (!main || !session.current) return;
  unmount?.();
  unmount = null;
  const r = parseRoute();
  const [, label, fn] = VIEWS.find(([k]) => k === r.view);
  markTab();
  document.title = `${label} · ${session.current.orgName || 'forcebus'} · forcebus console`;
  const host = h('div.view', { dataset: { view: r.view } });
  main.replaceChildren(host);
  const ctx = { switchOrg, actAs, setOrgs: (list) => { orgs = list; syncSwitcher(); } };
  Promise.resolve().then(() => fn(host, r, ctx)).then((u) => {
    if (typeof u === 'function') {
      if (host.isConnected) unmount = u;
      else u();
    }
  }).catch((e) => fill(host, errorBox(e)));
}

function syncSwitcher() {
  const sel = document.getElementById('org-switch');
  if (!sel) return;
  const cur = session.current.orgId;
  fill(sel, orgs.map((o) => h('option', { value: o.org_id, selected: o.org_id === cur }, o.name || o.org_id)));
}

/** The admin's org switch: a token of that org, then every view and the stream use it. */
async function switchOrg(orgId) {
  const banner = document.getElementById('banner');
  let t;
  try {
    t = await orgToken(orgId);
  } catch (e) {
    fill(banner, errorBox(e));
    return;
  }
  stopStream(); // with the old org's token, which made the session
  if (actingAs()) revoke(session.current.token);
  session.update({
    token: t.access_token, orgId: t.org_id || orgId, orgName: '', userName: '', userId: t.user_id, acting: undefined, own: undefined,
  });
  forget();
  sessionStorage.removeItem('forcebus.console.channels.off');
  sessionStorage.removeItem('forcebus.console.channels.extra');
  try {
    await describeSession();
    fill(banner);
  } catch (e) {
    fill(banner, errorBox(e));
  }
  refreshTopBar();
  startStream();
  route();
}

async function signOut() {
  const s = session.current;
  stopStream();
  if (s?.mode === 'user') sessionTokens().forEach(revoke);
  else if (actingAs()) revoke(s.token);
  session.clear();
  for (const k of Object.keys(sessionStorage)) if (k.startsWith('forcebus.console.')) sessionStorage.removeItem(k);
  orgs = [];
  forget();
  history.replaceState(null, '', '/forcebus/console#events');
  signInPage();
}

onExpired(() => {
  const banner = document.getElementById('banner');
  if (!banner || banner.dataset.expired) return;
  banner.dataset.expired = '1';
  fill(banner, notice('error', 'The org no longer accepts this session\'s token (it expired or was revoked). ',
    actingAs() ? h('button.small', { type: 'button', on: { click: backToOwn } }, `Back to ${ownUsername()}`) : null, ' ',
    h('button.small', { type: 'button', on: { click: signOut } }, 'Sign in again')));
});

window.addEventListener('hashchange', route);

async function boot() {
  const params = new URLSearchParams(location.search);
  if (params.has('code') || params.has('error')) {
    fill(app, h('p.loading', 'Signing in…'));
    try {
      await finishOAuth(params);
    } catch (e) {
      session.clear();
      signInPage(e);
      return;
    }
    shell();
    return;
  }
  if (!session.load()?.token) {
    signInPage();
    return;
  }
  shell();
}

boot();
