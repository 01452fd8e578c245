// knex (query builder, `pg` driver) against a running `cip serve`: the SQL a Node back end
// builds — quoted identifiers, `?` bindings turned into $n, LIMIT / OFFSET and whereIn
// parameters, aggregates, the schema builder's CREATE TABLE (varchar, timestamptz), its
// information_schema introspection (hasTable, hasColumn, columnInfo), inserts, updates,
// deletes and transactions, and its migrator. Usage: node knex_client.js PORT
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
    t.index(['v', 'at']);
  });
  assert.equal(await knex.schema.hasTable('knex_t'), true);
  const cols = await knex('knex_t').columnInfo();
  assert.deepEqual(Object.keys(cols).sort(), ['at', 'd', 'k', 'v']);
  // Indexes in a migration: createTable's t.index, alterTable's index / dropIndex.
  await knex.schema.alterTable('knex_t', (t) => { t.index('k', 'knex_t_k_named', 'hash'); });
  const indexes = async () => (await knex.raw(
    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'knex_t' ORDER BY indexname")).rows;
  assert.deepEqual(await indexes(), [
    { indexname: 'knex_t_k_named', indexdef: 'CREATE INDEX knex_t_k_named ON public.knex_t USING hash (k)' },
    { indexname: 'knex_t_v_at_index', indexdef: 'CREATE INDEX knex_t_v_at_index ON public.knex_t USING btree (v, at)' },
  ]);
  await knex.schema.alterTable('knex_t', (t) => { t.dropIndex(['v', 'at']); });
  assert.deepEqual((await indexes()).map((r) => r.indexname), ['knex_t_k_named']);
  // Column changes in a migration: renameColumn, .alter() (drop default, drop not null,
  // type … using (col::type), set default, set not null), dropColumn.
  await knex.schema.alterTable('knex_t', (t) => { t.string('extra', 32); });
  await knex.schema.alterTable('knex_t', (t) => { t.renameColumn('extra', 'memo'); });
  await knex.schema.alterTable('knex_t', (t) => { t.text('memo').notNullable().defaultTo('-').alter(); });
  const memo = (await knex('knex_t').columnInfo()).memo;
  assert.deepEqual([memo.type, memo.nullable, memo.defaultValue], ['text', false, "'-'::text"], JSON.stringify(memo));
  await knex('knex_t').insert({ k: 0 });
  assert.deepEqual(await knex('knex_t').select('k', 'memo'), [{ k: 0, memo: '-' }]);
  await knex.schema.alterTable('knex_t', (t) => { t.dropColumn('memo'); });
  await knex('knex_t').del();
  console.log(`schema: hasTable, hasColumn, columnInfo (${Object.keys(info).length} columns), createTable, index, dropIndex, renameColumn, alter, dropColumn`);
}

async function writes(knex) {
  const at = new Date('2026-05-01T12:00:00Z');
  await knex('knex_t').insert([{ k: 1, v: 'a', d: 1.5, at }, { k: 2, v: 'b', d: null, at: null }]);
  const updated = await knex('knex_t').where('k', 2).update({ v: 'bb', d: 2.5 }, ['k', 'v']);
  assert.deepEqual(updated, [{ k: 2, v: 'bb' }]);
  await knex('knex_t').insert({ k: 3, v: 'c' });
  const deleted = await knex('knex_t').where('k', 3).del().returning('*');
  assert.deepEqual(deleted.map((r) => [r.k, r.v]), [[3, 'c']]);

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
  console.log('writes: insert, update and delete (returning), transaction rollback and commit, drop');
}

// knex's migrator: its own tables (`serial primary key`), the lock row it takes in a
// transaction, migrations whose tables have increments(), defaults and timestamps, and a
// rollback. The migrations come from an in-memory source instead of a folder.
const migrations = {
  '001_venues': {
    up: (k) => k.schema.createTable('knex_venues', (t) => {
      t.increments('id');
      t.string('name').notNullable();
      t.integer('rooms').defaultTo(8);
      t.boolean('open').defaultTo(true);
      t.timestamps(true, true);
    }),
    down: (k) => k.schema.dropTable('knex_venues'),
  },
  '002_bookings': {
    up: (k) => k.schema.createTable('knex_bookings', (t) => {
      t.bigIncrements('id');
      t.integer('venue_id').notNullable();
      t.string('status').defaultTo('held');
    }),
    down: (k) => k.schema.dropTable('knex_bookings'),
  },
};

async function migrate(knex) {
  const config = {
    migrationSource: {
      getMigrations: async () => Object.keys(migrations),
      getMigrationName: (name) => name,
      getMigration: async (name) => migrations[name],
    },
  };
  const [batch, applied] = await knex.migrate.latest(config);
  assert.deepEqual([batch, applied], [1, ['001_venues', '002_bookings']]);
  const [again, none] = await knex.migrate.latest(config);
  assert.deepEqual([again, none], [1, []], 'a second run applies nothing');
  const logged = await knex('knex_migrations').select('id', 'name', 'batch').orderBy('id');
  assert.deepEqual(logged.map((r) => [r.id, r.name, r.batch]), [[1, '001_venues', 1], [2, '002_bookings', 1]]);

  await knex('knex_venues').insert([{ name: 'Bund' }, { name: 'Xintiandi', rooms: 12 }]);
  const venues = await knex('knex_venues').select('*').orderBy('id');
  assert.deepEqual(venues.map((v) => [v.id, v.name, v.rooms, v.open]), [[1, 'Bund', 8, true], [2, 'Xintiandi', 12, true]]);
  assert.ok(venues.every((v) => v.created_at instanceof Date && v.updated_at instanceof Date), JSON.stringify(venues));
  // The time of the insert: timestamps() makes timestamptz columns, which come back as the
  // instant (with its offset), whatever zone node runs in.
  assert.ok(Math.abs(venues[0].created_at.getTime() - Date.now()) < 60e3, `created_at ${venues[0].created_at}`);
  // A Date written (node-pg sends it with node's offset) reads back as the same instant, and
  // compares with one bound as a parameter.
  const when = new Date('2026-03-04T05:06:07.089Z');
  await knex('knex_venues').where({ name: 'Bund' }).update({ updated_at: when });
  const bund = await knex('knex_venues').where({ name: 'Bund' }).first();
  assert.equal(bund.updated_at.getTime(), when.getTime(), `updated_at ${bund.updated_at.toISOString()}`);
  assert.equal((await knex('knex_venues').where('updated_at', '=', when)).length, 1);
  await assert.rejects(knex('knex_venues').insert({ id: 1, name: 'again' }), (e) => e.code === '23505');
  await assert.rejects(knex('knex_venues').insert({ rooms: 3 }), (e) => e.code === '23502');
  await knex('knex_bookings').insert({ venue_id: 2 });
  const [booking] = await knex('knex_bookings').select('*');
  assert.deepEqual([Number(booking.id), booking.venue_id, booking.status], [1, 2, 'held']);

  // .returning(): the new ids and defaults come back from the INSERT itself (knex appends
  // `returning "id"` / `returning *`; a multi-row insert with a DEFAULT in one row).
  const ids = await knex('knex_venues').insert([{ name: 'Jing An' }, { name: 'Pudong', rooms: 4 }]).returning('id');
  assert.deepEqual(ids, [{ id: 3 }, { id: 4 }]);
  const [row] = await knex('knex_venues').insert({ name: 'Hongqiao' }).returning('*');
  assert.deepEqual([row.id, row.name, row.rooms, row.open], [5, 'Hongqiao', 8, true]);
  assert.ok(row.created_at instanceof Date, JSON.stringify(row));
  const [named] = await knex('knex_bookings').insert({ venue_id: 5 }, ['id', 'status']);
  assert.deepEqual([Number(named.id), named.status], [2, 'held']);
  await assert.rejects(knex('knex_venues').insert({ id: 5, name: 'again' }).returning('id'), (e) => e.code === '23505');
  // Upserts: .onConflict().merge() (ON CONFLICT … DO UPDATE SET col = excluded.col, or the
  // values given) and .ignore() (DO NOTHING), with returning.
  const merged = await knex('knex_venues').insert([{ id: 5, name: 'Hongqiao', rooms: 20 }, { id: 6, name: 'Minhang' }])
    .onConflict('id').merge(['rooms']).returning(['id', 'name', 'rooms']);
  assert.deepEqual(merged.map((v) => [v.id, v.name, v.rooms]).sort(), [[5, 'Hongqiao', 20], [6, 'Minhang', 8]]);
  await knex('knex_venues').insert({ id: 6, name: 'ignored' }).onConflict('id').merge({ rooms: 3 });
  await knex('knex_venues').insert({ id: 6, name: 'ignored', rooms: 99 }).onConflict('id').ignore();
  const six = await knex('knex_venues').where({ id: 6 }).first();
  assert.deepEqual([six.name, six.rooms], ['Minhang', 3]);

  const [completed, pending] = await knex.migrate.list(config);
  assert.deepEqual([completed.length, pending.length], [2, 0]);
  const [rolledBack, undone] = await knex.migrate.rollback(config);
  assert.deepEqual([rolledBack, undone.sort()], [1, ['001_venues', '002_bookings']]);
  assert.equal(await knex.schema.hasTable('knex_venues'), false);
  assert.equal(Number((await knex('knex_migrations').count('* as n'))[0].n), 0);
  console.log('migrations: latest (twice), increments / defaults / timestamps, returning, key errors, upserts, list, rollback');
}

// uuid and string(n) columns and comments as a migration declares them: t.uuid().defaultTo(knex.fn.uuid())
// (gen_random_uuid()), columnInfo's types and maxLength, .alter() to a longer string, and
// PostgreSQL's errors for a string too long and text that is no uuid.
async function uuids(knex) {
  await knex.schema.dropTableIfExists('knex_uuid');
  await knex.schema.createTable('knex_uuid', (t) => {
    t.uuid('id').primary().defaultTo(knex.fn.uuid());
    t.string('code', 4).comment("the guest's code");
    t.uuid('owner');
    t.comment('Tickets');
  });
  const { rows: [docs] } = await knex.raw(
    "SELECT obj_description('knex_uuid'::regclass, 'pg_class') AS t, col_description('knex_uuid'::regclass, 2) AS c");
  assert.deepEqual(docs, { t: 'Tickets', c: "the guest's code" });
  const info = await knex('knex_uuid').columnInfo();
  assert.deepEqual([info.id.type, info.code.type, info.code.maxLength, info.owner.type],
    ['uuid', 'character varying', 4, 'uuid'], JSON.stringify(info));
  const [made] = await knex('knex_uuid').insert({ code: 'ab' }).returning('id');
  assert.match(made.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await knex('knex_uuid').insert({ code: 'cd', owner: made.id.toUpperCase() });
  assert.equal((await knex('knex_uuid').where({ owner: made.id }).first()).code, 'cd');
  await assert.rejects(knex('knex_uuid').insert({ code: 'abcde' }), (e) => e.code === '22001');
  await assert.rejects(knex('knex_uuid').insert({ owner: 'x' }), (e) => e.code === '22P02');
  await knex.schema.alterTable('knex_uuid', (t) => { t.string('code', 10).alter(); });
  assert.equal((await knex('knex_uuid').columnInfo()).code.maxLength, 10);
  await knex('knex_uuid').insert({ code: 'abcde' });
  assert.equal(await knex('knex_uuid').count('* as n').first().then((r) => Number(r.n)), 3);
  await knex.schema.dropTable('knex_uuid');
  console.log('uuids: uuid with gen_random_uuid(), string(4) maxLength, alter to string(10), 22001, 22P02, table and column comments');
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
    await migrate(knex);
    await uuids(knex);
  } finally {
    await knex.destroy();
  }
  console.log('knex: ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
