// Child process for pubsub.test.js: runs one scenario with the Salesforce Pub/Sub API
// client for Node against forcebus and prints one JSON line per thing it saw, ending
// with {"type":"done"} (or {"type":"error"}). Run with NODE_EXTRA_CA_CERTS set to the
// server's CA (read only at process start): the client's jsforce calls (SOAP and OAuth
// logins, the tooling query of managed subscriptions) go over https; the gRPC channel
// itself uses the client's own `rejectUnauthorizedSsl: false`.
//
// argv[2]: JSON {scenario, ready, auth, ...} — `ready` is the server's ready line.

import PubSubApiClient from 'salesforce-pubsub-api-client';

const args = JSON.parse(process.argv[2]);
const { ready } = args;
const httpPort = ready.http.split(':').pop();
const grpcPort = ready.grpc.split(':').pop();
const TOPIC = '/data/AccountChangeEvent';

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function config(auth) {
  const common = { pubSubEndpoint: `localhost:${grpcPort}`, rejectUnauthorizedSsl: false };
  switch (auth) {
    case 'user-supplied':
      return {
        ...common,
        authType: 'user-supplied',
        accessToken: ready.access_token,
        instanceUrl: `https://localhost:${httpPort}`,
        organizationId: ready.org_id,
      };
    case 'username-password':
      return {
        ...common,
        authType: 'username-password',
        loginUrl: `https://localhost:${httpPort}`,
        username: ready.username,
        password: ready.password,
        userToken: ready.security_token,
      };
    case 'oauth-client-credentials':
      return {
        ...common,
        authType: 'oauth-client-credentials',
        loginUrl: `https://localhost:${httpPort}`,
        clientId: ready.client_id,
        clientSecret: ready.client_secret,
      };
    default:
      throw new Error(`unknown auth ${auth}`);
  }
}

