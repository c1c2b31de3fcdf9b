use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl LogFormat {
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw.map(str::trim) {
            None | Some("") => Ok(if std::io::stderr().is_terminal() {
                Self::Pretty
            } else {
                Self::Json
            }),
            Some("json") => Ok(Self::Json),
            Some("pretty") => Ok(Self::Pretty),
            Some(other) => Err(format!(
                "PORTCULLIS_LOG_FORMAT: '{other}' is not one of: json, pretty"
            )),
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Safe to call more than once (tests).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person reading a terminal: not in a file, a pipe, or with NO_COLOR.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    let _already_set = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
