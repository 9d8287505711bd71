-- dbeaver.sql: DBeaver PostgreSQL driver start-up and navigator queries
--
-- SQL that DBeaver (PostgreSQL plugin org.jkiss.dbeaver.ext.postgresql, with the bundled pgjdbc) sends when it
-- connects and when the navigator expands database -> schema public -> table logs.
-- Sources:
--   - https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log)
--   - datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log)
--   - dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreExecutionContext.java, PostgreDatabase.java, PostgreSchema.java (recent version as stored in the code index; exact commit not resolved)
--   - pgjdbc/pgjdbc PgDatabaseMetaData.java @ 2f39510765a0f9ef803a1765b2f063b11fb82be2 (getSQLKeywords)
-- Start-up statements are the ones logged by a real PostgreSQL server for DBeaver 25.1.5 (issue #135);
-- navigator statements are rendered from the DBeaver Java string building for a PostgreSQL server >= 10.
--
-- Format: statements are separated by a line that is exactly '-- next'. Each statement is preceded by
-- one '-- source: ...' comment line (and sometimes '-- note: ...' lines); everything after those
-- metadata lines up to the next separator is the statement text as the tool sends it. Statements carry
-- no added terminator: a trailing ';' is present only where the tool itself sends one. Some texts keep
-- the tool's own leading/trailing whitespace and its own SQL comments (e.g. '-- Metabase').
-- Placeholders filled with: database 'sigfuse', schema 'public' (oid 2200), table 'logs' (oid 16384),
-- columns ts timestamptz, service, host, severity, body, trace_id, span_id, attributes (text).

-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log) (pgjdbc ConnectionFactoryImpl, 'Main' connection)
SET extra_float_digits = 3
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log) (pgjdbc default ApplicationName)
SET application_name = 'PostgreSQL JDBC Driver'
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log)
-- note: DBeaver renames the session; '<postgres>' in the log is the connection name, filled here with 'sigfuse'
SET application_name = 'DBeaver 25.1.5 - Main <sigfuse>'
-- next
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreExecutionContext.java refreshDefaults() (recent version as stored in the code index; exact commit not resolved); also in https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log)
SELECT current_schema(),session_user
-- next
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java SchemaCache.prepareLookupStatement() with no schema filter (recent version as stored in the code index; exact commit not resolved); also in https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log)
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname
-- next
-- source: pgjdbc TypeInfoCache (oid 1034 = aclitem[] from pg_namespace.nspacl); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log)
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = 1034
-- next
-- source: pgjdbc TypeInfoCache; datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log)
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = 1034  ORDER BY sp.r, pg_type.oid DESC
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log)
SHOW search_path
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log) ('Metadata' connection opens with the same pgjdbc SETs)
SET application_name = 'DBeaver 25.1.5 - Metadata <sigfuse>'
-- next
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java readDatabaseInfo() (recent version as stored in the code index; exact commit not resolved); also in https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log)
-- note: datname is a bound parameter (prepared statement); filled with 'sigfuse'
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='sigfuse'
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log) (log line 14; transcribed there as 'pg_settinngs', the real catalog name is pg_settings); the same list with the corrected catalog name appears in another copy of the datafusion-postgres DBeaver test in the code index
-- note: name is a bound parameter in DBeaver; filled
SELECT * FROM pg_catalog.pg_settings where name='standard_conforming_strings'
-- next
-- source: pgjdbc/pgjdbc PgDatabaseMetaData.getSQLKeywords() (called by DBeaver's SQL dialect at connect, https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log)); text from pgjdbc source, the issue's transcription has OCR typos
select string_agg(word, ',') from pg_catalog.pg_get_keywords() where word <> ALL ('{a,abs,absolute,action,ada,add,admin,after,all,allocate,alter,always,and,any,are,array,as,asc,asensitive,assertion,assignment,asymmetric,at,atomic,attribute,attributes,authorization,avg,before,begin,bernoulli,between,bigint,binary,blob,boolean,both,breadth,by,c,call,called,cardinality,cascade,cascaded,case,cast,catalog,catalog_name,ceil,ceiling,chain,char,char_length,character,character_length,character_set_catalog,character_set_name,character_set_schema,characteristics,characters,check,checked,class_origin,clob,close,coalesce,cobol,code_units,collate,collation,collation_catalog,collation_name,collation_schema,collect,column,column_name,command_function,command_function_code,commit,committed,condition,condition_number,connect,connection_name,constraint,constraint_catalog,constraint_name,constraint_schema,constraints,constructors,contains,continue,convert,corr,corresponding,count,covar_pop,covar_samp,create,cross,cube,cume_dist,current,current_collation,current_date,current_default_transform_group,current_path,current_role,current_time,current_timestamp,current_transform_group_for_type,current_user,cursor,cursor_name,cycle,data,date,datetime_interval_code,datetime_interval_precision,day,deallocate,dec,decimal,declare,default,defaults,deferrable,deferred,defined,definer,degree,delete,dense_rank,depth,deref,derived,desc,describe,descriptor,deterministic,diagnostics,disconnect,dispatch,distinct,domain,double,drop,dynamic,dynamic_function,dynamic_function_code,each,element,else,end,end-exec,equals,escape,every,except,exception,exclude,excluding,exec,execute,exists,exp,external,extract,false,fetch,filter,final,first,float,floor,following,for,foreign,fortran,found,free,from,full,function,fusion,g,general,get,global,go,goto,grant,granted,group,grouping,having,hierarchy,hold,hour,identity,immediate,implementation,in,including,increment,indicator,initially,inner,inout,input,insensitive,insert,instance,instantiable,int,integer,intersect,intersection,interval,into,invoker,is,isolation,join,k,key,key_member,key_type,language,large,last,lateral,leading,left,length,level,like,ln,local,localtime,localtimestamp,locator,lower,m,map,match,matched,max,maxvalue,member,merge,message_length,message_octet_length,message_text,method,min,minute,minvalue,mod,modifies,module,month,more,multiset,mumps,name,names,national,natural,nchar,nclob,nesting,new,next,no,none,normalize,normalized,not,"null",nullable,nullif,nulls,number,numeric,object,octet_length,octets,of,old,on,only,open,option,options,or,order,ordering,ordinality,others,out,outer,output,over,overlaps,overlay,overriding,pad,parameter,parameter_mode,parameter_name,parameter_ordinal_position,parameter_specific_catalog,parameter_specific_name,parameter_specific_schema,partial,partition,pascal,path,percent_rank,percentile_cont,percentile_disc,placing,pli,position,power,preceding,precision,prepare,preserve,primary,prior,privileges,procedure,public,range,rank,read,reads,real,recursive,ref,references,referencing,regr_avgx,regr_avgy,regr_count,regr_intercept,regr_r2,regr_slope,regr_sxx,regr_sxy,regr_syy,relative,release,repeatable,restart,result,return,returned_cardinality,returned_length,returned_octet_length,returned_sqlstate,returns,revoke,right,role,rollback,rollup,routine,routine_catalog,routine_name,routine_schema,row,row_count,row_number,rows,savepoint,scale,schema,schema_name,scope_catalog,scope_name,scope_schema,scroll,search,second,section,security,select,self,sensitive,sequence,serializable,server_name,session,session_user,set,sets,similar,simple,size,smallint,some,source,space,specific,specific_name,specifictype,sql,sqlexception,sqlstate,sqlwarning,sqrt,start,state,statement,static,stddev_pop,stddev_samp,structure,style,subclass_origin,submultiset,substring,sum,symmetric,system,system_user,table,table_name,tablesample,temporary,then,ties,time,timestamp,timezone_hour,timezone_minute,to,top_level_count,trailing,transaction,transaction_active,transactions_committed,transactions_rolled_back,transform,transforms,translate,translation,treat,trigger,trigger_catalog,trigger_name,trigger_schema,trim,true,type,uescape,unbounded,uncommitted,under,union,unique,unknown,unnamed,unnest,update,upper,usage,user,user_defined_type_catalog,user_defined_type_code,user_defined_type_name,user_defined_type_schema,using,value,values,var_pop,var_samp,varchar,varying,view,when,whenever,where,width_bucket,window,with,within,without,work,write,year,zone}'::text[])
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log)
SELECT version()
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log)
-- note: feature probe: does pg_enum exist
SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log)
-- note: feature probe: does pg_class.reltype exist
SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1
-- next
-- source: https://github.com/datafusion-contrib/datafusion-postgres/issues/135 (DBeaver 25.1.5 start-up log); datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs @ 3cb9adce67bf1904f1f5d11fd7931043abf62b81 (transcribed from the issue #135 log) (data type cache; whitespace collapsed to single spaces in that transcription)
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description FROM pg_catalog.pg_type t LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid WHERE t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')
-- next
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java TableCache.prepareLookupStatement() for server >= 10 (recent version as stored in the code index; exact commit not resolved)
-- note: navigator: expand schema 'public' (relnamespace is a bound parameter = oid of public, 2200)
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=2200 AND c.relkind not in ('i','I','c')
-- next
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java TableCache.prepareChildrenStatement() for one table (recent version as stored in the code index; exact commit not resolved); same text seen in DBeaver 24.2/25.3 pg_stat_activity dumps
-- note: navigator: expand table 'logs' -> Columns (c.oid is a bound parameter = oid of logs)
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=16384
ORDER BY a.attnum
-- next
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java TableCache.prepareChildrenStatement() for a whole schema (recent version as stored in the code index; exact commit not resolved)
-- note: used when DBeaver reads all columns of the schema at once (e.g. SQL completion / ER diagram)
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.relnamespace=2200
ORDER BY a.attnum
-- next
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java ConstraintCache.prepareObjectsStatement() for one table (recent version as stored in the code index; exact commit not resolved)
-- note: navigator: table 'logs' -> Constraints / Foreign keys
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE c.conrelid=16384
ORDER BY c.oid
-- next
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java IndexCache.prepareObjectsStatement() for one table (recent version as stored in the code index; exact commit not resolved)
-- note: navigator: table 'logs' -> Indexes (PostgreSQL server type supports relation size calc)
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  i.indrelid=16384 ORDER BY c.relname
