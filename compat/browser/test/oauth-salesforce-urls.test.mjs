// The OAuth 2.0 web-server flow at Salesforce's URLs, driven in Debian's Chromium
// (playwright-core) the way jsforce's own web-flow test helper (test/helper/webauth in
// jsforce's repository, used by its test/oauth2.test.ts) drives a real org: open the
// authorize URL from jsforce's OAuth2, wait for the login page at `/?ec=302`, type into
// `#username` and `#password`, click `[name=Login]`, wait for
// `/setup/secur/RemoteAccessAuthorizationPage.apexp`, click `#oaapprove`, and read the
// code off the `http://localhost` callback (the helper answers it by intercepting the
// request, which playwright's routes cannot do for the end of a redirect: here a callback
// server on a loopback port answers it; forcebus runs on 127.0.0.1, as the helper needs,
// since it takes any `http://localhost` URL for the callback). Then
// jsforce's OAuth2 exchanges the code (`requestToken`), the token is used, and refreshed
// (`refreshToken`), as jsforce's web-server-flow tests do. Also: the session cookie's
// attributes, a second authorization going straight to the approval page, `#oadeny`, and a
// wrong password staying on the login page with Salesforce's message.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const jsforce = require('jsforce');
const { startServer } = require('../../node/test/server.js');

const CHROMIUM = process.env.COMPAT_CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const LOGIN_PAGE = /\/\?ec=302&startURL=/;
const APPROVAL_PAGE = /\/setup\/secur\/RemoteAccessAuthorizationPage\.apexp\?/;

describe('OAuth web-server flow at Salesforce\'s URLs in Chromium', () => {
  let srv;
  let browser;
  let context;
  let callback;
  // jsforce's test config's redirect URI is http://localhost:4000/oauth2/callback; the
  // port here is a free one.
  let redirectUri;

  before(async () => {
    srv = await startServer('oauth-salesforce-urls', { prefix: 'browser' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    context = await browser.newContext();
    callback = http.createServer((req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end('<html><body></body></html>');
    });
    await new Promise((resolve) => callback.listen(0, '127.0.0.1', resolve));
    redirectUri = `http://localhost:${callback.address().port}/oauth2/callback`;
  });

  after(async () => {
    await browser?.close();
    callback?.close();
    await srv?.stop();
  });

  const oauth2 = () => new jsforce.OAuth2({
    loginUrl: srv.baseUrl,
    clientId: srv.info.client_id,
    clientSecret: srv.info.client_secret,
    redirectUri: redirectUri,
  });

  const callbackParams = (url) => Object.fromEntries(new URL(url).searchParams);

  // The helper's login step: the fields by id, the button by name, then the navigation.
  async function logIn(page, password) {
    await page.waitForSelector('#username', { timeout: 10000 });
    await page.fill('#username', srv.info.username);
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.click('[name=Login]')]);
  }

  it('logs in at /?ec=302, approves with #oaapprove, and jsforce exchanges and refreshes', async () => {
    const auth = oauth2();
    const page = await context.newPage();
    await page.goto(auth.getAuthorizationUrl({ state: 'hello' }));
    assert.match(page.url(), LOGIN_PAGE);
    const start = new URL(page.url()).searchParams.get('startURL');
    assert.match(start, /^\/services\/oauth2\/authorize\?.*\bclient_id=/);
    await logIn(page, srv.info.password);
    assert.match(page.url(), APPROVAL_PAGE);

    const [sid] = (await context.cookies(srv.baseUrl)).filter((c) => c.name === 'forcebus_sid');
    assert.ok(sid, 'the session cookie');
    assert.equal(sid.httpOnly, true);
    assert.equal(sid.sameSite, 'Lax');
    assert.equal(sid.path, '/');
    assert.ok(sid.expires > Date.now() / 1000 && sid.expires <= Date.now() / 1000 + 7201);

    await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.click('#oaapprove')]);
    const params = callbackParams(page.url());
    await page.close();
    assert.equal(params.state, 'hello');
    assert.match(params.code, /^00D/);

    const res = await auth.requestToken(params.code);
    assert.equal(typeof res.access_token, 'string');
    assert.equal(typeof res.refresh_token, 'string');
    assert.equal(res.instance_url, srv.baseUrl);
    const conn = new jsforce.Connection({ instanceUrl: res.instance_url, accessToken: res.access_token, version: '59.0' });
    const identity = await conn.identity();
    assert.equal(identity.organization_id, srv.info.org_id);
    assert.equal(identity.username, srv.info.username);

    const refreshed = await auth.refreshToken(res.refresh_token);
    assert.notEqual(refreshed.access_token, res.access_token);
    const again = new jsforce.Connection({ instanceUrl: refreshed.instance_url, accessToken: refreshed.access_token, version: '59.0' });
    const { totalSize } = await again.query('SELECT Id FROM User');
    assert.ok(totalSize >= 1);
    // A code is used once.
    await assert.rejects(auth.requestToken(params.code), /invalid authorization code/);
  });

  it('goes straight to the approval page while signed in, and #oadeny says access_denied', async () => {
    const page = await context.newPage();
    await page.goto(oauth2().getAuthorizationUrl({ state: 'again' }));
    assert.match(page.url(), APPROVAL_PAGE);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.click('#oadeny')]);
    assert.deepEqual(callbackParams(page.url()), {
      error: 'access_denied', error_description: 'end-user denied authorization', state: 'again',
    });
    await page.close();
  });

  it('stays on the login page with Salesforce\'s message after a wrong password', async () => {
    const fresh = await browser.newContext();
    const page = await fresh.newPage();
    await page.goto(oauth2().getAuthorizationUrl({ state: 'wrong' }));
    assert.match(page.url(), LOGIN_PAGE);
    await logIn(page, 'not-the-password');
    assert.match(await page.textContent('#error'), /Please check your username and password/);
    assert.equal((await fresh.cookies(srv.baseUrl)).length, 0, 'no session cookie');
    await fresh.close();
  });
});
