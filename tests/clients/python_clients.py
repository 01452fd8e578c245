"""psycopg 3, psycopg2, SQLAlchemy 2 (Core, reflection and an ORM session) and pandas against
a running `cip serve`.

Usage: python3 python_clients.py PORT. Exits non-zero on the first failed check.
"""

import sys

import io

import pandas as pd
import psycopg
import psycopg2
import psycopg2.extras
import sqlalchemy as sa
from psycopg import errors
from sqlalchemy import orm

PORT = int(sys.argv[1])
DSN = f"host=127.0.0.1 port={PORT} user=cip dbname=cip"


def psycopg_server_side_parameters():
    with psycopg.connect(DSN) as conn:
        # psycopg 3 binds on the server ($1, $2 in an extended-protocol Parse/Bind).
        rows = conn.execute(
            "SELECT member_id, segment_id, p_alive FROM customer_segments "
            "WHERE segment_id = %s AND p_alive >= %s ORDER BY member_id LIMIT 5",
            ["loyal", 0.5],
        ).fetchall()
        assert rows, "loyal members with p_alive >= 0.5"
        assert all(r[1] == "loyal" and r[2] >= 0.5 for r in rows), rows
        # A prepared statement, reused (prepare=True makes psycopg name it).
        with conn.cursor() as cur:
            counts = {}
            for seg in ["vip", "new", "churn_risk"]:
                cur.execute(
                    "SELECT count(*) FROM customer_segments WHERE segment_id = %s",
                    [seg],
                    prepare=True,
                )
                counts[seg] = cur.fetchone()[0]
            assert all(n > 0 for n in counts.values()), counts
        # Typed parameters round-trip.
        row = conn.execute(
            "SELECT %s::int + 1, %s::text, %s::double precision * 2", [41, "x", 1.25]
        ).fetchone()
        assert row == (42, "x", 2.5), row
        # SQLSTATEs reach the driver as psycopg's exception classes.
        for sql, exc in [
            ("SELECT * FROM no_such_table", errors.UndefinedTable),
            ("SELECT no_such_column FROM members", errors.UndefinedColumn),
            ("SELECT 1/0", errors.DivisionByZero),
        ]:
            try:
                conn.execute(sql)
            except exc:
                conn.rollback()
            else:
                raise AssertionError(f"{sql} did not raise {exc.__name__}")
        # A side-effecting table function with a server-side parameter acts once, at execute.
        eligible = conn.execute(
            "SELECT member_id FROM upgrade_evaluation WHERE eligible ORDER BY member_id LIMIT 1"
        ).fetchone()
        assert eligible, "the generated chain has a member due an upgrade"
        first = conn.execute("SELECT * FROM execute_upgrades(%s)", [eligible[0]]).fetchall()
        again = conn.execute("SELECT * FROM execute_upgrades(%s)", [eligible[0]]).fetchall()
        assert len(first) >= 1 and all(r[0] == eligible[0] for r in first), first
        assert again == [], again
        print(f"psycopg: parameters ok, segment counts {counts}, upgraded {eligible[0]} once")


def sqlalchemy_reflects_every_table_and_view():
    engine = sa.create_engine(f"postgresql+psycopg://cip@127.0.0.1:{PORT}/cip")
    with engine.connect() as conn:
        expected = {
            name: kind
            for name, kind in conn.execute(
                sa.text(
                    "SELECT table_name, table_type FROM information_schema.tables "
                    "WHERE table_schema = 'public'"
                )
            )
        }
        columns = {}
        for table, column in conn.execute(
            sa.text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
            )
        ):
            columns.setdefault(table, []).append(column)
    inspector = sa.inspect(engine)
    tables = set(inspector.get_table_names())
    views = set(inspector.get_view_names())
    assert tables == {n for n, k in expected.items() if k == "BASE TABLE"}, tables
    assert views == {n for n, k in expected.items() if k == "VIEW"}, views
    for name in ["members", "visits", "campaign_tracking", "upgrade_history"]:
        assert name in tables, name
    for name in ["customer_segments", "customer_tags", "segment_summary", "upgrade_evaluation"]:
        assert name in views, name
    # Full reflection (columns, keys, indexes, comments) of every table and view.
    metadata = sa.MetaData()
    metadata.reflect(engine, views=True)
    assert set(metadata.tables) == tables | views, set(metadata.tables) ^ (tables | views)
    for name, table in metadata.tables.items():
        assert [c.name for c in table.columns] == columns[name], name
    segments = metadata.tables["customer_segments"]
    assert isinstance(segments.c.p_alive.type, sa.Float), segments.c.p_alive.type
    assert isinstance(segments.c.member_id.type, sa.Text), segments.c.member_id.type
    # A query built from the reflected table.
    with engine.connect() as conn:
        n = conn.execute(
            sa.select(sa.func.count()).select_from(segments).where(segments.c.segment_id == "vip")
        ).scalar_one()
    assert n > 0
    print(f"sqlalchemy: reflected {len(tables)} tables and {len(views)} views")


