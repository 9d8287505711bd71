"""Real Python drivers against a running `sigfuse serve` (scripts/test starts it).

    python tests/wire/clients.py PORT

Each check prints one line; any failure raises and the script exits non-zero. The lake is the
demo lake, so the four signal tables exist and `logs` has rows.
"""

import asyncio
import datetime
import decimal
import sys

PORT = int(sys.argv[1])
DSN = f"host=127.0.0.1 port={PORT} user=sigfuse dbname=sigfuse"


def ok(what):
    print(f"ok  {what}", flush=True)


def check_psycopg3():
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        assert conn.info.server_version >= 160000, conn.info.server_version
        v = conn.execute("SELECT version()").fetchone()[0]
        assert v.startswith("PostgreSQL 16."), v
        n = conn.execute("SELECT count(*) FROM logs").fetchone()[0]
        assert n > 0
        # Parameters: the extended protocol with typed values.
        row = conn.execute(
            "SELECT count(*) FROM logs WHERE service = %s AND ts >= %s",
            ("frontend", datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)),
        ).fetchone()
        assert row[0] >= 0
        # Binary results of every type we return.
        with conn.cursor(binary=True) as cur:
            cur.execute(
                "SELECT CAST(1 AS SMALLINT), CAST(2 AS INT), CAST(3 AS BIGINT), "
                "CAST(1.5 AS REAL), CAST(2.5 AS DOUBLE PRECISION), true, 'x', "
                "min(ts), make_array(CAST(1 AS REAL), CAST(2 AS REAL)) FROM logs"
            )
            r = cur.fetchone()
            assert r[:7] == (1, 2, 3, 1.5, 2.5, True, "x"), r
            assert r[7].tzinfo is not None, r[7]
            assert r[8] == [1.0, 2.0], r[8]
        # interval, numeric, bytea, date and arrays, in text and in binary.
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                cur.execute(
                    "SELECT INTERVAL '1 day 2 hours', CAST(1.25 AS DECIMAL(10,2)), "
                    "CAST('abc' AS BYTEA), CAST('2024-06-03' AS DATE), make_array('a', 'b'), "
                    "make_array(1, 2)"
                )
                r = cur.fetchone()
                assert r[0] == datetime.timedelta(days=1, hours=2), r
                assert r[1] == decimal.Decimal("1.25"), r
                assert bytes(r[2]) == b"abc", r
                assert r[3] == datetime.date(2024, 6, 3), r
                assert r[4] == ["a", "b"] and r[5] == [1, 2], r
        # json and jsonb, decoded by the driver into Python values (text and binary).
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                cur.execute(
                    "SELECT '{\"b\": [1, 2], \"a\": null}'::json, '{\"b\": 1, \"a\": \"x\"}'::jsonb, "
                    "json_build_object('service', service, 'n', 3), attributes ->> 'missing' "
                    "FROM logs LIMIT 1"
                )
                r = cur.fetchone()
                assert r[0] == {"b": [1, 2], "a": None}, r
                assert r[1] == {"a": "x", "b": 1}, r
                assert r[2]["n"] == 3 and isinstance(r[2]["service"], str), r
                assert r[3] is None, r
                # JSON parameters, sent typed as json / jsonb (binary jsonb: version byte).
                from psycopg.types.json import Json, Jsonb

                cur.execute("SELECT %s::jsonb -> 'a', %s::json ->> 'b'",
                            (Jsonb({"a": [1]}), Json({"b": "x"})))
                assert cur.fetchone() == ([1], "x")
        ok("psycopg 3: version, parameters, binary types, timestamptz, float4[], interval, "
           "numeric, bytea, date, text[], int8[], json, jsonb, json parameters (text and binary)")
        # Errors carry SQLSTATE and the connection stays usable.
        try:
            conn.execute("SELECT * FROM no_such_table")
            raise AssertionError("no error")
        except psycopg.errors.UndefinedTable as e:
            assert e.sqlstate == "42P01"
        assert conn.execute("SELECT 1").fetchone()[0] == 1
        ok("psycopg 3: SQLSTATE 42P01, connection usable after the error")
    # Server-side cursor: rows come in pieces.
    with psycopg.connect(DSN) as conn:
        with conn.cursor(name="logs_cursor") as cur:
            cur.itersize = 100
            cur.execute("SELECT ts, body FROM logs ORDER BY ts LIMIT 1000")
            seen = sum(1 for _ in cur)
            assert seen == 1000, seen
    ok("psycopg 3: named (server-side) cursor, 1000 rows in pieces of 100")


