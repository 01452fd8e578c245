// knex (query builder, `pg` driver) against a running `cip serve`: the SQL a Node back end
// builds — quoted identifiers, `?` bindings turned into $n, LIMIT / OFFSET and whereIn
// parameters, aggregates, the schema builder's CREATE TABLE (varchar, timestamptz), its
// information_schema introspection (hasTable, hasColumn, columnInfo), inserts, updates,
// deletes and transactions. Usage: node knex_client.js PORT
'use strict';
const assert = require('node:assert/strict');

async function reads(knex) {
  const page = await knex('customer_segments')
    .select('member_id', 'segment_id')
    .where('segment_id', 'vip')
    .orderBy('member_id')
    .limit(3)
    .offset(1);
  const every = await knex('customer_segments').select('member_id').where({ segment_id: 'vip' }).orderBy('member_id').limit(4);
  assert.deepEqual(page.map((r) => r.member_id), every.slice(1, 4).map((r) => r.member_id));
  assert.ok(page.every((r) => r.segment_id === 'vip'));

  const counts = await knex('customer_segments')
    .select('segment_id')
    .count('* as n')
    .whereIn('segment_id', ['vip', 'loyal', 'new'])
    .groupBy('segment_id')
    .orderBy('segment_id');
  assert.ok(counts.length > 0 && counts.every((r) => ['loyal', 'new', 'vip'].includes(r.segment_id)), JSON.stringify(counts));
  const [total] = await knex('members').countDistinct('member_id as n');
  assert.ok(Number(total.n) > 0);
  const [agg] = await knex('visits').where('started_at', '>', new Date('2000-01-01T00:00:00Z')).max('started_at as last').min('started_at as first');
  assert.ok(agg.last instanceof Date && agg.first instanceof Date && agg.first <= agg.last, JSON.stringify(agg));
  const raw = await knex.raw('SELECT ?::text AS who, ? + 1 AS n', ['cip', 41]);
  assert.equal(raw.rows[0].who, 'cip');
  assert.equal(Number(raw.rows[0].n), 42);
  const joined = await knex('members as m')
    .join('customer_segments as s', 's.member_id', 'm.member_id')
    .select('m.member_id', 's.segment_id')
    .whereNotNull('s.segment_id')
    .limit(2);
  assert.equal(joined.length, 2);
  console.log(`reads: page of ${page.length}, ${counts.length} segment counts, join, raw`);
}

async function schema(knex) {
  assert.equal(await knex.schema.hasTable('members'), true);
  assert.equal(await knex.schema.hasTable('no_such_table'), false);
  assert.equal(await knex.schema.hasColumn('members', 'points'), true);
  assert.equal(await knex.schema.hasColumn('members', 'no_such_column'), false);
  const info = await knex('members').columnInfo();
  assert.ok(info.member_id && info.points, JSON.stringify(Object.keys(info)));
  assert.equal(info.member_id.type, 'text');

  await knex.schema.dropTableIfExists('knex_t');
  await knex.schema.createTable('knex_t', (t) => {
    t.integer('k');
    t.string('v');
    t.double('d');
    t.timestamp('at');
  });
  assert.equal(await knex.schema.hasTable('knex_t'), true);
  const cols = await knex('knex_t').columnInfo();
  assert.deepEqual(Object.keys(cols).sort(), ['at', 'd', 'k', 'v']);
  console.log(`schema: hasTable, hasColumn, columnInfo (${Object.keys(info).length} columns), createTable`);
}

async function writes(knex) {
  const at = new Date('2026-05-01T12:00:00Z');
  await knex('knex_t').insert([{ k: 1, v: 'a', d: 1.5, at }, { k: 2, v: 'b', d: null, at: null }]);
  await knex('knex_t').where('k', 2).update({ v: 'bb', d: 2.5 });
  await knex('knex_t').insert({ k: 3, v: 'c' });
  await knex('knex_t').where('k', 3).del();

  // A transaction whose callback throws is rolled back; one that returns commits.
  await assert.rejects(knex.transaction(async (trx) => {
    await trx('knex_t').insert({ k: 9, v: 'gone' });
    throw new Error('roll back');
  }), /roll back/);
  await knex.transaction(async (trx) => {
    await trx('knex_t').insert({ k: 4, v: 'd' });
  });
  const rows = await knex('knex_t').select('k', 'v', 'd', 'at').orderBy('k');
  assert.deepEqual(rows.map((r) => [r.k, r.v, r.d]), [[1, 'a', 1.5], [2, 'bb', 2.5], [4, 'd', null]]);
  assert.equal(rows[0].at.getTime(), at.getTime(), `timestamptz round trip: ${rows[0].at}`);

  await assert.rejects(knex('no_such_table').select('*'), (e) => e.code === '42P01');
  await knex.schema.dropTable('knex_t');
  assert.equal(await knex.schema.hasTable('knex_t'), false);
  console.log('writes: insert, update, delete, transaction rollback and commit, drop');
}

async function main() {
  const knex = require('knex')({
    client: 'pg',
    connection: { host: '127.0.0.1', port: Number(process.argv[2]), user: 'cip', database: 'cip' },
    pool: { min: 0, max: 2 },
  });
  try {
    await reads(knex);
    await schema(knex);
    await writes(knex);
  } finally {
    await knex.destroy();
  }
  console.log('knex: ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
