-- metabase.sql: Metabase PostgreSQL driver (connection test + sync)
--
-- SQL that Metabase's PostgreSQL driver (metabase.driver.postgres on top of sql-jdbc + pgjdbc) sends on connection
-- test and during database sync (schemas, tables, fields, FKs, fingerprinting), plus the wrapper of a user question.
-- Sources:
--   - https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1)
--   - datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log)
--   - metabase/metabase src/metabase/driver/postgres.clj @ 370249b52907c64fb32de3739c1b2136abd9e960 (show timezone;, enum-types)
--   - metabase/metabase src/metabase/driver/postgres.clj (recent version in the code index; HoneySQL get-tables-sql / describe-fields-sql / describe-fks)
--   - metabase/metabase issues #57204, #39130, #6492, #18224 (quoted PostgreSQL logs)
--   - PostgreSQL server log captured from Metabase v0.62.1.5 syncing a Postgres 16 database, found in the public code index as a standalone capture file (its repository could not be identified); bound values $1.. filled from the values recorded in that capture
-- Metabase builds its sync SQL with HoneySQL, so the exact text exists only as rendered output; the rendered texts here
-- come from server logs (issue #158 for v0.55.1, the capture file for v0.62.1.5), not from hand rendering.
-- pgjdbc metadata calls Metabase also makes (getPrimaryKeys, getColumns per table) are in pgjdbc.sql.
--
-- Format: statements are separated by a line that is exactly '-- next'. Each statement is preceded by
-- one '-- source: ...' comment line (and sometimes '-- note: ...' lines); everything after those
-- metadata lines up to the next separator is the statement text as the tool sends it. Statements carry
-- no added terminator: a trailing ';' is present only where the tool itself sends one. Some texts keep
-- the tool's own leading/trailing whitespace and its own SQL comments (e.g. '-- Metabase').
-- Placeholders filled with: database 'sigfuse', schema 'public' (oid 2200), table 'logs' (oid 16384),
-- columns ts timestamptz, service, host, severity, body, trace_id, span_id, attributes (text).

-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log)
SET extra_float_digits = 2
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log)
SET application_name = 'Metabase v0.55.1 [f8f63fdf-d8f8-4573-86ea-4fe4a9548041]'
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1)
-- note: connection test / can-connect? check
SELECT 1
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log)
-- note: pgjdbc Connection.getTransactionIsolation(), issued by the c3p0 pool on checkout
SHOW TRANSACTION ISOLATION LEVEL
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log); also quoted in https://github.com/metabase/metabase/issues/57204 and https://github.com/risingwavelabs/risingwave/issues/7976
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log)
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log)
-- note: pgjdbc 42.7.x DatabaseMetaData.getSchemas() (sync: list schemas)
SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY "TABLE_SCHEM"
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log)
-- note: current-user table privileges (sync step)
with table_privileges as (
         select
           NULL as role,
           t.schemaname as schema,
           t.objectname as table,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
           pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
         from (
           select schemaname, tablename as objectname from pg_catalog.pg_tables
           union
           select schemaname, viewname as objectname from pg_catalog.pg_views
           union
           select schemaname, matviewname as objectname from pg_catalog.pg_matviews
         ) t
         where t.schemaname !~ '^pg_'
           and t.schemaname <> 'information_schema'
           and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
        )
        select t.*
        from table_privileges t
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs @ 2ac70e6de3e68ad3a571f9771e91ad1e5ea67c7e (queries transcribed from the issue #158 log); generated by metabase/metabase src/metabase/driver/postgres.clj (recent version in the code index; HoneySQL get-tables-sql / describe-fields-sql / describe-fks) get-tables-sql (Metabase v0.55.1)
-- note: Metabase sends the literals ('0', '^pg_', 'information_schema', 'public') as bound parameters; inlined as in the datafusion-postgres test
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) ORDER BY "type" ASC, "schema" ASC, "name" ASC
-- next
-- source: PostgreSQL server log captured from Metabase v0.62.1.5 syncing a Postgres 16 database, found in the public code index as a standalone capture file (its repository could not be identified); bound values $1.. filled from the values recorded in that capture; generated by metabase/metabase src/metabase/driver/postgres.clj (recent version in the code index; HoneySQL get-tables-sql / describe-fields-sql / describe-fks) get-tables-sql (Metabase v0.62: NULLIF on n_live_tup)
-- note: bound values: $1='0', $2='0', $3='^pg_', $4='information_schema', $5='public'
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", NULLIF("stat"."n_live_tup", '0') AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) ORDER BY "type" ASC, "schema" ASC, "name" ASC
-- next
-- source: metabase/metabase src/metabase/driver/postgres.clj @ 370249b52907c64fb32de3739c1b2136abd9e960 driver/db-default-timezone ("show timezone;" via prepareStatement); also in https://github.com/datafusion-contrib/datafusion-postgres/issues/158 (PostgreSQL server log of Metabase v0.55.1)
show timezone;
-- next
-- source: metabase/metabase src/metabase/driver/postgres.clj @ 370249b52907c64fb32de3739c1b2136abd9e960 enum-types (describe-table binds *enum-types* before field sync)
SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)
-- next
-- source: PostgreSQL server log captured from Metabase v0.62.1.5 syncing a Postgres 16 database, found in the public code index as a standalone capture file (its repository could not be identified); bound values $1.. filled from the values recorded in that capture; generated by metabase/metabase src/metabase/driver/postgres.clj (recent version in the code index; HoneySQL get-tables-sql / describe-fields-sql / describe-fks) sql-jdbc.sync/describe-fields-sql :postgres
-- note: bound values: $1='ALWAYS', $2='public', $3='public'
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", "column_default" AS "database-default", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment", "is_generated" = 'ALWAYS' AS "database-is-generated", "is_nullable" = 'YES' AS "database-is-nullable" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('public')) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", NULL AS "database-default", FALSE AS "database-is-auto-increment", FALSE AS "database-is-generated", FALSE AS "database-is-nullable" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('public')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC
-- next
-- source: PostgreSQL server log captured from Metabase v0.62.1.5 syncing a Postgres 16 database, found in the public code index as a standalone capture file (its repository could not be identified); bound values $1.. filled from the values recorded in that capture; generated by metabase/metabase src/metabase/driver/postgres.clj (recent version in the code index; HoneySQL get-tables-sql / describe-fields-sql / describe-fks) describe-fks (:describe-fks feature)
-- note: bound value: $1='public'
SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND ("c"."contype" = 'f'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_ns"."nspname" IN ('public')) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC
-- next
-- source: PostgreSQL server log captured from Metabase v0.62.1.5 syncing a Postgres 16 database, found in the public code index as a standalone capture file (its repository could not be identified); bound values $1.. filled from the values recorded in that capture; older form of the same query quoted in https://github.com/metabase/metabase/issues/6492
-- note: fingerprinting / sample rows during sync; the first line '-- Metabase' and the tab before SELECT are part of the text Metabase sends
-- Metabase
	SELECT "public"."logs"."ts" AS "ts", "public"."logs"."service" AS "service", "public"."logs"."severity" AS "severity" FROM "public"."logs" LIMIT 10000
-- next
-- source: PostgreSQL server log captured from Metabase v0.62.1.5 syncing a Postgres 16 database, found in the public code index as a standalone capture file (its repository could not be identified); bound values $1.. filled from the values recorded in that capture
-- note: fingerprinting of text columns truncates with SUBSTRING(col, 1, 1234); alias numbers are generated per run
-- Metabase
	SELECT SUBSTRING("public"."logs"."service", 1, 1234) AS "substring4476", SUBSTRING("public"."logs"."host", 1, 1234) AS "substring4477" FROM "public"."logs" LIMIT 10000
-- next
-- source: https://github.com/metabase/metabase/issues/57204 and https://github.com/metabase/metabase/issues/39130 (PostgreSQL logs of a Metabase question run)
-- note: sent right before each user question
SET ROLE NONE
-- next
-- source: https://github.com/metabase/metabase/issues/57204 (log of a question: '-- Metabase:: userID: 1 queryType: MBQL queryHash: ...' header + tab + SELECT); same shape in the v0.62 capture
-- note: simple 'Count of rows' question on logs; queryHash is per-query
-- Metabase:: userID: 1 queryType: MBQL queryHash: a54de39466cbf3e82ff09c5a9a2bccf1f922bf9fd59b2717c1ad5e09a1c0bfbc
	SELECT COUNT(*) AS "count" FROM "public"."logs"
-- next
-- source: https://github.com/metabase/metabase/issues/18224 (older Metabase have-select-privilege? probe, quoted by a QuestDB user)
-- note: per-table privilege probe used by older Metabase versions before the table_privileges CTE
SELECT TRUE AS "_" FROM "public"."logs" WHERE 1 <> 1 LIMIT 0
-- next
-- source: PostgreSQL server log captured from Metabase v0.62.1.5 syncing a Postgres 16 database, found in the public code index as a standalone capture file (its repository could not be identified); bound values $1.. filled from the values recorded in that capture
-- note: seen once per connection in v0.62
select current_catalog;