def check_psycopg2():
    import psycopg2
    import psycopg2.errors

    conn = psycopg2.connect(DSN)
    conn.autocommit = True
    assert conn.server_version >= 160000, conn.server_version
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM logs WHERE severity = %s", ("ERROR",))
    assert cur.fetchone()[0] >= 0
    try:
        cur.execute("SELEC 1")
        raise AssertionError("no error")
    except psycopg2.errors.SyntaxError as e:
        assert e.pgcode == "42601"
    cur.execute("SELECT 2")
    assert cur.fetchone()[0] == 2
    cur.execute("SELECT jsonb_build_object('k', %s) -> 'k', '[1, 2]'::json", (7,))
    assert cur.fetchone() == (7, [1, 2])
    conn.close()
    conn = psycopg2.connect(DSN)
    cur = conn.cursor(name="c2")
    cur.itersize = 50
    cur.execute("SELECT service FROM logs LIMIT 120")
    assert len(list(cur)) == 120
    conn.close()
    ok("psycopg2: version, parameters, SQLSTATE 42601, jsonb and json, named cursor")


async def check_asyncpg_async():
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=PORT, user="sigfuse", database="sigfuse")
    n = await conn.fetchval("SELECT count(*) FROM logs WHERE service = $1", "frontend")
    assert n >= 0
    # Array results make asyncpg run its type-introspection query (sql/src/compat.rs).
    row = await conn.fetchrow("SELECT make_array(1.5::real, 2.5::real) AS v, make_array('a', 'b') AS t")
    assert list(row["v"]) == [1.5, 2.5] and list(row["t"]) == ["a", "b"], row
    # jsonb arrives in binary with its version byte; asyncpg returns the JSON text.
    row = await conn.fetchrow('SELECT \'{"b": 1, "a": [true]}\'::jsonb AS b, json_build_array(1, $1::text) AS j', "x")
    assert row["b"] == '{"a": [true], "b": 1}' and row["j"] == '[1, "x"]', row
    # A pooled connection's reset, as asyncpg sends it when a pool takes a connection back.
    await conn.reset()
    ts = await conn.fetchval("SELECT min(ts) FROM logs")
    assert ts.tzinfo is not None
    try:
        await conn.fetch("SELECT no_such_function(1)")
        raise AssertionError("no error")
    except asyncpg.PostgresError as e:
        assert e.sqlstate == "42883", e.sqlstate
    assert await conn.fetchval("SELECT 3") == 3
    await conn.close()


def check_asyncpg():
    asyncio.run(check_asyncpg_async())
    ok("asyncpg: parameters, timestamptz, float4[] and text[] results, jsonb, json, reset, "
       "SQLSTATE 42883")


def check_sqlalchemy_pandas():
    import pandas
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"postgresql+psycopg2://sigfuse@127.0.0.1:{PORT}/sigfuse")
    insp = sqlalchemy.inspect(engine)
    assert "public" in insp.get_schema_names()
    tables = set(insp.get_table_names())
    assert {"logs", "spans", "metrics", "events"} <= tables, tables
    assert insp.has_table("spans")
    columns = {c["name"]: c for c in insp.get_columns("logs")}
    assert str(columns["body"]["type"]) == "TEXT" and columns["body"]["default"] is None, columns
    assert columns["ts"]["type"].timezone, columns["ts"]
    assert insp.get_pk_constraint("logs")["constrained_columns"] == []
    meta = sqlalchemy.MetaData()
    meta.reflect(engine, only=["spans"])
    assert "duration_ns" in meta.tables["spans"].c, meta.tables["spans"].c
    ok("SQLAlchemy inspector: schemas, tables, has_table, get_columns, get_pk_constraint, reflect")
    frame = pandas.read_sql(
        "SELECT service, count(*) AS n FROM spans GROUP BY service ORDER BY n DESC", engine
    )
    assert len(frame) > 0 and list(frame.columns) == ["service", "n"], frame
    ok(f"pandas.read_sql: {len(frame)} rows")


for check in (check_psycopg3, check_psycopg2, check_asyncpg, check_sqlalchemy_pandas):
    check()
print("all Python clients passed")
