// api.js: the session (kept in sessionStorage only) and every call the console makes.
// The console is a client of the server's public APIs: REST with the org's token, and
// forcebus's admin API with the admin key.

export const VERSION = '68.0';
export const DATA = `/services/data/v${VERSION}`;

const KEY = 'forcebus.console.session';

/**
 * The signed-in session: {mode: 'user'|'admin', token, orgId, userId, userName, orgName,
 * adminKey?}; while acting as another user (acting.js), `acting` names them and `own`
 * keeps the console's own {token, userId, userName, username} to go back to.
 */
export const session = {
  current: null,
  load() {
    try {
      this.current = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    } catch {
      this.current = null;
    }
    return this.current;
  },
  save(s) {
    this.current = s;
    sessionStorage.setItem(KEY, JSON.stringify(s));
  },
  update(patch) {
    this.save({ ...this.current, ...patch });
  },
  clear() {
    this.current = null;
    sessionStorage.removeItem(KEY);
  },
};

/** An error answer: `status`, the parsed `body` and a readable `message`. */
export class ApiError extends Error {
  constructor(status, body, path) {
    super(describeError(status, body));
    this.status = status;
    this.body = body;
    this.path = path;
  }

  /** Salesforce's `[{errorCode, message, fields}]` list, whatever the shape of the body. */
  get errors() {
    const b = this.body;
    if (Array.isArray(b)) return b.map(normalise);
    if (b && typeof b === 'object') {
      if (Array.isArray(b.errors)) return b.errors.map(normalise);
      return [normalise(b)];
    }
    return [{ errorCode: `HTTP ${this.status}`, message: String(b || 'No answer'), fields: [] }];
  }

  /** True for a 404 of an endpoint this server does not have yet. */
  get missing() {
    return this.status === 404 || this.status === 405;
  }
}

function normalise(e) {
  if (!e || typeof e !== 'object') return { errorCode: 'ERROR', message: String(e), fields: [] };
  return {
    errorCode: e.errorCode || e.statusCode || e.error || 'ERROR',
    message: e.message || e.error_description || JSON.stringify(e),
    fields: e.fields || [],
  };
}

function describeError(status, body) {
  if (Array.isArray(body) && body.length) {
    return body.map((e) => `${e.errorCode || e.statusCode || 'ERROR'}: ${e.message}`).join('; ');
  }
  if (body && typeof body === 'object') {
    if (body.error_description || body.error) return `${body.error}: ${body.error_description || ''}`;
    if (body.message) return `${body.errorCode || status}: ${body.message}`;
    return JSON.stringify(body);
  }
  if (status === 0) return 'The server did not answer (is it running?)';
  return `HTTP ${status}${body ? `: ${String(body).slice(0, 300)}` : ''}`;
}

/** Listeners told when the org token stops working (401) and cannot be renewed. */
const expiredListeners = new Set();
export function onExpired(fn) {
  expiredListeners.add(fn);
}

async function send(path, { method = 'GET', body, token, headers = {}, signal, form } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (form) {
    h['Content-Type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload, signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null, path);
  }
  const text = await res.text();
  let data = text;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  } else {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data, path);
  return data;
}

let renewing = null;

/**
 * A call with the org's token. With the admin key, a token that stopped working (the
 * clock moved past its expiry, say) is renewed once through the admin API.
 */
export async function api(path, opts = {}) {
  const s = session.current;
  if (!s) throw new ApiError(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Not signed in' }], path);
  try {
    return await send(path, { ...opts, token: s.token });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    // Renewed tokens are the org admin's: never in place of a user acted as.
    if (s.mode === 'admin' && s.adminKey && !s.acting) {
      renewing ||= orgToken(s.orgId).finally(() => { renewing = null; });
      const t = await renewing;
      session.update({ token: t.access_token });
      return send(path, { ...opts, token: t.access_token });
    }
    for (const fn of expiredListeners) fn(e);
    throw e;
  }
}

/** A call with another token than the session's (a user's whose access is shown). */
export function withToken(token, path, opts = {}) {
  return send(path, { ...opts, token });
}

/** Ends a token's sessions (OAuth revoke); answers nothing, fails quietly. */
export function revoke(token) {
  return fetch('/services/oauth2/revoke', {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  }).catch(() => {});
}

/** A call with the server's admin key. */
export function admin(path, opts = {}) {
  return send(path, { ...opts, token: session.current?.adminKey || opts.key });
}

/** `GET /forcebus/v1/orgs` with a key (before the session exists too). */
export function listOrgs(key = session.current?.adminKey) {
  return send('/forcebus/v1/orgs', { token: key });
}

/** A token of an org's first user (the admin key only). */
export function orgToken(orgId, key = session.current?.adminKey) {
  return send(`/forcebus/v1/orgs/${encodeURIComponent(orgId)}/token`, { method: 'POST', token: key });
}

/** The OAuth token endpoint (no credentials: PKCE proves the caller). */
export function tokenExchange(form) {
  return send('/services/oauth2/token', { method: 'POST', form });
}

export function query(soql, { tooling = false, all = false, batchSize } = {}) {
  const base = tooling ? `${DATA}/tooling/query` : `${DATA}/${all ? 'queryAll' : 'query'}`;
  const headers = batchSize ? { 'Sforce-Query-Options': `batchSize=${batchSize}` } : {};
  return api(`${base}?q=${encodeURIComponent(soql)}`, { headers });
}

export function search(sosl) {
  return api(`${DATA}/search?q=${encodeURIComponent(sosl)}`);
}

/** Every record of a query, following nextRecordsUrl (at most `max`). */
export async function queryAll(soql, opts = {}, max = 2000) {
  let page = await query(soql, opts);
  const out = [...page.records];
  while (!page.done && page.nextRecordsUrl && out.length < max) {
    page = await api(page.nextRecordsUrl);
    out.push(...page.records);
  }
  return out;
}

const cache = new Map();

/** A GET whose answer is kept until the org changes (describes, the global describe). */
export function cached(path) {
  if (!cache.has(path)) {
    const p = api(path);
    cache.set(path, p);
    p.catch(() => cache.delete(path));
  }
  return cache.get(path);
}

export function forget(prefix = '') {
  for (const k of [...cache.keys()]) if (k.startsWith(prefix)) cache.delete(k);
}

export const describeGlobal = () => cached(`${DATA}/sobjects`);
export const describe = (name) => cached(`${DATA}/sobjects/${encodeURIComponent(name)}/describe`);

/** Object name for an id, from the key prefixes of the global describe (null when unknown). */
export async function objectForId(id) {
  if (!/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(id || '')) return null;
  const g = await describeGlobal();
  const prefixes = prefixMap(g);
  return prefixes.get(id.slice(0, 3)) || null;
}

let prefixSource = null;
let prefixes = new Map();
export function prefixMap(global) {
  if (global !== prefixSource) {
    prefixSource = global;
    prefixes = new Map();
    for (const o of global.sobjects) if (o.keyPrefix && !prefixes.has(o.keyPrefix)) prefixes.set(o.keyPrefix, o.name);
  }
  return prefixes;
}

/** Looks like a Salesforce id (15 or 18 characters). */
export const isId = (v) => typeof v === 'string' && /^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(v) && /\d/.test(v);

/** The server's platform event definitions. */
export async function platformEvents() {
  const r = await api('/forcebus/v1/platform-events');
  return r.platformEvents || [];
}
