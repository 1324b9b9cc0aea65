'use strict';
// `sf project deploy start` of the sample sfdx project (compat/fixtures/sfdx-project: it adds
// the Picklist field Region__c to Account, among others) while two real streaming clients are
// ALREADY subscribed to /data/AccountChangeEvent:
//   - jsforce's CometD client (`conn.streaming.createClient([Replay -1])`, faye), jsforce from
//     compat/node/node_modules, loaded in this process (compat/node's jsforce runs on the
//     suite's Node 20; the jsforce bundled inside @salesforce/cli is not used);
//   - the npm Pub/Sub API client salesforce-pubsub-api-client from
//     compat/pubsub-node/node_modules, over TLS gRPC, in a child process
//     (test/helpers/pubsub-subscriber.mjs) kept open across the deploy.
// Both see an Account event before the deploy under the schema id REST reports then; after
// the deploy, the next Account change reaches both on the same session/stream (one CometD
// handshake; one Pub/Sub subscription, which fetches the unseen schema with GetSchema and
// decodes it) under the new schema id, with the new field's value and the field named in
// changedFields. The old schema id still resolves over REST, and still without the field.
// (metadata-tooling.md §13, pubsub-api.md §4.3.)
//
// Needs compat/node and compat/pubsub-node installed: `compat/run sf` installs both.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { createRequire } = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { startServer, rawRequest } = require('../../node/test/server');
const { waitUntil, withTimeout } = require('../../node/test/helpers/streaming');
const { disconnectFaye } = require('../../node/test/helpers/faye');
const { runSf, explain } = require('./sf');

const COMPAT = path.resolve(__dirname, '../..');
const SAMPLE = path.join(COMPAT, 'fixtures', 'sfdx-project');
const PUBSUB_DIR = path.join(COMPAT, 'pubsub-node');
const PUBSUB_CHILD = path.join(__dirname, 'helpers', 'pubsub-subscriber.mjs');
// jsforce resolved the way compat/node's own tests resolve it.
const nodeRequire = createRequire(path.join(COMPAT, 'node', 'package.json'));
const jsforce = nodeRequire('jsforce');
const { StreamingExtension } = nodeRequire('jsforce/api/streaming');

const VERSION = '62.0';
const CHANNEL = '/data/AccountChangeEvent';
const FIELD = 'Region__c';
const WAIT_MS = 20000;

let srv;
let conn;
let faye;
let pubsub;
let dir;

before(async () => {
  srv = await startServer('deploy-subscribers', { prefix: 'sf' });
  conn = new jsforce.Connection({ instanceUrl: srv.baseUrl, accessToken: srv.info.access_token, version: VERSION });
});

