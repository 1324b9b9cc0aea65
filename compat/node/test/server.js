'use strict';
// Starts one forcebus server for a test file and stops it afterwards.
//
// Contract: `$FORCEBUS_BIN serve ...` prints one JSON line
// `{"event":"ready","http":"127.0.0.1:PORT",...}` on stdout once listening.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const COMPAT_DIR = path.resolve(__dirname, '..', '..');
const REPO_DIR = path.resolve(COMPAT_DIR, '..');
const BIN = process.env.FORCEBUS_BIN || path.join(REPO_DIR, 'target', 'debug', 'forcebus');
const CONFIG = process.env.COMPAT_FORCEBUS_CONFIG || path.join(COMPAT_DIR, 'fixtures', 'forcebus.toml');
const LOG_DIR = process.env.COMPAT_LOG_DIR || path.join(COMPAT_DIR, '.work', 'logs');
const READY_TIMEOUT_MS = Number(process.env.COMPAT_READY_TIMEOUT_MS || 30000);

/** API version every Connection in the suite uses. */
const API_VERSION = '59.0';

/**
 * Spawn the server and wait for its ready line.
 * @param {string} name used for the server log file name
 * @param {{prefix?: string, dataDir?: string, inMemory?: boolean, config?: string}} [opts]
 *   `prefix`: log/data-dir prefix naming the suite (default `jsforce`);
 *   `config`: a server config file other than the suite's (default `CONFIG`);
 *   `dataDir`: a data directory of the caller's (kept by `stop()`; default a
 *   fresh temporary one, removed by `stop()`); `inMemory: false` keeps the data
 *   on disk so a second server on the same `dataDir` sees it; `listen`: the HTTP
 *   and gRPC addresses (default free ports); `extraArgs`: more flags; `env`: more
 *   environment variables.
 */
async function startServer(name, {
  prefix = 'jsforce', dataDir: givenDir, inMemory = true, config = CONFIG,
  listen = ['127.0.0.1:0', '127.0.0.1:0'], extraArgs = [], env = {},
} = {}) {
  const dataDir = givenDir || fs.mkdtempSync(path.join(os.tmpdir(), `forcebus-${prefix}-${name}-`));
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const logPath = path.join(LOG_DIR, `${prefix}-${name}.log`);
  const log = fs.createWriteStream(logPath);
  const args = [
    'serve', ...(inMemory ? ['--in-memory'] : []),
    '--data-dir', dataDir,
    '--listen', listen[0],
    '--grpc-listen', listen[1],
    '--config', config,
    ...extraArgs,
  ];
  log.write(`$ ${BIN} ${args.join(' ')}\n`);
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stderr.on('data', (d) => log.write(d));
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });

  const info = await new Promise((resolve, reject) => {
    const fail = (err) => {
      clearTimeout(timer);
      if (exited === null) child.kill('SIGKILL');
      reject(new Error(`${err.message} (server log: ${logPath})`));
    };
    const timer = setTimeout(
      () => fail(new Error(`forcebus printed no ready line within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    child.on('error', (e) => fail(new Error(`cannot start ${BIN}: ${e.message}`)));
    child.on('exit', (code, signal) => fail(new Error(`forcebus exited (code ${code}, signal ${signal}) before it was ready`)));
    const rl = readline.createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      log.write(`[stdout] ${line}\n`);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg && msg.event === 'ready') {
        clearTimeout(timer);
        resolve(msg);
      }
    });
  });

  const baseUrl = `http://${info.http}`;
  const port = Number(info.http.split(':').pop());

  /** Send `signal` (SIGKILL after 5 s) and wait for the exit; keeps the data directory. */
  async function kill(signal = 'SIGTERM') {
    if (exited === null) {
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(t);
    }
    log.end();
    return exited;
  }

  async function stop() {
    await kill('SIGTERM');
    if (!givenDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }

  return { info, baseUrl, port, stop, kill, logPath, dataDir, pid: child.pid };
}

/**
 * Plain HTTP request to the server (for things jsforce has no call for).
 * Returns { status, headers, text, json }.
 */
async function rawRequest(srv, method, urlPath, { headers = {}, body } = {}) {
  const res = await fetch(srv.baseUrl + urlPath, { method, headers, body });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Revoke an access token through the OAuth revoke endpoint. */
async function revokeToken(srv, token) {
  const res = await rawRequest(srv, 'POST', '/services/oauth2/revoke', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  if (res.status !== 200) {
    throw new Error(`revoke answered ${res.status}: ${res.text}`);
  }
}

/** Unique suffix so test records never collide. */
let counter = 0;
function uniq(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

module.exports = { startServer, rawRequest, revokeToken, uniq, API_VERSION, CONFIG, BIN };
