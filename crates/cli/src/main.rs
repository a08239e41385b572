//! `sonarly`: the server and its administration commands.

mod admin;
mod api;
#[cfg(test)]
mod docs;
mod errors;
mod events;
mod linkedin;
mod logging;
mod output;
mod serve;
mod signals;

use anyhow::Context;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use errors::Origin;
use sonarly_store::Store;
use std::io::IsTerminal;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a request allocates a few
/// thousand small strings and frees them on another thread, where glibc's
/// malloc spent a third of a messages page (docs/performance.md, issue 16).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sonarly",
    version,
    about = "Sonarly Server: the Sonarly public API v1, self-hosted",
    after_long_help = "Environment only: `RUST_LOG` sets the log filter in tracing's env-filter syntax \
                       (e.g. `debug` or `info,sonarly_api=debug`); when unset or unparsable it is `info,sqlx=warn`."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct GlobalArgs {
    /// Database URL: sqlite://PATH (embedded, the default; the file is created when missing),
    /// sqlite::memory: (gone when the process exits) or postgres://USER@HOST:PORT/DB.
    #[arg(
        long = "database",
        value_name = "URL",
        global = true,
        env = "SONARLY_DATABASE_URL",
        default_value = "sqlite://sonarly.db"
    )]
    database: String,
    /// Log format on stderr.
    #[arg(long, value_name = "FORMAT", global = true, env = "SONARLY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// One readable line per event, coloured when stderr is a terminal.
    Human,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and its background workers.
    #[command(after_long_help = "Environment only: `SONARLY_OPENAI_API_KEY` is sent as `Authorization: Bearer …` \
                                 to the model API of --openai-base-url. It is never a flag, so it stays out of `ps`; \
                                 local servers may need none. `SONARLY_SECRET_KEY` (32 bytes, base64 or hex) opens \
                                 the Unipile API keys stored sealed, with `SONARLY_SECRET_KEY_PREVIOUS` during a key \
                                 rotation (docs/linkedin.md, Secrets at rest).")]
    Serve(serve::ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Manage account groups.
    #[command(subcommand)]
    Groups(admin::GroupsCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(admin::KeysCommand),
    /// Manage connected LinkedIn accounts.
    #[command(subcommand)]
    Linkedin(linkedin::LinkedInCommand),
    /// Print the OpenAPI document (no database needed).
    Openapi,
    /// Read the event log.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Call a running server's API with a key (SONARLY_URL, SONARLY_API_KEY): tables, or JSON with --json.
    Api(api::ApiArgs),
}

/// The database URL and how the user gave it.
pub struct Database {
    pub url: String,
    pub origin: Origin,
}

impl Database {
    /// The database as the user gave it, for messages (never the URL itself,
    /// which may hold a password).
    fn described(&self) -> String {
        match self.origin {
            Origin::Flag => "the database given by --database".into(),
            Origin::Env => "the database given by SONARLY_DATABASE_URL".into(),
            Origin::Default => format!("the default database {} (choose another with --database)", self.url),
        }
    }

    /// What to append to a suggested `sonarly …` command so it reaches this
    /// database: nothing when it comes from the environment or the default
    /// (both carry over), ` --database URL` when given as a flag. A password
    /// is not echoed.
    pub fn flag_for_commands(&self) -> String {
        if self.origin != Origin::Flag {
            return String::new();
        }
        let has_password = self.url.split_once("://").is_some_and(|(_, rest)| {
            rest.split(['/', '?'])
                .next()
                .and_then(|authority| authority.rsplit_once('@'))
                .is_some_and(|(user, _)| user.contains(':'))
        });
        if has_password {
            " --database '<your URL>'".to_owned()
        } else if self.url.chars().all(|c| c.is_ascii_alphanumeric() || "/:._@%+,=-".contains(c)) {
            format!(" --database {}", self.url)
        } else {
            format!(" --database '{}'", self.url.replace('\'', r"'\''"))
        }
    }
}

fn init_logging(format: LogFormat) {
    logging::init(format, std::io::stderr().is_terminal());
}

/// Connects and migrates: every command that touches the database runs the
/// migrations it needs first.
async fn open_store(db: &Database) -> anyhow::Result<Store> {
    let store = Store::connect(&db.url).await.with_context(|| format!("cannot open {}", db.described()))?;
    if let Err(e) = store.migrate().await {
        store.close().await;
        return Err(e).with_context(|| format!("cannot migrate {}", db.described()));
    }
    Ok(store)
}

fn openapi() -> anyhow::Result<()> {
    let json = sonarly_api::openapi().to_pretty_json().context("cannot render the OpenAPI document")?;
    output::emit_line(json)
}

async fn run(cli: Cli, matches: &ArgMatches) -> anyhow::Result<()> {
    let db = Database { url: cli.global.database, origin: Origin::of(matches, "database") };
    match cli.command {
        Command::Serve(args) => {
            let serve_matches = matches.subcommand_matches("serve").unwrap_or(matches);
            serve::run(&db, args, serve_matches).await
        }
        Command::Migrate => {
            open_store(&db).await?.close().await;
            eprintln!("Migrations applied.");
            Ok(())
        }
        Command::Groups(cmd) => admin::groups(&db, cmd).await,
        Command::Keys(cmd) => admin::keys(&db, cmd).await,
        Command::Linkedin(cmd) => linkedin::run(&db, cmd).await,
        Command::Openapi => openapi(),
        Command::Events(cmd) => events::run(&db, cmd).await,
        Command::Api(args) => api::run(args).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logging(cli.global.log_format);
    match run(cli, &matches).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(hint) = errors::hint_of(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(url: &str, origin: Origin) -> String {
        Database { url: url.into(), origin }.flag_for_commands()
    }

    #[test]
    fn suggested_commands_repeat_a_database_flag_but_never_a_password() {
        assert_eq!(flag("sqlite://data/s.db", Origin::Flag), " --database sqlite://data/s.db");
        assert_eq!(flag("postgres://me@db:5432/s", Origin::Flag), " --database postgres://me@db:5432/s");
        assert_eq!(flag("postgres://me:pw@db/s", Origin::Flag), " --database '<your URL>'");
        assert_eq!(flag("sqlite://my dir/s.db?mode=rwc", Origin::Flag), " --database 'sqlite://my dir/s.db?mode=rwc'");
        assert_eq!(flag("postgres://me:pw@db/s", Origin::Env), "", "the environment carries over by itself");
        assert_eq!(flag("sqlite://sonarly.db", Origin::Default), "");
    }

    #[test]
    fn settings_are_named_as_they_were_given() {
        let matches = Cli::command().get_matches_from(["sonarly", "--database", "sqlite://x.db", "migrate"]);
        assert_eq!(Origin::of(&matches, "database"), Origin::Flag);
        assert_eq!(Origin::Env.name("--database", "SONARLY_DATABASE_URL"), "SONARLY_DATABASE_URL");
        assert_eq!(Origin::Default.name("--database", "SONARLY_DATABASE_URL"), "--database");
    }
}
