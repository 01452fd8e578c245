"""Every get_* method of SQLAlchemy's inspector on every table and view of a running `cip
serve`, and the calls Superset makes when a database and a dataset are added. The same
program runs under SQLAlchemy 1.4 (what Superset and many BI back ends pin) and 2.x, over
psycopg2 (the dialect `postgresql://` picks).

Usage: python sqlalchemy_inspector.py PORT. Exits non-zero on the first failed check.
"""

import sys

import sqlalchemy as sa

PORT = int(sys.argv[1])
VERSION = sa.__version__
engine = sa.create_engine(f"postgresql+psycopg2://cip@127.0.0.1:{PORT}/cip")



# Primary keys the catalog lists (pg_constraint / pg_index): cip's enforced keys. 1.4 reads
# pg_index.indkey, 2.x pg_constraint.conkey; the order is the key's.
KEYS = {
    "members": ("members_pkey", ["member_id"]),
    "campaigns": ("campaigns_pkey", ["campaign_id"]),
    "tier_rules": ("tier_rules_pkey", ["tier", "version"]),
}
# The foreign keys cip enforces, as get_foreign_keys parses pg_get_constraintdef's text.
FOREIGN = {
    name: [("%s_campaign_id_fkey" % name, ["campaign_id"], "campaigns", ["campaign_id"])]
    for name in ("campaign_tracking", "campaign_audience", "message_outbox")
}

def catalog():
    """Tables, views and their columns, as information_schema lists them."""
    with engine.connect() as conn:
        kinds = dict(
            conn.execute(
                sa.text(
                    "SELECT table_name, table_type FROM information_schema.tables "
                    "WHERE table_schema = 'public'"
                )
            ).fetchall()
        )
        columns = {}
        for table, column in conn.execute(
            sa.text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
            )
        ):
            columns.setdefault(table, []).append(column)
    return kinds, columns


def every_get_method_on_every_relation(inspector, kinds, columns):
    schemas = inspector.get_schema_names()
    assert "public" in schemas, schemas
    assert inspector.default_schema_name == "public", inspector.default_schema_name
    tables = set(inspector.get_table_names(schema="public"))
    views = set(inspector.get_view_names(schema="public"))
    assert tables == {n for n, k in kinds.items() if k == "BASE TABLE"}, tables
    assert views == {n for n, k in kinds.items() if k == "VIEW"}, views
    assert {"members", "visits", "campaign_tracking"} <= tables, tables
    assert {"customer_segments", "customer_tags", "upgrade_evaluation"} <= views, views
    if not VERSION.startswith("1."):
        # SQLAlchemy 1.4's PostgreSQL dialect has no temporary-name methods (NotImplemented).
        assert inspector.get_temp_table_names() == [], inspector.get_temp_table_names()
        assert inspector.get_temp_view_names() == [], inspector.get_temp_view_names()
    assert isinstance(inspector.get_sequence_names(), list)
    sorted_names = [t for t, _ in inspector.get_sorted_table_and_fkc_names() if t]
    assert set(sorted_names) == tables, set(sorted_names) ^ tables
    for name in sorted(tables | views):
        assert inspector.has_table(name), name
        got = [c["name"] for c in inspector.get_columns(name)]
        assert got == columns[name], (name, got, columns[name])
        pk = inspector.get_pk_constraint(name)
        assert isinstance(pk["constrained_columns"], list), (name, pk)
        if name in KEYS:
            assert (pk["name"], pk["constrained_columns"]) == KEYS[name], (name, pk)
        foreign = inspector.get_foreign_keys(name)
        for fk in foreign:
            assert fk["referred_table"] in tables, (name, fk)
        got = [(f["name"], f["constrained_columns"], f["referred_table"], f["referred_columns"]) for f in foreign]
        assert got == FOREIGN.get(name, []), (name, foreign)
        for index in inspector.get_indexes(name):
            assert set(index["column_names"]) <= set(columns[name]), (name, index)
        for unique in inspector.get_unique_constraints(name):
            assert set(unique["column_names"]) <= set(columns[name]), (name, unique)
        assert isinstance(inspector.get_check_constraints(name), list), name
        assert "text" in inspector.get_table_comment(name), name
        assert isinstance(inspector.get_table_options(name), dict), name
    assert set(KEYS) <= tables, set(KEYS) - tables
    for name in sorted(views):
        definition = inspector.get_view_definition(name)
        assert definition and "select" in definition.lower(), (name, definition)
    assert not inspector.has_table("no_such_relation")
    return tables, views


def superset_adds_a_database_and_a_dataset(inspector):
    """What Superset's "test connection", database and dataset pages run."""
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        # Dataset preview: select_star with a LIMIT, and the time-grain expression.
        segments = sa.Table("customer_segments", sa.MetaData(), autoload_with=conn)
        rows = conn.execute(sa.select(segments).limit(100)).fetchall()
        assert 0 < len(rows) <= 100, len(rows)
        day = sa.func.date_trunc("day", sa.column("started_at"))
        series = conn.execute(
            sa.select(day.label("__timestamp"), sa.func.count().label("count"))
            .select_from(sa.table("visits"))
            .where(sa.column("started_at") >= sa.text("TO_TIMESTAMP('2026-10-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')"))
            .group_by(day)
            .order_by(day)
        ).fetchall()
        assert series and all(count > 0 for _, count in series), series
    columns = inspector.get_columns("customer_segments", schema="public")
    assert {"member_id", "segment_id"} <= {c["name"] for c in columns}, columns


