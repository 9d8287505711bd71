//! `sigfuse serve` for real: the server on 127.0.0.1:0 driven by tokio-postgres and by `psql`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use sigfuse_engine::{Engine, EngineConfig};
use sigfuse_sql::{Role, ServeOptions, Server, Users};
use sigfuse_storage::{Lake, WriterOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::common::write_logs;

struct TestServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    _lake_dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server over a lake of two hours of logs (7,200 rows).
async fn start(options: ServeOptions, memory_limit: Option<usize>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    write_logs(&lake, 2, 1, WriterOptions::default()).await;
    let config = EngineConfig {
        memory_limit,
        ..Default::default()
    };
    let engine = Engine::over(lake, &config).unwrap();
    let server = Server::bind_engine(
        &engine,
        ServeOptions {
            listen: "127.0.0.1:0".into(),
            ..options
        },
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = server.run().await;
    });
    TestServer {
        addr,
        task,
        _lake_dir: dir,
    }
}

async fn connect_as(
    addr: SocketAddr,
    user: &str,
    password: &str,
) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::Config::new()
        .host(addr.ip().to_string())
        .port(addr.port())
        .user(user)
        .password(password)
        .dbname("sigfuse")
        .connect(NoTls)
        .await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn connect(addr: SocketAddr) -> Client {
    connect_as(addr, "sigfuse", "").await.unwrap()
}

/// Rows in the test lake's `logs`, through the extended protocol.
async fn log_count(client: &Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM logs", &[])
        .await
        .unwrap()
        .get(0)
}

fn code_of(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_string())
        .unwrap_or_else(|| format!("not a server error: {e}"))
}

fn message_of(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_default()
}

