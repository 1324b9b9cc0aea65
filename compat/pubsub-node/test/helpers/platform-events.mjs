// Child process for platform-events.test.js: platform events on /event/Order_Shipped__e
// (declared in fixtures/forcebus-pubsub.toml) with the Salesforce Pub/Sub API client for
// Node over TLS, printing one JSON line per thing it saw and ending with {"type":"done"}
// (or {"type":"error"}). Run with NODE_EXTRA_CA_CERTS set to the server's CA: the REST
// publish of the `rest` scenario goes over https; the gRPC channel uses the client's own
// `rejectUnauthorizedSsl: false`.
//
// What the client does (salesforce-pubsub-api-client 5.5.2, dist/client.js):
// * publish(topic, payload, correlationKey?) and publishBatch(topic, events, callback)
//   call GetTopic then GetSchema, and encode each payload with avro-js
//   (`schema.type.toBuffer(payload)`): the record's required fields CreatedDate (long)
//   and CreatedById (string) must be in the payload (the client fills in neither), and a
//   nullable field takes avro-js's wrapped union form `{ string: 'x' }` / `{ double: 1 }`
//   (a bare value throws before anything is sent). The ProducerEvent id is the
//   correlation key (publish) or the event's `id` (publishBatch), a random UUID if none.
// * publish() resolves with the whole PublishResult (`error` included), replay id
//   decoded; publishBatch's `publishResponse` callback gets results reduced to
//   `{ replayId, correlationKey }` — each result's `error` is dropped there.
// * parseEvent() returns { id, schemaId, replayId, payload } and flattens the wrapped
//   union values (`{ string: 'x' }` → 'x'); `long` goes through its CustomLongAvroType
//   (a Number when safe), so DateTime fields are epoch ms and Date fields epoch days.
//
// argv[2]: JSON {scenario, ready, ...} — `ready` is the server's ready line.

import crypto from 'node:crypto';
import PubSubApiClient from 'salesforce-pubsub-api-client';

const args = JSON.parse(process.argv[2]);
const { ready } = args;
const httpPort = ready.http.split(':').pop();
const grpcPort = ready.grpc.split(':').pop();
const TOPIC = '/event/Order_Shipped__e';

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const config = {
  pubSubEndpoint: `localhost:${grpcPort}`,
  rejectUnauthorizedSsl: false,
  authType: 'user-supplied',
  accessToken: ready.access_token,
  instanceUrl: `https://localhost:${httpPort}`,
  organizationId: ready.org_id,
};

/**
 * A payload in the form the client encodes: CreatedDate and CreatedById are required by
 * the schema — sent here as the official Python/Go examples do (epoch seconds) and as
 * the npm README does (a placeholder user id), so the test can see the server stamp
 * its own — and every custom field is a wrapped union value or null.
 */
function payload(fields) {
  const p = {
    CreatedDate: Math.floor(Date.now() / 1000),
    CreatedById: '005_________',
    Order_Number__c: null,
    Weight__c: null,
    Shipped__c: null,
    Ship_Date__c: null,
    Shipped_At__c: null,
  };
  const types = {
    Order_Number__c: 'string',
    Weight__c: 'double',
    Shipped__c: 'boolean',
    Ship_Date__c: 'int',
    Shipped_At__c: 'long',
  };
  for (const [k, v] of Object.entries(fields)) p[k] = v === null ? null : { [types[k]]: v };
  return p;
}

/** What a test needs of a parsed event (the payload as the client decoded it). */
function summary(e) {
  return { type: 'event', id: e.id, schemaId: e.schemaId, replayId: e.replayId, payload: e.payload };
}

const causesOf = (err) => {
  const causes = [];
  for (let e = err; e; e = e.cause) causes.push(`${e.code ?? ''} ${e.message}`.trim());
  return causes;
};

/**
 * Subscribes with `start(callback)`; `wait(n)` resolves once n events arrived (fails
 * after `ms`). Every event is printed.
 */