def pandas_reads_a_view():
    engine = sa.create_engine(f"postgresql+psycopg://cip@127.0.0.1:{PORT}/cip")
    df = pd.read_sql("SELECT * FROM segment_summary ORDER BY segment_id", engine)
    assert set(df.segment_id) == {"vip", "loyal", "potential", "regular", "churn_risk", "new"}, df
    assert abs(df.share.sum() - 1.0) < 1e-9, df.share.sum()
    active = pd.read_sql(
        sa.text("SELECT count(*) AS n FROM members WHERE status = :status"),
        engine,
        params={"status": "active"},
    ).n[0]
    assert df.customer_count.sum() == active, (df.customer_count.sum(), active)
    print(f"pandas: segment_summary {len(df)} rows, {active} active members")


def member_ids(prefix):
    """The members whose id starts with prefix, as another connection sees them."""
    with psycopg.connect(DSN, autocommit=True) as other:
        rows = other.execute(
            "SELECT member_id FROM members WHERE member_id LIKE %s ORDER BY member_id",
            [prefix + "%"],
        ).fetchall()
    return [r[0] for r in rows]


def psycopg2_writes_in_its_default_transaction():
    # psycopg2 opens a transaction before the first statement unless autocommit is set.
    conn = psycopg2.connect(DSN)
    assert not conn.autocommit
    cur = conn.cursor()
    cur.executemany(
        "INSERT INTO members (member_id, points) VALUES (%s, %s)",
        [("PY2-a", 1), ("PY2-b", 2)],
    )
    psycopg2.extras.execute_values(
        cur, "INSERT INTO members (member_id, points) VALUES %s", [("PY2-c", 3), ("PY2-d", 4)]
    )
    cur.copy_expert(
        "COPY members (member_id, points) FROM STDIN WITH (FORMAT csv)",
        io.StringIO("PY2-e,5\nPY2-f,6\n"),
    )
    cur.execute("SELECT count(*) FROM members WHERE member_id LIKE 'PY2-%%'")
    assert cur.fetchone()[0] == 6, "the transaction sees its own rows"
    assert member_ids("PY2-") == [], "nobody else does before COMMIT"
    conn.commit()
    assert member_ids("PY2-") == [f"PY2-{c}" for c in "abcdef"], member_ids("PY2-")
    cur.execute("DELETE FROM members WHERE member_id LIKE 'PY2-%%'")
    cur.execute("INSERT INTO members (member_id) VALUES ('PY2-z')")
    conn.rollback()
    assert member_ids("PY2-") == [f"PY2-{c}" for c in "abcdef"], "ROLLBACK left nothing"
    try:
        cur.execute("INSERT INTO members (member_id) VALUES ('PY2-a')")
    except psycopg2.errors.UniqueViolation:
        conn.rollback()
    else:
        raise AssertionError("a duplicate key was accepted in a transaction")
    conn.close()
    print("psycopg2: executemany, execute_values and copy_expert commit and roll back")


class Base(orm.DeclarativeBase):
    pass


class Member(Base):
    __tablename__ = "members"
    member_id = orm.mapped_column(sa.Text, primary_key=True)
    name = orm.mapped_column(sa.Text)
    points = orm.mapped_column(sa.BigInteger)


def sqlalchemy_orm_session_commits_and_rolls_back():
    engine = sa.create_engine(f"postgresql+psycopg2://cip@127.0.0.1:{PORT}/cip")
    with orm.Session(engine) as session:
        session.add_all([Member(member_id="ORM-1", name="a", points=1), Member(member_id="ORM-2")])
        session.flush()
        assert session.scalar(sa.select(sa.func.count()).where(Member.member_id.like("ORM-%"))) == 2
        assert member_ids("ORM-") == []
        session.rollback()
        assert member_ids("ORM-") == []
        session.add(Member(member_id="ORM-3", name="c", points=3))
        session.commit()
        assert member_ids("ORM-") == ["ORM-3"]
        m = session.get(Member, "ORM-3")
        m.points = 30
        session.commit()
        session.delete(session.get(Member, "ORM-3"))
        session.add(Member(member_id="ORM-4"))
        session.commit()
    assert member_ids("ORM-") == ["ORM-4"]
    print("sqlalchemy orm: add, flush, rollback, commit, update, delete")


