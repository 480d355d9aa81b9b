//! tracing setup: `log.format` text or JSON, `log.level` reloadable on SIGHUP.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, reload};

use crate::config::model::{LogConfig, LogFormat};

const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace", "off"];

/// Accepts a level (`info`) or a tracing filter (`info,tandem::vrrp=debug`). A bare word
/// that is not a level is refused: tracing would read it as a target name and the
/// operator would silently get no logs.
pub fn validate_level(spec: &str) -> Result<(), String> {
    if spec.trim().is_empty() {
        return Err(format!("empty; use one of {}", LEVELS.join(", ")));
    }
    for d in spec.split(',').map(str::trim) {
        let level = match d.split_once('=') {
            Some((target, level)) if !target.is_empty() => level,
            Some(_) => return Err(format!("`{d}` has no target before `=`")),
            None => d,
        };
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "`{level}` is not a log level: use one of {}",
                LEVELS.join(", ")
            ));
        }
    }
    EnvFilter::try_new(spec)
        .map(|_| ())
        .map_err(|e| format!("`{spec}` is not a log filter: {e}"))
}

/// Changes what is logged after start.
pub struct LogHandle {
    filter: reload::Handle<EnvFilter, tracing_subscriber::Registry>,
    format: LogFormat,
    level: String,
}

impl LogHandle {
    /// Applies a reloaded `log` section; returns a note when something needs a restart.
    pub fn apply(&mut self, cfg: &LogConfig) -> Option<String> {
        if cfg.level != self.level {
            match EnvFilter::try_new(&cfg.level) {
                Ok(f) => {
                    if self.filter.reload(f).is_ok() {
                        tracing::info!(from = %self.level, to = %cfg.level, "log level changed from {} to {}", self.level, cfg.level);
                        self.level = cfg.level.clone();
                    }
                }
                Err(e) => tracing::warn!("log level `{}` not applied: {e}", cfg.level),
            }
        }
        (cfg.format != self.format).then(|| {
            format!(
                "log.format changed from {} to {}: takes effect at the next restart",
                self.format, cfg.format
            )
        })
    }
}

/// Installs the global subscriber. Writes to stderr; under systemd (JOURNAL_STREAM set)
/// text lines carry no timestamp because the journal adds its own.
pub fn init(cfg: &LogConfig) -> LogHandle {
    let filter = EnvFilter::try_new(&cfg.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter_layer, handle) = reload::Layer::new(filter);
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let fmt_layer = match cfg.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text if journal => tracing_subscriber::fmt::layer()
            .without_time()
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter_layer)
        .with(fmt_layer)
        .with(RecentLayer)
        .try_init();
    LogHandle {
        filter: handle,
        format: cfg.format,
        level: cfg.level.clone(),
    }
}

/// How many of the last log lines the daemon keeps for the router's `show @@syslog`.
pub const RECENT_LINES: usize = 1000;

/// The balancer's per-connection lines: not kept (they would push out every event).
const CONNECTION_TARGET: &str = "tandem::balancer::connection";

/// A kept line: its time (`yyyy-MM-dd HH:mm:ss`, UTC, as the log's) and its text.
pub type RecentLine = (String, String);

fn recent_store() -> &'static Mutex<VecDeque<RecentLine>> {
    static RECENT: OnceLock<Mutex<VecDeque<RecentLine>>> = OnceLock::new();
    RECENT.get_or_init(|| Mutex::new(VecDeque::with_capacity(RECENT_LINES)))
}

/// The last `n` (at most [`RECENT_LINES`]) lines logged, the newest first, as MyCat's
/// `show @@syslog limit=n` shows its log file's.
pub fn recent(n: usize) -> Vec<RecentLine> {
    recent_store()
        .lock()
        .map(|r| r.iter().rev().take(n).cloned().collect())
        .unwrap_or_default()
}

/// Keeps the last [`RECENT_LINES`] events that pass the log filter, as text.
struct RecentLayer;

/// An event's message and its fields as ` key=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for RecentLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let meta = event.metadata();
        if meta.target() == CONNECTION_TARGET {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let line = (
            crate::civil::utc_datetime(secs),
            format!(
                " {:>5} {}: {}{}",
                meta.level(),
                meta.target(),
                text.message,
                text.fields
            ),
        );
        if let Ok(mut r) = recent_store().lock() {
            if r.len() == RECENT_LINES {
                r.pop_front();
            }
            r.push_back(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_are_kept_newest_first_without_connection_lines() {
        let sub = tracing_subscriber::registry().with(RecentLayer);
        tracing::subscriber::with_default(sub, || {
            tracing::warn!(host = "w1", "recent-test: first");
            tracing::info!(target: CONNECTION_TARGET, "recent-test: a connection");
            for i in 0..RECENT_LINES {
                tracing::info!(n = i, "recent-test: line {i}");
            }
        });
        let all = recent(usize::MAX);
        assert_eq!(all.len(), RECENT_LINES);
        let last = RECENT_LINES - 1;
        assert!(
            all[0]
                .1
                .ends_with(&format!("recent-test: line {last} n={last}")),
            "{:?}",
            all[0]
        );
        assert!(
            all[0]
                .1
                .starts_with("  INFO tandem::observe::logging::tests: "),
            "{:?}",
            all[0]
        );
        assert_eq!(all[0].0.len(), 19);
        assert!(
            !all.iter()
                .any(|l| l.1.contains("a connection") || l.1.contains("first"))
        );
        assert_eq!(recent(2).len(), 2);
        assert_eq!(crate::civil::utc_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(
            crate::civil::utc_datetime(1_795_617_296),
            "2026-11-25 14:34:56"
        );
    }

    #[test]
    fn levels() {
        assert!(validate_level("info").is_ok());
        assert!(validate_level("DEBUG").is_ok());
        assert!(validate_level("info,tandem::vrrp=debug").is_ok());
        assert!(
            validate_level("verbose")
                .unwrap_err()
                .contains("not a log level")
        );
        assert!(validate_level("=debug").is_err());
        assert!(validate_level("").is_err());
    }
}

/// An OS error as a log line shows it: "Connection refused", not "Connection refused (os
/// error 111)" (the number says nothing the words do not).
pub fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod io_text_tests {
    #[test]
    fn the_os_error_number_is_left_out() {
        let e = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(super::io_text(&e), "Connection refused");
        let e = std::io::Error::other("no (os error here");
        assert_eq!(super::io_text(&e), "no (os error here");
    }
}
