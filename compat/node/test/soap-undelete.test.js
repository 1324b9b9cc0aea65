'use strict';
// Recycle bin: destroy, then undelete through the SOAP partner API.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, uniq, API_VERSION } = require('./server');

let srv;
let conn;
before(async () => {
  srv = await startServer('undelete');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

describe('undelete (SOAP)', () => {
  it('brings a destroyed record back', async () => {
    const name = uniq('undel');
    const created = await conn.sobject('Account').create({ Name: name, Phone: '555-0199' });
    await conn.sobject('Account').destroy(created.id);
    await assert.rejects(conn.sobject('Account').retrieve(created.id), (err) => err.errorCode === 'NOT_FOUND');

    const results = await conn.soap.undelete([created.id]);
    assert.equal(results.length, 1);
    assert.equal(results[0].success, true, JSON.stringify(results));
    assert.equal(results[0].id, created.id);

    const rec = await conn.sobject('Account').retrieve(created.id);
    assert.equal(rec.Name, name);
    assert.equal(rec.Phone, '555-0199');
  });

  it('undeletes several records and reports a per-record failure', async () => {
    const recs = await conn.sobject('Account').create([{ Name: uniq('u1') }, { Name: uniq('u2') }]);
    const ids = recs.map((r) => r.id);
    await conn.sobject('Account').destroy(ids);
    const live = await conn.sobject('Account').create({ Name: uniq('live') });

    const results = await conn.soap.undelete([...ids, live.id]);
    assert.equal(results.length, 3);
    assert.equal(results[0].success, true);
    assert.equal(results[1].success, true);
    assert.equal(results[2].success, false, 'a record that is not deleted cannot be undeleted');
    const errors = [].concat(results[2].errors || []);
    assert.ok(errors.length >= 1 && errors[0].statusCode, JSON.stringify(results[2]));

    const back = await conn.sobject('Account').retrieve(ids, { fields: ['Id', 'Name'] });
    assert.deepEqual(back.map((r) => r?.Id), ids);
  });

  it('a SOAP call with a bad session fails with INVALID_SESSION_ID', async () => {
    const stale = new jsforce.Connection({
      instanceUrl: srv.baseUrl,
      accessToken: `${srv.info.org_id}!not-a-session`,
      version: API_VERSION,
    });
    await assert.rejects(stale.soap.undelete(['001000000000001AAA']), /INVALID_SESSION_ID/);
  });
});
