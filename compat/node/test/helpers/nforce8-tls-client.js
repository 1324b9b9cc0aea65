'use strict';
// Child process for nforce8.test.js: trusts the server's CA through
// NODE_EXTRA_CA_CERTS (read only at process start), logs in with nforce8 over
// https, subscribes to /data/AccountChangeEvent (faye over https), inserts an
// Account, reads it back, waits for its CREATE, and prints one JSON line.

const nforce = require('nforce8');

async function main() {
  const [base, username, password, clientId, clientSecret] = process.argv.slice(2);
  const org = nforce.createConnection({
    clientId, clientSecret, redirectUri: 'http://localhost:3000/oauth/_callback',
    loginUri: `${base}/services/oauth2/token`, apiVersion: 'v59.0', mode: 'single',
  });
  const oauth = await org.authenticate({ username, password });
  const out = { instanceUrl: oauth.instance_url };

  const client = org.createStreamClient();
  const events = [];
  const sub = client.subscribe({ topic: '/data/AccountChangeEvent', replayId: -1 });
  sub.on('data', (d) => events.push(d));
  await new Promise((resolve, reject) => {
    sub.on('connect', resolve);
    sub.on('error', (e) => reject(new Error(`subscribe: ${e.message}`)));
  });

  const created = await org.insert({ sobject: nforce.createSObject('Account', { Name: 'over tls with nforce8' }) });
  out.id = created.id;
  out.name = (await org.getRecord({ type: 'Account', id: created.id, fields: ['Name'] })).get('Name');

  const deadline = Date.now() + 10000;
  let event;
  while (!event && Date.now() < deadline) {
    event = events.find((d) => d.payload.ChangeEventHeader.recordIds.includes(created.id));
    if (!event) await new Promise((r) => setTimeout(r, 50));
  }
  if (event) {
    const h = event.payload.ChangeEventHeader;
    out.event = { changeType: h.changeType, recordIds: h.recordIds, Name: event.payload.Name };
  }
  client.disconnect();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  // faye's retry timers would keep the process a while after the disconnect
  setTimeout(() => process.exit(0), 200);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ error: `${err.name}: ${err.message}` })}\n`);
  process.exit(1);
});
