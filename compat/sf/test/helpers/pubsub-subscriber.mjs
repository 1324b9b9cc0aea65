// Child process for deploy-subscribers.test.js: the Salesforce Pub/Sub API client for Node
// (npm salesforce-pubsub-api-client, as installed in compat/pubsub-node) subscribed to
// /data/AccountChangeEvent for as long as the parent keeps its stdin open. One
// subscription, opened once (from the earliest event, so nothing written after it
// started can be missed): prints {"type":"connected"}, then one JSON line per callback
// (each event as the client decoded it), and {"type":"closed"} when stdin ends.
//
// The client (dist/client.js) looks each event's schemaId up in its own cache and, on a
// miss, asks GetSchema for it, then decodes the Avro payload and expands the header's
// field bitmaps against that schema: so an event in a schema it has not seen decodes
// only if GetSchema answers for the new id, and the new field is in the payload only if
// that schema has it.
//
// argv[2]: JSON {ready, pubsubDir, field} — `ready` is the server's ready line,
// `pubsubDir` compat/pubsub-node (whose node_modules hold the client).

import path from 'node:path';
import { pathToFileURL } from 'node:url';

const { ready, pubsubDir, field } = JSON.parse(process.argv[2]);
const TOPIC = '/data/AccountChangeEvent';
// The package's "import" entry point (its package.json exports map).
const { default: PubSubApiClient } = await import(
  pathToFileURL(path.join(pubsubDir, 'node_modules', 'salesforce-pubsub-api-client', 'dist', 'client.js')).href
);

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const causesOf = (err) => {
  const causes = [];
  for (let e = err; e; e = e.cause) causes.push(`${e.code ?? ''} ${e.message}`.trim());
  return causes;
};

const client = new PubSubApiClient(
  {
    pubSubEndpoint: `localhost:${ready.grpc.split(':').pop()}`,
    rejectUnauthorizedSsl: false,
    authType: 'user-supplied',
    accessToken: ready.access_token,
    instanceUrl: `https://localhost:${ready.http.split(':').pop()}`,
    organizationId: ready.org_id,
  },
  quiet,
);

try {
  await client.connect();
} catch (err) {
  print({ type: 'error', causes: causesOf(err) });
  process.exit(1);
}
print({ type: 'connected' });

client.subscribeFromEarliestEvent(TOPIC, (sub, type, data) => {
  if (type === 'event') {
    const h = data.payload.ChangeEventHeader;
    print({
      type: 'event',
      replayId: data.replayId,
      schemaId: data.schemaId,
      changeType: h.changeType,
      recordIds: h.recordIds,
      changedFields: h.changedFields,
      name: data.payload.Name ?? null,
      hasField: Object.prototype.hasOwnProperty.call(data.payload, field),
      field: data.payload[field] ?? null,
    });
  } else if (type === 'error') {
    print({ type: 'subscribeError', causes: causesOf(data) });
  } else if (type === 'end' || type === 'lastEvent') {
    print({ type });
  }
});

process.stdin.resume();
process.stdin.on('end', () => {
  client.close();
  print({ type: 'closed' });
  process.exit(0);
});