after(async () => {
  await disconnectFaye(faye);
  if (pubsub) await pubsub.close();
  await srv?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function rest(method, urlPath) {
  return rawRequest(srv, method, `/services/data/v${VERSION}${urlPath}`, {
    headers: { Authorization: `Bearer ${srv.info.access_token}` },
  });
}

/** The schema id Account's change events are written with now. */
async function currentSchema() {
  const res = await rest('GET', '/sobjects/AccountChangeEvent/eventSchema');
  assert.equal(res.status, 200, res.text);
  assert.match(res.json.uuid, /^[\w-]{22}$/, res.text);
  return res.json.uuid;
}

/** The Payload record's field names of an eventSchema JSON (the default, expanded-record, format). */
function schemaFields(schema) {
  const walk = (t) => {
    if (!t || typeof t !== 'object') return null;
    if (Array.isArray(t)) return t.map(walk).find(Boolean) || null;
    if (t.type === 'record' && t.name === 'Payload') return t.fields.map((f) => f.name);
    for (const f of t.fields || []) {
      const r = walk(f.type);
      if (r) return r;
    }
    return null;
  };
  const names = walk(schema);
  assert.ok(names, `no Payload record in ${JSON.stringify(schema).slice(0, 300)}`);
  return names;
}

/**
 * Starts the Pub/Sub child; `lines` fills with what it prints. `waitFor(pred, what)`
 * resolves with the first line matching `pred`; `close()` ends its stdin and waits for the exit.
 */
function startPubSub() {
  const args = JSON.stringify({ ready: srv.info, pubsubDir: PUBSUB_DIR, field: FIELD });
  const child = spawn(process.execPath, [PUBSUB_CHILD, args], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: srv.info.ca_cert },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines = [];
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l));
    } catch {
      lines.push({ type: 'unparsable', line: l });
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = null;
  exited.then((e) => { gone = e; });
  const show = () => `pubsub lines: ${JSON.stringify(lines)} exit: ${JSON.stringify(gone)} stderr: ${stderr.slice(-3000)}`;
  return {
    lines,
    show,
    waitFor(pred, what) {
      return waitUntil(() => lines.find(pred) || (gone && Promise.reject(new Error(`pubsub child exited; ${show()}`))),
        `pubsub: ${what}`, { ms: WAIT_MS, describe: show });
    },
    async close() {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

const isChange = (id, changeType) => (e) => e.type === 'event' && e.changeType === changeType && e.recordIds.includes(id);
const cometdChange = (datas, id, changeType) => datas.find((d) => {
  const h = d?.payload?.ChangeEventHeader;
  return h && h.changeType === changeType && h.recordIds.includes(id);
});

describe('sf project deploy start with subscribers already connected', () => {
  it('jsforce CometD and the npm Pub/Sub client get the next Account event in the new schema, with the field',
    { timeout: 180000 }, async () => {
      // (a) jsforce streaming, counting its handshakes: the same session must carry on.
      const received = [];
      const handshakes = [];
      faye = conn.streaming.createClient([
        new StreamingExtension.Replay(CHANNEL, -1),
        { outgoing(message, callback) { if (message.channel === '/meta/handshake') handshakes.push(message); callback(message); } },
      ]);
      await withTimeout(faye.subscribe(CHANNEL, (d) => received.push(d)), `jsforce subscribe ${CHANNEL}`);
      assert.equal(handshakes.length, 1);

      // (b) the Pub/Sub client.
      pubsub = startPubSub();
      await pubsub.waitFor((l) => l.type === 'connected', 'connected');

      // Before the deploy: an Account event in the old schema, without the field.
      const s0 = await currentSchema();
      const made = await conn.sobject('Account').create({ Name: 'Before the deploy' });
      assert.equal(made.success, true, JSON.stringify(made));
      const id = made.id;
      const c0 = await waitUntil(() => cometdChange(received, id, 'CREATE'), 'jsforce: CREATE before the deploy',
        { ms: WAIT_MS, describe: () => JSON.stringify(received) });
      const p0 = await pubsub.waitFor(isChange(id, 'CREATE'), 'CREATE before the deploy');
      assert.equal(c0.schema, s0, 'CometD data.schema before the deploy = eventSchema uuid');
      assert.equal(p0.schemaId, s0, 'Pub/Sub schemaId before the deploy = eventSchema uuid');
      assert.equal(FIELD in c0.payload, false, `no ${FIELD} before the deploy: ${JSON.stringify(c0.payload)}`);
      assert.equal(p0.hasField, false, `no ${FIELD} before the deploy: ${JSON.stringify(p0)}`);

      // The deploy, from a copy of the sample project.
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-deploy-subs-'));
      fs.cpSync(SAMPLE, dir, { recursive: true });
      const res = await runSf(['project', 'deploy', 'start', '--source-dir', 'force-app', '-o', srv.info.access_token, '--json'],
        { home: dir, instanceUrl: srv.baseUrl });
      assert.equal(res.code, 0, explain(res));
      assert.equal(res.json.result.status, 'Succeeded', explain(res));
      const field = res.json.result.files.find((f) => f.type === 'CustomField' && f.fullName === `Account.${FIELD}`);
      assert.equal(field?.state, 'Created', explain(res));
      const s1 = await currentSchema();
      assert.notEqual(s1, s0, 'the deploy gives Account a new change-event schema id');

      // After the deploy: the next change, on the same record, sets the new field.
      const upd = await conn.sobject('Account').update({ Id: id, [FIELD]: 'APAC' });
      assert.equal(upd.success, true, JSON.stringify(upd));

      const c1 = await waitUntil(() => cometdChange(received, id, 'UPDATE'), 'jsforce: UPDATE after the deploy',
        { ms: WAIT_MS, describe: () => JSON.stringify(received) });
      assert.equal(c1.schema, s1, `CometD data.schema after the deploy: ${JSON.stringify(c1)}`);
      assert.equal(c1.payload[FIELD], 'APAC', JSON.stringify(c1.payload));
      assert.ok(c1.payload.ChangeEventHeader.changedFields.includes(FIELD), JSON.stringify(c1.payload.ChangeEventHeader));
      assert.equal(handshakes.length, 1, 'jsforce kept its session (no new handshake)');

      const p1 = await pubsub.waitFor(isChange(id, 'UPDATE'), 'UPDATE after the deploy');
      assert.equal(p1.schemaId, s1, `Pub/Sub schemaId after the deploy: ${JSON.stringify(p1)}`);
      assert.equal(p1.hasField, true, JSON.stringify(p1));
      assert.equal(p1.field, 'APAC', JSON.stringify(p1));
      // The client expanded the changedFields bitmap against the schema it fetched for s1.
      assert.ok(p1.changedFields.includes(FIELD), JSON.stringify(p1));
      const bad = pubsub.lines.find((l) => ['error', 'subscribeError', 'end', 'lastEvent', 'unparsable'].includes(l.type));
      assert.equal(bad, undefined, pubsub.show());
      // Exactly the two events on the one stream, in order.
      assert.deepEqual(pubsub.lines.filter((l) => l.type === 'event').map((l) => [l.changeType, l.schemaId]),
        [['CREATE', s0], ['UPDATE', s1]], pubsub.show());
      assert.deepEqual(received.map((d) => [d.payload.ChangeEventHeader.changeType, d.schema]),
        [['CREATE', s0], ['UPDATE', s1]], JSON.stringify(received));

      // The old id still resolves, to the schema without the field; the new one has it.
      const old = await rest('GET', `/event/eventSchema/${s0}`);
      assert.equal(old.status, 200, old.text);
      assert.equal(schemaFields(old.json).includes(FIELD), false, old.text.slice(0, 2000));
      assert.ok(schemaFields(old.json).includes('Name'), old.text.slice(0, 2000));
      const now = await rest('GET', `/event/eventSchema/${s1}`);
      assert.equal(now.status, 200, now.text);
      assert.ok(schemaFields(now.json).includes(FIELD), now.text.slice(0, 2000));
    });
});
