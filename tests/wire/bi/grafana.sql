-- grafana.sql: Grafana PostgreSQL data source (health check, schema/table/column pickers, macro expansion)
--
-- SQL that Grafana's built-in PostgreSQL data source (grafana-postgresql-datasource) sends.
-- Sources (repository, path, commit of the stored version that was read):
--   - grafana/grafana pkg/tsdb/grafana-postgresql-datasource/pgx/handler_checkhealth.go @ 1b13755cdccfbc5420c9fcb7d6cf2dad7b2888e6
--   - jackc/pgx v5 pgconn/pgconn.go (PgConn.Ping sends "-- ping")
--   - grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts @ 12f912ab8d010f4d95a4043a0efaa20fc4ca0100
--   - grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/datasource.ts @ 04282cd93150390a7d83089cc520d96546d576a8
--   - grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go @ 043dd88a47944c35205994c4da317e100dc9b12e
--   - grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/sqlUtil.ts @ 1137a659434e2505dbdaa92c641d08041f2a7a93
--   - grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- Macro expansions ($__timeGroup, $__timeGroupAlias, $__timeFilter, $__time, $__timeFrom/$__timeTo, $__timeEpoch) are
-- rendered with the exact formats of macros.go: interval.Seconds() printed with %v (1m -> 60), times as RFC3339Nano in UTC.
-- The surrounding SELECTs are user-written panel queries (shape taken from the Grafana docs examples); only the
-- macro expansions and the metadata queries are Grafana-authored text.
--
-- Format: statements are separated by a line that is exactly '-- next'. Each statement is preceded by
-- one '-- source: ...' comment line (and sometimes '-- note: ...' lines); everything after those
-- metadata lines up to the next separator is the statement text as the tool sends it. Statements carry
-- no added terminator: a trailing ';' is present only where the tool itself sends one. Some texts keep
-- the tool's own leading/trailing whitespace and its own SQL comments (e.g. '-- Metabase').
-- Placeholders filled with: database 'sigfuse', schema 'public' (oid 2200), table 'logs' (oid 16384),
-- columns ts timestamptz, service, host, severity, body, trace_id, span_id, attributes (text).

-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/pgx/handler_checkhealth.go @ 1b13755cdccfbc5420c9fcb7d6cf2dad7b2888e6 (CheckHealth -> e.Ping -> pgxpool Ping) + jackc/pgx v5 pgconn/pgconn.go: PgConn.Ping() is pgConn.Exec(ctx, "-- ping")
-- note: 'Save & test' health check. pgx sends this comment-only text as a simple Query ('Q'); the server must answer with EmptyQueryResponse. The older lib/pq path (sqleng/handler_checkhealth.go) uses database/sql Ping instead.
-- ping
-- next
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts @ 12f912ab8d010f4d95a4043a0efaa20fc4ca0100 getVersion() (called by datasource.ts getVersion; used by the config page auto-detect)
SELECT current_setting('server_version_num')::int/100 as version
-- next
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts @ 12f912ab8d010f4d95a4043a0efaa20fc4ca0100 getTimescaleDBVersion()
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'
-- next
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts @ 12f912ab8d010f4d95a4043a0efaa20fc4ca0100 showSchemas()
SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name
-- next
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts @ 12f912ab8d010f4d95a4043a0efaa20fc4ca0100 showTables() with no schema (datasource.ts fetchTables -> query builder table picker / SQL completion)
SELECT
    CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1
-- next
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts @ 12f912ab8d010f4d95a4043a0efaa20fc4ca0100 showTables(schema) with schema='public'
SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'public'
      ORDER BY 1
-- next
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts @ 12f912ab8d010f4d95a4043a0efaa20fc4ca0100 getSchema(table) with table='logs' (datasource.ts fetchFields -> query builder column picker)
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('logs'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('logs'))[1]
          AND quote_ident(table_name) = (parse_ident('logs'))[2]
        ELSE quote_ident(table_name) = 'logs'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
-- next
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts @ 12f912ab8d010f4d95a4043a0efaa20fc4ca0100 getSchema(table) with a schema-qualified table 'public.logs'
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('public.logs'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('public.logs'))[1]
          AND quote_ident(table_name) = (parse_ident('public.logs'))[2]
        ELSE quote_ident(table_name) = 'public.logs'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go @ 043dd88a47944c35205994c4da317e100dc9b12e querySchemas() (Grafana SQL schema handler)