/// Runs psql with the given commands; returns (success, stdout, stderr).
async fn psql(
    addr: SocketAddr,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (bool, String, String) {
    let mut cmd = std::process::Command::new("psql");
    cmd.args([
        "-X",
        "-h",
        &addr.ip().to_string(),
        "-p",
        &addr.port().to_string(),
    ])
    .args([
        "-U",
        "sigfuse",
        "-d",
        "sigfuse",
        "-v",
        "ON_ERROR_STOP=1",
        "-v",
        "VERBOSITY=verbose",
    ])
    .args(args)
    .env("PGCONNECT_TIMEOUT", "10");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("psql runs (it is installed by .ci/run)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_lists_and_describes_the_signal_tables() {
    let server = start(ServeOptions::default(), None).await;
    let (ok, out, err) = psql(server.addr, &[], &["-c", r"\dt"]).await;
    assert!(ok, "{err}");
    for table in ["logs", "spans", "metrics", "events"] {
        assert!(out.contains(table), "\\dt lacks {table}: {out}");
    }
    let (ok, out, err) = psql(server.addr, &[], &["-c", r"\d logs"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("timestamp with time zone") && out.contains("body"),
        "{out}"
    );
    for command in [r"\d+", r"\dn", r"\df", r"\l"] {
        let (ok, out, err) = psql(server.addr, &[], &["-c", command]).await;
        assert!(ok, "{command}: {err}");
        assert!(!out.is_empty(), "{command} printed nothing");
    }
    let (ok, out, err) = psql(
        server.addr,
        &[],
        &[
            "-At",
            "-c",
            "SELECT count(*) FROM logs WHERE service = 'cart'",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "3600");
    // An error names its SQLSTATE and leaves psql's session (and the server) usable.
    let (ok, _, err) = psql(server.addr, &[], &["-c", "SELECT * FROM nope"]).await;
    assert!(!ok && err.contains("42P01"), "{err}");
    let (ok, out, _) = psql(server.addr, &[], &["-At", "-c", "SELECT 41 + 1"]).await;
    assert!(ok && out.trim() == "42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres_types_parameters_and_errors() {
    let server = start(ServeOptions::default(), None).await;
    let client = connect(server.addr).await;

    // Server identity as drivers read it.
    let row = client.query_one("SELECT version()", &[]).await.unwrap();
    let version: String = row.get(0);
    assert!(version.starts_with("PostgreSQL 16."), "{version}");
    let row = client
        .query_one(
            "SELECT current_database(), current_schema(), pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(1), "public");
    assert!(row.get::<_, i32>(2) > 0);

    // Extended protocol with typed and untyped parameters, binary results.
    let row = client
        .query_one("SELECT $1::BIGINT + 1, $2::TEXT || '!'", &[&41i64, &"hi"])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
    assert_eq!(row.get::<_, String>(1), "hi!");
    let statement = client
        .prepare("SELECT count(*) FROM logs WHERE service = $1")
        .await
        .unwrap();
    assert_eq!(statement.params().len(), 1);
    let n: i64 = client
        .query_one(&statement, &[&"checkout"])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3600);

    let row = client
        .query_one(
            "SELECT CAST(1 AS SMALLINT), CAST(2 AS INT), CAST(3 AS BIGINT), CAST(1.5 AS REAL), \
             CAST(2.5 AS DOUBLE PRECISION), true, 'text', \
             CAST('2024-06-03T01:02:03' AS TIMESTAMP), CAST('2024-06-03' AS DATE), \
             make_array(CAST(1.0 AS REAL), CAST(2.0 AS REAL))",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i16>(0), 1);
    assert_eq!(row.get::<_, i32>(1), 2);
    assert_eq!(row.get::<_, i64>(2), 3);
    assert_eq!(row.get::<_, f32>(3), 1.5);
    assert_eq!(row.get::<_, f64>(4), 2.5);
    assert!(row.get::<_, bool>(5));
    assert_eq!(row.get::<_, String>(6), "text");
    assert_eq!(
        row.get::<_, chrono::NaiveDateTime>(7).to_string(),
        "2024-06-03 01:02:03"
    );
    assert_eq!(row.get::<_, chrono::NaiveDate>(8).to_string(), "2024-06-03");
    assert_eq!(row.get::<_, Vec<f32>>(9), vec![1.0, 2.0]);
    let ts: chrono::DateTime<chrono::Utc> = client
        .query_one("SELECT min(ts) FROM logs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ts.to_rfc3339(), "2024-06-03T00:00:00+00:00");

    // Errors carry their SQLSTATE and the connection goes on.
    for (sql, code) in [
        ("SELEC 1", "42601"),
        ("SELECT * FROM nope", "42P01"),
        ("SELECT nope FROM logs", "42703"),
        ("SELECT no_such_function(1)", "42883"),
        ("SELECT 1 / 0", "22012"),
        ("INSERT INTO logs SELECT * FROM logs", "42501"),
    ] {
        let e = client.simple_query(sql).await.expect_err(sql);
        assert_eq!(code_of(&e), code, "{sql}: {e}");
        let e = client.query(sql, &[]).await.expect_err(sql);
        assert_eq!(code_of(&e), code, "{sql} (extended): {e}");
        assert_eq!(log_count(&client).await, 7200);
    }

    // Empty and comment-only queries, multi-statement simple queries, transactions.
    client.simple_query("").await.unwrap();
    client.simple_query("-- nothing here").await.unwrap();
    let messages = client.simple_query("SELECT 1; SELECT 2, 3").await.unwrap();
    let rows = messages
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
        .count();
    assert_eq!(rows, 2);
    client
        .batch_execute("BEGIN; SELECT 1; COMMIT")
        .await
        .unwrap();
    client.batch_execute("BEGIN; ROLLBACK").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_clients_set_never_reaches_another() {
    let server = start(ServeOptions::default(), None).await;
    let a = connect(server.addr).await;
    let b = connect(server.addr).await;
    a.batch_execute("SET TIME ZONE 'Europe/Paris'")
        .await
        .unwrap();
    a.batch_execute("SET datafusion.execution.batch_size = 1234")
        .await
        .unwrap();
    let tz_a = first_value(&a.simple_query("SHOW TIME ZONE").await.unwrap());
    let tz_b = first_value(&b.simple_query("SHOW TIME ZONE").await.unwrap());
    assert_eq!(tz_a, "Europe/Paris");
    assert_ne!(tz_b, "Europe/Paris");
    let bs_a = first_value(
        &a.simple_query("SHOW datafusion.execution.batch_size")
            .await
            .unwrap(),
    );
    let bs_b = first_value(
        &b.simple_query("SHOW datafusion.execution.batch_size")
            .await
            .unwrap(),
    );
    assert!(bs_a.contains("1234"), "{bs_a}");
    assert!(!bs_b.contains("1234"), "{bs_b}");
}

/// A connection's repeated constant statements run a kept plan (sql/src/constant_plans.rs):
/// they answer as the first time, follow the settings and the transaction state, and
/// statements that are not constant are planned each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_constant_statements_follow_settings_and_transactions() {
    let server = start(ServeOptions::default(), None).await;
    let c = connect(server.addr).await;
    let sum = "SELECT 0.1 + 0.2 AS x";
    for _ in 0..3 {
        assert_eq!(
            first_value(&c.simple_query(sum).await.unwrap()),
            "0.30000000000000004"
        );
    }
    // A setting the constant was planned with changes: planned again.
    c.batch_execute("SET datafusion.sql_parser.parse_float_as_decimal = true")
        .await
        .unwrap();
    assert_eq!(first_value(&c.simple_query(sum).await.unwrap()), "0.3");
    c.batch_execute("RESET ALL").await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            first_value(&c.simple_query(sum).await.unwrap()),
            "0.30000000000000004"
        );
    }
    // A setting changed by a text that starts with a query.
    c.batch_execute("SELECT 1 AS one; SET datafusion.sql_parser.parse_float_as_decimal = true")
        .await
        .unwrap();
    assert_eq!(first_value(&c.simple_query(sum).await.unwrap()), "0.3");
    c.batch_execute("RESET ALL").await.unwrap();
    assert_eq!(
        first_value(&c.simple_query(sum).await.unwrap()),
        "0.30000000000000004"
    );
    // Inside a failed transaction a kept plan is not run.
    c.batch_execute("BEGIN").await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            first_value(&c.simple_query("SELECT 1 AS one").await.unwrap()),
            "1"
        );
    }
    assert!(c.simple_query("SELECT nosuch").await.is_err());
    let e = c.simple_query("SELECT 1 AS one").await.unwrap_err();
    assert_eq!(code_of(&e), "25P01", "{e}");
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        first_value(&c.simple_query("SELECT 1 AS one").await.unwrap()),
        "1"
    );
    // Not constant: each run is its own.
    let mut times = std::collections::HashSet::new();
    for _ in 0..3 {
        times.insert(first_value(
            &c.simple_query("SELECT now()::text").await.unwrap(),
        ));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(times.len(), 3, "{times:?}");
}

/// Savepoints as psycopg's nested transactions send them, from an analyst session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn savepoints_are_accepted_inside_transactions() {
    let server = start(ServeOptions::default(), None).await;
    let c = connect(server.addr).await;
    // In one text the transaction status is only known after it (pgwire), so a savepoint
    // right after BEGIN must be accepted; and over the extended protocol (pgjdbc).
    c.batch_execute("BEGIN; SAVEPOINT a; RELEASE SAVEPOINT a; COMMIT")
        .await
        .unwrap();
    c.execute("BEGIN", &[]).await.unwrap();
    c.execute("SAVEPOINT b", &[]).await.unwrap();
    c.execute("RELEASE SAVEPOINT b", &[]).await.unwrap();
    c.execute("COMMIT", &[]).await.unwrap();
    c.batch_execute("BEGIN").await.unwrap();
    c.batch_execute("SAVEPOINT _pg3_1").await.unwrap();
    c.batch_execute("RELEASE SAVEPOINT _pg3_1").await.unwrap();
    c.batch_execute("SAVEPOINT _pg3_2").await.unwrap();
    assert!(c.simple_query("SELECT nosuch").await.is_err());
    // What psycopg sends when the nested block failed: the session is usable after it.
    c.batch_execute("ROLLBACK TO SAVEPOINT _pg3_2; RELEASE SAVEPOINT _pg3_2")
        .await
        .unwrap();
    assert_eq!(
        first_value(&c.simple_query("SELECT 2 AS two").await.unwrap()),
        "2"
    );
    c.batch_execute("COMMIT").await.unwrap();
}

fn first_value(messages: &[SimpleQueryMessage]) -> String {
    messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .filter_map(|i| r.get(i))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        })
        .expect("a row")
}

