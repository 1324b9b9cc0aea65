'use strict';
// Multi-record calls: jsforce sends arrays through /composite/sobjects.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, uniq, API_VERSION } = require('./server');

let srv;
let conn;
const Account = () => conn.sobject('Account');

before(async () => {
  srv = await startServer('collections');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

function assertAllSucceeded(results, n) {
  assert.ok(Array.isArray(results), 'collections answer with an array');
  assert.equal(results.length, n);
  for (const r of results) {
    assert.equal(r.success, true, JSON.stringify(r));
    assert.deepEqual(r.errors, []);
    assert.match(r.id, /^\w{18}$/);
  }
}

function statusCodes(result) {
  return (result.errors || []).map((e) => e.statusCode);
}

describe('collections', () => {
  it('create, retrieve, update, destroy several records', async () => {
    const names = [uniq('c1'), uniq('c2'), uniq('c3')];
    const created = await Account().create(names.map((Name) => ({ Name, Industry: 'Energy' })));
    assertAllSucceeded(created, 3);
    const ids = created.map((r) => r.id);
    assert.equal(new Set(ids).size, 3, 'ids are distinct');

    // retrieve many with explicit fields (POST /composite/sobjects/Account)
    const got = await Account().retrieve(ids, { fields: ['Name', 'Industry'] });
    assert.equal(got.length, 3);
    got.forEach((rec, i) => {
      // Id itself was not asked for; the record url names it.
      assert.ok(rec.attributes.url.endsWith(`/sobjects/Account/${ids[i]}`), 'records come back in request order');
      assert.equal(rec.Name, names[i]);
      assert.equal(rec.Industry, 'Energy');
      assert.equal(rec.attributes.type, 'Account');
    });

    // retrieve many without fields: jsforce describes first, then asks for all fields
    const all = await Account().retrieve(ids);
    assert.equal(all.length, 3);
    assert.equal(all[1].Name, names[1]);

    const updated = await Account().update(ids.map((Id, i) => ({ Id, Name: `${names[i]}-u` })));
    assertAllSucceeded(updated, 3);
    assert.deepEqual(updated.map((r) => r.id), ids);
    const after = await Account().retrieve(ids, { fields: ['Name'] });
    assert.deepEqual(after.map((r) => r.Name), names.map((n) => `${n}-u`));

    const destroyed = await Account().destroy(ids);
    assertAllSucceeded(destroyed, 3);
    assert.deepEqual(destroyed.map((r) => r.id), ids);

    const gone = await Account().retrieve(ids, { fields: ['Name'] });
    assert.deepEqual(gone, [null, null, null], 'deleted records come back as null');
    await assert.rejects(Account().retrieve(ids[0]), (err) => err.errorCode === 'NOT_FOUND');
  });

  it('allOrNone=false: the bad record fails, the others are saved', async () => {
    const good = uniq('partial');
    const results = await Account().create([{ Name: good }, { Phone: 'no name' }, { Name: `${good}-b` }], {
      allOrNone: false,
    });
    assert.equal(results.length, 3);
    assert.equal(results[0].success, true);
    assert.equal(results[2].success, true);
    assert.equal(results[1].success, false);
    assert.ok(!results[1].id, 'a failed record has no id');
    assert.deepEqual(statusCodes(results[1]), ['REQUIRED_FIELD_MISSING']);
    assert.deepEqual(results[1].errors[0].fields, ['Name']);
    assert.equal(typeof results[1].errors[0].message, 'string');

    const saved = await Account().retrieve(results[0].id);
    assert.equal(saved.Name, good);
  });

  it('allOrNone=true: one bad record rolls back the whole batch', async () => {
    const results = await Account().create([{ Name: uniq('aon') }, { Phone: 'no name' }], { allOrNone: true });
    assert.equal(results.length, 2);
    assert.ok(results.every((r) => r.success === false), JSON.stringify(results));
    assert.ok(results.every((r) => !r.id), 'nothing was created');
    assert.deepEqual(statusCodes(results[0]), ['ALL_OR_NONE_OPERATION_ROLLED_BACK']);
    assert.deepEqual(statusCodes(results[1]), ['REQUIRED_FIELD_MISSING']);
  });

  it('allOrNone=true with good records saves them all', async () => {
    const results = await Account().create([{ Name: uniq('aon-ok') }, { Name: uniq('aon-ok') }], {
      allOrNone: true,
    });
    assertAllSucceeded(results, 2);
  });

  it('update with allOrNone=false reports a per-record error', async () => {
    const [a, b] = await Account().create([{ Name: uniq('u1') }, { Name: uniq('u2') }]);
    const results = await Account().update(
      [
        { Id: a.id, Name: 'renamed' },
        { Id: b.id, Name: null }, // Name is required: cannot be cleared
      ],
      { allOrNone: false },
    );
    assert.equal(results[0].success, true);
    assert.equal(results[1].success, false);
    assert.deepEqual(statusCodes(results[1]), ['REQUIRED_FIELD_MISSING']);
    assert.equal((await Account().retrieve(a.id)).Name, 'renamed');
  });

  it('update with allOrNone=true rolls back the good record', async () => {
    const [a, b] = await Account().create([{ Name: 'keep-a' }, { Name: 'keep-b' }]);
    const results = await Account().update(
      [
        { Id: a.id, Name: 'changed' },
        { Id: b.id, Name: null },
      ],
      { allOrNone: true },
    );
    assert.ok(results.every((r) => r.success === false), JSON.stringify(results));
    assert.deepEqual(statusCodes(results[0]), ['ALL_OR_NONE_OPERATION_ROLLED_BACK']);
    assert.equal((await Account().retrieve(a.id)).Name, 'keep-a', 'the first update was rolled back');
  });

  it('destroy with an unknown id: allOrNone=false deletes the rest', async () => {
    const [a] = await Account().create([{ Name: uniq('d1') }]);
    const missing = await Account().create({ Name: uniq('d2') });
    await Account().destroy(missing.id);
    const results = await Account().destroy([a.id, missing.id], { allOrNone: false });
    assert.equal(results.length, 2);
    assert.equal(results[0].success, true);
    assert.equal(results[1].success, false);
    assert.ok(statusCodes(results[1]).length === 1, JSON.stringify(results[1]));
    await assert.rejects(Account().retrieve(a.id), (err) => err.errorCode === 'NOT_FOUND');
  });

  it('destroy with an unknown id: allOrNone=true deletes nothing', async () => {
    const [a] = await Account().create([{ Name: uniq('d3') }]);
    const missing = await Account().create({ Name: uniq('d4') });
    await Account().destroy(missing.id);
    const results = await Account().destroy([a.id, missing.id], { allOrNone: true });
    assert.ok(results.every((r) => r.success === false), JSON.stringify(results));
    const stillThere = await Account().retrieve(a.id);
    assert.equal(stillThere.Id, a.id);
  });

  it('mixed object types in one create call', async () => {
    const results = await conn.create(
      undefined,
      [
        { attributes: { type: 'Account' }, Name: uniq('mixed') },
        { attributes: { type: 'Contact' }, LastName: 'Mixed' },
      ],
    );
    assertAllSucceeded(results, 2);
    assert.match(results[0].id, /^001/);
    assert.match(results[1].id, /^003/);
  });
});
