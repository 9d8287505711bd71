#!/usr/bin/env python3
"""DuckDB's conversion of the same JSON lines to one zstd Parquet file (the peer of
`sigfuse ingest`). Usage: duckdb_ingest.py SRC OUT.parquet"""
import sys

import duckdb

src, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"""
COPY (
  SELECT to_timestamp(CAST("timestamp" AS DOUBLE)) AS ts, service, pod AS host, level AS severity,
         message AS body, trace_id, span_id, NULL::VARCHAR AS attributes
  FROM read_json('{src}', format = 'newline_delimited',
                 columns = {{"timestamp": 'VARCHAR', service: 'VARCHAR', pod: 'VARCHAR',
                             level: 'VARCHAR', message: 'VARCHAR', trace_id: 'VARCHAR',
                             span_id: 'VARCHAR'}})
) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
""")