fn users_file(dir: &Path) -> Users {
    let mut users = Users::default();
    users.set("ana", "ana-secret", Role::Analyst, vec![]);
    users.set("root", "root-secret", Role::Admin, vec![]);
    users.save(&dir.join("users.toml")).unwrap();
    Users::load(&dir.join("users.toml")).unwrap()
}

/// A server whose users file (in the returned folder) has `ana` (analyst) and `root` (admin).
async fn start_with_users() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = ServeOptions {
        users: Some(users_file(dir.path())),
        ..Default::default()
    };
    (start(options, None).await, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_roles_and_least_privilege() {
    let (server, _dir) = start_with_users().await;
    for (user, password) in [("ana", "wrong"), ("nobody", "ana-secret"), ("root", "")] {
        let e = connect_as(server.addr, user, password)
            .await
            .err()
            .unwrap_or_else(|| panic!("{user} logged in with a bad password"));
        assert_eq!(code_of(&e), "28P01", "{user}: {e}");
    }
    let ana = connect_as(server.addr, "ana", "ana-secret").await.unwrap();
    assert_eq!(log_count(&ana).await, 7200);
    ana.batch_execute("SET statement_timeout = 60000")
        .await
        .unwrap();
    for sql in [
        "INSERT INTO logs SELECT * FROM logs",
        "CREATE TABLE mine AS SELECT 1",
        "CREATE MODEL m KIND baseline AS SELECT * FROM logs",
        "COPY (SELECT 1) TO '/tmp/sigfuse-should-not-exist.csv'",
        "DROP TABLE logs",
        "SELECT 1 INTO made_by_analyst",
        "DECLARE c CURSOR FOR SELECT 1 INTO made_by_cursor",
        "SET \"datafusion.runtime.memory_limit\" = '1T'",
        "RESET datafusion.runtime.memory_limit",
    ] {
        let e = ana.simple_query(sql).await.expect_err(sql);
        assert_eq!(code_of(&e), "42501", "{sql}: {e}");
        let e = ana.query(sql, &[]).await.expect_err(sql);
        assert_eq!(code_of(&e), "42501", "{sql} (extended): {e}");
    }
    assert!(!Path::new("/tmp/sigfuse-should-not-exist.csv").exists());
    let root = connect_as(server.addr, "root", "root-secret")
        .await
        .unwrap();
    root.batch_execute("CREATE TABLE scratch AS SELECT 1 AS a")
        .await
        .unwrap();
    // Admins manage models (here over the simple protocol); the rows say who made them.
    root.batch_execute(
        "CREATE MODEL m KIND baseline AS SELECT * FROM signal_windows(INTERVAL '1 minute')",
    )
    .await
    .unwrap();
    let row = root
        .query_one(
            "SELECT name, kind, CAST(version AS BIGINT), creator, active FROM sigfuse.models",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, i64>(2),
            row.get::<_, String>(3),
            row.get::<_, bool>(4)
        ),
        ("m".into(), "baseline".into(), 1, "root".into(), true)
    );
    // Analysts read models and score with them.
    let n: i64 = ana
        .query_one(
            "SELECT count(*) FROM detect_anomalies('m', TIMESTAMP '2000-01-01 00:00:00', \
             TIMESTAMP '2100-01-01 00:00:00')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    let shown = ana.simple_query("show models;").await.unwrap();
    let rows: Vec<_> = shown
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some((r.get(0), r.get(1), r.get(2))),
            _ => None,
        })
        .collect();
    assert_eq!(rows, [(Some("m"), Some("baseline"), Some("1"))]);
    // And over the extended protocol (pgjdbc's default): a model statement is prepared
    // without a plan and runs when executed.
    root.execute(
        "CREATE MODEL m2 KIND baseline AS SELECT * FROM signal_windows(INTERVAL '1 minute')",
        &[],
    )
    .await
    .unwrap();
    root.execute("ALTER MODEL m2 SET VERSION 1", &[])
        .await
        .unwrap();
    let e = root
        .execute("ALTER MODEL m2 SET VERSION 7", &[])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "42704", "{e}");
    assert_eq!(ana.query("SHOW MODELS", &[]).await.unwrap().len(), 2);
    root.execute("DROP MODEL m2", &[]).await.unwrap();
    let e = root
        .simple_query("ALTER MODEL m SET VERSION 7")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "42704", "{e}");
    let e = root
        .simple_query("CREATE MODEL bad KIND baseline AS SELECT 1 AS x")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "42000", "{e}");
    root.batch_execute("DROP MODEL m").await.unwrap();
    let e = root.simple_query("DROP MODEL m").await.unwrap_err();
    assert_eq!(code_of(&e), "42704", "{e}");
    // The connection survives every error.
    assert_eq!(log_count(&root).await, 7200);
    // psql logs in with SCRAM too.
    let (ok, out, err) = psql(
        server.addr,
        &[("PGPASSWORD", "ana-secret")],
        &["-U", "ana", "-At", "-c", "SELECT count(*) FROM logs"],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "7200");
}

