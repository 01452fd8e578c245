"""asyncpg against a running `cip serve`: binary results and parameters (arrays included,
which asyncpg resolves with its own pg_type lookup), LIMIT / OFFSET parameters, executemany,
transactions, uuid, varchar(n) and timestamptz columns, binary COPY in and out, a cursor moved with MOVE, a pool whose connections are reset on release
(pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL), and advisory locks between two
connections.

Usage: python3 asyncpg_client.py PORT. Exits non-zero on the first failed check.
"""

import asyncio
import datetime
import decimal
import io
import sys

import asyncpg

PORT = int(sys.argv[1])
ARGS = dict(host="127.0.0.1", port=PORT, user="cip", database="cip")


async def types_and_parameters(c):
    assert await c.fetchval("SELECT ARRAY[1, 2, 3]") == [1, 2, 3]
    assert await c.fetchval("SELECT ARRAY['a', NULL, 'c']") == ["a", None, "c"]
    assert await c.fetchval("SELECT ARRAY[1.5, 2.5]") == [1.5, 2.5]
    assert await c.fetchval("SELECT $1::int8[]", [4, 5]) == [4, 5]
    assert await c.fetchval("SELECT cardinality($1::text[])", ["x", "y", "z"]) == 3
    assert await c.fetchval("SELECT 1.25::numeric(10, 2)") == decimal.Decimal("1.25")
    # NULL of every type is NULL in binary too (an interval's once went out as zero).
    nulls = await c.fetchrow(
        "SELECT CAST(NULL AS interval), CAST(NULL AS date), CAST(NULL AS timestamp), "
        "CAST(NULL AS numeric), CAST(NULL AS boolean), CAST(NULL AS int8[]), "
        "x FROM (VALUES (INTERVAL '3 days'), (NULL)) t(x) ORDER BY x NULLS FIRST LIMIT 1"
    )
    assert list(nulls) == [None] * 7, nulls
    week = await c.fetchval("SELECT INTERVAL '7 days'")
    assert week == datetime.timedelta(days=7), week
    day = await c.fetchval("SELECT DATE '2026-03-04'")
    assert day == datetime.date(2026, 3, 4), day
    ids = await c.fetch(
        "SELECT member_id FROM members ORDER BY member_id LIMIT $1 OFFSET $2", 3, 2
    )
    every = await c.fetch("SELECT member_id FROM members ORDER BY member_id LIMIT 5")
    assert [r[0] for r in ids] == [r[0] for r in every[2:5]], (ids, every)
    since = datetime.datetime(2000, 1, 1)
    n = await c.fetchval("SELECT count(*) FROM visits WHERE started_at > $1", since)
    assert n > 0
    seg = await c.fetch(
        "SELECT member_id, segment_id, r_score FROM customer_segments "
        "WHERE segment_id = $1 LIMIT 3",
        "loyal",
    )
    assert all(r["segment_id"] == "loyal" for r in seg), seg
    # A statement prepared once and run with several values.
    st = await c.prepare("SELECT count(*) FROM customer_segments WHERE segment_id = $1")
    counts = [await st.fetchval(s) for s in ["vip", "new", "churn_risk"]]
    assert all(isinstance(x, int) for x in counts), counts