/** REST over plain http with the ready line's token. */
async function rest(method, path, body) {
  const res = await fetch(`http://${ready.http}/services/data/v59.0${path}`, {
    method,
    headers: { Authorization: `Bearer ${ready.access_token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function soapUndelete(id) {
  const envelope = `<?xml version="1.0" encoding="UTF-8"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>${ready.access_token}</sessionId></SessionHeader></se:Header><se:Body><undelete xmlns="urn:partner.soap.sforce.com"><ids>${id}</ids></undelete></se:Body></se:Envelope>`;
  const res = await fetch(`http://${ready.http}/services/Soap/u/59.0`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml', SOAPAction: '""' },
    body: envelope,
  });
  const text = await res.text();
  if (res.status !== 200 || !text.includes('<success>true</success>')) {
    throw new Error(`undelete ${id}: ${res.status} ${text}`);
  }
}

/** What a test needs of a parsed change event. */
function summary(e) {
  const h = e.payload.ChangeEventHeader;
  return {
    type: 'event',
    replayId: e.replayId,
    id: e.id,
    schemaId: e.schemaId,
    changeType: h.changeType,
    recordIds: h.recordIds,
    changedFields: h.changedFields,
    nulledFields: h.nulledFields,
    name: e.payload.Name ?? null,
    phone: e.payload.Phone ?? null,
    billingCity: e.payload.BillingAddress?.City ?? null,
  };
}

/**
 * Subscribes with `start(client, callback)` and resolves once `want` events arrived,
 * calling `onEvent(client, event, count)` for each. Fails after `ms`.
 */
function collect(client, want, start, { onEvent = () => {}, onLast = () => {}, ms = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length}/${want} events`)), ms);
    const started = start((sub, type, data) => {
      if (type === 'event') {
        got.push(summary(data));
        print(got[got.length - 1]);
        onEvent(data, got.length);
        if (got.length === want) {
          clearTimeout(timer);
          resolve(got);
        }
      } else if (type === 'lastEvent') {
        print({ type: 'lastEvent', received: got.length });
        onLast(sub);
      } else if (type === 'error') {
        clearTimeout(timer);
        reject(data instanceof Error ? data : new Error(JSON.stringify(data)));
      } else if (type === 'grpcKeepAlive') {
        print({ type: 'keepalive', lastReplayId: sub.lastReplayId });
      }
    });
    // subscribeWithManagedSubscription is async (its tooling query can fail).
    Promise.resolve(started).catch((err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A REST write retried until a server answers it (while no node serves, none does). */
async function writeWhenServed(name) {
  for (let i = 0; i < 120; i += 1) {
    try {
      return await rest('POST', '/sobjects/Account', { Name: name });
    } catch {
      await sleep(500);
    }
  }
  throw new Error(`no server took the write of ${name}`);
}

/**
 * Subscribed, one event received, then the node serving the org (args.killPid) is killed:
 * the stream fails (whether it went to that node or through another that passed it on);
 * another node takes the org over (one waiting for the same ports, or one already
 * running); the subscriber, as a user's code does, makes a new client and resubscribes
 * from the last replay id it got (again until a node serves the org), and receives what
 * was written meanwhile and after.
 */
async function failoverScenario(first) {
  let last = null;
  // The first stream: one event, then the error the kill makes (the client passes the
  // stream's error to the callback; closing the client before it comes would leave the
  // stream's error unhandled).
  let failed;
  const streamFailed = new Promise((resolve) => { failed = resolve; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no first event')), 15000);
    // From the earliest: the write below may commit before the stream is open.
    first.subscribeFromEarliestEvent(TOPIC, (_sub, type, data) => {
      if (type === 'event') {
        last = data.replayId;
        print(summary(data));
        clearTimeout(timer);
        resolve();
      } else if (type === 'error' || type === 'end') {
        print({ type: 'streamEnded', how: type });
        failed();
      }
    }, 100);
    rest('POST', '/sobjects/Account', { Name: 'Before' }).catch(reject);
  });
  print({ type: 'killing', pid: args.killPid });
  process.kill(args.killPid, 'SIGKILL');
  await Promise.race([streamFailed, sleep(10000)]);
  first.close();
  // Written once another node serves the org, before the subscriber is back.
  await writeWhenServed('While away');
  for (let attempt = 1; attempt <= 60; attempt += 1) {
    const client = new PubSubApiClient(config(args.auth), quiet);
    try {
      await client.connect();
      print({ type: 'resubscribing', from: last, attempt });
      const stored = last;
      await collect(client, 2, (cb) => {
        const r = client.subscribeFromReplayId(TOPIC, cb, 100, stored);
        writeWhenServed('After').catch((err) => print({ type: 'error', causes: [err.message] }));
        return r;
      }, { onEvent: (e) => { last = e.replayId; }, ms: 20000 });
      client.close();
      return;
    } catch (err) {
      print({ type: 'retry', attempt, cause: err.message });
      client.close();
      await sleep(500);
    }
  }
  throw new Error('never resubscribed');
}

const scenarios = {
  failover: failoverScenario,

  /** CREATE, UPDATE (Name + Phone), UPDATE (Phone to null, BillingCity), DELETE, UNDELETE. */
  async crud(client) {
    const { id } = await rest('POST', '/sobjects/Account', { Name: 'Pubsub Co', Phone: '555-0100' });
    await rest('PATCH', `/sobjects/Account/${id}`, { Name: 'Acme', Phone: '555-0199' });
    await rest('PATCH', `/sobjects/Account/${id}`, { Phone: null, BillingCity: 'Paris' });
    await rest('DELETE', `/sobjects/Account/${id}`);
    await soapUndelete(id);
    print({ type: 'record', id });
    // The five retained events, then one live event on the same stream.
    await collect(client, 6, (cb) => client.subscribeFromEarliestEvent(TOPIC, cb, 10), {
      onEvent: (_e, count) => {
        if (count === 5) {
          rest('PATCH', `/sobjects/Account/${id}`, { Name: 'Live' }).catch((err) =>
            print({ type: 'error', causes: [err.message] }),
          );
        }
      },
    });
  },

  /** Two events per request; on lastEvent, requestAdditionalEvents for two more. */
  async additional(client) {
    for (const n of ['R1', 'R2', 'R3', 'R4', 'R5']) {
      await rest('POST', '/sobjects/Account', { Name: n });
    }
    let asked = 0;
    await collect(client, 4, (cb) => client.subscribeFromEarliestEvent(TOPIC, cb, 2), {
      onLast: () => {
        if (asked === 0) {
          asked += 1;
          print({ type: 'requestAdditionalEvents', n: 2 });
          client.requestAdditionalEvents(TOPIC, 2);
        }
      },
    });
  },

  /**
   * Five events of credit, then a quiet longer than the server's idle timeout, then ten
   * changes: the five, lastEvent, requestAdditionalEvents for five more, the other five.
   */
  async quietCredit(client) {
    let asked = 0;
    const subscribed = collect(client, 10, (cb) => client.subscribe(TOPIC, cb, 5), {
      ms: args.quietMs + 15000,
      onLast: () => {
        if (asked === 0) {
          asked += 1;
          print({ type: 'requestAdditionalEvents', n: 5 });
          client.requestAdditionalEvents(TOPIC, 5);
        }
      },
    });
    await new Promise((r) => setTimeout(r, args.quietMs));
    for (let i = 1; i <= 10; i += 1) {
      await rest('POST', '/sobjects/Account', { Name: `Quiet ${i}` });
    }
    await subscribed;
  },

  /** Everything retained, printing the last replay id (for a resume after a restart). */
  async earliest(client) {
    await collect(client, args.count, (cb) => client.subscribeFromEarliestEvent(TOPIC, cb, args.count));
  },

  /** Writes one more change, then subscribes from a stored replay id. */
  async resume(client) {
    await rest('POST', '/sobjects/Account', { Name: args.name });
    await collect(client, args.count, (cb) => client.subscribeFromReplayId(TOPIC, cb, 10, args.replayId));
    // Nothing else may follow within a short wait.
    await new Promise((r) => setTimeout(r, 1000));
  },

  /** Managed subscribe by developer name (or id), committing each event's replay id. */
  async managed(client) {
    const events = await collect(client, args.count, (cb) =>
      client.subscribeWithManagedSubscription(args.subscription, cb, args.count),
    );
    const subId = args.subscriptionId;
    for (const e of events) {
      const reqId = client.commitReplayId(subId, e.replayId);
      print({ type: 'commit', requestId: reqId, replayId: e.replayId });
    }
    // Let the commit answers arrive (they reach the callback as keepalives).
    await new Promise((r) => setTimeout(r, 1000));
  },

  /** Publishing to a change event topic is refused (GetTopic, GetSchema, then Publish). */
  async publish(client) {
    const header = {
      entityName: 'Account',
      recordIds: [],
      changeType: 'CREATE',
      changeOrigin: '',
      transactionKey: 'k',
      sequenceNumber: 1,
      commitTimestamp: Date.now(),
      commitNumber: 1,
      commitUser: ready.user_id,
      nulledFields: [],
      diffFields: [],
      changedFields: [],
    };
    try {
      const r = await client.publish(TOPIC, { ChangeEventHeader: header });
      print({ type: 'published', r });
    } catch (err) {
      const causes = [];
      for (let e = err; e; e = e.cause) causes.push(`${e.code ?? ''} ${e.message}`);
      print({ type: 'publishError', causes });
    }
  },
};

async function main() {
  const client = new PubSubApiClient(config(args.auth), quiet);
  await client.connect();
  print({ type: 'connected', auth: args.auth });
  await scenarios[args.scenario](client);
  client.close();
  print({ type: 'done' });
}

main().then(
  () => process.exit(0),
  (err) => {
    const causes = [];
    for (let e = err; e; e = e.cause) causes.push(e.message);
    print({ type: 'error', causes });
    process.exit(1);
  },
);