#[tokio::test]
async fn no_authentication_beyond_loopback() {
    let lake = Lake::open("memory://serve-bind").unwrap();
    let engine = Engine::over(lake, &EngineConfig::default()).unwrap();
    let e = Server::bind(
        engine.ctx().clone(),
        ServeOptions {
            listen: "0.0.0.0:0".into(),
            ..Default::default()
        },
    )
    .await
    .err()
    .expect("must refuse");
    assert!(
        e.contains("without authentication") && e.contains("sigfuse user add"),
        "{e}"
    );
}

fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    (cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_only_refuses_plain_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        ServeOptions {
            users: Some(users_file(dir.path())),
            tls: Some(self_signed(dir.path())),
            tls_only: true,
            ..Default::default()
        },
        None,
    )
    .await;
    let env = [("PGPASSWORD", "ana-secret"), ("PGSSLMODE", "require")];
    let (ok, out, err) = psql(
        server.addr,
        &env,
        &[
            "-U",
            "ana",
            "-At",
            "-c",
            "SELECT ssl FROM (SELECT true AS ssl)",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "t");
    let env = [("PGPASSWORD", "ana-secret"), ("PGSSLMODE", "disable")];
    let (ok, _, err) = psql(server.addr, &env, &["-U", "ana", "-c", "SELECT 1"]).await;
    assert!(!ok, "a plain connection was served");
    assert!(err.contains("TLS"), "{err}");
    let e = connect_as(server.addr, "ana", "ana-secret")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "28000", "{e}");
}

