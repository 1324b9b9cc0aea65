// Child process for rules.test.js: the Salesforce Pub/Sub API client for Node subscribed
// to /data/AccountChangeEvent (from the earliest retained event, so the subscription's
// start cannot race the writes) on a server whose Account has the validation rule
// Score_In_Range and the formula field Health__c (compat/fixtures/sfdx-rules-project).
// The scenario makes accepted and refused writes over REST, then waits for the event of
// a last accepted write, and prints every event it received and every write's answer as
// JSON lines, ending with {"type":"done"} (or {"type":"error"}). Run with
// NODE_EXTRA_CA_CERTS set to the server's CA; the gRPC channel uses the client's own
// `rejectUnauthorizedSsl: false`.
//
// argv[2]: JSON {scenario, ready} — `ready` is the server's ready line.

import PubSubApiClient from 'salesforce-pubsub-api-client';

const args = JSON.parse(process.argv[2]);
const { ready } = args;
const httpPort = ready.http.split(':').pop();
const grpcPort = ready.grpc.split(':').pop();
const TOPIC = '/data/AccountChangeEvent';

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A REST call over plain http with the ready line's token; prints and returns its answer. */
async function write(label, method, path, body) {
  const res = await fetch(`http://${ready.http}/services/data/v59.0${path}`, {
    method,
    headers: { Authorization: `Bearer ${ready.access_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const answer = { type: 'write', label, status: res.status, body: text ? JSON.parse(text) : null };
  print(answer);
  return answer;
}

/**
 * A Bulk API 2.0 insert of `csv` over REST (create, upload, close, poll until done);
 * prints the job's final state and its failed results.
 */
async function bulkInsert(label, csv) {
  const base = `http://${ready.http}/services/data/v59.0/jobs/ingest`;
  const auth = { Authorization: `Bearer ${ready.access_token}` };
  const call = async (method, url, body, type = 'application/json') => {
    const res = await fetch(url, { method, headers: { ...auth, 'Content-Type': type }, body });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
    return text;
  };
  const job = JSON.parse(await call('POST', base, JSON.stringify({ object: 'Account', operation: 'insert', lineEnding: 'LF' })));
  await call('PUT', `${base}/${job.id}/batches`, csv, 'text/csv');
  await call('PATCH', `${base}/${job.id}`, JSON.stringify({ state: 'UploadComplete' }));
  for (let i = 0; i < 100; i += 1) {
    const info = JSON.parse(await call('GET', `${base}/${job.id}`));
    if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) {
      const failed = await call('GET', `${base}/${job.id}/failedResults`);
      print({ type: 'bulk', label, state: info.state, processed: info.numberRecordsProcessed,
        failedRecords: info.numberRecordsFailed, failed });
      return;
    }
    await sleep(100);
  }
  throw new Error(`bulk job ${job.id} did not finish`);
}

/** What the test needs of a decoded change event. */
function summary(e) {
  const h = e.payload.ChangeEventHeader;
  return {
    type: 'event',
    replayId: e.replayId,
    changeType: h.changeType,
    recordIds: h.recordIds,
    changedFields: h.changedFields,
    name: e.payload.Name ?? null,
    score: e.payload.Score__c ?? null,
    hasScoreField: Object.prototype.hasOwnProperty.call(e.payload, 'Score__c'),
    hasFormulaField: Object.prototype.hasOwnProperty.call(e.payload, 'Health__c'),
  };
}

const scenarios = {
  /**
   * Accepted: a CREATE of "Kept" (score 10). Refused by the rule: a create (score 150), an
   * update of "Kept" (score 200), and an allOrNone collection whose second record breaks
   * the rule, and a Bulk API 2.0 insert of two rows, one refused ("Bulk kept" is accepted).
   * Accepted last, as the marker: an update of "Kept" (name and score 20). Waits
   * for the marker's event, then a little longer for anything that should not come.
   */
  async refused(client) {
    const got = [];
    let markerSeen;
    const marker = new Promise((resolve) => { markerSeen = resolve; });
    let failure;
    const failed = new Promise((_, reject) => { failure = reject; });
    client.subscribeFromEarliestEvent(TOPIC, (_sub, type, data) => {
      if (type === 'event') {
        const e = summary(data);
        got.push(e);
        print(e);
        if (e.changeType === 'UPDATE' && e.name === 'Kept again') markerSeen();
      } else if (type === 'error') {
        failure(data instanceof Error ? data : new Error(JSON.stringify(data)));
      }
    }, 100);

    const kept = await write('accepted create', 'POST', '/sobjects/Account', { Name: 'Kept', Score__c: 10 });
    await write('refused create', 'POST', '/sobjects/Account', { Name: 'Refused', Score__c: 150 });
    await write('refused update', 'PATCH', `/sobjects/Account/${kept.body.id}`, { Name: 'Refused update', Score__c: 200 });
    await write('refused collection', 'POST', '/composite/sobjects', {
      allOrNone: true,
      records: [
        { attributes: { type: 'Account' }, Name: 'Rolled back', Score__c: 30 },
        { attributes: { type: 'Account' }, Name: 'Refused in a collection', Score__c: -3 },
      ],
    });
    await bulkInsert('bulk insert', 'Name,Score__c\nBulk kept,40\nBulk refused,140\n');
    await write('accepted update', 'PATCH', `/sobjects/Account/${kept.body.id}`, { Name: 'Kept again', Score__c: 20 });

    const timeout = sleep(15000).then(() => { throw new Error(`no marker event (${got.length} events)`); });
    await Promise.race([marker, failed, timeout]);
    await sleep(1000);
    print({ type: 'received', count: got.length });
  },
};

async function main() {
  const client = new PubSubApiClient({
    pubSubEndpoint: `localhost:${grpcPort}`,
    rejectUnauthorizedSsl: false,
    authType: 'user-supplied',
    accessToken: ready.access_token,
    instanceUrl: `https://localhost:${httpPort}`,
    organizationId: ready.org_id,
  }, quiet);
  await client.connect();
  await scenarios[args.scenario](client);
  client.close();
  print({ type: 'done' });
}

main().then(
  () => process.exit(0),
  (err) => {
    print({ type: 'error', causes: [err.message, err.cause?.message].filter(Boolean) });
    process.exit(1);
  },
);