SELECT schema_name FROM information_schema.schemata
		 WHERE schema_name NOT LIKE 'pg_%' AND schema_name != 'information_schema'
		 ORDER BY schema_name
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go @ 043dd88a47944c35205994c4da317e100dc9b12e queryTables() with $1='public'
-- note: sent by pgx with $1 as a bound parameter; filled here
SELECT table_name FROM information_schema.tables
		 WHERE table_schema = 'public' AND table_type IN ('BASE TABLE', 'VIEW')
		 ORDER BY table_name
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go @ 043dd88a47944c35205994c4da317e100dc9b12e queryColumns() with $1='public', $2='logs'
-- note: sent by pgx with $1/$2 as bound parameters; filled here
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = 'public' AND table_name = 'logs'
		 ORDER BY ordinal_position
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go @ 043dd88a47944c35205994c4da317e100dc9b12e ColumnValues() for columns service, host
SELECT 'service' AS col_name, "service"::text AS val FROM (SELECT DISTINCT "service" FROM "public"."logs" WHERE "service" IS NOT NULL ORDER BY "service" LIMIT 100) sub_0 UNION ALL SELECT 'host' AS col_name, "host"::text AS val FROM (SELECT DISTINCT "host" FROM "public"."logs" WHERE "host" IS NOT NULL ORDER BY "host" LIMIT 100) sub_1
-- next
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/sqlUtil.ts @ 1137a659434e2505dbdaa92c641d08041f2a7a93 toRawSql() + @grafana/sql createSelectClause()
-- note: query-builder output for: table logs, columns service + COUNT(body), group by service, limit 50 (builder default); trailing space is produced by toRawSql
SELECT service, COUNT(body) FROM logs GROUP BY service LIMIT 50 
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- note: user text (shape of the Grafana docs time-series example, adapted to logs): SELECT $__timeGroupAlias(ts,'1m'), count(*) AS "count" FROM logs WHERE $__timeFilter(ts) GROUP BY time ORDER BY time
-- note: time range 2024-05-01T00:00:00Z .. 2024-05-01T06:00:00Z; expansion is exactly what macros.go emits
SELECT
  floor(extract(epoch from ts)/60)*60 AS "time",
  count(*) AS "count"
FROM logs
WHERE ts BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-01T06:00:00Z'
GROUP BY time
ORDER BY time
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- note: user text: SELECT $__timeGroup(ts, '1m') as time, service AS metric, count(*) AS value FROM logs WHERE $__timeFilter(ts) GROUP BY 1, 2 ORDER BY 1
-- note: macro args are trimmed, so "ts, '1m'" and "ts,'1m'" expand identically
SELECT
  floor(extract(epoch from ts)/60)*60 as time,
  service AS metric,
  count(*) AS value
FROM logs
WHERE ts BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-01T06:00:00Z'
GROUP BY 1, 2
ORDER BY 1
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- note: user text: SELECT $__timeGroup(ts,'1m'), count(*) AS value FROM logs WHERE $__timeFilter(ts) GROUP BY 1 ORDER BY 1
-- note: pre-5.3 compatibility: a ',' right after $__timeGroup(...) turns it into $__timeGroupAlias (adds AS "time")
SELECT floor(extract(epoch from ts)/60)*60 AS "time", count(*) AS value FROM logs WHERE ts BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-01T06:00:00Z' GROUP BY 1 ORDER BY 1
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- note: user text: SELECT $__timeGroupAlias(ts,'1m',0), severity AS metric, count(*) AS value FROM logs WHERE $__timeFilter(ts) AND severity = 'ERROR' GROUP BY 1, 2 ORDER BY 1
-- note: the third argument (fill value) is consumed by the backend and does not appear in the SQL
SELECT floor(extract(epoch from ts)/60)*60 AS "time", severity AS metric, count(*) AS value FROM logs WHERE ts BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-01T06:00:00Z' AND severity = 'ERROR' GROUP BY 1, 2 ORDER BY 1
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- note: user text (table panel / logs): SELECT $__time(ts), service, severity, body FROM logs WHERE $__timeFilter(ts) ORDER BY ts DESC LIMIT 100
SELECT ts AS "time", service, severity, body FROM logs WHERE ts BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-01T06:00:00Z' ORDER BY ts DESC LIMIT 100
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- note: user text: SELECT count(*) FROM logs WHERE ts >= $__timeFrom() AND ts < $__timeTo()
SELECT count(*) FROM logs WHERE ts >= '2024-05-01T00:00:00Z' AND ts < '2024-05-01T06:00:00Z'
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- note: user text: SELECT $__timeEpoch(ts), body FROM logs WHERE $__timeFilter(ts) LIMIT 10
SELECT extract(epoch from ts) as "time", body FROM logs WHERE ts BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-01T06:00:00Z' LIMIT 10
-- next
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go @ 02ab314b81e2adc656bd7d08cc0533304a0037ff (expansion rules; see also macros_test.go @ 446b3e1f13300e6160905e8e1c7c39fcab9aa084)
-- note: only when the data source's TimescaleDB toggle is on: $__timeGroup(ts,'1m') becomes time_bucket('60.000s',ts)
-- note: user text: SELECT $__timeGroupAlias(ts,'1m'), count(*) AS value FROM logs WHERE $__timeFilter(ts) GROUP BY 1 ORDER BY 1
SELECT time_bucket('60.000s',ts) AS "time", count(*) AS value FROM logs WHERE ts BETWEEN '2024-05-01T00:00:00Z' AND '2024-05-01T06:00:00Z' GROUP BY 1 ORDER BY 1
