// Child process for controls.test.js: the Salesforce Pub/Sub API client for Node against a
// forcebus server whose test controls (/forcebus/v1/control, authorised with the ready
// line's admin_key) make Salesforce's Pub/Sub failures happen. Prints one JSON line per
// thing the client reported and ends with {"type":"done"} (or {"type":"error"}). Run with
// NODE_EXTRA_CA_CERTS set to the server's CA; the gRPC channel uses the client's own
// `rejectUnauthorizedSsl: false`.
//
// Every subscribe callback is printed as {"type":"cb","cb":<callback type>,"t":<ms>,...}
// with what the client handed over: for `error` the error object's message / code /
// details / metadata (grpc-js's ServiceError: `code`, `details`, `metadata.getMap()`; for
// an EventParseError its `cause` chain), for `grpcStatus` the status object, for `event`
// the decoded change event's summary. `t` is milliseconds since the scenario started.
//
// What the client does (salesforce-pubsub-api-client 5.5.2, dist/client.js):
// * the callback types are `event`, `lastEvent`, `error`, `end`, `grpcStatus` and
//   `grpcKeepAlive` (capital A; its README's tables say `grpcKeepalive`, and that it carries
//   `{ latestReplayId, pendingNumRequested }`, but the callback gets no data: the latest
//   replay id is only in `subscription.lastReplayId`);
// * a stream that ends with a non-OK status reaches the callback as grpc-js emits it:
//   `error` (the ServiceError), `grpcStatus` (the same status), then `end`, after which the
//   client forgets the subscription — no retry, no resubscribe; until `end` the failed
//   stream stays cached under its topic, so a subscribe to that topic from the `error`
//   callback is written to the dead stream and never heard of again;
// * subscribing calls neither GetTopic nor GetSchema: GetSchema is called (once per schema
//   id, then cached) when the first event with that schema is decoded; a failure there
//   reaches the callback as `error` with an EventParseError and the event is dropped;
// * publish() calls GetTopic then GetSchema before Publish.
//
// argv[2]: JSON {scenario, ready, ...} — `ready` is the server's ready line.

import PubSubApiClient from 'salesforce-pubsub-api-client';

const args = JSON.parse(process.argv[2]);
const { ready } = args;
const httpPort = ready.http.split(':').pop();
const grpcPort = ready.grpc.split(':').pop();
const TOPIC = '/data/AccountChangeEvent';
const START = Date.now();

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Date.now() - START;

function newClient() {
  return new PubSubApiClient(
    {
      pubSubEndpoint: `localhost:${grpcPort}`,
      rejectUnauthorizedSsl: false,
      authType: 'user-supplied',
      accessToken: ready.access_token,
      instanceUrl: `https://localhost:${httpPort}`,
      organizationId: ready.org_id,
    },
    quiet,
  );
}

async function http(method, path, body, token) {
  const res = await fetch(`http://${ready.http}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** REST over plain http with the ready line's token. */
const rest = (method, path, body) => http(method, `/services/data/v59.0${path}`, body, ready.access_token);

/** A test control, with the admin key; printed so the test sees it was accepted. */
async function control(method, path, body) {
  const res = await http(method, `/forcebus/v1/control${path}`, body, ready.admin_key);
  print({ type: 'control', t: now(), method, path, body: body ?? null });
  return res;
}

/** Plain data of what the client handed to the callback with an `error` or `grpcStatus`. */
function describeError(err) {
  if (!err || typeof err !== 'object') return { value: String(err) };
  const out = {
    name: err.constructor?.name ?? null,
    message: err.message ?? null,
    code: err.code ?? null,
    details: err.details ?? null,
    metadata: typeof err.metadata?.getMap === 'function' ? err.metadata.getMap() : null,
  };
  if ('replayId' in err) out.replayId = err.replayId ?? null;
  if (err.cause) out.cause = describeError(err.cause);
  return out;
}

/** What a test needs of a parsed change event. */
function summary(e) {
  const h = e.payload.ChangeEventHeader;
  return {
    replayId: e.replayId,
    changeType: h.changeType,
    recordIds: h.recordIds,
    commitTimestamp: h.commitTimestamp,
    name: e.payload.Name ?? null,
  };
}

/**
 * A subscribe callback printing everything it gets (tagged with `label`), plus a way to
 * wait for a condition on what it has seen so far.
 */
function recorder(label = 'sub') {
  const seen = [];
  const waiters = [];
  const callback = (sub, type, data) => {
    const line = { type: 'cb', label, cb: type, t: now() };
    if (type === 'event') Object.assign(line, summary(data));
    else if (type === 'error' || type === 'grpcStatus') line.data = describeError(data);
    else if (type === 'grpcKeepAlive') Object.assign(line, { lastReplayId: sub.lastReplayId, hasData: data !== undefined });
    seen.push(line);
    print(line);
    for (const w of [...waiters]) w();
  };
  /** Resolves once `pred(seen)` holds; rejects after `ms`. */
  const until = (pred, ms, what) =>
    new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        if (pred(seen)) {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve(seen);
          return true;
        }
        return false;
      };
      waiters.push(check);
      if (check()) return;
      timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(seen)}`));
      }, ms);
    });
  return { callback, until, seen };
}