async def writes_and_transactions(c):
    await c.execute("DROP TABLE IF EXISTS asyncpg_t")
    await c.execute("DROP TABLE IF EXISTS asyncpg_u")
    await c.execute("CREATE TABLE asyncpg_t (k int, v text, d double precision)")
    await c.executemany(
        "INSERT INTO asyncpg_t VALUES ($1, $2, $3)", [(1, "a", 1.0), (2, "b", None)]
    )
    try:
        async with c.transaction():
            await c.execute("INSERT INTO asyncpg_t VALUES (3, 'c', 3)")
            assert await c.fetchval("SELECT count(*) FROM asyncpg_t") == 3
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await c.fetchval("SELECT count(*) FROM asyncpg_t") == 2
    async with c.transaction():
        await c.execute("INSERT INTO asyncpg_t VALUES (4, 'd', 4)")
    rows = await c.fetch("SELECT k, v, d FROM asyncpg_t ORDER BY k")
    assert [tuple(r) for r in rows] == [(1, "a", 1.0), (2, "b", None), (4, "d", 4.0)], rows
    # Binary COPY, both ways: asyncpg's bulk load and export.
    done = await c.copy_records_to_table(
        "asyncpg_t", records=[(5, "e", 5.5), (6, None, None)], columns=["k", "v", "d"]
    )
    assert done == "COPY 2", done
    out = io.BytesIO()
    done = await c.copy_from_query(
        "SELECT k, v, d FROM asyncpg_t ORDER BY k", output=out, format="binary"
    )
    assert done == "COPY 5", done
    assert out.getvalue().startswith(b"PGCOPY\n\xff\r\n\x00"), out.getvalue()[:20]
    await c.execute("CREATE TABLE asyncpg_u (k int, v text, d double precision)")
    out.seek(0)
    done = await c.copy_to_table("asyncpg_u", source=out, format="binary")
    assert done == "COPY 5", done
    same = await c.fetchval(
        "SELECT count(*) FROM asyncpg_t t JOIN asyncpg_u u "
        "ON t.k = u.k AND t.v IS NOT DISTINCT FROM u.v AND t.d IS NOT DISTINCT FROM u.d"
    )
    assert same == 5, same
    await c.execute("DROP TABLE asyncpg_t")
    await c.execute("DROP TABLE asyncpg_u")
    # INSERT … RETURNING through a prepared statement: the serial id and the default back.
    await c.execute("DROP TABLE IF EXISTS asyncpg_k")
    await c.execute("CREATE TABLE asyncpg_k (id bigserial PRIMARY KEY, v text, n int DEFAULT 7)")
    insert = await c.prepare("INSERT INTO asyncpg_k (v) VALUES ($1) RETURNING id, n")
    assert [a.name for a in insert.get_attributes()] == ["id", "n"]
    assert [tuple(await insert.fetchrow(v)) for v in ["a", "b"]] == [(1, 7), (2, 7)]
    assert await c.fetchval("INSERT INTO asyncpg_k (v, n) VALUES ($1, $2) RETURNING n * 2", "c", None) is None
    # None bound for the serial id is refused as PostgreSQL refuses it, and nothing is stored.
    for sql in ["INSERT INTO asyncpg_k (id, v) VALUES ($1, $2)",
                "INSERT INTO asyncpg_k VALUES ($1::bigint, $2, 1), (DEFAULT, 'e', 2)"]:
        try:
            await c.execute(sql, None, "d")
            raise AssertionError("a NULL serial id was taken: " + sql)
        except asyncpg.NotNullViolationError:
            pass
    assert await c.fetchval("SELECT count(*) FROM asyncpg_k") == 3
    await c.execute("INSERT INTO asyncpg_k (id, v) VALUES ($1, $2)", 10, "e")
    await c.execute("DROP TABLE asyncpg_k")


async def uuids_and_lengths(c):
    # uuid columns go both ways as Python UUIDs (binary), keys default to
    # gen_random_uuid(), and binary COPY carries their 16 bytes; varchar(n) is enforced.
    import uuid

    await c.execute("DROP TABLE IF EXISTS asyncpg_uuid")
    await c.execute(
        "CREATE TABLE asyncpg_uuid (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
        "name varchar(10), code char(2))"
    )
    mine = uuid.uuid4()
    await c.execute("INSERT INTO asyncpg_uuid (id, name, code) VALUES ($1, $2, $3)", mine, "x", "a")
    await c.execute("INSERT INTO asyncpg_uuid (name) VALUES ($1)", "y")
    rows = await c.fetch("SELECT id, name, code FROM asyncpg_uuid ORDER BY name")
    assert rows[0]["id"] == mine and rows[0]["code"] == "a ", rows
    assert isinstance(rows[1]["id"], uuid.UUID) and rows[1]["id"] != mine, rows
    found = await c.fetchval("SELECT name FROM asyncpg_uuid WHERE id = $1", mine)
    assert found == "x", found
    st = await c.prepare("SELECT id FROM asyncpg_uuid WHERE id = $1::uuid")
    assert [p.name for p in st.get_parameters()] == ["uuid"], st.get_parameters()
    assert [a.type.name for a in st.get_attributes()] == ["uuid"], st.get_attributes()
    copied = uuid.uuid4()
    await c.copy_records_to_table(
        "asyncpg_uuid", records=[(copied, "z", "zz")], columns=["id", "name", "code"]
    )
    assert await c.fetchval("SELECT name FROM asyncpg_uuid WHERE id = $1", copied) == "z"
    out = io.BytesIO()
    await c.copy_from_query("SELECT id FROM asyncpg_uuid WHERE id = $1", copied, output=out, format="binary")
    assert copied.bytes in out.getvalue(), out.getvalue()
    try:
        await c.execute("INSERT INTO asyncpg_uuid (name) VALUES ($1)", "eleven chars")
        raise AssertionError("a name over varchar(10) was stored")
    except asyncpg.StringDataRightTruncationError:
        pass
    try:
        await c.execute("INSERT INTO asyncpg_uuid (id) VALUES ($1::text::uuid)", "nope")
        raise AssertionError("'nope' was stored as a uuid")
    except asyncpg.InvalidTextRepresentationError:
        pass
    assert await c.fetchval("SELECT count(*) FROM asyncpg_uuid") == 3
    await c.execute("DROP TABLE asyncpg_uuid")


