"""Grafana's PostgreSQL data source against a running `cip serve`: the SQL its query builder
sends (postgresMetaQuery.ts: version, schemas, tables, columns with quote_ident, parse_ident
and current_setting('search_path')) and dashboard queries with its macros expanded exactly as
its backend expands them (pkg/tsdb/grafana-postgresql-datasource/macros.go: RFC 3339 UTC
literals ending in 'Z', floor(extract(epoch …)/s)*s buckets, epoch filters), run through a
text-protocol driver (psycopg 3, as lib/pq reads) and a binary one (asyncpg, as pgx reads).
The 'Z', plain and epoch filters must select the same rows, and every bucket must match what
this program computes from the raw visits itself.

Usage: python3 grafana_client.py PORT. Exits non-zero on the first failed check.
"""

import asyncio
import collections
import datetime
import decimal
import re
import sys

import asyncpg
import psycopg

PORT = int(sys.argv[1])
DSN = f"host=127.0.0.1 port={PORT} user=cip dbname=cip"

# The dashboard's time range: the last 30 days of the generated chain.
FROM = datetime.datetime(2026, 10, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)
TO = datetime.datetime(2026, 10, 30, 23, 59, 59, 999000, tzinfo=datetime.timezone.utc)
INTERVALS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rfc3339nano(t):
    """Go's time.RFC3339Nano of a UTC time: trailing zeros of the fraction dropped, 'Z'."""
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += ("." + f"{t.microsecond:06d}").rstrip("0")
    return text + "Z"


def seconds(interval):
    m = re.fullmatch(r"(\d+)([smhd])", interval.strip("'"))
    assert m, interval
    return int(m.group(1)) * INTERVALS[m.group(2)]


def expand(sql):
    """Grafana's macro engine: $__name(args) with args split on commas and trimmed."""

    def macro(m):
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        if name == "__time":
            return f'{args[0]} AS "time"'
        if name == "__timeEpoch":
            return f'extract(epoch from {args[0]}) as "time"'
        if name == "__timeFilter":
            return f"{args[0]} BETWEEN '{rfc3339nano(FROM)}' AND '{rfc3339nano(TO)}'"
        if name == "__timeFrom":
            return f"'{rfc3339nano(FROM)}'"
        if name == "__timeTo":
            return f"'{rfc3339nano(TO)}'"
        if name in ("__timeGroup", "__timeGroupAlias"):
            s = seconds(args[1])
            g = f"floor(extract(epoch from {args[0]})/{s})*{s}"
            return g + (' AS "time"' if name == "__timeGroupAlias" else "")
        if name == "__unixEpochFilter":
            f, t = int(FROM.timestamp()), int(TO.timestamp())
            return f"{args[0]} >= {f} AND {args[0]} <= {t}"
        if name in ("__unixEpochGroup", "__unixEpochGroupAlias"):
            s = seconds(args[1])
            g = f"floor(({args[0]})/{s})*{s}"
            return g + (' AS "time"' if name == "__unixEpochGroupAlias" else "")
        raise AssertionError(f"unknown macro {name}")

    return re.sub(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)", macro, sql)


SEARCH_PATH = """quote_ident(table_schema) IN (
  SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
  FROM generate_series(
    array_lower(string_to_array(current_setting('search_path'),','),1),
    array_upper(string_to_array(current_setting('search_path'),','),1)
  ) as i, string_to_array(current_setting('search_path'),',') s)"""

BUILDER = {
    "version": "SELECT current_setting('server_version_num')::int/100 as version",
    "schemas": """SELECT schema_name AS "name" FROM information_schema.schemata
        WHERE schema_name NOT IN ('information_schema', 'pg_catalog', 'pg_toast',
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_internal',
          '_timescaledb_config', 'timescaledb_information', 'timescaledb_experimental')
        ORDER BY schema_name""",
    "tables in schema": """SELECT quote_ident(table_name) AS "table"
        FROM information_schema.tables WHERE quote_ident(table_schema) = 'public' ORDER BY 1""",
    "tables": f"""SELECT CASE WHEN {SEARCH_PATH} THEN quote_ident(table_name)
          ELSE quote_ident(table_schema) || '.' || quote_ident(table_name) END AS "table"
        FROM information_schema.tables
        WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog',
          '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_internal',
          '_timescaledb_config', 'timescaledb_information', 'timescaledb_experimental')
        ORDER BY CASE WHEN {SEARCH_PATH} THEN 0 ELSE 1 END, 1""",
    "columns": f"""SELECT quote_ident(column_name) AS "column", data_type AS "type"
        FROM information_schema.columns
        WHERE CASE WHEN array_length(parse_ident('visits'),1) = 2
            THEN quote_ident(table_schema) = (parse_ident('visits'))[1]
              AND quote_ident(table_name) = (parse_ident('visits'))[2]
            ELSE quote_ident(table_name) = 'visits' AND {SEARCH_PATH} END""",
    "qualified columns": """SELECT quote_ident(column_name) AS "column", data_type AS "type"
        FROM information_schema.columns
        WHERE CASE WHEN array_length(parse_ident('public.visits'),1) = 2
            THEN quote_ident(table_schema) = (parse_ident('public.visits'))[1]
              AND quote_ident(table_name) = (parse_ident('public.visits'))[2]
            ELSE quote_ident(table_name) = 'public.visits' END""",
}

