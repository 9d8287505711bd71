-- superset.sql: Apache Superset (SQLAlchemy 1.4 postgresql dialect + psycopg2)
--
-- SQL that Apache Superset sends to a PostgreSQL database through SQLAlchemy 1.4 (Superset pins sqlalchemy>=1.4,<2)
-- and psycopg2: dialect start-up, connection test, and the Inspector calls Superset uses to browse
-- (get_schema_names, get_table_names, get_view_names, has_table, get_columns, get_pk_constraint, get_foreign_keys,
-- get_indexes, get_unique_constraints, get_table_comment).
-- Sources:
--   - sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54)
--   - sqlalchemy/sqlalchemy lib/sqlalchemy/engine/default.py @ 1.4.54; sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/psycopg2.py @ 1.4.54
--   - psycopg/psycopg2 lib/extras.py @ 2.9.10 (HstoreAdapter.get_oids); psycopg/psycopg2 psycopg/pqpath.c @ 2.9.10
--   - apache/superset superset/db_engine_specs/postgres.py @ 007e4f5f4b4a4b08b24b1f2fc14bcf5abb16237d
-- The 1.4 dialect keeps its SQL as text() strings, so the texts below are those strings verbatim (whitespace
-- included); bound parameters (:schema, :table_name, :table_oid) are filled the way psycopg2 does it client-side.
-- SQLAlchemy 2.x builds the same queries with Core constructs (different text); not covered here.
--
-- Format: statements are separated by a line that is exactly '-- next'. Each statement is preceded by
-- one '-- source: ...' comment line (and sometimes '-- note: ...' lines); everything after those
-- metadata lines up to the next separator is the statement text as the tool sends it. Statements carry
-- no added terminator: a trailing ';' is present only where the tool itself sends one. Some texts keep
-- the tool's own leading/trailing whitespace and its own SQL comments (e.g. '-- Metabase').
-- Placeholders filled with: database 'sigfuse', schema 'public' (oid 2200), table 'logs' (oid 16384),
-- columns ts timestamptz, service, host, severity, body, trace_id, span_id, attributes (text).

-- source: psycopg/psycopg2 psycopg/pqpath.c @ 2.9.10 pq_begin_locked()
-- note: psycopg2 (autocommit off) opens a transaction before the first statement of a connection
BEGIN
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect._get_server_version_info() (dialect initialize on first connect)
select pg_catalog.version()
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect._get_default_schema_name()
select current_schema()
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_isolation_level() via sqlalchemy/sqlalchemy lib/sqlalchemy/engine/default.py @ 1.4.54 DefaultDialect.get_default_isolation_level()
show transaction isolation level
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.initialize()
show standard_conforming_strings
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/psycopg2.py @ 1.4.54 PGDialect_psycopg2.initialize() -> _hstore_oids() -> psycopg/psycopg2 lib/extras.py @ 2.9.10 (HstoreAdapter.get_oids)
-- note: typarray is used because the server reports version >= 8.3
SELECT t.oid, typarray
FROM pg_type t JOIN pg_namespace ns
    ON typnamespace = ns.oid
WHERE typname = 'hstore';
-- next
-- source: psycopg/psycopg2 psycopg/pqpath.c @ 2.9.10 (pool reset-on-return / end of the initialize transaction)
ROLLBACK
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/psycopg2.py @ 1.4.54 PGDialect_psycopg2.do_ping() -> sqlalchemy/sqlalchemy lib/sqlalchemy/engine/default.py @ 1.4.54 _dialect_specific_select_one (str(select(1)))
-- note: Superset 'Test connection' and pool pre-ping
SELECT 1
-- next
-- source: apache/superset superset/db_engine_specs/postgres.py @ 007e4f5f4b4a4b08b24b1f2fc14bcf5abb16237d PostgresEngineSpec.get_catalog_names()
-- note: text is sent exactly as written in the triple-quoted string, including the leading newline and trailing spaces

