-- datagrip.sql: JetBrains DataGrip start-up / introspection queries (as observed on the wire)
--
-- SQL that JetBrains DataGrip (and other IntelliJ-platform IDEs; PostgreSQL introspector over pgjdbc) sends when it
-- connects and loads the database / schema / role / tablespace lists.
-- Sources:
--   - datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
--   - cube-js/cube rust/cubesql/cubesql/src/compile/test/test_introspection.rs @ be140ecdd0425f6ea3420520649f68ff81ae46f1 (test datagrip_introspection)
-- DataGrip's introspector is closed source; these are texts observed on the wire (server log) as published in the
-- datafusion-postgres test, not read from DataGrip source. The table/column introspection queries that DataGrip runs
-- when a schema is expanded (large pg_class/pg_attribute queries with state_number/#TXAGE templates) were NOT found
-- verbatim in public sources reachable here and are therefore not included.
--
-- Format: statements are separated by a line that is exactly '-- next'. Each statement is preceded by
-- one '-- source: ...' comment line (and sometimes '-- note: ...' lines); everything after those
-- metadata lines up to the next separator is the statement text as the tool sends it. Statements carry
-- no added terminator: a trailing ';' is present only where the tool itself sends one. Some texts keep
-- the tool's own leading/trailing whitespace and its own SQL comments (e.g. '-- Metabase').
-- Placeholders filled with: database 'sigfuse', schema 'public' (oid 2200), table 'logs' (oid 16384),
-- columns ts timestamptz, service, host, severity, body, trace_id, span_id, attributes (text).

-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
-- note: pgjdbc connection set-up (DataGrip uses pgjdbc)
SET extra_float_digits = 3
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
SET application_name = ''
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select version()
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
SET application_name = 'DataGrip 2025.2.3'
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select current_database() as a, current_schemas(false) as b
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
SHOW TRANSACTION ISOLATION LEVEL
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select round(extract(epoch from pg_postmaster_start_time() at time zone 'UTC')) as startup_time
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select L.transactionid::varchar::bigint as transaction_id
        from pg_catalog.pg_locks L
        where L.transactionid is not null
        order by pg_catalog.age(L.transactionid) desc
        limit 1
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select case
          when pg_catalog.pg_is_in_recovery()
            then null
          else
            (pg_catalog.txid_current() % 4294967296)::varchar::bigint
          end as current_txid
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
-- note: database list (Database Explorer root)
select N.oid::bigint as id,
               datname as name,
               D.description,
               datistemplate as is_template,
               datallowconn as allow_connections,
               pg_catalog.pg_get_userbyid(N.datdba) as "owner"
        from pg_catalog.pg_database N
          left join pg_catalog.pg_shdescription D on N.oid = D.objoid
        order by case when datname = pg_catalog.current_database() then -1::bigint else N.oid::bigint end
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
-- note: schema list
select N.oid::bigint as id,
               N.xmin as state_number,
               nspname as name,
               D.description,
               pg_catalog.pg_get_userbyid(N.nspowner) as "owner"
        from pg_catalog.pg_namespace N
          left join pg_catalog.pg_description D on N.oid = D.objoid
        order by case when nspname = pg_catalog.current_schema() then -1::bigint else N.oid::bigint end
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
-- note: pgjdbc TypeInfoCache lookup for xid (oid 28), triggered by the state_number column
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '28'  ORDER BY sp.r, pg_type.oid DESC
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
show DateStyle
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select name, is_dst from pg_catalog.pg_timezone_names
        union distinct
        select abbrev as name, is_dst from pg_catalog.pg_timezone_abbrevs
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select R.oid::bigint as role_id, rolname as role_name,
          rolsuper is_super, rolinherit is_inherit,
          rolcreaterole can_createrole, rolcreatedb can_createdb,
          rolcanlogin can_login, rolreplication /* false */ is_replication,
          rolconnlimit conn_limit, rolvaliduntil valid_until,
          rolbypassrls /* false */ bypass_rls, rolconfig config,
          D.description
        from pg_catalog.pg_roles R
          left join pg_catalog.pg_shdescription D on D.objoid = R.oid
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select member id, roleid role_id, admin_option
                  from pg_catalog.pg_auth_members order by id, roleid::text
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
-- note: the trailing '--  where ... #TXAGE' line is part of DataGrip's text (a commented-out incremental filter)
select T.oid::bigint as id, T.spcname as name,
               T.xmin as state_number, pg_catalog.pg_get_userbyid(T.spcowner) as owner,
               pg_catalog.pg_tablespace_location(T.oid) /* null */ as location,
               T.spcoptions /* null */ as options,
               D.description as comment
        from pg_catalog.pg_tablespace T
          left join pg_catalog.pg_shdescription D on D.objoid = T.oid
        --  where pg_catalog.age(T.xmin) <= #TXAGE
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select T.oid as object_id,
                         T.spcacl as acl
                  from pg_catalog.pg_tablespace T
                  union all
                  select T.oid as object_id,
                         T.datacl as acl
                  from pg_catalog.pg_database T
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
-- note: pgjdbc TypeInfoCache lookup for aclitem (oid 1033); the aclitem[] (1034) lookups that follow are in pgjdbc.sql
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '1033'  ORDER BY sp.r, pg_type.oid DESC
-- next
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs @ 3555008d6bd5ba9de6eab6cbfb800fd9559fdf87 (DataGrip 2025.2.3 start-up, captured from a PostgreSQL server log)
select ssl from pg_stat_ssl where pid = pg_backend_pid()
-- next
-- source: cube-js/cube rust/cubesql/cubesql/src/compile/test/test_introspection.rs @ be140ecdd0425f6ea3420520649f68ff81ae46f1 (test datagrip_introspection)
-- note: DataGrip introspection probe as reproduced in Cube's SQL API test suite
select current_database(), current_schema(), current_user;
