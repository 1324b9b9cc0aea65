'use strict';
// Login paths jsforce offers: SOAP login, OAuth password grant, a given
// access token. (Tests that end sessions live in session.test.js, with their
// own server, so they cannot disturb these.)

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, rawRequest, uniq, API_VERSION } = require('./server');

const TOKEN_RE = /^00D\w{12,15}![.\w]*$/;

let srv;
before(async () => {
  srv = await startServer('auth');
});
after(async () => {
  await srv?.stop();
});

function soapConnection() {
  return new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
}

function oauthConnection() {
  return new jsforce.Connection({
    oauth2: {
      clientId: srv.info.client_id,
      clientSecret: srv.info.client_secret,
      loginUrl: srv.baseUrl,
    },
    version: API_VERSION,
  });
}

describe('SOAP login (no oauth2 settings)', () => {
  it('logs in with username and password', async () => {
    const conn = soapConnection();
    const userInfo = await conn.login(srv.info.username, srv.info.password);
    assert.equal(userInfo.id, srv.info.user_id);
    assert.equal(userInfo.organizationId, srv.info.org_id);
    assert.match(conn.accessToken, TOKEN_RE);
    assert.equal(conn.instanceUrl, srv.baseUrl, 'serverUrl must point back at the server');
    // The session works for REST calls.
    const limits = await conn.limits();
    assert.equal(typeof limits.DailyApiRequests.Max, 'number');
    // jsforce builds the identity URL from loginUrl for SOAP sessions.
    const identity = await conn.identity();
    assert.equal(identity.user_id, srv.info.user_id);
    assert.equal(identity.username, srv.info.username);
  });

  it('logs in with password + security token', async () => {
    const conn = soapConnection();
    const userInfo = await conn.login(srv.info.username, srv.info.password + srv.info.security_token);
    assert.equal(userInfo.id, srv.info.user_id);
    assert.match(conn.accessToken, TOKEN_RE);
    const res = await conn.sobject('Account').create({ Name: uniq('soap-token') });
    assert.equal(res.success, true);
  });

  it("works with jsforce's default API version", async () => {
    const conn = new jsforce.Connection({ loginUrl: srv.baseUrl }); // no version: jsforce's default
    await conn.login(srv.info.username, srv.info.password);
    const res = await conn.sobject('Account').create({ Name: uniq('default-version') });
    assert.equal(res.success, true);
    const rec = await conn.sobject('Account').retrieve(res.id);
    assert.equal(rec.attributes.url, `/services/data/v${conn.version}/sobjects/Account/${res.id}`);
  });

  it('rejects a wrong password with INVALID_LOGIN', async () => {
    const conn = soapConnection();
    await assert.rejects(conn.login(srv.info.username, 'definitely-wrong'), /INVALID_LOGIN/);
    assert.equal(conn.accessToken, undefined);
  });

  it('rejects an unknown user with INVALID_LOGIN', async () => {
    const conn = soapConnection();
    await assert.rejects(conn.login('nobody@example.invalid', srv.info.password), /INVALID_LOGIN/);
  });

});

describe('OAuth password grant', () => {
  it('logs in and reads its identity', async () => {
    const conn = oauthConnection();
    const userInfo = await conn.login(srv.info.username, srv.info.password);
    assert.equal(userInfo.id, srv.info.user_id);
    assert.equal(userInfo.organizationId, srv.info.org_id);
    assert.match(conn.accessToken, TOKEN_RE);
    assert.equal(conn.instanceUrl, srv.baseUrl, 'instance_url must echo the origin used');

    const identity = await conn.identity();
    assert.equal(identity.user_id, srv.info.user_id);
    assert.equal(identity.organization_id, srv.info.org_id);
    assert.equal(identity.username, srv.info.username);
    assert.match(identity.id, new RegExp(`/id/${srv.info.org_id}/${srv.info.user_id}$`));
  });

  it('accepts password + security token', async () => {
    const conn = oauthConnection();
    const userInfo = await conn.login(srv.info.username, srv.info.password + srv.info.security_token);
    assert.equal(userInfo.id, srv.info.user_id);
  });

  it('rejects a wrong password with invalid_grant', async () => {
    const conn = oauthConnection();
    await assert.rejects(conn.login(srv.info.username, 'definitely-wrong'), (err) => {
      assert.equal(err.name, 'invalid_grant');
      return true;
    });
  });

  it('rejects a wrong client secret', async () => {
    const conn = new jsforce.Connection({
      oauth2: { clientId: srv.info.client_id, clientSecret: 'not-the-secret', loginUrl: srv.baseUrl },
      version: API_VERSION,
    });
    await assert.rejects(conn.login(srv.info.username, srv.info.password), (err) => {
      assert.match(err.name, /^invalid_(client|grant)/);
      return true;
    });
  });

});

describe('access token from the ready line', () => {
  it('works as a session with instanceUrl', async () => {
    const conn = new jsforce.Connection({
      instanceUrl: srv.baseUrl,
      accessToken: srv.info.access_token,
      version: API_VERSION,
    });
    const identity = await conn.identity();
    assert.equal(identity.user_id, srv.info.user_id);
    const res = await conn.sobject('Account').create({ Name: uniq('token') });
    assert.equal(res.success, true);
  });

  it('a bogus token is refused with INVALID_SESSION_ID', async () => {
    const conn = new jsforce.Connection({
      instanceUrl: srv.baseUrl,
      accessToken: `${srv.info.org_id}!bogus`,
      version: API_VERSION,
    });
    await assert.rejects(conn.sobject('Account').create({ Name: 'x' }), (err) => {
      assert.equal(err.errorCode, 'INVALID_SESSION_ID');
      return true;
    });
  });

  it('lists API versions without a token', async () => {
    const res = await rawRequest(srv, 'GET', '/services/data');
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.json));
    assert.ok(res.json.some((v) => v.version === API_VERSION), `versions list lacks ${API_VERSION}`);
  });
});