/// Counts to a very large number: runs until stopped.
const ENDLESS: &str = "SELECT count(*) FROM generate_series(1, 100000000000)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_statement_timeout_stop_queries() {
    let server = start(ServeOptions::default(), None).await;
    let client = connect(server.addr).await;
    let cancel = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel.cancel_query(NoTls).await.unwrap();
    });
    let e = client.simple_query(ENDLESS).await.unwrap_err();
    assert_eq!(code_of(&e), "57014", "{e}");
    assert!(message_of(&e).contains("user request"), "{e}");
    canceller.await.unwrap();
    client
        .batch_execute("SET statement_timeout = 300")
        .await
        .unwrap();
    let e = client.query(ENDLESS, &[]).await.unwrap_err();
    assert_eq!(code_of(&e), "57014", "{e}");
    assert!(message_of(&e).contains("statement timeout"), "{e}");
    client
        .batch_execute("SET statement_timeout = 0")
        .await
        .unwrap();
    let e = client
        .simple_query("SET statement_timeout = 'soon'")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "22023", "{e}");
    assert_eq!(log_count(&client).await, 7200);
}

/// A CREATE MODEL whose training query runs for minutes (one row, after a long aggregate).
const ENDLESS_TRAINING: &str = "CREATE MODEL endless KIND baseline AS \
    SELECT 'svc' AS service, CAST(count(*) AS DOUBLE) AS log_lines FROM generate_series(1, 100000000000)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_statements_obey_statement_timeout_and_cancel() {
    let (server, _dir) = start_with_users().await;
    let client = connect_as(server.addr, "root", "root-secret")
        .await
        .unwrap();
    client
        .batch_execute("SET statement_timeout = 300")
        .await
        .unwrap();
    let e = client.simple_query(ENDLESS_TRAINING).await.unwrap_err();
    assert_eq!(code_of(&e), "57014", "{e}: {}", message_of(&e));
    assert!(message_of(&e).contains("statement timeout"), "{e}");
    // The extended protocol: prepared without a plan, run (and stopped) at Execute.
    let e = client.execute(ENDLESS_TRAINING, &[]).await.unwrap_err();
    assert_eq!(code_of(&e), "57014", "{e}");
    client
        .batch_execute("SET statement_timeout = 0")
        .await
        .unwrap();
    let cancel = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel.cancel_query(NoTls).await.unwrap();
    });
    let e = client.simple_query(ENDLESS_TRAINING).await.unwrap_err();
    assert_eq!(code_of(&e), "57014", "{e}");
    assert!(message_of(&e).contains("user request"), "{e}");
    canceller.await.unwrap();
    // Nothing was saved, and the connection and the models still work.
    let shown = client
        .simple_query("SELECT count(*) FROM sigfuse.models WHERE name = 'endless'")
        .await
        .unwrap();
    assert_eq!(first_value(&shown), "0");
    client
        .batch_execute(
            "CREATE MODEL quick KIND baseline AS \
             SELECT * FROM signal_windows(INTERVAL '1 minute')",
        )
        .await
        .unwrap();
    let shown = client
        .simple_query("SELECT count(*) FROM sigfuse.models WHERE name = 'quick'")
        .await
        .unwrap();
    assert_eq!(first_value(&shown), "1");
    assert_eq!(log_count(&client).await, 7200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_turns_the_server_default_timeout_off_with_zero() {
    let server = start(
        ServeOptions {
            statement_timeout: Some(Duration::from_millis(50)),
            ..Default::default()
        },
        None,
    )
    .await;
    let client = connect(server.addr).await;
    // The server's 50 ms default stops a query that counts 20 M generated rows …
    let slow = "SELECT count(*) FROM generate_series(1, 20000000)";
    let e = client.simple_query(slow).await.unwrap_err();
    assert_eq!(code_of(&e), "57014", "{e}");
    // … and a session's 0 means no limit, in both protocols.
    client
        .batch_execute("SET statement_timeout = 0")
        .await
        .unwrap();
    client.simple_query(slow).await.unwrap();
    client.query(slow, &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_leave_the_server_serving_others() {
    let server = start(ServeOptions::default(), Some(32 << 20)).await;
    let steady = connect(server.addr).await;

    // A client that goes away in the middle of a large result.
    {
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(server.addr.port())
            .user("sigfuse")
            .connect(NoTls)
            .await
            .unwrap();
        let conn = tokio::spawn(connection);
        let stream = client
            .query_raw(
                "SELECT * FROM generate_series(1, 50000000)",
                Vec::<i64>::new(),
            )
            .await
            .unwrap();
        futures::pin_mut!(stream);
        use futures::StreamExt;
        for _ in 0..10 {
            stream.next().await.unwrap().unwrap();
        }
        conn.abort();
    }

    // A malformed protocol message: a query message whose length is a lie.
    {
        let mut raw = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut startup = Vec::new();
        let body = b"\x00\x03\x00\x00user\x00sigfuse\x00\x00";
        startup.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        startup.extend_from_slice(body);
        raw.write_all(&startup).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf)).await;
        raw.write_all(b"Q\xff\xff\xff\xf0garbage").await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf)).await;
    }

    // A query that needs more memory than the limit, and cannot spill.
    let e = steady
        .simple_query("SELECT array_agg(v) FROM generate_series(1, 20000000) AS t(v)")
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "53200", "{e}");

    assert_eq!(log_count(&steady).await, 7200);
    let fresh = connect(server.addr).await;
    assert_eq!(log_count(&fresh).await, 7200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_is_enforced() {
    let server = start(
        ServeOptions {
            max_connections: 2,
            ..Default::default()
        },
        None,
    )
    .await;
    let a = connect(server.addr).await;
    let _b = connect(server.addr).await;
    let Err(e) = connect_as(server.addr, "sigfuse", "").await else {
        panic!("a third connection was accepted");
    };
    assert_eq!(code_of(&e), "53300", "{e}");
    drop(a);
    // The slot frees when a client leaves.
    let mut ok = false;
    for _ in 0..50 {
        if connect_as(server.addr, "sigfuse", "").await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "a freed slot was not reused");
}

/// `embed_text` reaches clients as `float4[]` (binary and text), and `sigfuse.*` settings are
/// per connection over the wire too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_arrive_as_float4_arrays_and_encoder_settings_are_per_connection() {
    let server = start(ServeOptions::default(), None).await;
    let a = connect(server.addr).await;
    let b = connect(server.addr).await;

    let row = a
        .query_one("SELECT embed_text('disk full on /dev/sda1') AS v", &[])
        .await
        .unwrap();
    assert_eq!(
        row.columns()[0].type_(),
        &tokio_postgres::types::Type::FLOAT4_ARRAY
    );
    let v: Vec<f32> = row.get(0);
    assert_eq!(v.len(), 384);
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    let text = first_value(
        &a.simple_query("SELECT embed_text('disk full on /dev/sda1')")
            .await
            .unwrap(),
    );
    assert!(text.starts_with('{') && text.ends_with('}'), "{text}");
    assert_eq!(text.split(',').count(), 384, "{text}");
    let first: f32 = text[1..].split(',').next().unwrap().parse().unwrap();
    assert_eq!(first, v[0]);

    // A model set on one connection: its queries use it, the other connection's do not.
    let dir = tempfile::tempdir().unwrap();
    a.batch_execute(&format!(
        "SET sigfuse.text_encoder = '{}'",
        dir.path().display()
    ))
    .await
    .unwrap();
    let shown = first_value(&a.simple_query("SHOW sigfuse.text_encoder").await.unwrap());
    assert_eq!(
        shown,
        format!("sigfuse.text_encoder {}", dir.path().display())
    );
    let e = a
        .query_one("SELECT embed_text('x')", &[])
        .await
        .unwrap_err();
    assert!(
        message_of(&e).contains("has no config.json"),
        "{}",
        message_of(&e)
    );
    let shown = first_value(&b.simple_query("SHOW sigfuse.text_encoder").await.unwrap());
    assert_eq!(shown, "sigfuse.text_encoder builtin");
    let row = b.query_one("SELECT embed_text('x')", &[]).await.unwrap();
    assert_eq!(row.get::<_, Vec<f32>>(0).len(), 384);
    // A bad setting is an error with its SQLSTATE, not a silent `SET`; the value stays.
    for (sql, code) in [
        ("SET sigfuse.device = 'tpu'", "22023"),
        ("SET sigfuse.no_such_setting = 1", "42704"),
        ("SET datafusion.execution.batch_size = 'many'", "22023"),
    ] {
        let e = b.simple_query(sql).await.expect_err(sql);
        assert_eq!(code_of(&e), code, "{sql}: {}", message_of(&e));
    }
    let shown = first_value(&b.simple_query("SHOW sigfuse.device").await.unwrap());
    assert_eq!(shown, "sigfuse.device cpu");
    b.batch_execute("SET datafusion.execution.batch_size = 4096")
        .await
        .unwrap();
    let shown = b
        .simple_query("SHOW datafusion.execution.batch_size")
        .await
        .unwrap();
    assert_eq!(first_value(&shown), "datafusion.execution.batch_size 4096");
}