const count = (seen, cb) => seen.filter((l) => l.cb === cb).length;

const scenarios = {
  /**
   * A failure armed (by the test) for the next Subscribe: subscribe, record everything up
   * to `end` and for half a second after it; then, after `end`, subscribe again on the same
   * client from the earliest event and get the Account the test created.
   */
  async subscribeFail(client) {
    const first = recorder('failed');
    client.subscribe(TOPIC, first.callback, 5);
    await first.until((s) => count(s, 'end') > 0, 10000, 'end');
    await sleep(500);
    const again = recorder('again');
    client.subscribeFromEarliestEvent(TOPIC, again.callback, 1);
    await again.until((s) => count(s, 'lastEvent') > 0, 10000, 'lastEvent');
  },

  /**
   * GetSchema armed to fail: the retained events are decoded as they arrive; the first
   * one's schema lookup fails, the next one's works (the schema is then cached).
   */
  async getSchemaFail(client) {
    const rec = recorder();
    client.subscribeFromEarliestEvent(TOPIC, rec.callback, args.count);
    await rec.until((s) => count(s, 'event') + count(s, 'error') >= args.count, 10000, 'every event decoded or failed');
    await sleep(1000);
  },

  /** GetTopic armed to fail: publish() to a platform event, then again once it is spent. */
  async getTopicFail(client) {
    const payload = {
      CreatedDate: Date.now(),
      CreatedById: '005_________',
      Order_Number__c: { string: 'GT-1' },
      Weight__c: null,
      Shipped__c: null,
      Ship_Date__c: null,
      Shipped_At__c: null,
    };
    for (const attempt of [1, 2]) {
      try {
        const r = await client.publish('/event/Order_Shipped__e', payload, `attempt-${attempt}`);
        print({ type: 'published', attempt, replayId: r.replayId, correlationKey: r.correlationKey, error: r.error ?? null });
      } catch (err) {
        print({ type: 'publishError', attempt, error: describeError(err) });
      }
    }
  },

  /** A subscription that got one event is ended by `end_streams`. */
  async endStreams(client) {
    const rec = recorder();
    client.subscribeFromEarliestEvent(TOPIC, rec.callback);
    await rec.until((s) => count(s, 'event') >= 1, 10000, 'the first event');
    await control('POST', '/pubsub', { end_streams: true });
    await rec.until((s) => count(s, 'end') > 0, 10000, 'end');
    await sleep(500);
  },

  /** A subscription that got one event is reset at the HTTP/2 layer by `reset_streams`. */
  async resetStreams(client) {
    const rec = recorder();
    client.subscribeFromEarliestEvent(TOPIC, rec.callback);
    await rec.until((s) => count(s, 'event') >= 1, 10000, 'the first event');
    await control('POST', '/pubsub', { reset_streams: true });
    await rec.until((s) => count(s, 'end') > 0, 10000, 'end');
    await sleep(500);
  },

  /**
   * Keepalives (the server sends one after every second without a response here) on an
   * open subscription: two, then none while suppressed for 2.5 s (an event still arrives),
   * then two more after DELETE /control.
   */
  async keepalives(client) {
    const rec = recorder();
    client.subscribe(TOPIC, rec.callback);
    await rec.until((s) => count(s, 'grpcKeepAlive') >= 2, 5000, 'two keepalives');
    await control('POST', '/pubsub', { suppress_keepalives: true });
    await sleep(1000);
    const { id } = await rest('POST', '/sobjects/Account', { Name: 'While suppressed' });
    print({ type: 'record', t: now(), id });
    await rec.until((s) => count(s, 'event') >= 1, 5000, 'the event sent while keepalives are suppressed');
    await sleep(1500);
    await control('DELETE', '');
    const before = count(rec.seen, 'grpcKeepAlive');
    await rec.until((s) => count(s, 'grpcKeepAlive') >= before + 2, 5000, 'two keepalives after DELETE /control');
  },

  /**
   * `delivery_delay_ms` armed by the test: an open subscription (seen by its first
   * keepalive), a REST create, the event's arrival; then the same with the delay cleared.
   */
  async delay(client) {
    const rec = recorder();
    client.subscribe(TOPIC, rec.callback);
    await rec.until((s) => count(s, 'grpcKeepAlive') >= 1, 5000, 'a first keepalive');
    for (const [i, name] of ['Delayed', 'Undelayed'].entries()) {
      if (i === 1) await control('DELETE', '');
      const sent = now();
      const { id } = await rest('POST', '/sobjects/Account', { Name: name });
      const returned = now();
      const [e] = await rec
        .until((s) => s.some((l) => l.cb === 'event' && l.name === name), 10000, `the ${name} event`)
        .then((s) => s.filter((l) => l.cb === 'event' && l.name === name));
      print({ type: 'timing', name, id, sent, returned, arrived: e.t });
    }
  },

  /**
   * The earliest retained event's replay id, stored; the org clock moves 73 hours on
   * (retention is 72) and a new Account is created; a new client subscribing from the
   * stored id gets the error, and on `end` falls back to the earliest retained event, as
   * Salesforce's docs tell clients to.
   */
  async agedOut() {
    const a = newClient();
    await a.connect();
    const first = recorder('stored');
    a.subscribeFromEarliestEvent(TOPIC, first.callback, 1);
    await first.until((s) => count(s, 'lastEvent') > 0, 10000, 'the first event');
    const stored = first.seen.find((l) => l.cb === 'event').replayId;
    a.close();

    await control('POST', '/clock', { advance_secs: 73 * 3600 });
    const { id } = await rest('POST', '/sobjects/Account', { Name: 'Fresh' });
    print({ type: 'record', t: now(), id });

    const b = newClient();
    await b.connect();
    const resumed = recorder('fromReplayId');
    const recovered = recorder('recovery');
    let fellBack = false;
    b.subscribeFromReplayId(
      TOPIC,
      (sub, type, data) => {
        resumed.callback(sub, type, data);
        if (type === 'end' && !fellBack) {
          fellBack = true;
          b.subscribeFromEarliestEvent(TOPIC, recovered.callback, 2);
        }
      },
      2,
      stored,
    );
    await resumed.until((s) => count(s, 'end') > 0, 10000, 'end');
    await recovered.until((s) => count(s, 'event') >= 1, 10000, 'the recovered event');
    // Nothing older may follow (two were asked for).
    await sleep(1000);
    b.close();
  },

  /**
   * A failure armed (by the test) for the next Subscribe; the application resubscribes
   * from its `error` callback, before `end`: the client finds the failed stream still in
   * its map and writes the request to it. Then, after `end`, a resubscribe that works.
   */
  async resubscribeInError(client) {
    const first = recorder('failed');
    const inError = recorder('inError');
    let tried = false;
    client.subscribe(
      TOPIC,
      (sub, type, data) => {
        first.callback(sub, type, data);
        if (type === 'error' && !tried) {
          tried = true;
          try {
            client.subscribeFromEarliestEvent(TOPIC, inError.callback, 1);
            print({ type: 'resubscribed', t: now() });
          } catch (err) {
            print({ type: 'resubscribeThrew', error: describeError(err) });
          }
        }
      },
      5,
    );
    await first.until((s) => count(s, 'end') > 0, 10000, 'end');
    await sleep(1500);
    const after = recorder('afterEnd');
    client.subscribeFromEarliestEvent(TOPIC, after.callback, 1);
    await after.until((s) => count(s, 'lastEvent') > 0, 10000, 'lastEvent');
  },
};

async function main() {
  let client = null;
  if (scenarios[args.scenario].length > 0) {
    client = newClient();
    await client.connect();
  }
  print({ type: 'connected' });
  await scenarios[args.scenario](client);
  client?.close();
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
