// postgres.js (the `postgres` package) against a running `cip serve`. It differs from node `pg`
// in what it sends: at its first query it reads every array type from pg_type; tagged templates
// become named prepared statements whose parameters are untyped, or typed by the JS value
// (bool, bigint, Date); cursors fetch through a suspended portal; helpers build identifiers and
// multi-row inserts. Usage: node postgres_js.js PORT
'use strict';
const assert = require('node:assert/strict');
const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const postgres = require('postgres');

async function queries(sql) {
  // The first statement waits for the array-type fetch; a failure there fails every query.
  const vip = await sql`SELECT member_id, segment_id, p_alive FROM customer_segments
    WHERE segment_id = ${'vip'} AND p_alive >= ${0.5} ORDER BY member_id LIMIT 5`;
  assert.ok(vip.length > 0, 'vip members');
  for (const r of vip) {
    assert.equal(r.segment_id, 'vip');
    assert.ok(r.p_alive >= 0.5, `p_alive ${r.p_alive}`);
  }
  assert.deepEqual(vip.columns.map((c) => c.name), ['member_id', 'segment_id', 'p_alive']);

  // Arrays come back as JS arrays through the types read at start-up (as from PostgreSQL 15:
  // postgres.js's own text parser reads no NULL element, so none is asked for).
  const [arr] = await sql`SELECT ARRAY['a', 'b c', '', 'x"y'] AS t, ARRAY[1.5, 2.5]::float8[] AS f, ARRAY[1, 2]::int4[] AS i`;
  assert.deepEqual(arr.t, ['a', 'b c', '', 'x"y']);
  assert.deepEqual(arr.f, [1.5, 2.5]);
  assert.deepEqual(arr.i, [1, 2]);
  const [card] = await sql`SELECT cardinality(${sql.array(['x', 'y', 'z'])}::text[]) AS n`;
  assert.equal(Number(card.n), 3);

  // Typed parameters: a Date is sent as timestamptz, a boolean as bool, a BigInt as int8.
  const [since] = await sql`SELECT count(*) AS n FROM visits WHERE started_at > ${new Date('2000-01-01T00:00:00Z')}`;
  assert.ok(Number(since.n) > 0, `visits since 2000: ${since.n}`);
  const [typed] = await sql`SELECT ${true} AS b, ${12345678901234n} + 1 AS big, ${'7'}::int4 + 1 AS i`;
  assert.equal(typed.b, true);
  assert.equal(String(typed.big), '12345678901235');
  // int4 + 1 is int8 here (DataFusion types integer literals as bigint; PostgreSQL: int4).
  assert.equal(Number(typed.i), 8);
  const [day] = await sql`SELECT DATE '2026-03-04' AS d`;
  assert.ok(day.d instanceof Date && day.d.toISOString().startsWith('2026-03-0'), String(day.d));

  // Identifiers and a column list from the helper; LIMIT / OFFSET as parameters.
  const every = await sql`SELECT ${sql('member_id')} FROM ${sql('members')} ORDER BY 1 LIMIT 5`;
  const page = await sql`SELECT member_id FROM members ORDER BY 1 LIMIT ${3} OFFSET ${2}`;
  assert.deepEqual(page.map((r) => r.member_id), every.slice(2, 5).map((r) => r.member_id));

  // describe(): the parameter types and columns the server infers, without running it.
  const d = await sql`SELECT member_id, points FROM members WHERE member_id = ${'x'}`.describe();
  assert.equal(d.types.length, 1);
  assert.deepEqual(d.columns.map((c) => c.name), ['member_id', 'points']);

  // The simple protocol, several statements in one string.
  const multi = await sql.unsafe('SELECT 1 AS a; SELECT 2 AS b').simple();
  assert.equal(multi.length, 2);
  assert.equal(Number(multi[1][0].b), 2);
  console.log(`queries: ${vip.length} vip rows, arrays, typed parameters, describe, simple`);
}