SELECT datname FROM pg_database
WHERE datistemplate = false;
            
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_schema_names() (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))
-- note: inspector.get_schema_names(); the %% escaping of SQLAlchemy is undone by psycopg2, so the server receives 'pg_%'
SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' ORDER BY nspname
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_table_names(schema='public') (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind in ('r', 'p')
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect._get_foreign_table_names(schema='public') (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal)); called by apache/superset superset/db_engine_specs/postgres.py @ 007e4f5f4b4a4b08b24b1f2fc14bcf5abb16237d PostgresEngineSpec.get_table_names()
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'f'
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_view_names(schema='public') (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.has_table('logs', schema='public') (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))
select relname from pg_class c join pg_namespace n on n.oid=c.relnamespace where n.nspname='public' and relname='logs'
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_table_oid('logs', schema='public') (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))
-- note: first call of every per-table reflection method (get_columns, get_pk_constraint, get_foreign_keys, get_indexes, ...); cached per inspector

            SELECT c.oid
            FROM pg_catalog.pg_class c
            LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE (n.nspname = 'public')
            AND c.relname = 'logs' AND c.relkind in
            ('r', 'v', 'm', 'f', 'p')
        
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_columns() SQL_COLS for server >= 12 (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))
-- note: table_oid 16384 stands for the oid returned by get_table_oid

            SELECT a.attname,
              pg_catalog.format_type(a.atttypid, a.atttypmod),
              (
                SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                FROM pg_catalog.pg_attrdef d
                WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
                AND a.atthasdef
              ) AS DEFAULT,
              a.attnotnull,
              a.attrelid as table_oid,
              pgd.description as comment,
              a.attgenerated as generated,
                              (SELECT json_build_object(
                    'always', a.attidentity = 'a',
                    'start', s.seqstart,
                    'increment', s.seqincrement,
                    'minvalue', s.seqmin,
                    'maxvalue', s.seqmax,
                    'cache', s.seqcache,
                    'cycle', s.seqcycle)
                FROM pg_catalog.pg_sequence s
                JOIN pg_catalog.pg_class c on s.seqrelid = c."oid"
                WHERE c.relkind = 'S'
                AND a.attidentity != ''
                AND s.seqrelid = pg_catalog.pg_get_serial_sequence(
                    a.attrelid::regclass::text, a.attname
                )::regclass::oid
                ) as identity_options                
            FROM pg_catalog.pg_attribute a
            LEFT JOIN pg_catalog.pg_description pgd ON (
                pgd.objoid = a.attrelid AND pgd.objsubid = a.attnum)
            WHERE a.attrelid = 16384
            AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
        
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect._load_domains() (called by get_columns)

            SELECT t.typname as "name",
               pg_catalog.format_type(t.typbasetype, t.typtypmod) as "attype",
               not t.typnotnull as "nullable",
               t.typdefault as "default",
               pg_catalog.pg_type_is_visible(t.oid) as "visible",
               n.nspname as "schema"
            FROM pg_catalog.pg_type t
               LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'd'
        
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect._load_enums(schema='*') (called by get_columns)

            SELECT t.typname as "name",
               -- no enum defaults in 8.4 at least
               -- t.typdefault as "default",
               pg_catalog.pg_type_is_visible(t.oid) as "visible",
               n.nspname as "schema",
               e.enumlabel as "label"
            FROM pg_catalog.pg_type t
                 LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                 LEFT JOIN pg_catalog.pg_enum e ON t.oid = e.enumtypid
            WHERE t.typtype = 'e'
        ORDER BY "schema", "name", e.oid
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_pk_constraint() PK_SQL for server >= 8.4 (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))

                SELECT a.attname
                FROM pg_attribute a JOIN (
                    SELECT unnest(ix.indkey) attnum,
                           generate_subscripts(ix.indkey, 1) ord
                    FROM pg_index ix
                    WHERE ix.indrelid = 16384 AND ix.indisprimary
                    ) k ON a.attnum=k.attnum
                WHERE a.attrelid = 16384
                ORDER BY k.ord
            
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_pk_constraint() PK_CONS_SQL (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))

        SELECT conname
           FROM  pg_catalog.pg_constraint r
           WHERE r.conrelid = 16384 AND r.contype = 'p'
           ORDER BY 1
        
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_foreign_keys() FK_SQL (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))

          SELECT r.conname,
                pg_catalog.pg_get_constraintdef(r.oid, true) as condef,
                n.nspname as conschema
          FROM  pg_catalog.pg_constraint r,
                pg_namespace n,
                pg_class c

          WHERE r.conrelid = 16384 AND
                r.contype = 'f' AND
                c.oid = confrelid AND
                n.oid = c.relnamespace
          ORDER BY 1
        
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_indexes() IDX_SQL for server >= 11 (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))

              SELECT
                  i.relname as relname,
                  ix.indisunique, ix.indexprs,
                  a.attname, a.attnum, c.conrelid, ix.indkey::varchar,
                  ix.indoption::varchar, i.reloptions, am.amname,
                  pg_get_expr(ix.indpred, ix.indrelid),
                  ix.indnkeyatts as indnkeyatts
              FROM
                  pg_class t
                        join pg_index ix on t.oid = ix.indrelid
                        join pg_class i on i.oid = ix.indexrelid
                        left outer join
                            pg_attribute a
                            on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)
                        left outer join
                            pg_constraint c
                            on (ix.indrelid = c.conrelid and
                                ix.indexrelid = c.conindid and
                                c.contype in ('p', 'u', 'x'))
                        left outer join
                            pg_am am
                            on i.relam = am.oid
              WHERE
                  t.relkind IN ('r', 'v', 'f', 'm', 'p')
                  and t.oid = 16384
                  and ix.indisprimary = 'f'
              ORDER BY
                  t.relname,
                  i.relname
            
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_unique_constraints() (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))

            SELECT
                cons.conname as name,
                cons.conkey as key,
                a.attnum as col_num,
                a.attname as col_name
            FROM
                pg_catalog.pg_constraint cons
                join pg_attribute a
                  on cons.conrelid = a.attrelid AND
                    a.attnum = ANY(cons.conkey)
            WHERE
                cons.conrelid = 16384 AND
                cons.contype = 'u'
        
-- next
-- source: sqlalchemy/sqlalchemy lib/sqlalchemy/dialects/postgresql/base.py @ release 1.4.54 (PyPI sdist sqlalchemy-1.4.54) PGDialect.get_table_comment() (rendered by running the 1.4.54 dialect method against a recording connection and applying psycopg2's client-side parameter interpolation (pyformat -> literal))

            SELECT
                pgd.description as table_comment
            FROM
                pg_catalog.pg_description pgd
            WHERE
                pgd.objsubid = 0 AND
                pgd.objoid = 16384
        
-- next
-- source: apache/superset superset/db_engine_specs/postgres.py @ 007e4f5f4b4a4b08b24b1f2fc14bcf5abb16237d PostgresEngineSpec.get_prequeries(schema='public') (run before SQL Lab queries)
set search_path = "public"
-- next
-- source: apache/superset superset/db_engine_specs/postgres.py @ 007e4f5f4b4a4b08b24b1f2fc14bcf5abb16237d PostgresEngineSpec.get_cancel_query_id() (SQL Lab, before a query)
SELECT pg_backend_pid()
