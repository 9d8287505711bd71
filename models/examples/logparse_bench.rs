//! Template-mining throughput of `sigfuse_models::logparse` on `service<TAB>body` lines, one
//! thread. Run by `benches/logparse.sh`; prints `sigfuse <lines/s> <templates>`. Reading the
//! file is not timed; mining starts from an empty miner with the default configuration.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use sigfuse_models::logparse::{Config, Miner, Scratch};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: logparse_bench FILE")?;
    let text = std::fs::read_to_string(&path)?;
    let rows: Vec<(&str, &str)> = text
        .lines()
        .map(|l| l.split_once('\t').unwrap_or(("", l)))
        .collect();
    let mut miner = Miner::new(Config::default())?;
    let mut scratch = Scratch::default();
    let start = Instant::now();
    let mut check = 0usize;
    for (svc, body) in &rows {
        check = check.wrapping_add(miner.add(svc, body, &mut scratch));
    }
    let secs = start.elapsed().as_secs_f64();
    let live = miner
        .clusters()
        .iter()
        .enumerate()
        .filter(|(i, _)| miner.resolve(*i) == *i)
        .count();
    println!("sigfuse {:.0} {live} {check}", rows.len() as f64 / secs);
    Ok(())
}