async function writes(sql) {
  await sql`DROP TABLE IF EXISTS pgjs_t`;
  await sql`CREATE TABLE pgjs_t (k int, v text, d double precision)`;
  const rows = [{ k: 1, v: 'a', d: 1.5 }, { k: 2, v: 'b', d: null }];
  await sql`INSERT INTO pgjs_t ${sql(rows, 'k', 'v', 'd')}`;

  // A transaction that throws leaves nothing; one that returns commits.
  await assert.rejects(sql.begin(async (tx) => {
    await tx`INSERT INTO pgjs_t VALUES (3, 'c', 3)`;
    const [n] = await tx`SELECT count(*) AS n FROM pgjs_t`;
    assert.equal(Number(n.n), 3);
    throw new Error('roll back');
  }), /roll back/);
  await sql.begin(async (tx) => {
    await tx`INSERT INTO pgjs_t VALUES (${4}, ${'d'}, ${4})`;
  });
  const kept = await sql`SELECT k, v, d FROM pgjs_t ORDER BY k`;
  assert.deepEqual(kept.map((r) => [r.k, r.v, r.d]), [[1, 'a', 1.5], [2, 'b', null], [4, 'd', 4]]);

  // COPY in and out as streams.
  const lines = [];
  for (let i = 10; i < 210; i++) lines.push(`${i}\tv${i}\t${i / 2}\n`);
  await pipeline(Readable.from(lines), await sql`COPY pgjs_t (k, v, d) FROM STDIN`.writable());
  const [copied] = await sql`SELECT count(*) AS n, sum(k) AS s FROM pgjs_t WHERE k >= 10`;
  assert.equal(Number(copied.n), 200);
  assert.equal(Number(copied.s), 21900);
  let out = '';
  for await (const chunk of await sql`COPY (SELECT k, v FROM pgjs_t WHERE k < 10 ORDER BY k) TO STDOUT`.readable()) {
    out += chunk.toString();
  }
  assert.equal(out, '1\ta\n2\tb\n4\td\n');
  await sql`DROP TABLE pgjs_t`;
  console.log('writes: helper insert, begin/rollback/commit, COPY in (200 rows) and out');
}

async function cursors_and_errors(sql) {
  // A cursor reads through a portal suspended every 3 rows.
  const expected = (await sql`SELECT member_id FROM members ORDER BY 1 LIMIT 10`).map((r) => r.member_id);
  const seen = [];
  let batches = 0;
  await sql`SELECT member_id FROM members ORDER BY 1 LIMIT 10`.cursor(3, (rs) => {
    batches += 1;
    seen.push(...rs.map((r) => r.member_id));
  });
  assert.deepEqual(seen, expected);
  assert.equal(batches, 4);
  let each = 0;
  await sql`SELECT member_id FROM members LIMIT 7`.forEach(() => { each += 1; });
  assert.equal(each, 7);

  // Errors carry their SQLSTATE; the connection that saw them keeps working.
  await assert.rejects(sql`SELECT * FROM no_such_table WHERE x = ${1}`, (e) => e.code === '42P01');
  await assert.rejects(sql`SELECT 1/0`, (e) => e.code === '22012');
  await assert.rejects(sql`SELECT ${'abc'}::int4`, (e) => e.code === '22P02');
  const [one] = await sql`SELECT 1 AS one`;
  assert.equal(Number(one.one), 1);
  console.log(`cursor: ${batches} batches; errors 42P01, 22012, 22P02`);
}

async function main() {
  const sql = postgres({
    host: '127.0.0.1',
    port: Number(process.argv[2]),
    user: 'cip',
    database: 'cip',
    max: 2,
    connect_timeout: 30,
    onnotice: () => {},
  });
  try {
    await queries(sql);
    await writes(sql);
    await cursors_and_errors(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
  console.log('postgres.js: ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