async def zoned_times(c):
    # A timestamptz column takes and gives instants (binary: microseconds since 2000 UTC),
    # whatever zone they are written in.
    await c.execute("DROP TABLE IF EXISTS asyncpg_times")
    await c.execute("CREATE TABLE asyncpg_times (k int, at timestamptz)")
    utc = datetime.datetime(2026, 3, 4, 5, 6, 7, 89000, tzinfo=datetime.timezone.utc)
    ny = utc.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
    await c.execute("INSERT INTO asyncpg_times VALUES ($1, $2)", 1, ny)
    got = await c.fetchval("SELECT at FROM asyncpg_times WHERE k = 1")
    assert got == utc and got.tzinfo is not None, got
    assert await c.fetchval("SELECT k FROM asyncpg_times WHERE at = $1", utc) == 1
    epoch = await c.fetchval("SELECT extract(epoch FROM at) FROM asyncpg_times")
    assert float(epoch) == utc.timestamp(), epoch
    await c.execute("DROP TABLE asyncpg_times")


async def cursor(c):
    expected = [r[0] for r in await c.fetch("SELECT member_id FROM members ORDER BY 1 LIMIT 8")]
    async with c.transaction():
        cur = await c.cursor("SELECT member_id FROM members ORDER BY 1")
        first = [r[0] for r in await cur.fetch(2)]
        moved = await cur.forward(5)
        eighth = (await cur.fetchrow())[0]
    assert first == expected[:2], (first, expected)
    assert moved == 5 and eighth == expected[7], (moved, eighth, expected)


async def pool_and_advisory_locks():
    pool = await asyncpg.create_pool(**ARGS, min_size=1, max_size=1)
    a = await asyncpg.connect(**ARGS)
    # Each release runs asyncpg's reset: the lock taken in the pool goes with it.
    for _ in range(3):
        async with pool.acquire() as con:
            assert await con.fetchval("SELECT pg_try_advisory_lock(77)")
            assert not await a.fetchval("SELECT pg_try_advisory_lock(77)")
        assert await a.fetchval("SELECT pg_try_advisory_lock(77)"), "released with the pool's reset"
        assert await a.fetchval("SELECT pg_advisory_unlock(77)")
    b = await asyncpg.connect(**ARGS)
    assert await a.fetchval("SELECT pg_try_advisory_lock(78)")
    assert not await b.fetchval("SELECT pg_try_advisory_lock(78)")
    waiter = asyncio.ensure_future(b.fetchval("SELECT pg_advisory_lock(78)"))
    await asyncio.sleep(0.3)
    assert not waiter.done(), "b waits while a holds the lock"
    assert await a.fetchval("SELECT pg_advisory_unlock(78)")
    await asyncio.wait_for(waiter, 10)
    assert not await a.fetchval("SELECT pg_try_advisory_lock(78)")
    await b.close()
    for _ in range(50):
        if await a.fetchval("SELECT pg_try_advisory_lock(78)"):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("b's locks went with its connection")
    await a.close()
    await pool.close()


async def main():
    c = await asyncpg.connect(**ARGS)
    await types_and_parameters(c)
    await writes_and_transactions(c)
    await uuids_and_lengths(c)
    await zoned_times(c)
    await cursor(c)
    await c.close()
    await pool_and_advisory_locks()
    print("asyncpg: ok")


asyncio.run(main())
