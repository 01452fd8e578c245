// Sequelize 6 (ORM, `pg` driver) against a running `cip serve`: what a Node back end built on
// it sends — its connect-time type lookup, the query interface's introspection (showAllTables,
// describeTable: primary keys from information_schema.table_constraints joined to
// key_column_usage; getForeignKeyReferencesForTable: constraint_column_usage; showIndex:
// array_agg of attname as name[]),
// model finders with where / order / limit, a model's sync (CREATE TABLE IF NOT EXISTS),
// create / update / destroy with bound parameters and RETURNING, a managed transaction that
// commits and one that rolls back, and raw queries with replacements.
// Usage: node sequelize_client.js PORT
'use strict';
const assert = require('node:assert/strict');
const { Sequelize, DataTypes, Op, QueryTypes } = require('sequelize');

async function introspection(sequelize) {
  const qi = sequelize.getQueryInterface();
  const tables = (await qi.showAllTables()).map((t) => (typeof t === 'string' ? t : t.tableName));
  for (const t of ['members', 'visits', 'campaigns', 'campaign_tracking']) {
    assert.ok(tables.includes(t), `showAllTables lacks ${t}: ${tables}`);
  }
  assert.ok(!tables.includes('customer_segments'), 'a view is not a table');

  const members = await qi.describeTable('members');
  assert.equal(members.member_id.primaryKey, true, JSON.stringify(members.member_id));
  assert.equal(members.member_id.allowNull, false);
  assert.equal(members.name.primaryKey, false);
  assert.equal(members.points.type, 'BIGINT', JSON.stringify(members.points));
  const rules = await qi.describeTable('tier_rules');
  const keys = Object.keys(rules).filter((c) => rules[c].primaryKey).sort();
  assert.deepEqual(keys, ['tier', 'version']);

  const fks = await qi.getForeignKeyReferencesForTable('campaign_tracking');
  assert.equal(fks.length, 1, JSON.stringify(fks));
  assert.equal(fks[0].constraintName, 'campaign_tracking_campaign_id_fkey');
  assert.equal(fks[0].columnName, 'campaign_id');
  assert.equal(fks[0].referencedTableName, 'campaigns');
  assert.equal(fks[0].referencedColumnName, 'campaign_id');
  assert.deepEqual(await qi.getForeignKeyReferencesForTable('members'), []);

  // showIndex: array_agg(a.attname) is name[], which node-pg leaves as '{member_id}' for
  // Sequelize to parse.
  const indexes = await qi.showIndex('members');
  const pkey = indexes.find((i) => i.primary);
  assert.ok(pkey, JSON.stringify(indexes));
  assert.deepEqual(pkey.fields.map((f) => f.attribute), ['member_id']);
  console.log(`introspection: ${tables.length} tables, describeTable, ${fks.length} foreign key, ${indexes.length} index`);
}

async function finders(sequelize) {
  const Member = sequelize.define('Member', {
    member_id: { type: DataTypes.BIGINT, primaryKey: true },
    name: DataTypes.TEXT,
    tier: DataTypes.TEXT,
    points: DataTypes.BIGINT,
  }, { tableName: 'members', timestamps: false });
  const page = await Member.findAll({
    where: { points: { [Op.gte]: 0 }, tier: { [Op.ne]: null } },
    order: [['member_id', 'ASC']],
    limit: 3,
    offset: 2,
  });
  assert.equal(page.length, 3);
  const all = await Member.findAll({ attributes: ['member_id'], order: [['member_id', 'ASC']], limit: 5 });
  assert.deepEqual(page.map((m) => String(m.member_id)), all.slice(2, 5).map((m) => String(m.member_id)));
  const one = await Member.findByPk(page[0].member_id);
  assert.equal(String(one.member_id), String(page[0].member_id));
  const n = await Member.count({ where: { tier: { [Op.in]: ['gold', 'silver', 'bronze', 'platinum', 'diamond', 'regular'] } } });
  assert.ok(n >= 0);
  const segments = await sequelize.query(
    'SELECT segment_id, count(*) AS n FROM customer_segments WHERE segment_id IN (:ids) GROUP BY segment_id ORDER BY segment_id',
    { replacements: { ids: ['vip', 'loyal', 'new'] }, type: QueryTypes.SELECT },
  );
  assert.ok(segments.every((r) => ['loyal', 'new', 'vip'].includes(r.segment_id)), JSON.stringify(segments));
  console.log(`finders: page of ${page.length}, findByPk, count ${n}, ${segments.length} segment counts`);
}

