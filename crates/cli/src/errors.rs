//! CLI errors that read like CLI errors: one sentence naming the setting the
//! way the user gave it (`--database` or `SONARLY_DATABASE_URL`), and where it
//! helps a `hint:` line, rather than the API's envelope messages
//! ("Internal server error.", "Request validation failed.").

use clap::ArgMatches;
use clap::parser::ValueSource;
use sonarly_domain::{DomainError, ErrorCode};
use std::fmt;

/// An error with an optional hint, printed by `main` as `error: …` then `hint: …`.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// An error with a hint on how to fix it.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    CliError { message: message.into(), hint: Some(hint.into()) }.into()
}

/// The hint of the first [`CliError`] in `e`'s chain.
pub fn hint_of(e: &anyhow::Error) -> Option<&str> {
    e.chain().find_map(|c| c.downcast_ref::<CliError>()).and_then(|c| c.hint.as_deref())
}

/// How the user gave a setting, so a message can name it as they wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env,
    Default,
}

impl Origin {
    /// Where the value of argument `id` came from in `matches`.
    pub fn of(matches: &ArgMatches, id: &str) -> Self {
        match matches.value_source(id) {
            Some(ValueSource::EnvVariable) => Self::Env,
            Some(ValueSource::CommandLine) => Self::Flag,
            _ => Self::Default,
        }
    }

    /// `flag` or `env`, whichever the user used; `flag` for a default.
    pub fn name(self, flag: &'static str, env: &'static str) -> &'static str {
        match self {
            Self::Env => env,
            Self::Flag | Self::Default => flag,
        }
    }
}

/// A use-case error in CLI words. `not_found` says what was missing (e.g.
/// "account group X does not exist"); a storage failure points at the log line
/// above, which holds its cause.
pub fn domain(e: DomainError, not_found: &str) -> anyhow::Error {
    let reason = match e.code {
        ErrorCode::NotFound => not_found.to_owned(),
        ErrorCode::InternalError => "a database operation failed (the cause is logged above)".to_owned(),
        _ => match e.details {
            Some(details) => details,
            None => e.message.trim_end_matches('.').to_owned(),
        },
    };
    anyhow::anyhow!(reason)
}
