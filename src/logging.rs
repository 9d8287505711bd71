//! Log lines on stderr for long-running commands (`serve`): `SIGFUSE_LOG=error|warn|info|debug`
//! (default `info` for sigfuse, `warn` for the libraries underneath, or the same level for them
//! too with `SIGFUSE_LOG_DEPS=1`).

use std::io::Write;

struct StderrLog {
    level: log::LevelFilter,
    /// `SIGFUSE_LOG_DEPS=1`: the libraries underneath log at the same level.
    deps: bool,
}

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        let ours = self.deps || metadata.target().starts_with("sigfuse");
        metadata.level()
            <= if ours {
                self.level
            } else {
                self.level.min(log::LevelFilter::Warn)
            }
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
            let _ = writeln!(
                std::io::stderr().lock(),
                "{now} {:5} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Installs the stderr logger once.
pub fn init() {
    let level = std::env::var("SIGFUSE_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    if log::set_logger(Box::leak(Box::new(StderrLog {
        level,
        deps: std::env::var_os("SIGFUSE_LOG_DEPS").is_some_and(|v| v == "1"),
    })))
    .is_ok()
    {
        log::set_max_level(level);
    }
}
