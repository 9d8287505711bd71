"""Replays the start-up and schema-browsing SQL of BI tools and drivers (tests/wire/bi/*.sql)
against a running `sigfuse serve`, over the simple protocol (psycopg2 sends statements as they are, several per message allowed).

    python tests/wire/replay_bi.py PORT [--strict]

Prints, per tool, how many statements ran and the first error of each that failed. With
--strict, any failure exits non-zero. Statement files: see their headers for provenance.
"""

import pathlib
import sys

import psycopg2

PORT = int(sys.argv[1])
STRICT = "--strict" in sys.argv
HERE = pathlib.Path(__file__).parent / "bi"


def statements(path):
    text = path.read_text()
    for chunk in text.split("\n-- next\n"):
        lines = [
            l for l in chunk.splitlines()
            if not l.startswith("-- source:") and not l.startswith("-- note:")
        ]
        body = "\n".join(lines).strip()
        # The file header (comment lines before the first statement) is not SQL a tool sends;
        # a chunk may end with the header's last line followed by a statement ('-- ping').
        if body.startswith("-- ") and "\n\n" in body:
            body = body.split("\n\n", 1)[1].strip()
        if body and not all(l.startswith("--") for l in body.splitlines()) or body == "-- ping":
            yield body


failed_total = 0
for path in sorted(HERE.glob("*.sql")):
    ok = 0
    failures = []
    conn = psycopg2.connect(f"host=127.0.0.1 port={PORT} user=sigfuse dbname=sigfuse")
    conn.autocommit = True
    for sql in statements(path):
        cur = conn.cursor()
        try:
            cur.execute(sql)
            ok += 1
        except psycopg2.ProgrammingError as e:
            # A comment-only text gets EmptyQueryResponse, from PostgreSQL too, which psycopg2
            # turns into this error; pgx (Grafana's ping) takes it as success.
            if all(l.startswith("--") for l in sql.splitlines()) and "empty query" in str(e):
                ok += 1
            else:
                failures.append((sql.splitlines()[0][:70], f"{e.pgcode} {str(e).strip()}"[:160]))
        except psycopg2.Error as e:
            first = (e.pgerror or str(e)).strip().splitlines()[0]
            failures.append((sql.splitlines()[0][:70], f"{e.pgcode} {first}"[:160]))
        finally:
            cur.close()
    conn.close()
    failed_total += len(failures)
    print(f"{path.stem:10} {ok}/{ok + len(failures)} statements ran")
    for first_line, error in failures:
        print(f"    FAIL {first_line!r}: {error}")
sys.exit(1 if STRICT and failed_total else 0)
