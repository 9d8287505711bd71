//! `sigfuse query`: run SQL over a lake.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::UInt64Array;
use datafusion::arrow::csv::Writer as CsvWriter;
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::execute_stream;
use futures::StreamExt;
use sigfuse_engine::{Command, Engine, EngineConfig, split_commands};
use sigfuse_storage::lake::{object_url, store_for_url};

use crate::progress;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OutFormat {
    Table,
    Csv,
    Json,
    Parquet,
    /// Run to the last row and print only the row count (to stderr): times a query without
    /// the cost of formatting its result.
    None,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    /// SQL to run; several statements separated by `;` run in order.
    sql: Option<String>,
    /// Read the SQL from a file instead.
    #[arg(short = 'f', long = "file", conflicts_with = "sql")]
    file: Option<PathBuf>,
    /// Output format; csv and json stream, table prints once the result is complete.
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    format: OutFormat,
    /// Write the result of the last statement to this path or URL (file://, s3://, …).
    #[arg(long)]
    out: Option<String>,
    /// Print each statement's time (planning to last row written) to stderr, like psql's
    /// `\timing`, and the part of it spent planning (SQL to physical plan).
    #[arg(long)]
    timing: bool,
}

/// Who runs `CREATE MODEL` from the command line, for the manifest.
fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// What a model statement without rows did.
fn done(command: &Command) -> String {
    match command {
        Command::DropModel { name, .. } => format!("DROP MODEL {name}"),
        Command::AlterModelVersion { name, version } => {
            format!("ALTER MODEL {name}: version {version} is active")
        }
        _ => String::new(),
    }
}

pub async fn run(
    config: &EngineConfig,
    is_default_lake: bool,
    args: QueryArgs,
) -> Result<ExitCode> {
    let sql = match (&args.sql, &args.file) {
        (Some(s), None) => s.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
        }
        _ => bail!("give the SQL as an argument or with -f FILE"),
    };
    let statements = split_commands(&sql)?;
    if statements.is_empty() {
        bail!("no SQL statement given");
    }
    if matches!(args.format, OutFormat::Parquet) && args.out.is_none() {
        bail!("--format parquet needs --out PATH_OR_URL");
    }
    if is_default_lake {
        crate::demo::ensure_default_lake(config).await?;
    }
    let engine = Engine::open(config)?;
    engine.load_models().await?;
    let last = statements.len() - 1;
    for (i, statement) in statements.into_iter().enumerate() {
        let statement = match statement {
            Command::Sql(s) => *s,
            Command::CreateModel(cm) => {
                let r = engine.create_model(&cm, &os_user()).await?;
                eprintln!(
                    "CREATE MODEL {} KIND {} version {}: {}",
                    r.name,
                    r.kind,
                    r.version,
                    r.summary()
                );
                continue;
            }
            other => {
                if let Some(df) = engine.model_command(&other).await? {
                    print(df.execute_stream().await?, args.format).await?;
                } else {
                    eprintln!("{}", done(&other));
                }
                continue;
            }
        };
        let started = std::time::Instant::now();
        let state = engine.ctx().state();
        let plan = state.statement_to_plan(statement).await?;
        let df = engine.ctx().execute_logical_plan(plan).await?;
        let planned = if i == last
            && let Some(out) = &args.out
        {
            write_to(&engine, df, args.format, out).await?;
            None
        } else {
            let task = Arc::new(df.task_ctx());
            let physical = df.create_physical_plan().await?;
            let planned = started.elapsed();
            print(execute_stream(physical, task)?, args.format).await?;
            Some(planned)
        };
        if args.timing {
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
            match planned {
                Some(p) => eprintln!(
                    "Time: {:.3} ms (planning {:.3} ms)",
                    ms(started.elapsed()),
                    ms(p)
                ),
                None => eprintln!("Time: {:.3} ms", ms(started.elapsed())),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where printed batches go: tables need the whole result for column widths; csv and json
/// stream batch by batch.
enum Printer<W: Write> {
    Table(Vec<datafusion::arrow::array::RecordBatch>),
    Csv(Box<CsvWriter<W>>),
    Json(LineDelimitedWriter<W>),
    Count(usize),
}

async fn print(mut stream: SendableRecordBatchStream, format: OutFormat) -> Result<()> {
    let pb = progress::bar(None, "rows");
    let stdout = std::io::stdout();
    let mut printer = match format {
        // Parquet goes only to --out, which takes the last statement: earlier ones (a CREATE
        // EXTERNAL TABLE before the query, say) print as tables.
        OutFormat::Table | OutFormat::Parquet => Printer::Table(Vec::new()),
        OutFormat::None => Printer::Count(0),
        OutFormat::Csv => Printer::Csv(Box::new(CsvWriter::new(stdout.lock()))),
        OutFormat::Json => Printer::Json(LineDelimitedWriter::new(stdout.lock())),
    };
    while let Some(b) = stream.next().await {
        let b = b?;
        pb.inc(b.num_rows() as u64);
        match &mut printer {
            Printer::Table(batches) => batches.push(b),
            Printer::Csv(w) => w.write(&b)?,
            Printer::Json(w) => w.write(&b)?,
            Printer::Count(n) => *n += b.num_rows(),
        }
    }
    pb.finish_and_clear();
    match printer {
        #[allow(clippy::print_stdout)]
        Printer::Table(batches) => println!("{}", pretty_format_batches(&batches)?),
        Printer::Csv(_) => {}
        Printer::Json(mut w) => w.finish()?,
        Printer::Count(n) => eprintln!("({n} rows)"),
    }
    std::io::stdout().flush()?;
    Ok(())
}

async fn write_to(engine: &Engine, df: DataFrame, format: OutFormat, out: &str) -> Result<()> {
    let url = object_url(out)?;
    if url.scheme() != "file"
        && !url
            .as_str()
            .starts_with(engine.lake().object_store_url().as_str())
    {
        let (store, _) = store_for_url(&url, &Default::default())?;
        let base = url::Url::parse(&url[..url::Position::BeforePath])?;
        engine
            .ctx()
            .register_object_store(&base, Arc::clone(&store));
    }
    let pb = progress::bar(None, &format!("writing {out}"));
    let options = DataFrameWriteOptions::new().with_single_file_output(true);
    let written = match format {
        OutFormat::Csv => df.write_csv(url.as_str(), options, None).await?,
        OutFormat::Json => df.write_json(url.as_str(), options, None).await?,
        OutFormat::Parquet => df.write_parquet(url.as_str(), options, None).await?,
        OutFormat::Table | OutFormat::None => {
            bail!("--out needs --format csv, json or parquet")
        }
    };
    pb.finish_and_clear();
    // DataFusion answers a write with one row holding the number of rows written.
    let rows: u64 = written
        .iter()
        .filter_map(|b| b.column(0).as_any().downcast_ref::<UInt64Array>())
        .flat_map(|c| c.values().iter().copied())
        .sum();
    eprintln!("wrote {rows} rows to {out}");
    Ok(())
}
