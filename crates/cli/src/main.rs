//! `sonarly`: the server and its administration commands.

mod admin;
mod linkedin;
mod serve;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sonarly_store::Store;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "sonarly", version, about = "Sonarly Server: the Sonarly public API v1, self-hosted")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct GlobalArgs {
    /// Database URL: sqlite://PATH (embedded, the default) or postgres://USER@HOST:PORT/DB.
    #[arg(long = "database", global = true, env = "SONARLY_DATABASE_URL", default_value = "sqlite://sonarly.db")]
    database: String,
    /// Log format on stderr.
    #[arg(long, global = true, env = "SONARLY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and its background workers.
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
    /// Print the OpenAPI document.
    Openapi,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Connects and migrates: every command that touches the database runs the
/// migrations it needs first.
async fn open_store(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url).await.map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    store.migrate().await.map_err(|e| anyhow::anyhow!("cannot migrate the database: {e}"))?;
    Ok(store)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve::run(&cli.global.database, args).await,
        Command::Migrate => match open_store(&cli.global.database).await {
            Ok(store) => {
                store.close().await;
                eprintln!("Migrations applied.");
                Ok(())
            }
            Err(e) => Err(e),
        },
        Command::Groups(cmd) => admin::groups(&cli.global.database, cmd).await,
        Command::Keys(cmd) => admin::keys(&cli.global.database, cmd).await,
        Command::Linkedin(cmd) => linkedin::run(&cli.global.database, cmd).await,
        Command::Openapi => {
            match sonarly_api::openapi().to_pretty_json() {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("error: {e}"),
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
