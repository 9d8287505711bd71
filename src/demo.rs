//! `sigfuse demo`: generate a microservice system with labelled incidents into a lake.

use std::process::ExitCode;

use anyhow::{Result, bail};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use sigfuse_engine::EngineConfig;
use sigfuse_storage::Lake;
use sigfuse_storage::demo::{DemoOptions, LABELS_FILE, generate};

use crate::progress;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Hours of telemetry to generate.
    #[arg(long, default_value_t = DemoOptions::default().hours)]
    hours: u32,
    /// Number of services in the call graph.
    #[arg(long, default_value_t = DemoOptions::default().services)]
    services: usize,
    /// Random seed; the same seed gives the same data.
    #[arg(long, default_value_t = DemoOptions::default().seed)]
    seed: u64,
}

async fn generate_into(lake: &Lake, options: &DemoOptions) -> Result<()> {
    let pb = progress::bar(None, "generating demo rows");
    let counter = pb.clone();
    let report = generate(lake, options, &move |n| counter.inc(n)).await?;
    pb.finish_and_clear();
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    eprintln!(
        "demo: {} services, {} h: {} in {} files; {} labelled incidents in _labels/demo.json",
        options.services,
        options.hours,
        rows.join(", "),
        report.files,
        report.incidents.len()
    );
    for i in &report.incidents {
        eprintln!(
            "  {} {} at {} .. {} ({})",
            i.kind, i.service, i.start, i.end, i.description
        );
    }
    Ok(())
}

/// Refuses to mix demo data into a lake that holds other data: a different demo (other seed,
/// size) or anything else. The same demo again is fine: it rewrites the same files.
async fn check_target(lake: &Lake, options: &DemoOptions) -> Result<()> {
    match lake.store().get(&lake.path(LABELS_FILE)).await {
        Ok(found) => {
            let labels: serde_json::Value = serde_json::from_slice(&found.bytes().await?)?;
            let same = labels["seed"] == options.seed
                && labels["hours"] == options.hours
                && labels["services"].as_array().map(Vec::len) == Some(options.services);
            if !same {
                bail!(
                    "{} already holds demo data (seed {}, {} hours, {} services); give another --lake",
                    lake.url(),
                    labels["seed"],
                    labels["hours"],
                    labels["services"].as_array().map_or(0, Vec::len)
                );
            }
            Ok(())
        }
        Err(object_store::Error::NotFound { .. }) => {
            if lake
                .store()
                .list(Some(&lake.path("")))
                .next()
                .await
                .is_some()
            {
                bail!(
                    "{} is not empty; demo data would mix with what is there: give another --lake",
                    lake.url()
                );
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn run(config: &EngineConfig, args: DemoArgs) -> Result<ExitCode> {
    let lake = Lake::open_with_options(&config.lake, &config.storage_options)?;
    let options = DemoOptions {
        hours: args.hours,
        services: args.services,
        seed: args.seed,
        ..Default::default()
    };
    check_target(&lake, &options).await?;
    generate_into(&lake, &options).await?;
    Ok(ExitCode::SUCCESS)
}

/// Fills the default lake with demo data the first time it is used.
pub async fn ensure_default_lake(config: &EngineConfig) -> Result<()> {
    let lake = Lake::open_with_options(&config.lake, &config.storage_options)?;
    let root = lake.path("");
    let empty = lake.store().list(Some(&root)).next().await.is_none();
    if empty {
        eprintln!(
            "{} is empty: generating demo data (sigfuse demo) first",
            lake.url()
        );
        generate_into(&lake, &DemoOptions::default()).await?;
    }
    Ok(())
}
