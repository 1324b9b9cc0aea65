'use strict';
// Upsert by the External_Id__c field declared in compat/fixtures/forcebus.toml.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, uniq, API_VERSION } = require('./server');

const EXT = 'External_Id__c';

let srv;
let conn;
const Account = () => conn.sobject('Account');

before(async () => {
  srv = await startServer('upsert');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

describe('upsert by external id', () => {
  it('first call inserts (created=true), second updates (created=false)', async () => {
    const ext = uniq('X');
    const first = await Account().upsert({ [EXT]: ext, Name: 'Upsert One' }, EXT);
    assert.equal(first.success, true);
    assert.equal(first.created, true);
    assert.match(first.id, /^001\w{15}$/);

    const second = await Account().upsert({ [EXT]: ext, Name: 'Upsert Two' }, EXT);
    assert.equal(second.success, true);
    assert.equal(second.created, false, 'API 59.0 answers 200 with created=false on update');
    assert.equal(second.id, first.id);

    const rec = await Account().retrieve(first.id);
    assert.equal(rec.Name, 'Upsert Two');
    assert.equal(rec[EXT], ext);
  });

  it('the record can be read back by its external id', async () => {
    const ext = uniq('read');
    const res = await Account().upsert({ [EXT]: ext, Name: 'By Ext' }, EXT);
    const rec = await conn.request(`/services/data/v${API_VERSION}/sobjects/Account/${EXT}/${encodeURIComponent(ext)}`);
    assert.equal(rec.Id, res.id);
    assert.equal(rec.Name, 'By Ext');
  });

  it('upsert of several records mixes inserts and updates', async () => {
    const existing = uniq('m-old');
    const fresh = uniq('m-new');
    const pre = await Account().upsert({ [EXT]: existing, Name: 'Before' }, EXT);
    assert.equal(pre.created, true);

    const results = await Account().upsert(
      [
        { [EXT]: existing, Name: 'After' },
        { [EXT]: fresh, Name: 'Brand new' },
      ],
      EXT,
    );
    assert.equal(results.length, 2);
    assert.ok(results.every((r) => r.success === true), JSON.stringify(results));
    assert.equal(results[0].created, false);
    assert.equal(results[0].id, pre.id);
    assert.equal(results[1].created, true);
    assert.match(results[1].id, /^001\w{15}$/);

    const recs = await Account().retrieve([pre.id, results[1].id], { fields: ['Name', EXT] });
    assert.deepEqual(recs.map((r) => r.Name), ['After', 'Brand new']);
    assert.deepEqual(recs.map((r) => r[EXT]), [existing, fresh]);
  });

  it('upsert of several records reports a per-record failure', async () => {
    const results = await Account().upsert(
      [
        { [EXT]: uniq('ok'), Name: 'fine' },
        { [EXT]: uniq('bad'), Phone: 'no name on insert' },
      ],
      EXT,
      { allOrNone: false },
    );
    assert.equal(results[0].success, true);
    assert.equal(results[1].success, false);
    assert.deepEqual(results[1].errors.map((e) => e.statusCode), ['REQUIRED_FIELD_MISSING']);
  });

  it('the external id field is unique', async () => {
    const ext = uniq('dup');
    await Account().upsert({ [EXT]: ext, Name: 'first' }, EXT);
    await assert.rejects(Account().create({ [EXT]: ext, Name: 'second' }), (err) => {
      assert.equal(err.errorCode, 'DUPLICATE_VALUE');
      return true;
    });
  });
});