/// ASOF JOIN reaches the engine through both protocols (the text is rewritten before
/// datafusion-postgres parses it; see sigfuse_engine::asof::sql).
#[tokio::test]
async fn asof_join_over_simple_and_extended_protocols() {
    let server = start(ServeOptions::default(), None).await;
    let client = connect(server.addr).await;
    // One log line a second, services alternating: each line's previous line of its service
    // is 2 s earlier, and the first line of each service has none.
    let sql = "SELECT count(*), count(b.ts) FROM logs a \
               ASOF JOIN logs b MATCH_CONDITION (a.ts > b.ts) ON a.service = b.service";
    let rows: Vec<Vec<String>> = client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..2).map(|i| r.get(i).unwrap().to_string()).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(rows, vec![vec!["7200".to_string(), "7198".to_string()]]);
    let row = client
        .query_one(
            "SELECT count(b.ts), min(a.ts - b.ts) = max(a.ts - b.ts) FROM logs a \
             asof join logs b match_condition (b.ts < a.ts) ON a.service = b.service \
             WHERE a.service = $1",
            &[&"cart"],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 3599);
    assert!(row.get::<_, bool>(1));
    let plan = client
        .simple_query(&format!("EXPLAIN {sql}"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(1).map(str::to_string),
            _ => None,
        })
        .collect::<String>();
    assert!(plan.contains("AsofJoinExec: mode=>"), "{plan}");
}

