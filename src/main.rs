//! # sigfuse — the command-line program
//!
//! # Layout
//!
//! | module | subcommand |
//! |---|---|
//! | [`query`] | `sigfuse query "SQL"` / `-f job.sql`: tables on a terminal, csv/json/parquet for jobs |
//! | [`ingest`] | `sigfuse ingest`: sources → the lake, with a summary of rows and rejects |
//! | [`demo`] | `sigfuse demo`: a generated microservice system with labelled incidents |
//! | [`eval`] | `sigfuse eval logparse`: quality of learned functions on labeled data |
//! | [`serve`] | `sigfuse serve`: the lake over the Postgres wire protocol (`sigfuse-sql`) |
//! | [`user`] | `sigfuse user add|remove|list`: the users file of `serve` |
//! | [`alloc`] | glibc `malloc` settings for analytical work, applied first thing in `main` |
//! | [`logging`] | server log lines on stderr, level from `SIGFUSE_LOG` |
//! | [`progress`] | progress bars on stderr, quiet when stderr is not a terminal |
//!
//! The lake defaults to `$SIGFUSE_LAKE`, else `./.sigfuse/lake`; the default lake is filled with
//! demo data on first use so that the first command a newcomer types shows something.

mod alloc;
mod demo;
mod eval;
mod ingest;
mod logging;
mod progress;
mod query;
mod serve;
mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sigfuse_engine::EngineConfig;

const DEFAULT_LAKE: &str = ".sigfuse/lake";

#[derive(Parser)]
#[command(
    name = "sigfuse",
    version,
    about = "SQL over logs, traces, metrics and events"
)]
struct Cli {
    /// Lake root: a folder, or a file://, s3://, gs://, az:// or memory:// URL.
    #[arg(long, global = true, env = "SIGFUSE_LAKE")]
    lake: Option<String>,
    /// Configuration file (lake, memory limit, object-store settings); see docs/storage.md.
    #[arg(long, global = true, env = "SIGFUSE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Memory the query engine may use, in MiB, before sorts and joins spill to disk or the
    /// query fails (overrides `memory_limit_mb` of the configuration file; default unlimited).
    #[arg(long, global = true, env = "SIGFUSE_MEMORY_LIMIT_MB")]
    memory_limit_mb: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run SQL over the lake.
    Query(query::QueryArgs),
    /// Load sources into the lake.
    Ingest(ingest::IngestArgs),
    /// Generate a demo microservice system with labelled incidents.
    Demo(demo::DemoArgs),
    /// Serve the lake over the Postgres wire protocol (psql, drivers, BI tools).
    Serve(serve::ServeArgs),
    /// Manage the users of `sigfuse serve`.
    User(user::UserArgs),
    /// Measure the quality of learned functions on labeled data.
    Eval(eval::EvalArgs),
}

fn main() -> ExitCode {
    // Before the runtime's threads exist, so that every thread's heap starts out tuned.
    alloc::tune();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let mut config = match &cli.config {
        Some(path) => match EngineConfig::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => EngineConfig::default(),
    };
    // The command line wins over the file; the embedded default lake comes last.
    let is_default = cli.lake.is_none() && config.lake.is_empty();
    if let Some(l) = cli.lake {
        config.lake = l;
    } else if is_default {
        config.lake = DEFAULT_LAKE.to_string();
    }
    if let Some(mb) = cli.memory_limit_mb {
        config.memory_limit = Some(mb << 20);
    }
    let result = match cli.command {
        Command::Query(args) => query::run(&config, is_default, args).await,
        Command::Ingest(args) => ingest::run(&config, args).await,
        Command::Demo(args) => demo::run(&config, args).await,
        Command::Serve(args) => serve::run(&config, is_default, args).await,
        Command::User(args) => user::run(args),
        Command::Eval(args) => eval::run(&config, args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
