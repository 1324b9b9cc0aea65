'use strict';
// The test controls (/forcebus/v1/control) for the controls tests: a server whose
// tokens outlive the org clock moves, and a call helper that sends the admin key
// from the ready line.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, CONFIG } = require('../server');

/** The stored-replay-id tests move the org clock past the 72 h retention of change events. */
const PAST_RETENTION_SECS = 73 * 3600;

/**
 * A server (the suite's config) whose tokens last 10 days of inactivity instead of 2 h,
 * so that clients can still handshake with the token they hold after the org clock
 * jumped PAST_RETENTION_SECS (the default would expire it, and the re-handshake would
 * then be denied: a different failure, covered by the revoke tests).
 */
async function startControlsServer(name) {
  const cfg = path.join(os.tmpdir(), `forcebus-${name}-${process.pid}.toml`);
  fs.writeFileSync(cfg, `session_timeout_secs = 864000\n${fs.readFileSync(CONFIG, 'utf8')}`);
  try {
    const srv = await startServer(name, { config: cfg });
    const stop = srv.stop;
    srv.stop = async () => {
      await stop();
      fs.rmSync(cfg, { force: true });
    };
    return srv;
  } catch (e) {
    fs.rmSync(cfg, { force: true });
    throw e;
  }
}

/**
 * `method /forcebus/v1/control{sub}` with the admin key and a JSON `body`;
 * asserts the status (200 unless given) and returns the JSON answer.
 */
async function control(srv, method, sub = '', body = undefined, status = 200) {
  assert.match(srv.info.admin_key || '', /^fbk_/, 'the ready line has admin_key');
  const res = await fetch(`${srv.baseUrl}/forcebus/v1/control${sub}`, {
    method,
    headers: {
      authorization: `Bearer ${srv.info.admin_key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, status, `${method} /forcebus/v1/control${sub} ${JSON.stringify(body)}: ${text}`);
  return JSON.parse(text);
}

module.exports = { startControlsServer, control, PAST_RETENTION_SECS };