/// `WITH … AS MATERIALIZED` reaches the engine through both protocols (rewritten before
/// datafusion-postgres parses it; see sigfuse_engine::materialized::sql): a volatile body is
/// computed once, so both references see the same rows.
#[tokio::test]
async fn materialized_cte_over_simple_and_extended_protocols() {
    let server = start(ServeOptions::default(), None).await;
    let client = connect(server.addr).await;
    let sql = "WITH r AS MATERIALIZED (SELECT service, random() AS x FROM logs WHERE service = 'cart') \
               SELECT count(*) FROM r a JOIN r b ON a.x = b.x";
    let shown = client.simple_query(sql).await.unwrap();
    assert_eq!(first_value(&shown), "3600");
    let row = client
        .query_one(
            "with r as materialized (select service, random() as x from logs where service = $1) \
             select count(*) from r a join r b on a.x = b.x",
            &[&"cart"],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 3600);
}

/// Catalog queries of BI tools and drivers (tests/wire/bi has the full replay, run by
/// scripts/test): their answers, not only that they run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_queries_of_tools_answer_like_postgres() {
    let server = start(ServeOptions::default(), None).await;
    let client = connect(server.addr).await;
    let value = |sql: &'static str| {
        let client = &client;
        async move {
            first_value(
                &client
                    .simple_query(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}")),
            )
        }
    };
    // information_schema.columns with PostgreSQL's type names and positions from 1.
    assert_eq!(
        value(
            "SELECT ordinal_position, data_type, udt_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = 'logs' AND column_name = 'ts'"
        )
        .await,
        "1 timestamp with time zone timestamptz"
    );
    // Array columns of pg_catalog are arrays; _pg_expandarray and (row).field as pgjdbc uses them.
    assert_eq!(
        value(
            "SELECT array_length(indkey, 1), (information_schema._pg_expandarray(indkey)).n \
             FROM pg_catalog.pg_index WHERE indnatts = 2 LIMIT 1"
        )
        .await,
        "2 1"
    );
    assert_eq!(
        value(
            "SELECT typinput = 'pg_catalog.array_in'::regproc FROM pg_type WHERE typname = '_int4'"
        )
        .await,
        "t"
    );
    // 't' compared with a boolean column is true, as in PostgreSQL.
    assert_ne!(
        value("SELECT count(*) FROM pg_type WHERE typbyval = 't'").await,
        "0"
    );
    assert_eq!(value("SELECT NULL, 1, NULL").await, "1");
    // The name the client logged in with.
    assert_eq!(
        value("SELECT current_user, session_user, user").await,
        "sigfuse sigfuse sigfuse"
    );
    assert_eq!(
        value("SELECT format('%I.%I', 'public', 'My T')").await,
        "public.\"My T\""
    );
    // asyncpg's reset when a pool takes a connection back, as an analyst; RESET ALL restores
    // the session's settings.
    client
        .batch_execute("SET datafusion.execution.batch_size = 1234")
        .await
        .unwrap();
    client
        .batch_execute("SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;")
        .await
        .unwrap();
    assert_eq!(
        value("SHOW datafusion.execution.batch_size").await,
        "datafusion.execution.batch_size 8192"
    );
    let e = client.batch_execute("LISTEN alerts").await.unwrap_err();
    assert_eq!(code_of(&e), "0A000", "{e}");
}

