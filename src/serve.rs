//! `sigfuse serve`: the lake over the Postgres wire protocol.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow};
use sigfuse_engine::{Engine, EngineConfig};
use sigfuse_sql::{Role, ServeOptions, Server, Users};

/// Where `sigfuse user add` writes and `sigfuse serve` looks when no file is named.
pub const DEFAULT_USERS: &str = ".sigfuse/users.toml";

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:5433")]
    listen: String,
    /// Users file (from `sigfuse user add`); when it exists, every client logs in with
    /// SCRAM-SHA-256. Without one, only loopback addresses are served.
    #[arg(long, env = "SIGFUSE_USERS")]
    users: Option<PathBuf>,
    /// Role of every session when there is no users file.
    #[arg(long, default_value = "analyst")]
    trust_role: Role,
    /// TLS certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM, PKCS#8).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Refuse clients that do not use TLS.
    #[arg(long)]
    tls_only: bool,
    /// Most simultaneous connections.
    #[arg(long, default_value_t = 100)]
    max_connections: usize,
    /// Default statement timeout, e.g. `30s`, `500ms`, `5min` (0: none).
    #[arg(long, value_parser = parse_duration)]
    statement_timeout: Option<Duration>,
    /// Memory the queries of all sessions may use before spilling or failing with 53200.
    #[arg(long)]
    memory_limit_mb: Option<usize>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "ms"), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration like 30s or 500ms, got '{text}'"))?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" => n * 1000,
        "min" => n * 60_000,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}': use ms, s or min"
            ));
        }
    };
    Ok(Duration::from_millis(ms))
}

pub async fn run(
    config: &EngineConfig,
    is_default_lake: bool,
    args: ServeArgs,
) -> Result<ExitCode> {
    let users_path = args.users.clone().or_else(|| {
        let p = PathBuf::from(DEFAULT_USERS);
        p.exists().then_some(p)
    });
    let users = match &users_path {
        Some(p) => {
            let users = Users::load(p).map_err(|e| anyhow!(e))?;
            // A users file means passwords are wanted: never fall back to trust because it is
            // empty (say, after the last `sigfuse user remove`).
            if users.is_empty() {
                anyhow::bail!(
                    "users file {} has no users: add one with `sigfuse user add NAME --role …`",
                    p.display()
                );
            }
            Some(users)
        }
        None => None,
    };
    if is_default_lake {
        crate::demo::ensure_default_lake(config).await?;
    }
    let mut config = config.clone();
    if let Some(mb) = args.memory_limit_mb {
        config.memory_limit = Some(mb << 20);
    }
    let engine = Engine::open(&config)?;
    if let Some((name, version)) = engine.load_models().await? {
        log::info!("log functions use model {name} version {version}");
    }
    let users_note = match (&users_path, &users) {
        (Some(p), Some(u)) if !u.is_empty() => {
            format!(
                "SCRAM-SHA-256 logins from {} ({} users)",
                p.display(),
                u.names().count()
            )
        }
        _ => format!(
            "no passwords (loopback only), sessions are {}",
            args.trust_role
        ),
    };
    let options = ServeOptions {
        listen: args.listen,
        users,
        trust_role: args.trust_role,
        tls: args.tls_cert.zip(args.tls_key),
        tls_only: args.tls_only,
        max_connections: args.max_connections,
        statement_timeout: args.statement_timeout.filter(|d| !d.is_zero()),
    };
    let tls_note = match (&options.tls, options.tls_only) {
        (Some(_), true) => "TLS required",
        (Some(_), false) => "TLS offered",
        (None, _) => "no TLS",
    };
    let server = Server::bind_engine(&engine, options)
        .await
        .map_err(|e| anyhow!(e))?;
    let addr = server.local_addr()?;
    eprintln!(
        "sigfuse serving {} on {addr}: {users_note}; {tls_note}",
        engine.lake().url()
    );
    eprintln!(
        "connect with: psql -h {} -p {} -U sigfuse",
        addr.ip(),
        addr.port()
    );
    tokio::select! {
        r = server.run() => r?,
        _ = tokio::signal::ctrl_c() => eprintln!("sigfuse serve: stopping"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2min").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