DAILY = "GROUP BY 1 ORDER BY 1"
PANELS = {
    # The same daily series three ways: the 'Z' literals of $__timeFilter, plain literals,
    # and an epoch column with $__unixEpochFilter / $__unixEpochGroup.
    "z": f"""SELECT $__timeGroupAlias(started_at, '1d'), count(*) AS visits,
          sum(amount) AS revenue FROM visits WHERE $__timeFilter(started_at) {DAILY}""",
    "plain": f"""SELECT floor(extract(epoch from started_at)/86400)*86400 AS "time",
          count(*) AS visits, sum(amount) AS revenue FROM visits
        WHERE started_at BETWEEN '{FROM:%Y-%m-%d %H:%M:%S}' AND '{TO:%Y-%m-%d %H:%M:%S.%f}'
        {DAILY}""",
    "epoch": f"""WITH v AS (SELECT extract(epoch from started_at) AS ts, amount FROM visits)
        SELECT $__unixEpochGroupAlias(ts, '1d'), count(*) AS visits, sum(amount) AS revenue
        FROM v WHERE $__unixEpochFilter(ts) {DAILY}""",
    # Time as a timestamp for the panel: to_timestamp of the bucket, shown in UTC.
    "to_timestamp": f"""SELECT to_timestamp($__timeGroup(started_at, '1d')) AT TIME ZONE 'UTC'
          AS "time", count(*) AS visits, sum(amount) AS revenue
        FROM visits WHERE $__timeFilter(started_at) {DAILY}""",
}


def truth(raw):
    """Daily (visits, revenue) by the bucket's epoch second, from raw (started_at, amount)."""
    lo, hi = FROM.replace(tzinfo=None), TO.replace(tzinfo=None)
    days = collections.defaultdict(lambda: [0, decimal.Decimal(0)])
    for started_at, amount in raw:
        if lo <= started_at <= hi:
            epoch = started_at.replace(tzinfo=datetime.timezone.utc).timestamp()
            day = days[int(epoch // 86400 * 86400)]
            day[0] += 1
            day[1] += decimal.Decimal(str(amount))
    return {k: (v[0], v[1]) for k, v in sorted(days.items())}


def as_epoch(t):
    if isinstance(t, datetime.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return int(t.timestamp())
    return int(t)


def series(rows):
    return {as_epoch(r[0]): (int(r[1]), decimal.Decimal(str(r[2]))) for r in rows}


def check_builder(results, driver):
    version = results["version"][0][0]
    assert int(version) == 1600, (driver, version)
    schemas = [r[0] for r in results["schemas"]]
    assert "public" in schemas and "information_schema" not in schemas, (driver, schemas)
    in_schema = [r[0] for r in results["tables in schema"]]
    for t in ("members", "visits", "customer_segments"):
        assert t in in_schema, (driver, t, in_schema)
    tables = [r[0] for r in results["tables"]]
    # public is on the search path, so Grafana lists its tables unqualified, first.
    assert "visits" in tables and "public.visits" not in tables, (driver, tables[:10])
    for key in ("columns", "qualified columns"):
        columns = dict((r[0], r[1]) for r in results[key])
        assert columns.get("started_at") == "timestamp without time zone", (driver, key, columns)
        assert columns.get("amount") == "numeric", (driver, key, columns)


def check_panels(results, raw, driver):
    expected = truth(raw)
    assert len(expected) >= 20, expected
    for name in PANELS:
        got = series(results[name])
        assert got == expected, (driver, name, sorted(set(got.items()) ^ set(expected.items()))[:5])


def macros_expand_as_grafanas():
    sql = expand("WHERE $__timeFilter(t) AND $__unixEpochFilter(e) GROUP BY $__timeGroup(t, '5m')")
    assert sql == (
        "WHERE t BETWEEN '2026-10-01T00:00:00Z' AND '2026-10-30T23:59:59.999Z' "
        f"AND e >= {int(FROM.timestamp())} AND e <= {int(TO.timestamp())} "
        "GROUP BY floor(extract(epoch from t)/300)*300"
    ), sql


def text_driver():
    results = {}
    with psycopg.connect(DSN, autocommit=True) as c:
        for name, sql in {**BUILDER, **PANELS}.items():
            results[name] = c.execute(expand(sql)).fetchall()
        raw = c.execute("SELECT started_at, amount FROM visits").fetchall()
        # $__timeFrom() / $__timeTo() / $__timeEpoch as a table panel uses them.
        row = c.execute(
            expand(
                "SELECT $__timeEpoch(started_at), started_at FROM visits "
                "WHERE started_at >= $__timeFrom() AND started_at <= $__timeTo() "
                "ORDER BY started_at LIMIT 1"
            )
        ).fetchone()
        assert as_epoch(row[0]) == as_epoch(row[1]), row
    return results, raw


async def binary_driver():
    c = await asyncpg.connect(host="127.0.0.1", port=PORT, user="cip", database="cip")
    try:
        results = {}
        for name, sql in {**BUILDER, **PANELS}.items():
            results[name] = [tuple(r) for r in await c.fetch(expand(sql))]
        raw = [tuple(r) for r in await c.fetch("SELECT started_at, amount FROM visits")]
        return results, raw
    finally:
        await c.close()


def main():
    macros_expand_as_grafanas()
    text, raw = text_driver()
    check_builder(text, "text")
    check_panels(text, raw, "text")
    binary, raw_binary = asyncio.run(binary_driver())
    check_builder(binary, "binary")
    check_panels(binary, raw_binary, "binary")
    print("grafana: ok")


main()