/// A result value's bytes as sent, whatever its type.
struct Raw(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for Raw {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }
}

#[tokio::test]
async fn json_and_jsonb_arrive_as_postgres_sends_them() {
    use tokio_postgres::types::Type;
    let server = start(ServeOptions::default(), None).await;
    let client = connect(server.addr).await;
    let sql = r#"SELECT '{"b": 1, "a": [1, 2]}'::json AS j, '{"b": 1, "a": [1,2]}'::jsonb AS b,
                        json_build_object('service', service) AS o,
                        json_build_object('service', service) ->> 'service' AS s
                 FROM logs LIMIT 1"#;
    // Extended protocol, binary results: typed json / jsonb; jsonb's binary form starts with
    // its version byte 1, json's is the text.
    let row = client.query_one(sql, &[]).await.unwrap();
    let types: Vec<&Type> = row.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(types, [&Type::JSON, &Type::JSONB, &Type::JSON, &Type::TEXT]);
    assert_eq!(row.get::<_, Raw>(0).0, br#"{"b": 1, "a": [1, 2]}"#);
    assert_eq!(row.get::<_, Raw>(1).0, b"\x01{\"a\": [1, 2], \"b\": 1}");
    let service: String = row.get(3);
    assert_eq!(
        row.get::<_, Raw>(2).0,
        format!(r#"{{"service" : "{service}"}}"#).into_bytes()
    );
    // Described before execution as they are sent.
    let statement = client.prepare(sql).await.unwrap();
    let described: Vec<&Type> = statement.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(
        described,
        [&Type::JSON, &Type::JSONB, &Type::JSON, &Type::TEXT]
    );
    // Simple protocol: text.
    let text = first_value(
        &client
            .simple_query(r#"SELECT '{"b": 1, "a": 2}'::jsonb -> 'a', '{"x":1}'::jsonb"#)
            .await
            .unwrap(),
    );
    assert_eq!(text, r#"2 {"x": 1}"#);
    // Bad JSON is 22P02 and the connection goes on.
    let e = client
        .query("SELECT '{oops'::jsonb", &[])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "22P02", "{}", message_of(&e));
    let row = client
        .query_one("SELECT json_typeof($1::text::json)", &[&"[1]"])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "array");
}

#[tokio::test]
async fn timestamptz_is_shown_in_the_session_time_zone() {
    let server = start(ServeOptions::default(), None).await;
    let a = connect(server.addr).await;
    let b = connect(server.addr).await;
    let sql = "SELECT arrow_cast(TIMESTAMP '2024-06-03 12:00:00', 'Timestamp(Microsecond, Some(\"UTC\"))')";
    assert_eq!(
        first_value(&a.simple_query(sql).await.unwrap()),
        "2024-06-03 12:00:00.000000+00"
    );
    a.batch_execute("SET TIME ZONE 'Europe/Berlin'")
        .await
        .unwrap();
    // Summer time in Berlin; the other session keeps its zone.
    assert_eq!(
        first_value(&a.simple_query(sql).await.unwrap()),
        "2024-06-03 14:00:00.000000+02"
    );
    assert_eq!(
        first_value(&b.simple_query(sql).await.unwrap()),
        "2024-06-03 12:00:00.000000+00"
    );
    // A pool's `RESET ALL` puts the zone back.
    a.batch_execute("RESET ALL").await.unwrap();
    assert_eq!(
        first_value(&a.simple_query(sql).await.unwrap()),
        "2024-06-03 12:00:00.000000+00"
    );
}

#[tokio::test]
async fn columns_are_named_like_postgres() {
    let server = start(ServeOptions::default(), None).await;
    let client = connect(server.addr).await;
    let sql =
        "SELECT 1, count(*), min(ts), '{}'::jsonb, service, 2 AS two FROM logs GROUP BY service";
    let want = ["?column?", "count", "min", "jsonb", "service", "two"];
    // Extended protocol: described and sent so.
    let statement = client.prepare(sql).await.unwrap();
    let names: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, want);
    // Simple protocol, also for a constant statement's kept plan (the second run).
    for text in [
        sql,
        "SELECT 1",
        "SELECT 1",
        "SELECT 1, count(*), count(*) FROM logs",
    ] {
        let messages = client.simple_query(text).await.unwrap();
        let columns = messages
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::RowDescription(columns) => Some(std::sync::Arc::clone(columns)),
                _ => None,
            })
            .expect("a row description");
        let names: Vec<&str> = columns.iter().map(|c| c.name()).collect();
        let want: &[&str] = if text.contains("count(*), count(*)") {
            &["?column?", "count", "count"]
        } else {
            &want[..names.len()]
        };
        assert_eq!(names, want, "{text}");
    }
}
