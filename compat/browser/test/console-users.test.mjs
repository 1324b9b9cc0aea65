// The console's Users view in Chromium (playwright-core), against a server with the access
// fixture (compat/fixtures/forcebus-access.toml and sfdx-access-project: sync@acme.test and
// other@acme.test on Minimum Access - API Only Integrations with Sync_Integration, and
// viewer@acme.test on Minimum Access - Salesforce). Signed in with the admin key: the users
// with their profile and permission sets; sync's effective access (Account queryable,
// Salary__c hidden, Region__c not updateable); acting as sync, the Records view shows only
// the Deal__c records sync owns and the top bar says so; Back restores the administrator.
// Acting as sync (no ManageUsers): no "Act as", and the refusal shown when the console asks
// for another user's access. Photographs go where console.test.mjs puts its own.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const { startServer } = require('../../node/test/server.js');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
const FIXTURES = path.join(REPO, 'compat', 'fixtures');
const SHOTS = process.env.COMPAT_CONSOLE_SHOTS
  ? path.resolve(process.env.COMPAT_CONSOLE_SHOTS)
  : path.join(REPO, 'compat', '.work', 'console');
const CHROMIUM = process.env.COMPAT_CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const V = '68.0';
const SYNC = 'sync@acme.test';
const ADMIN = 'admin@forcebus.local';

function consoleDirArgs() {
  const v = process.env.COMPAT_CONSOLE_DIR;
  if (!v) return [];
  const dir = fs.existsSync(v) && fs.statSync(v).isDirectory() ? path.resolve(v) : path.join(REPO, 'crates', 'console', 'assets');
  return ['--console-dir', dir];
}