function subscriber(start, ms = 15000) {
  const got = [];
  let waiter = null;
  let failure = null;
  const check = () => {
    if (!waiter) return;
    if (failure) {
      waiter.reject(failure);
      waiter = null;
    } else if (got.length >= waiter.n) {
      waiter.resolve(got.slice());
      waiter = null;
    }
  };
  start((sub, type, data) => {
    if (type === 'event') {
      got.push(summary(data));
      print(got[got.length - 1]);
    } else if (type === 'error') {
      failure = data instanceof Error ? data : new Error(JSON.stringify(data));
      print({ type: 'subscribeError', causes: causesOf(failure) });
    }
    check();
  });
  return {
    got,
    wait(n) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out with ${got.length}/${n} events`)), ms);
        waiter = {
          n,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        check();
      });
    },
  };
}

/** publishBatch, resolving with the first publishResponse's data. */
function publishBatch(client, events) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no publishResponse within 15 s')), 15000);
    client
      .publishBatch(TOPIC, events, (info, type, data) => {
        if (type === 'publishResponse') {
          clearTimeout(timer);
          resolve(data);
        } else if (type === 'error') {
          clearTimeout(timer);
          reject(data instanceof Error ? data : new Error(JSON.stringify(data)));
        }
      })
      .catch((err) => {
        clearTimeout(timer);
        reject(err);
      });
  });
}

const scenarios = {
  /**
   * Subscribes from the earliest event, then publishes: one event with publish() and a
   * correlation key, one refused event with publish() (Order_Number__c over its length
   * of 20), and a batch of four with publishBatch — two with ids of their own, one
   * without (the client makes one up), and one without the required Order_Number__c.
   * Waits for the four accepted events, then a second for anything else.
   */
  async publish(client) {
    const sub = subscriber((cb) => client.subscribeFromEarliestEvent(TOPIC, cb, 10));

    const singleKey = crypto.randomUUID();
    const single = await client.publish(
      TOPIC,
      payload({
        Order_Number__c: 'ORD-1',
        Weight__c: 12.5,
        Shipped__c: true,
        Ship_Date__c: args.shipDate,
        Shipped_At__c: args.shippedAt,
      }),
      singleKey,
    );
    print({ type: 'published', key: singleKey, result: single });

    const refusedKey = crypto.randomUUID();
    let refused;
    try {
      refused = await client.publish(TOPIC, payload({ Order_Number__c: 'X'.repeat(21) }), refusedKey);
    } catch (err) {
      refused = { rejected: causesOf(err) };
    }
    print({ type: 'refused', key: refusedKey, result: refused });

    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    const batch = [
      { id: ids[0], payload: payload({ Order_Number__c: 'ORD-2', Weight__c: 0.25, Shipped__c: false }) },
      { payload: payload({ Order_Number__c: 'ORD-3', Ship_Date__c: args.shipDate }) },
      { id: crypto.randomUUID(), payload: payload({ Weight__c: 1, Shipped__c: true }) },
      { id: ids[1], payload: payload({ Order_Number__c: 'ORD-4', Shipped_At__c: args.shippedAt }) },
    ];
    const response = await publishBatch(client, batch);
    print({ type: 'batch', ids: batch.map((e) => e.id ?? null), response });

    await sub.wait(4);
    await sleep(1000);
    print({ type: 'received', count: sub.got.length });
  },

  /**
   * Subscribes after the replay id `args.after`, then publishes one event over REST
   * (https, the ready line's token) and waits for it on the Pub/Sub subscription.
   */
  async rest(client) {
    const sub = subscriber((cb) => client.subscribeFromReplayId(TOPIC, cb, 5, args.after));
    const res = await fetch(`https://localhost:${httpPort}/services/data/v59.0/sobjects/Order_Shipped__e`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ready.access_token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(args.fields),
    });
    print({ type: 'rest', status: res.status, body: await res.json() });
    await sub.wait(1);
    await sleep(1000);
    print({ type: 'received', count: sub.got.length });
  },
};

async function main() {
  const client = new PubSubApiClient(config, quiet);
  await client.connect();
  print({ type: 'connected' });
  await scenarios[args.scenario](client);
  client.close();
  print({ type: 'done' });
}

main().then(
  () => process.exit(0),
  (err) => {
    print({ type: 'error', causes: causesOf(err) });
    process.exit(1);
  },
);