async function writes(sequelize) {
  const Venue = sequelize.define('Venue', {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    name: { type: DataTypes.STRING(64), allowNull: false },
    rooms: { type: DataTypes.INTEGER, defaultValue: 4 },
  }, {
    tableName: 'sequelize_venues',
    indexes: [{ fields: ['name'] }, { name: 'venues_rooms_desc', fields: [{ name: 'rooms', order: 'DESC' }] }],
  });
  // Model.sync(): CREATE TABLE IF NOT EXISTS (SERIAL, varchar, timestamptz), then the
  // table's indexes through showIndex and CREATE INDEX of the model's missing ones; a second
  // sync finds them and changes nothing.
  await Venue.sync();
  await Venue.sync();
  const qi = sequelize.getQueryInterface();
  const indexNames = async () => (await qi.showIndex('sequelize_venues')).map((i) => i.name).sort();
  assert.deepEqual(await indexNames(), ['sequelize_venues_name', 'sequelize_venues_pkey', 'venues_rooms_desc']);
  const rooms = (await qi.showIndex('sequelize_venues')).find((i) => i.name === 'venues_rooms_desc');
  assert.deepEqual(rooms.fields.map((f) => [f.attribute, f.order]), [['rooms', 'DESC']], JSON.stringify(rooms));
  await qi.removeIndex('sequelize_venues', 'sequelize_venues_name');
  assert.deepEqual(await indexNames(), ['sequelize_venues_pkey', 'venues_rooms_desc']);
  await qi.addIndex('sequelize_venues', ['name'], { name: 'sequelize_venues_name' });
  const described = await sequelize.getQueryInterface().describeTable('sequelize_venues');
  assert.equal(described.id.primaryKey, true, JSON.stringify(described.id));
  assert.ok(described.createdAt && described.updatedAt, JSON.stringify(described));

  const a = await Venue.create({ name: 'Harbour' });
  const b = await Venue.create({ name: 'Old Town', rooms: 9 });
  assert.ok(a.id > 0 && b.id > a.id, `${a.id} ${b.id}`);
  assert.equal(a.rooms, 4);
  const [changed] = await Venue.update({ rooms: 12 }, { where: { name: 'Old Town' } });
  assert.equal(changed, 1);
  assert.equal((await Venue.findByPk(b.id)).rooms, 12);

  await sequelize.transaction(async (transaction) => {
    await Venue.create({ name: 'Riverside' }, { transaction });
  });
  await assert.rejects(sequelize.transaction(async (transaction) => {
    await Venue.create({ name: 'Never' }, { transaction });
    throw new Error('roll back');
  }), /roll back/);
  const names = (await Venue.findAll({ order: [['id', 'ASC']] })).map((v) => v.name);
  assert.deepEqual(names, ['Harbour', 'Old Town', 'Riverside']);
  // Model.upsert (INSERT … ON CONFLICT ("id") DO UPDATE … RETURNING) of a stored row and of
  // a new one; bulkCreate with updateOnDuplicate (DO UPDATE) and ignoreDuplicates (DO NOTHING).
  const [up] = await Venue.upsert({ id: b.id, name: 'Old Town', rooms: 20 });
  assert.equal(up.rooms, 20);
  assert.equal((await Venue.findByPk(b.id)).rooms, 20);
  const [pier] = await Venue.upsert({ id: 100, name: 'Pier', rooms: 2 });
  assert.equal(pier.id, 100);
  await Venue.bulkCreate([{ id: 100, name: 'Pier', rooms: 3 }, { id: 101, name: 'Dock', rooms: 1 }],
    { updateOnDuplicate: ['rooms'] });
  assert.equal((await Venue.findByPk(100)).rooms, 3);
  await Venue.bulkCreate([{ id: 101, name: 'Ignored', rooms: 9 }], { ignoreDuplicates: true });
  assert.equal((await Venue.findByPk(101)).name, 'Dock');
  assert.equal(await Venue.destroy({ where: { name: 'Harbour' } }), 1);
  assert.equal(await Venue.count(), 4);
  await Venue.drop();
  assert.ok(!(await sequelize.getQueryInterface().showAllTables()).includes('sequelize_venues'));
  console.log('writes: sync (twice) with indexes, showIndex / removeIndex / addIndex, create, update, transaction committed and rolled back, upsert, bulkCreate updateOnDuplicate / ignoreDuplicates, destroy, drop');
}

