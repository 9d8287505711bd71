//! `sigfuse eval …`: quality figures of learned functions on labeled data.

pub mod logparse;
pub mod nab;
pub mod nezha;

use std::process::ExitCode;

use anyhow::Result;
use sigfuse_engine::EngineConfig;

#[derive(clap::Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    what: EvalCommand,
}

#[derive(clap::Subcommand)]
enum EvalCommand {
    /// Log-template mining: GA, FGA, PA, FTA on Loghub `_structured.csv` files or demo data.
    Logparse(logparse::LogparseArgs),
    /// Root-cause ranking on the Nezha dataset's labeled faults: top-1/3/5 accuracy.
    Nezha(nezha::NezhaArgs),
    /// The Numenta Anomaly Benchmark score (standard profile) on NAB series.
    Nab(nab::NabArgs),
}

pub async fn run(config: &EngineConfig, args: EvalArgs) -> Result<ExitCode> {
    match args.what {
        EvalCommand::Logparse(a) => logparse::run(config, a).await,
        EvalCommand::Nezha(a) => nezha::run(config, a).await,
        EvalCommand::Nab(a) => nab::run(config, a).await,
    }
}
