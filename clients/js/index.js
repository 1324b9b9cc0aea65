// forcebus-test: a forcebus server for the test run and a fresh org for each test.
//
//   import { useForcebusOrg } from 'forcebus-test';
//   const fb = useForcebusOrg();            // Jest / Vitest globals; or pass the hooks
//   test('mine', async () => {
//     const conn = new jsforce.Connection({ instanceUrl: fb.org.instance_url, accessToken: fb.org.access_token });
//   });
//
// The server is the one at FORCEBUS_URL (with FORCEBUS_ADMIN_KEY), or `forcebus serve
// --in-memory` started on free ports (the binary at FORCEBUS_BIN, else `forcebus` on PATH).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// Variables read here; a server started here does not see them (it reads FORCEBUS_* as
// its own configuration).
const OWN = ['FORCEBUS_BIN', 'FORCEBUS_URL', 'FORCEBUS_ADMIN_KEY'];
const READY_TIMEOUT_MS = 60_000;

/** A running server and its admin API (`/forcebus/v1/orgs`). */
export class ForcebusServer {
  constructor(url, adminKey, child = null, ready = {}, dataDir = null) {
    this.url = url.replace(/\/+$/, '');
    this.adminKey = adminKey;
    this.child = child;
    this.ready = ready;
    this.dataDir = dataDir;
  }

  async #call(method, path, body) {
    const res = await fetch(this.url + path, {
      method,
      headers: { Authorization: `Bearer ${this.adminKey}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`forcebus answered ${res.status} to ${method} ${path}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Makes an org: `{ name, config: { users, app, objects, platform_events, cdc_entities } }`.
   * Resolves to its credentials: the ready line's keys (org_id, username, password,
   * security_token, client_id, client_secret, access_token, instance_url, api_version). */
  createOrg({ name, config } = {}) {
    const body = {};
    if (name) body.name = String(name).slice(0, 80);
    if (config) body.config = config;
    return this.#call('POST', '/forcebus/v1/orgs', body);
  }

  deleteOrg(orgId) { return this.#call('DELETE', `/forcebus/v1/orgs/${orgId}`); }
  resetOrg(orgId) { return this.#call('POST', `/forcebus/v1/orgs/${orgId}/reset`); }
  async listOrgs() { return (await this.#call('GET', '/forcebus/v1/orgs')).orgs; }

  /** Stops a server started by `startForcebus` (nothing for one it only connected to). */
  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Makes a user of `org` (the credentials `createOrg` gave) in one call: with `profile`
 * (Standard User when unset), the `permissionSets` it names, and `permissionSet`
 * (`{ name, objects, fields, user_permissions }`) made first. Resolves to `{ id, username,
 * profile, access_token, instance_url }`: the token signs a client in as that user. */
export async function createUser(org, { username, profile, permissionSets = [], permissionSet, password } = {}) {
  const body = { username, permission_sets: permissionSets };
  if (profile) body.profile = profile;
  if (permissionSet) body.permission_set = permissionSet;
  if (password) body.password = password;
  const res = await fetch(`${org.instance_url.replace(/\/+$/, '')}/forcebus/v1/control/users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${org.access_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`forcebus answered ${res.status} to a new user: ${text}`);
  return JSON.parse(text);
}

/** Starts `forcebus serve --in-memory` on free ports; resolves once it is ready. */
export function startForcebus({ bin = process.env.FORCEBUS_BIN || 'forcebus', args = [] } = {}) {
  const env = { ...process.env };
  for (const k of OWN) delete env[k];
  // Its certificates go to a directory of its own, removed when it stops.
  const dataDir = mkdtempSync(join(tmpdir(), 'forcebus-'));
  const child = spawn(bin, ['serve', '--in-memory', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--grpc-listen', '127.0.0.1:0', ...args],
    { env, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`forcebus did not print its ready line within ${READY_TIMEOUT_MS / 1000} s`)); }, READY_TIMEOUT_MS);
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${bin}: ${e.message} (set FORCEBUS_BIN, or FORCEBUS_URL and FORCEBUS_ADMIN_KEY)`)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`forcebus exited (${code}) before it was ready`)); });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (!line.startsWith('{') || !line.includes('"ready"')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const ready = JSON.parse(line);
      resolve(new ForcebusServer(ready.instance_url, ready.admin_key, child, ready, dataDir));
    });
  });
}

/** The server at FORCEBUS_URL (with FORCEBUS_ADMIN_KEY), else one started here. */
export async function forcebus(options = {}) {
  const { FORCEBUS_URL: url, FORCEBUS_ADMIN_KEY: key } = process.env;
  if (url && key) return new ForcebusServer(url, key);
  return startForcebus(options);
}

/** Registers hooks that give each test a fresh org (deleted after it) on one server for
 * the file. `hooks` are the framework's: Jest's and Vitest's globals by default
 * (`beforeAll`, `afterAll`, `beforeEach`, `afterEach`), node:test's `before` / `after`
 * too. `org` takes `{ name, config }` for every org. Returns `{ server, org }` getters. */
export function useForcebusOrg({ hooks = globalThis, org: wanted = {}, server: options = {} } = {}) {
  const beforeAll = hooks.beforeAll ?? hooks.before;
  const afterAll = hooks.afterAll ?? hooks.after;
  const { beforeEach, afterEach } = hooks;
  if (![beforeAll, afterAll, beforeEach, afterEach].every((h) => typeof h === 'function')) {
    throw new Error('useForcebusOrg needs the test framework hooks: pass { hooks: { beforeAll, afterAll, beforeEach, afterEach } }');
  }
  const state = { server: null, org: null };
  beforeAll(async () => { state.server = await forcebus(options); });
  afterAll(async () => { await state.server?.stop(); });
  beforeEach(async () => { state.org = await state.server.createOrg(wanted); });
  afterEach(async () => {
    if (state.org) await state.server.deleteOrg(state.org.org_id);
    state.org = null;
  });
  return {
    get server() { return state.server; },
    get org() { return state.org; },
  };
}