// Model.sync({ alter: true }) against a changed model: ADD COLUMN, then per column SET/DROP
// NOT NULL, SET/DROP DEFAULT and TYPE, and DROP COLUMN of an attribute the model lost.
async function alterSync(sequelize) {
  const id = { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true };
  const Before = sequelize.define('RoomBefore', {
    id, name: DataTypes.STRING(64), size: DataTypes.INTEGER, old: DataTypes.TEXT,
  }, { tableName: 'sequelize_rooms' });
  await Before.sync({ force: true });
  await Before.create({ name: 'a', size: 3, old: 'x' });
  const After = sequelize.define('RoomAfter', {
    id,
    name: { type: DataTypes.STRING(64), allowNull: false, defaultValue: 'n' },
    size: DataTypes.BIGINT,
    extra: DataTypes.BOOLEAN,
  }, { tableName: 'sequelize_rooms' });
  await After.sync({ alter: true });
  const d = await sequelize.getQueryInterface().describeTable('sequelize_rooms');
  assert.deepEqual(Object.keys(d).sort(), ['createdAt', 'extra', 'id', 'name', 'size', 'updatedAt']);
  assert.deepEqual([d.size.type, d.name.allowNull, d.name.defaultValue, d.extra.type],
    ['BIGINT', false, 'n', 'BOOLEAN'], JSON.stringify(d));
  const rows = await After.findAll({ raw: true });
  assert.deepEqual(rows.map((r) => [r.name, String(r.size), r.extra]), [['a', '3', null]]);
  await After.create({ size: 4 });
  assert.equal((await After.findOne({ where: { size: 4 } })).name, 'n');
  await After.drop();
  console.log('alter sync: added, changed (NOT NULL, DEFAULT, TYPE) and dropped columns, rows kept');
}

// UUID and STRING(n) attributes: describeTable reports them as PostgreSQL does, so a second
// sync({ alter: true }) finds nothing to change; ids made by the client (UUIDV4) and by the
// server (DEFAULT gen_random_uuid(), read back through RETURNING); a too-long string is 22001.
async function uuids(sequelize) {
  const Ticket = sequelize.define('Ticket', {
    id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
    code: { type: DataTypes.STRING(8), allowNull: false },
    owner: { type: DataTypes.UUID },
  }, { tableName: 'sequelize_tickets', timestamps: false });
  await Ticket.sync({ force: true });
  const d = await sequelize.getQueryInterface().describeTable('sequelize_tickets');
  assert.deepEqual([d.id.type, d.id.allowNull, d.code.type, d.owner.type],
    ['UUID', false, 'CHARACTER VARYING(8)', 'UUID'], JSON.stringify(d));
  await Ticket.sync({ alter: true });
  const a = await Ticket.create({ code: 'A1' });
  assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await Ticket.create({ code: 'B2', owner: a.id.toUpperCase() });
  const b = await Ticket.findOne({ where: { owner: a.id } });
  assert.equal(b.code, 'B2');
  assert.equal((await Ticket.findByPk(a.id)).code, 'A1');
  await assert.rejects(Ticket.create({ code: 'much too long' }), (e) => e.original && e.original.code === '22001');
  await assert.rejects(Ticket.create({ code: 'C3', owner: 'not-a-uuid' }), (e) => e.original && e.original.code === '22P02');
  const Server = sequelize.define('ServerTicket', {
    id: { type: DataTypes.UUID, primaryKey: true, defaultValue: sequelize.literal('gen_random_uuid()') },
    code: DataTypes.STRING(8),
  }, { tableName: 'sequelize_server_tickets', timestamps: false });
  await Server.sync({ force: true });
  const made = await Server.create({ code: 'S1' });
  assert.match(String(made.id), /^[0-9a-f-]{36}$/, JSON.stringify(made));
  assert.equal((await Server.findByPk(made.id)).code, 'S1');
  await Server.drop();
  await Ticket.drop();
  // DATE is timestamptz: a Date comes back as the same instant, and finds its row.
  const Show = sequelize.define('Show', { at: DataTypes.DATE }, { tableName: 'sequelize_shows' });
  await Show.sync({ force: true });
  const when = new Date('2026-03-04T05:06:07.089Z');
  const show = await Show.create({ at: when });
  assert.equal((await Show.findByPk(show.id)).at.getTime(), when.getTime());
  assert.equal(await Show.count({ where: { at: when } }), 1);
  assert.ok(Math.abs((await Show.findByPk(show.id)).createdAt.getTime() - Date.now()) < 60e3);
  await Show.drop();
  console.log('uuids: describeTable UUID / CHARACTER VARYING(8), alter sync, UUIDV4 and gen_random_uuid() ids, 22001, 22P02; DATE instants');
}

async function main() {
  const sequelize = new Sequelize('cip', 'cip', '', {
    host: '127.0.0.1',
    port: Number(process.argv[2]),
    dialect: 'postgres',
    logging: false,
    pool: { min: 0, max: 2 },
  });
  try {
    await sequelize.authenticate();
    await introspection(sequelize);
    await finders(sequelize);
    await writes(sequelize);
    await alterSync(sequelize);
    await uuids(sequelize);
  } finally {
    await sequelize.close();
  }
  console.log('sequelize: ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