describe('the console\'s Users view: effective access and acting as a user', { timeout: 180000 }, () => {
  let srv;
  let browser;
  let page;
  const problems = []; // page errors and CSP violations: none may happen
  const stamp = Date.now().toString(36);
  const deals = {};

  const base = () => srv.baseUrl;
  const tokenOf = async (username, password) => {
    const res = await fetch(`${base()}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password', client_id: srv.info.client_id, client_secret: srv.info.client_secret, username, password,
      }).toString(),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.access_token;
  };
  const createAs = async (token, object, fields) => {
    const res = await fetch(`${base()}/services/data/v${V}/sobjects/${object}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(fields),
    });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    return body.id;
  };
  const shot = async (name) => {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  };
  const go = (hash) => page.evaluate((x) => { location.hash = x; }, hash);
  const cell = (object, flag) => page.locator(`#access-objects tr[data-object="${object}"] td[data-flag="${flag}"]`);
  const fieldCell = (field, flag) => page.locator(`#access-fields tr[data-field="${field}"] td[data-flag="${flag}"]`);
  const query = async (soql, expect) => {
    await go(`records?q=${encodeURIComponent(soql)}`);
    await page.locator('#result-info', { hasText: expect }).waitFor();
  };

  before(async () => {
    srv = await startServer('console-users', {
      prefix: 'browser',
      config: path.join(FIXTURES, 'forcebus-access.toml'),
      extraArgs: ['--project', path.join(FIXTURES, 'sfdx-access-project'), ...consoleDirArgs()],
    });
    deals.sync = `Sync deal ${stamp}`;
    deals.other = `Other deal ${stamp}`;
    await createAs(await tokenOf(SYNC, 'sync-secret'), 'Deal__c', { Name: deals.sync, Amount__c: 10 });
    await createAs(await tokenOf('other@acme.test', 'other-secret'), 'Deal__c', { Name: deals.other, Amount__c: 20 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.setDefaultTimeout(15000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('lists the users with their profile and permission sets', async () => {
    await page.goto(`${base()}/forcebus/console#users`);
    await page.fill('#admin-key', srv.info.admin_key);
    await page.click('#signin-admin');
    await page.waitForSelector('#org-switch');
    await page.click('#tab-users');
    const sync = page.locator(`#users tr[data-user="${SYNC}"]`);
    await sync.waitFor();
    assert.equal(await sync.locator('td.profile').textContent(), 'Minimum Access - API Only Integrations');
    assert.equal(await sync.locator('td.sets').textContent(), 'Sync Integration');
    assert.equal(await page.locator(`#users tr[data-user="viewer@acme.test"] td.sets`).textContent(), 'none');
    assert.equal(await page.locator(`#users tr[data-user="${ADMIN}"] td.profile`).textContent(), 'System Administrator');
    assert.equal(await page.locator(`#users tr[data-user="${ADMIN}"] button[data-act-as]`).count(), 0, 'not oneself');
    assert.equal(await sync.locator('button[data-act-as]').count(), 1);
  });

  it('opens sync\'s effective access: Account queryable, Salary__c hidden, Region__c read-only', async () => {
    await page.locator(`#users tr[data-user="${SYNC}"] td.profile`).click(); // the row opens it
    await page.locator('#access-h', { hasText: SYNC }).waitFor();
    await cell('Account', 'queryable').waitFor();
    assert.equal(await cell('Account', 'queryable').getAttribute('class'), 'flag yes');
    assert.equal(await cell('Account', 'deletable').getAttribute('class'), 'flag no', 'Sync_Integration has no delete on Account');
    assert.equal(await cell('Deal__c', 'deletable').getAttribute('class'), 'flag yes');
    const theirs = await page.locator('#access-objects tbody tr').count();
    const ours = (await (await fetch(`${base()}/services/data/v${V}/sobjects`, { headers: { Authorization: `Bearer ${srv.info.access_token}` } })).json()).sobjects.length;
    assert.ok(theirs > 0 && theirs < ours, `sync sees ${theirs} objects, the admin ${ours}`);

    await page.click(`#access-objects tr[data-object="Account"] a`);
    await page.locator('#access-object-title', { hasText: 'Account' }).waitFor();
    await fieldCell('Region__c', 'updateable').waitFor();
    assert.equal(await fieldCell('Region__c', 'updateable').getAttribute('class'), 'flag no');
    assert.equal(await fieldCell('Region__c', 'createable').getAttribute('class'), 'flag no');
    assert.equal(await fieldCell('Sync_Key__c', 'updateable').getAttribute('class'), 'flag yes');
    assert.equal(await page.locator('#access-fields tr[data-field="Salary__c"]').count(), 0);
    await page.locator('#access-hidden li[data-field="Salary__c"]').waitFor();
    assert.equal(await page.locator('#access-hidden li[data-field="Region__c"]').count(), 0);
    await shot('users');
  });

  it('acts as sync: the top bar says so and the records are only what sync may see', async () => {
    await go('users');
    await page.click(`#users button[data-act-as="${SYNC}"]`);
    await page.locator('#acting-as', { hasText: `Acting as ${SYNC} (Minimum Access - API Only Integrations)` }).waitFor();
    assert.equal(await page.textContent('#back-to-own'), `Back to ${ADMIN}`);
    assert.equal(await page.textContent('#user-name'), 'Sync Integration');
    // Deal__c is Private: sync reads its own deal and not other's.
    await query(`SELECT Id, Name FROM Deal__c WHERE Name LIKE '%${stamp}' ORDER BY Name`, /^1 record\b/);
    await page.locator('#results td', { hasText: deals.sync }).waitFor();
    assert.equal(await page.locator('#results td', { hasText: deals.other }).count(), 0);
    await shot('acting-as');
    // A field sync cannot see is refused.
    await go(`records?q=${encodeURIComponent('SELECT Id, Salary__c FROM Account')}`);
    await page.locator('.notice.error', { hasText: 'Salary__c' }).waitFor();
    // Sync has no ManageUsers: the Users view offers no "Act as".
    await go('users');
    await page.locator(`#users tr[data-user="${ADMIN}"]`).waitFor();
    await page.locator('#act-result .notice.info', { hasText: 'Manage Users' }).waitFor();
    assert.equal(await page.locator('#users button[data-act-as]').count(), 0);
    // Nor another user's access (it needs a token of theirs): the refusal is shown.
    await page.locator('#users tr[data-user="other@acme.test"] td.profile').click();
    await page.locator('#access .notice.error', { hasText: 'INSUFFICIENT_ACCESS' }).waitFor();
    assert.match(await page.textContent('#access'), /HTTP 403/);
    // Their own access is read with the session's token.
    await page.locator(`#users tr[data-user="${SYNC}"] td.profile`).click();
    await page.locator('#access-h', { hasText: SYNC }).waitFor();
    await cell('Deal__c', 'createable').waitFor();
    assert.equal(await cell('Deal__c', 'createable').getAttribute('class'), 'flag yes');
  });

  it('goes back to the administrator', async () => {
    await page.click('#back-to-own');
    await page.locator('#acting-as').waitFor({ state: 'detached' });
    assert.equal(await page.textContent('#user-name'), 'User');
    await query(`SELECT Id, Name FROM Deal__c WHERE Name LIKE '%${stamp}' ORDER BY Name`, /^2 records\b/);
    await page.waitForSelector('#live[data-state=connected]');
    // Acting changed nothing of sync's: the same profile and permission set.
    await go('users');
    const sync = page.locator(`#users tr[data-user="${SYNC}"]`);
    await sync.waitFor();
    assert.equal(await sync.locator('td.profile').textContent(), 'Minimum Access - API Only Integrations');
    assert.equal(await sync.locator('td.sets').textContent(), 'Sync Integration');
    assert.deepEqual(problems, []);
  });
});
