'use strict';
// Single-record create / retrieve / update / destroy through jsforce.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, uniq, API_VERSION } = require('./server');

let srv;
let conn;
before(async () => {
  srv = await startServer('crud');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

function expectErrorCode(code) {
  return (err) => {
    assert.equal(err.errorCode, code, `expected ${code}, got ${err.errorCode}: ${err.message}`);
    return true;
  };
}

describe('Account CRUD', () => {
  it('create → retrieve → update → destroy', async () => {
    const name = uniq('crud');
    const created = await conn.sobject('Account').create({
      Name: name,
      Phone: '555-0100',
      Industry: 'Technology',
      NumberOfEmployees: 42,
      AnnualRevenue: 1250000,
      BillingCity: 'Paris',
    });
    assert.equal(created.success, true);
    assert.deepEqual(created.errors, []);
    assert.match(created.id, /^001\w{15}$/, 'create returns an 18-char Account id');

    const rec = await conn.sobject('Account').retrieve(created.id);
    assert.equal(rec.Id, created.id);
    assert.equal(rec.attributes.type, 'Account');
    assert.equal(rec.attributes.url, `/services/data/v${API_VERSION}/sobjects/Account/${created.id}`);
    assert.equal(rec.Name, name);
    assert.equal(rec.Phone, '555-0100');
    assert.equal(rec.Industry, 'Technology');
    assert.equal(rec.NumberOfEmployees, 42);
    assert.equal(rec.AnnualRevenue, 1250000);
    assert.equal(rec.BillingCity, 'Paris');

    const upd = await conn.sobject('Account').update({ Id: created.id, Name: `${name}-2`, Phone: null });
    assert.equal(upd.success, true);
    assert.equal(upd.id, created.id);
    const rec2 = await conn.sobject('Account').retrieve(created.id);
    assert.equal(rec2.Name, `${name}-2`);
    assert.equal(rec2.Phone, null, 'null clears a field');
    assert.equal(rec2.Industry, 'Technology', 'update leaves other fields alone');

    const del = await conn.sobject('Account').destroy(created.id);
    assert.equal(del.success, true);
    assert.equal(del.id, created.id);

    await assert.rejects(conn.sobject('Account').retrieve(created.id), expectErrorCode('NOT_FOUND'));
  });

  it('retrieve with a field list returns only those fields', async () => {
    const created = await conn.sobject('Account').create({ Name: uniq('fields'), Phone: '1' });
    const rec = await conn.sobject('Account').retrieve(created.id, { fields: ['Name'] });
    assert.ok(rec.attributes.url.endsWith(`/sobjects/Account/${created.id}`));
    assert.ok('Name' in rec);
    assert.ok(!('Phone' in rec), 'Phone was not asked for');
  });

  it('accepts a 15-character id and answers with 18', async () => {
    const created = await conn.sobject('Account').create({ Name: uniq('id15') });
    const rec = await conn.sobject('Account').retrieve(created.id.slice(0, 15));
    assert.equal(rec.Id, created.id);
  });

  it('Contact with AccountId', async () => {
    const acc = await conn.sobject('Account').create({ Name: uniq('parent') });
    const con = await conn.sobject('Contact').create({
      LastName: 'Lovelace',
      FirstName: 'Ada',
      Email: 'ada@example.com',
      AccountId: acc.id,
    });
    assert.equal(con.success, true);
    assert.match(con.id, /^003\w{15}$/);
    const rec = await conn.sobject('Contact').retrieve(con.id);
    assert.equal(rec.LastName, 'Lovelace');
    assert.equal(rec.AccountId, acc.id);
    assert.equal(rec.Email, 'ada@example.com');
  });

  it('create without a required field fails with REQUIRED_FIELD_MISSING', async () => {
    await assert.rejects(
      conn.sobject('Account').create({ Phone: '555' }),
      (err) => {
        assert.equal(err.errorCode, 'REQUIRED_FIELD_MISSING');
        assert.deepEqual(err.data?.fields, ['Name']);
        return true;
      },
    );
  });

  it('unknown field fails with INVALID_FIELD', async () => {
    await assert.rejects(
      conn.sobject('Account').create({ Name: 'x', No_Such_Field__c: 1 }),
      expectErrorCode('INVALID_FIELD'),
    );
  });

  it('update and destroy of an unknown id fail', async () => {
    const created = await conn.sobject('Account').create({ Name: uniq('gone') });
    await conn.sobject('Account').destroy(created.id);
    await assert.rejects(conn.sobject('Account').update({ Id: created.id, Name: 'y' }), (err) => {
      assert.ok(['ENTITY_IS_DELETED', 'NOT_FOUND'].includes(err.errorCode), err.errorCode);
      return true;
    });
    await assert.rejects(conn.sobject('Account').destroy(created.id), (err) => {
      assert.ok(['ENTITY_IS_DELETED', 'NOT_FOUND'].includes(err.errorCode), err.errorCode);
      return true;
    });
  });

  it('unknown object fails with NOT_FOUND', async () => {
    await assert.rejects(conn.sobject('NoSuchObject__c').create({ Name: 'x' }), expectErrorCode('NOT_FOUND'));
  });
});
