// Child process for live-schema.test.js: the Salesforce Pub/Sub API client for Node
// subscribed to /data/AccountChangeEvent while Account's schema changes under it (a
// CustomField made, then deleted, through the Tooling API over https REST). Prints one
// JSON line per thing it saw, ending with {"type":"done"} (or {"type":"error"}). Run
// with NODE_EXTRA_CA_CERTS set to the server's CA (the REST calls go over https; the
// gRPC channel uses the client's own `rejectUnauthorizedSsl: false`).
//
// What the client does (salesforce-pubsub-api-client 5.5.2, dist/client.js): for every
// received event it looks the event's `schemaId` up in a cache keyed by schema id and,
// on a miss, calls GetSchema({schemaId}) and parses the Avro schema (avro-js); then
// decodes the payload with it, expands the header's field bitmaps (changedFields,
// nulledFields, diffFields) against that schema's fields, and flattens the union
// values. So an event in a schema the client has not seen decodes only if GetSchema
// answers for its id, and its new field is only in the payload if that schema has it.
//
// argv[2]: JSON {scenario, ready, ...} — `ready` is the server's ready line.

import PubSubApiClient from 'salesforce-pubsub-api-client';

const args = JSON.parse(process.argv[2]);
const { ready } = args;
const httpPort = ready.http.split(':').pop();
const grpcPort = ready.grpc.split(':').pop();
const TOPIC = '/data/AccountChangeEvent';
const FIELD = 'Score__c';

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const config = {
  pubSubEndpoint: `localhost:${grpcPort}`,
  rejectUnauthorizedSsl: false,
  authType: 'user-supplied',
  accessToken: ready.access_token,
  instanceUrl: `https://localhost:${httpPort}`,
  organizationId: ready.org_id,
};

/** REST over https (the server's CA through NODE_EXTRA_CA_CERTS) with the ready line's token. */
async function rest(method, path, body) {
  const res = await fetch(`https://localhost:${httpPort}/services/data/v59.0${path}`, {
    method,
    headers: { Authorization: `Bearer ${ready.access_token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const schemaNow = async () => (await rest('GET', '/sobjects/AccountChangeEvent/eventSchema')).body.uuid;

const causesOf = (err) => {
  const causes = [];
  for (let e = err; e; e = e.cause) causes.push(`${e.code ?? ''} ${e.message}`.trim());
  return causes;
};

/** What a test needs of a parsed change event (the payload as the client decoded it). */
function summary(e, phase) {
  const h = e.payload.ChangeEventHeader;
  return {
    type: 'event',
    phase,
    replayId: e.replayId,
    schemaId: e.schemaId,
    changeType: h.changeType,
    recordIds: h.recordIds,
    changedFields: h.changedFields,
    name: e.payload.Name ?? null,
    hasField: Object.prototype.hasOwnProperty.call(e.payload, FIELD),
    field: e.payload[FIELD] ?? null,
  };
}

/**
 * Subscribes with `start(callback)`; `waitFor(pred, what)` resolves with the first
 * event summary matching `pred` (fails after `ms`). Every event is printed.
 */
function subscriber(phase, start, ms = 15000) {
  const got = [];
  const waiters = [];
  let failure = null;
  const check = () => {
    for (const w of [...waiters]) {
      const hit = got.find(w.pred);
      if (hit || failure) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        if (hit) w.resolve(hit);
        else w.reject(failure);
      }
    }
  };
  start((sub, type, data) => {
    if (type === 'event') {
      got.push(summary(data, phase));
      print(got[got.length - 1]);
    } else if (type === 'error') {
      failure = data instanceof Error ? data : new Error(JSON.stringify(data));
      print({ type: 'subscribeError', phase, causes: causesOf(failure) });
    }
    check();
  });
  return {
    got,
    waitFor(pred, what) {
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, reject };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`${phase}: timed out waiting for ${what} (${got.length} events)`));
        }, ms);
        waiters.push(w);
        check();
      });
    },
  };
}

const is = (id, changeType) => (e) => e.recordIds.includes(id) && e.changeType === changeType;

const scenarios = {
  /**
   * One client subscribed from the earliest event sees an Account written before the
   * change; then a Number CustomField is made over REST, an Account created with it and
   * updated; then the field is deleted and the Account updated again. The same client
   * receives all of it. A second client (empty schema cache) subscribed afterwards
   * replays the four events.
   */
  async change(client) {
    const before = (await rest('POST', '/sobjects/Account', { Name: 'Before the field' })).body.id;
    const schemaBefore = await schemaNow();
    print({ type: 'schema', stage: 'before', uuid: schemaBefore, recordId: before });

    const live = subscriber('live', (cb) => client.subscribeFromEarliestEvent(TOPIC, cb, 10));
    await live.waitFor(is(before, 'CREATE'), 'the CREATE from before the change');

    const made = await rest('POST', '/tooling/sobjects/CustomField', {
      FullName: `Account.${FIELD}`,
      Metadata: { label: 'Score', type: 'Number', precision: 5, scale: 2 },
    });
    print({ type: 'field', status: made.status, body: made.body });
    const schemaWith = await schemaNow();
    print({ type: 'schema', stage: 'with', uuid: schemaWith });

    const after = (await rest('POST', '/sobjects/Account', { Name: 'With the field', [FIELD]: 4.5 })).body.id;
    await rest('PATCH', `/sobjects/Account/${after}`, { [FIELD]: 7.25 });
    print({ type: 'record', stage: 'with', recordId: after });
    await live.waitFor(is(after, 'UPDATE'), 'the UPDATE of the new field');

    const deleted = await rest('DELETE', `/tooling/sobjects/CustomField/${made.body.id}`);
    print({ type: 'deleted', status: deleted.status });
    const schemaWithout = await schemaNow();
    print({ type: 'schema', stage: 'without', uuid: schemaWithout });
    await rest('PATCH', `/sobjects/Account/${after}`, { Name: 'Field deleted' });
    await live.waitFor((e) => is(after, 'UPDATE')(e) && e.name === 'Field deleted', 'the UPDATE after the delete');
    client.close();

    // A new client, nothing cached: every schema id through GetSchema.
    const second = new PubSubApiClient(config, quiet);
    await second.connect();
    const replay = subscriber('replay', (cb) => second.subscribeFromEarliestEvent(TOPIC, cb, 10));
    await replay.waitFor((e) => is(after, 'UPDATE')(e) && e.name === 'Field deleted', 'the last event replayed');
    // Nothing else may follow within a short wait.
    await new Promise((r) => setTimeout(r, 500));
    second.close();
  },
};

async function main() {
  const client = new PubSubApiClient(config, quiet);
  await client.connect();
  print({ type: 'connected' });
  await scenarios[args.scenario](client);
  print({ type: 'done' });
}

main().then(
  () => process.exit(0),
  (err) => {
    print({ type: 'error', causes: causesOf(err) });
    process.exit(1);
  },
);
