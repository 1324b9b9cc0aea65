'use strict';
// Child process for tls.test.js: trusts the server's CA through
// NODE_EXTRA_CA_CERTS (read only at process start), logs in over https with
// jsforce, does a few calls, and prints one JSON line with what it saw.

const jsforce = require('jsforce');

async function main() {
  const [loginUrl, username, password, clientId, clientSecret] = process.argv.slice(2);
  const out = {};

  const soap = new jsforce.Connection({ loginUrl, version: '59.0' });
  await soap.login(username, password);
  out.soapInstanceUrl = soap.instanceUrl;
  out.created = await soap.sobject('Account').create({ Name: 'over tls' });
  out.retrievedName = (await soap.sobject('Account').retrieve(out.created.id)).Name;

  const oauth = new jsforce.Connection({ oauth2: { clientId, clientSecret, loginUrl }, version: '59.0' });
  await oauth.login(username, password);
  out.oauthInstanceUrl = oauth.instanceUrl;
  out.identityUser = (await oauth.identity()).username;

  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ error: `${err.name}: ${err.message}` })}\n`);
  process.exitCode = 1;
});
