//! tracing setup: `log.format` text or JSON, `log.level` reloadable on SIGHUP.

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
        .try_init();
    LogHandle {
        filter: handle,
        format: cfg.format,
        level: cfg.level.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
