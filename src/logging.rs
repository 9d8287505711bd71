//! Log lines on stderr for long-running commands (`serve`): `SIGFUSE_LOG=error|warn|info|debug`
//! (default `info` for sigfuse, `warn` for the libraries underneath).

use std::io::Write;

struct StderrLog {
    level: log::LevelFilter,
}

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        let ours = metadata.target().starts_with("sigfuse");
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
    if log::set_logger(Box::leak(Box::new(StderrLog { level }))).is_ok() {
        log::set_max_level(level);
    }
}
