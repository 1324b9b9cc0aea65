// Child process for access.test.js: the Salesforce Pub/Sub API client for Node signed in as
// one of the users of compat/fixtures/forcebus-access.toml, printing what it saw as JSON
// lines and ending with {"type":"done"} (or {"type":"error"}). Run with NODE_EXTRA_CA_CERTS
// set to the server's CA: the client's SOAP login goes over https; the gRPC channel uses
// the client's own `rejectUnauthorizedSsl: false`.
//
// argv[2]: JSON {scenario, ready, user: {username, password} or {accessToken}, topic, ...}
// — `ready` is the server's ready line.

import PubSubApiClient from 'salesforce-pubsub-api-client';

const args = JSON.parse(process.argv[2]);
const { ready } = args;
const httpPort = ready.http.split(':').pop();
const grpcPort = ready.grpc.split(':').pop();

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The client's configuration: the username-password flow (a SOAP login; forcebus wants no
 * security token on loopback) for a user with a password, else the user's own token.
 */
function config(user) {
  const common = { pubSubEndpoint: `localhost:${grpcPort}`, rejectUnauthorizedSsl: false };
  if (user.accessToken) {
    return {
      ...common,
      authType: 'user-supplied',
      accessToken: user.accessToken,
      instanceUrl: `https://localhost:${httpPort}`,
      organizationId: ready.org_id,
    };
  }
  return {
    ...common,
    authType: 'username-password',
    loginUrl: `https://localhost:${httpPort}`,
    username: user.username,
    password: user.password,
    userToken: '',
  };
}

/** A REST PATCH of a record with the administrator's token (the ready line's). */
async function patch(sobject, id, body) {
  const res = await fetch(`http://${ready.http}/services/data/v59.0/sobjects/${sobject}/${id}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${ready.access_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 204) throw new Error(`PATCH ${id}: ${res.status} ${await res.text()}`);
}

/** POSTs `body` to `path` (under /services/data/v59.0) as the administrator. */
async function post(path, body) {
  const res = await fetch(`http://${ready.http}/services/data/v59.0${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ready.access_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

/** What the test needs of a decoded change event. */
function summary(e) {
  const h = e.payload.ChangeEventHeader;
  return {
    type: 'event',
    changeType: h.changeType,
    recordIds: h.recordIds,
    changedFields: h.changedFields,
    fields: Object.keys(e.payload),
    name: e.payload.Name ?? null,
    salary: e.payload.Salary__c ?? null,
    region: e.payload.Region__c ?? null,
  };
}

/** A gRPC error as the test reads it: status code, details and the `error-code` trailer. */
function grpcError(err) {
  return {
    type: 'grpcError',
    code: err?.code ?? null,
    details: err?.details ?? err?.message ?? String(err),
    errorCode: err?.metadata?.get?.('error-code')?.[0] ?? null,
  };
}

const scenarios = {
  /**
   * From the earliest retained event: the events of args.recordId until args.count of them
   * arrived. With args.update, once the record's CREATE arrived, the administrator updates
   * the record (so that event comes live), after making each of args.grants (`[path, body]`
   * REST creations: a grant that changes what the subscriber may see, mid-stream).
   */
  async changes(client) {
    await new Promise((resolve, reject) => {
      let got = 0;
      const timer = setTimeout(() => reject(new Error(`timed out with ${got}/${args.count} events`)), 15000);
      client.subscribeFromEarliestEvent(args.topic, (_sub, type, data) => {
        if (type === 'event') {
          const e = summary(data);
          if (!e.recordIds.includes(args.recordId)) return;
          got += 1;
          print(e);
          if (e.changeType === 'CREATE' && args.update) {
            (async () => {
              for (const [path, body] of args.grants ?? []) await post(path, body);
              await patch('Account', args.recordId, args.update);
            })().catch((err) => { clearTimeout(timer); reject(err); });
          }
          if (got === args.count) {
            clearTimeout(timer);
            resolve();
          }
        } else if (type === 'error') {
          clearTimeout(timer);
          reject(data instanceof Error ? data : new Error(JSON.stringify(data)));
        }
      }, 100);
    });
  },

  /**
   * A subscription (from the earliest retained event, so that anything it were allowed to
   * see would come) that the server is expected to refuse: prints the stream's error.
   */
  async refused(client) {
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        print({ type: 'noError' });
        resolve();
      }, 10000);
      client.subscribeFromEarliestEvent(args.topic, (_sub, type, data) => {
        if (type === 'error') {
          clearTimeout(timer);
          print(grpcError(data));
          resolve();
        } else if (type === 'event') {
          print(summary(data));
        }
      }, 10);
    });
  },
};

async function main() {
  const client = new PubSubApiClient(config(args.user), quiet);
  try {
    await client.connect();
  } catch (err) {
    const causes = [];
    for (let e = err; e; e = e.cause) causes.push(e.message);
    print({ type: 'connectFailed', causes });
    print({ type: 'done' });
    return;
  }
  print({ type: 'connected' });
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