class Booking(Base):
    """A table the ORM creates, with a serial key and server defaults it reads back."""

    __tablename__ = "orm_bookings"
    id = orm.mapped_column(sa.Integer, primary_key=True)
    room = orm.mapped_column(sa.Text)
    guests = orm.mapped_column(sa.Integer, server_default="2")
    created = orm.mapped_column(sa.DateTime, server_default=sa.func.now())


def sqlalchemy_orm_reads_new_keys_back():
    # INSERT … RETURNING: one row, then the "insertmanyvalues" form SQLAlchemy 2 writes for
    # several (`INSERT … SELECT … FROM (VALUES …) ORDER BY sen_counter RETURNING …`), with
    # psycopg2 (values written in) and psycopg 3 (server-side parameters).
    for driver in ["psycopg2", "psycopg"]:
        engine = sa.create_engine(f"postgresql+{driver}://cip@127.0.0.1:{PORT}/cip")
        Booking.__table__.drop(engine, checkfirst=True)
        Booking.__table__.create(engine)
        with orm.Session(engine) as session:
            first = Booking(room="A1")
            session.add(first)
            session.flush()
            assert (first.id, first.guests) == (1, 2), (first.id, first.guests)
            assert first.created is not None
            many = [Booking(room=f"R{i}", guests=i) for i in range(5)]
            session.add_all(many)
            session.commit()
            assert [b.id for b in many] == [2, 3, 4, 5, 6], [b.id for b in many]
            stored = session.execute(sa.select(Booking.id, Booking.room, Booking.guests).order_by(Booking.id)).all()
            assert [tuple(r) for r in stored[1:]] == [(i + 2, f"R{i}", i) for i in range(5)], stored
        Booking.__table__.drop(engine)
    print("sqlalchemy orm: serial keys and server defaults read back (psycopg2, psycopg 3)")


def sqlalchemy_upserts():
    # INSERT … ON CONFLICT as SQLAlchemy's PostgreSQL dialect writes it: on_conflict_do_update
    # with excluded, the stored row by table name and bound values in SET and WHERE (written in
    # by psycopg2, sent as server-side parameters by psycopg 3), RETURNING; on_conflict_do_nothing.
    from sqlalchemy.dialects.postgresql import insert

    for driver in ["psycopg2", "psycopg"]:
        engine = sa.create_engine(f"postgresql+{driver}://cip@127.0.0.1:{PORT}/cip")
        one, two = f"UPS-{driver}-1", f"UPS-{driver}-2"
        with engine.begin() as conn:
            conn.execute(insert(Member).values(member_id=one, points=1))
            stmt = insert(Member).values([dict(member_id=one, points=5), dict(member_id=two, points=7)])
            stmt = stmt.on_conflict_do_update(
                index_elements=[Member.member_id],
                set_={"points": Member.points + stmt.excluded.points + 100},
                where=Member.points < 50,
            )
            rows = sorted(tuple(r) for r in conn.execute(stmt.returning(Member.member_id, Member.points)))
            assert rows == [(one, 106), (two, 7)], rows
            again = conn.execute(stmt.returning(Member.member_id)).all()
            assert [tuple(r) for r in again] == [(two,)], again
            conn.execute(insert(Member).values(member_id=two, points=0).on_conflict_do_nothing())
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(Member.member_id, Member.points).where(Member.member_id.in_([one, two])).order_by(Member.member_id)
            ).all()
            assert [tuple(r) for r in stored] == [(one, 106), (two, 114)], stored
    print("sqlalchemy: on_conflict_do_update (excluded, bound SET and WHERE, returning), on_conflict_do_nothing")


psycopg_server_side_parameters()
psycopg2_writes_in_its_default_transaction()
sqlalchemy_upserts()
sqlalchemy_orm_session_commits_and_rolls_back()
sqlalchemy_orm_reads_new_keys_back()
sqlalchemy_reflects_every_table_and_view()
pandas_reads_a_view()
print("python clients: ok")
