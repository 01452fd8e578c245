"""polars `read_database_uri` with connectorx (its default engine, which reads PostgreSQL
through binary COPY), connectorx's other protocols and polars' ADBC engine (the Arrow
Database Connectivity driver for PostgreSQL, which reads pg_type's regproc columns when it
connects) against a running `cip serve`, each result compared with psycopg's reading of the
same query.

Usage: python3 polars_client.py PORT. Exits non-zero on the first failed check.
"""

import sys

import connectorx as cx
import polars as pl
import psycopg

PORT = int(sys.argv[1])
URI = f"postgresql://cip:unused@127.0.0.1:{PORT}/cip"
DSN = f"host=127.0.0.1 port={PORT} user=cip dbname=cip"

QUERIES = [
    "SELECT member_id, points, tier, registered_at, marketing_consent FROM members ORDER BY member_id LIMIT 50",
    "SELECT store_id, count(*) AS visits, sum(amount) AS takings, "
    "min(started_at) AS first_visit FROM visits GROUP BY store_id ORDER BY store_id",
    "SELECT member_id, segment_id, recency_days, monetary, p_alive "
    "FROM customer_segments ORDER BY member_id LIMIT 50",
    "SELECT member_id FROM members WHERE false",
]


def normalise(v):
    """Values as both readers can agree on them: numbers as rounded floats, the rest as text."""
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return round(float(v), 6)
    if hasattr(v, "is_finite"):  # Decimal
        return round(float(v), 6)
    if isinstance(v, str):
        # ADBC's driver reads numeric as text, as it does from PostgreSQL.
        try:
            return round(float(v), 6)
        except ValueError:
            pass
    return str(v).replace("T", " ")


def rows_of(df):
    return [tuple(normalise(v) for v in row) for row in df.iter_rows()]


def main():
    with psycopg.connect(DSN) as conn:
        for q in QUERIES:
            expected = [tuple(normalise(v) for v in r) for r in conn.execute(q).fetchall()]
            df = pl.read_database_uri(q, URI)
            assert rows_of(df) == expected, (q, rows_of(df)[:3], expected[:3])
            adbc = pl.read_database_uri(q, URI, engine="adbc")
            assert rows_of(adbc) == expected, ("adbc", q, rows_of(adbc)[:3], expected[:3])
            for protocol in ["binary", "cursor", "csv"]:
                got = cx.read_sql(URI, q, return_type="polars", protocol=protocol)
                assert rows_of(got) == expected, (protocol, q, rows_of(got)[:3], expected[:3])
    print("polars connectorx adbc: ok")
    adbc_lists_tables_and_views()


def adbc_lists_tables_and_views():
    # ADBC's catalog listing binds `relkind = ANY($2)` without a type and sends '{r,v,…}'.
    from adbc_driver_postgresql import dbapi

    with dbapi.connect(URI) as conn:
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    found = {
        (s["db_schema_name"], t["table_name"], t["table_type"])
        for c in objects
        for s in c["catalog_db_schemas"] or []
        for t in s["db_schema_tables"] or []
    }
    for want in [("public", "members", "table"), ("public", "customer_segments", "view")]:
        assert want in found, (want, sorted(found)[:10])
    print(f"adbc get_objects: {len(found)} tables and views")
    # Columns and constraints: the driver's constraint query unnests pg_constraint's arrays
    # laterally (`FROM pg_constraint con CROSS JOIN UNNEST(conkey)`).
    with dbapi.connect(URI) as conn:
        objects = conn.adbc_get_objects(
            depth="all", db_schema_filter="public", table_name_filter="visits"
        ).read_all().to_pylist()
    (table,) = [t for c in objects for s in c["catalog_db_schemas"] for t in s["db_schema_tables"]]
    columns = [(c["column_name"], c["xdbc_type_name"], c["ordinal_position"]) for c in table["table_columns"]]
    assert columns[:2] == [("visit_id", "text", 1), ("member_id", "text", 2)], columns
    assert ("amount", "numeric", 5) in columns, columns
    assert table["table_constraints"] == [], table["table_constraints"]
    print(f"adbc get_objects depth=all: {len(columns)} columns of visits")


main()
