// node-postgres (`pg`) against a running `cip serve`: a parameterised query, its SQLSTATE on
// bad input, and COPY FROM STDIN as a stream (pg-copy-streams). Usage: node client.js PORT
'use strict';
const assert = require('node:assert/strict');
const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { Client } = require('pg');
const { from: copyFrom } = require('pg-copy-streams');

async function main() {
  const client = new Client({ host: '127.0.0.1', port: Number(process.argv[2]), user: 'cip', database: 'cip' });
  await client.connect();

  // node `pg` sends parameters untyped; the server infers them from the plan.
  const members = await client.query(
    'SELECT member_id, segment_id, p_alive FROM customer_segments WHERE segment_id = $1 AND p_alive >= $2 ORDER BY member_id LIMIT 5',
    ['vip', 0.5]);
  assert.ok(members.rows.length > 0, 'vip members with p_alive >= 0.5');
  for (const r of members.rows) {
    assert.equal(r.segment_id, 'vip');
    assert.ok(r.p_alive >= 0.5, `p_alive ${r.p_alive}`);
  }
  console.log(`parameterised query: ${members.rows.length} rows, first ${members.rows[0].member_id}`);

  // A named (prepared) statement, executed twice with different values.
  for (const seg of ['loyal', 'regular']) {
    const r = await client.query({ name: 'by-segment', text: 'SELECT count(*) AS n FROM customer_segments WHERE segment_id = $1', values: [seg] });
    assert.ok(Number(r.rows[0].n) > 0, `${seg} has members`);
  }

  // A side-effecting table function with a parameter acts once, when executed.
  const due = await client.query('SELECT member_id FROM upgrade_evaluation WHERE eligible ORDER BY member_id LIMIT 1');
  assert.equal(due.rows.length, 1, 'a member due an upgrade');
  const memberId = due.rows[0].member_id;
  const first = await client.query('SELECT * FROM execute_upgrades($1)', [memberId]);
  const again = await client.query('SELECT * FROM execute_upgrades($1)', [memberId]);
  assert.ok(first.rows.length >= 1 && first.rows.every((r) => r.member_id === memberId), JSON.stringify(first.rows));
  assert.equal(again.rows.length, 0);
  console.log(`execute_upgrades($1): ${memberId} upgraded once`);

  await assert.rejects(client.query('SELECT * FROM no_such_table WHERE x = $1', [1]), (e) => e.code === '42P01');
  await assert.rejects(client.query('SELECT 1/0'), (e) => e.code === '22012');

  // COPY FROM STDIN, streamed in several chunks; then the rows are there and durable.
  const before = Number((await client.query("SELECT count(*) AS n FROM campaign_tracking WHERE campaign_id = 'C-NODE'")).rows[0].n);
  assert.equal(before, 0);
  const campaign = (await client.query('SELECT campaign_id FROM campaigns ORDER BY campaign_id LIMIT 1')).rows[0].campaign_id;
  const lines = ['campaign_id,member_id,status,revenue,cost\n'];
  for (let i = 0; i < 500; i++) lines.push(`${campaign},M${String(i + 1).padStart(8, '0')},sent,0,0.05\n`);
  await pipeline(Readable.from(lines), client.query(copyFrom('COPY campaign_tracking (campaign_id, member_id, status, revenue, cost) FROM STDIN WITH (FORMAT csv, HEADER true)')));
  const copied = await client.query("SELECT count(*) AS n FROM campaign_tracking WHERE campaign_id = $1 AND cost = 0.05 AND status = 'sent'", [campaign]);
  assert.ok(Number(copied.rows[0].n) >= 500, `copied rows ${copied.rows[0].n}`);
  console.log('copy from stream: 500 rows');

  // A bad row refuses the whole COPY with its SQLSTATE; the connection stays usable.
  await assert.rejects(
    pipeline(Readable.from(['campaign_id,member_id,status,revenue,cost\n', `${campaign},M1,bogus,0,0\n`]),
      client.query(copyFrom('COPY campaign_tracking (campaign_id, member_id, status, revenue, cost) FROM STDIN WITH (FORMAT csv, HEADER true)')))
    , (e) => e.code === '23514');
  const one = await client.query('SELECT 1 AS one');
  // DataFusion types integer literals as bigint, which node `pg` returns as a string.
  assert.equal(Number(one.rows[0].one), 1);

  await client.end();
  console.log('node pg: ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