def defaults_and_autoincrement(inspector):
    """Column defaults as pg_attrdef lists them: a serial id as PostgreSQL shows one (which
    SQLAlchemy reads as autoincrement), the time filled at insert, none elsewhere."""
    history = {c["name"]: c for c in inspector.get_columns("upgrade_history")}
    assert history["id"]["default"] == "nextval('upgrade_history_id_seq'::regclass)", history["id"]
    assert history["id"]["autoincrement"] is True, history["id"]
    assert history["created_at"]["default"] == "now()", history["created_at"]
    assert history["member_id"]["default"] is None, history["member_id"]
    assert history["member_id"]["autoincrement"] is False, history["member_id"]
    with engine.connect() as conn:
        listed = dict(conn.execute(sa.text(
            "SELECT column_name, column_default FROM information_schema.columns "
            "WHERE table_name = 'upgrade_history'")).fetchall())
    assert listed["created_at"] == "now()" and listed["member_id"] is None, listed


def indexes_created_read_and_dropped():
    """metadata.create_all with Index objects and index=True (CREATE TABLE, then CREATE
    INDEX), get_indexes as each version reads pg_index (sort order, method), Index.drop."""
    metadata = sa.MetaData()
    table = sa.Table(
        "sa_indexed", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(64)),
        sa.Column("city", sa.String(32), index=True),
        sa.Column("seen", sa.DateTime),
    )
    by_email = sa.Index("ix_sa_email", table.c.email, postgresql_using="hash")
    sa.Index("ix_sa_city_seen", table.c.city, table.c.seen.desc())
    metadata.create_all(engine)
    try:
        got = {i["name"]: i for i in sa.inspect(engine).get_indexes("sa_indexed")}
        assert set(got) == {"ix_sa_email", "ix_sa_city_seen", "ix_sa_indexed_city"}, got
        assert got["ix_sa_city_seen"]["column_names"] == ["city", "seen"], got
        assert got["ix_sa_city_seen"]["column_sorting"] == {"seen": ("desc",)}, got
        assert not any(i["unique"] for i in got.values()), got
        using = got["ix_sa_email"]["dialect_options"]["postgresql_using"]
        assert using == "hash", got["ix_sa_email"]
        by_email.drop(engine)
        left = {i["name"] for i in sa.inspect(engine).get_indexes("sa_indexed")}
        assert left == {"ix_sa_city_seen", "ix_sa_indexed_city"}, left
    finally:
        metadata.drop_all(engine)
    assert not sa.inspect(engine).has_table("sa_indexed")


def uuid_and_string_columns():
    """A table of a UUID key with a server default, String(n) and CHAR(n), and comments:
    get_columns reflects the types with their lengths and the comments, a uuid written as a Python UUID (SQLAlchemy 2's Uuid)
    or text (1.4's postgresql.UUID) reads back, a string too long is refused."""
    import uuid as uuidlib

    from sqlalchemy.dialects import postgresql

    key_type = postgresql.UUID(as_uuid=True) if VERSION.startswith("1.") else sa.Uuid()
    metadata = sa.MetaData()
    table = sa.Table(
        "sa_tickets", metadata,
        sa.Column("id", key_type, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("code", sa.String(8), nullable=False, comment="the ticket's code"),
        sa.Column("seat", sa.CHAR(3)),
        comment="Tickets sold",
    )
    metadata.create_all(engine)
    try:
        got = {c["name"]: c for c in sa.inspect(engine).get_columns("sa_tickets")}
        assert isinstance(got["id"]["type"], postgresql.UUID), got["id"]
        assert got["id"]["default"] == "gen_random_uuid()", got["id"]
        assert isinstance(got["code"]["type"], sa.VARCHAR) and got["code"]["type"].length == 8, got["code"]
        assert isinstance(got["seat"]["type"], sa.CHAR) and got["seat"]["type"].length == 3, got["seat"]
        # Table and column comments (COMMENT ON after CREATE TABLE), as reflection reads them.
        assert got["code"]["comment"] == "the ticket's code", got["code"]
        assert got["seat"].get("comment") is None, got["seat"]
        comment = sa.inspect(engine).get_table_comment("sa_tickets")
        assert comment == {"text": "Tickets sold"}, comment
        mine = uuidlib.uuid4()
        with engine.begin() as conn:
            conn.execute(table.insert().values(id=mine, code="A1", seat="x"))
            made = conn.execute(table.insert().values(code="B2").returning(table.c.id)).scalar()
        assert isinstance(made, uuidlib.UUID) and made != mine, made
        with engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.id == mine)).one()
        assert (row.code, row.seat) == ("A1", "x  "), row
        try:
            with engine.begin() as conn:
                conn.execute(table.insert().values(code="much too long"))
            raise AssertionError("a code over String(8) was stored")
        except sa.exc.DataError as e:
            assert e.orig.pgcode == "22001", e
    finally:
        metadata.drop_all(engine)


kinds, columns = catalog()
inspector = sa.inspect(engine)
tables, views = every_get_method_on_every_relation(inspector, kinds, columns)
superset_adds_a_database_and_a_dataset(inspector)
defaults_and_autoincrement(inspector)
indexes_created_read_and_dropped()
uuid_and_string_columns()
print(f"sqlalchemy {VERSION}: every get_* on {len(tables)} tables and {len(views)} views")
print("sqlalchemy inspector: ok")
