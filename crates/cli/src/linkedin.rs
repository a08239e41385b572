//! `sonarly linkedin …`: connect LinkedIn accounts to an account group.

use crate::open_store;
use clap::{Args, Subcommand};
use sonarly_app::linkedin::{ConnectAccount, ProviderSetup, UnipileSetup};
use sonarly_domain::clock::SystemClock;
use sonarly_domain::linkedin_account::{SendingRules, WorkingHours};
use sonarly_linkedin::AccountType;
use sonarly_linkedin::sandbox::SandboxConfig;

#[derive(Subcommand)]
pub enum LinkedInCommand {
    /// Connect a LinkedIn account (sandbox or Unipile); prints its id.
    Connect(Box<ConnectArgs>),
    /// List connected accounts.
    List {
        /// Only this account group.
        #[arg(long)]
        group: Option<String>,
    },
}

#[derive(Args)]
pub struct ConnectArgs {
    #[arg(long)]
    group: String,
    /// `sandbox` (simulated network) or `unipile` (real account through Unipile).
    #[arg(long)]
    provider: String,
    #[arg(long, default_value = "LinkedIn account")]
    name: String,
    /// `classic`, `sales_navigator` or `recruiter`.
    #[arg(long = "type", default_value = "classic")]
    account_type: String,
    /// IANA time zone of the account's working hours.
    #[arg(long, default_value = "UTC")]
    timezone: String,
    /// Working hours, `HH:MM-HH:MM` in the account's time zone (`00:00-24:00` = always).
    #[arg(long, default_value = "09:00-18:00")]
    working_hours: String,
    #[arg(long)]
    daily_messages: Option<u32>,
    #[arg(long)]
    daily_inmails: Option<u32>,
    #[arg(long)]
    daily_invitations: Option<u32>,
    #[arg(long)]
    daily_profile_visits: Option<u32>,
    #[arg(long)]
    daily_engagements: Option<u32>,
    #[arg(long)]
    weekly_invitations: Option<u32>,
    /// Minimum random spacing between two actions of the account, in seconds.
    #[arg(long)]
    min_spacing_secs: Option<u32>,
    /// Maximum random spacing between two actions of the account, in seconds.
    #[arg(long)]
    max_spacing_secs: Option<u32>,
    /// Sandbox: seed of the simulated network (accounts with the same seed see the same people).
    #[arg(long, default_value_t = 42)]
    sandbox_world_seed: u64,
    /// Sandbox: share of invitations accepted (0..1).
    #[arg(long)]
    sandbox_acceptance_rate: Option<f64>,
    /// Sandbox: share of messages that get a reply (0..1).
    #[arg(long)]
    sandbox_reply_rate: Option<f64>,
    /// Sandbox: share of calls failing with a transient error (0..1).
    #[arg(long)]
    sandbox_fault_rate: Option<f64>,
    /// Sandbox: InMail credits.
    #[arg(long)]
    sandbox_inmail_credits: Option<u32>,
    /// Unipile: the DSN (base URL) of your Unipile workspace.
    #[arg(long)]
    unipile_dsn: Option<String>,
    /// Unipile: API key (or SONARLY_UNIPILE_API_KEY).
    #[arg(long, env = "SONARLY_UNIPILE_API_KEY", hide_env_values = true)]
    unipile_api_key: Option<String>,
    /// Unipile: the account id Unipile gave the LinkedIn account.
    #[arg(long)]
    unipile_account_id: Option<String>,
}

pub async fn run(database: &str, cmd: LinkedInCommand) -> anyhow::Result<()> {
    let store = open_store(database).await?;
    match cmd {
        LinkedInCommand::Connect(args) => connect(&store, *args).await?,
        LinkedInCommand::List { group } => {
            let accounts = match group {
                Some(g) => store.group_linkedin_accounts(&g).await,
                None => store.all_linkedin_accounts().await,
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("id\tgroup\tprovider\ttype\tstatus\ttimezone\thours\tname");
            for a in accounts {
                let (start, end) = a.rules.working_hours.format();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{start}-{end}\t{}",
                    a.id,
                    a.group_id,
                    a.provider.as_str(),
                    a.account_type,
                    a.status,
                    a.rules.timezone,
                    a.display_name
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn connect(store: &sonarly_store::Store, args: ConnectArgs) -> anyhow::Result<()> {
    let account_type = AccountType::parse(&args.account_type)
        .ok_or_else(|| anyhow::anyhow!("--type must be classic, sales_navigator or recruiter"))?;
    let working_hours = WorkingHours::parse(&args.working_hours).map_err(|e| anyhow::anyhow!("--working-hours {e}"))?;
    let defaults = SendingRules::default();
    let rules = SendingRules {
        timezone: args.timezone,
        working_hours,
        daily_messages: args.daily_messages.unwrap_or(defaults.daily_messages),
        daily_inmails: args.daily_inmails.unwrap_or(defaults.daily_inmails),
        daily_invitations: args.daily_invitations.unwrap_or(defaults.daily_invitations),
        daily_profile_visits: args.daily_profile_visits.unwrap_or(defaults.daily_profile_visits),
        daily_engagements: args.daily_engagements.unwrap_or(defaults.daily_engagements),
        weekly_invitations: args.weekly_invitations.unwrap_or(defaults.weekly_invitations),
        min_spacing_secs: args.min_spacing_secs.unwrap_or(defaults.min_spacing_secs),
        max_spacing_secs: args.max_spacing_secs.unwrap_or(defaults.max_spacing_secs),
    };
    let mut webhook_secret = None;
    let provider = match args.provider.as_str() {
        "sandbox" => {
            let base = SandboxConfig::default();
            ProviderSetup::Sandbox(SandboxConfig {
                world_seed: args.sandbox_world_seed,
                acceptance_rate: args.sandbox_acceptance_rate.unwrap_or(base.acceptance_rate),
                reply_rate: args.sandbox_reply_rate.unwrap_or(base.reply_rate),
                fault_rate: args.sandbox_fault_rate.unwrap_or(base.fault_rate),
                inmail_credits: args.sandbox_inmail_credits.unwrap_or(base.inmail_credits),
                ..base
            })
        }
        "unipile" => {
            let secret = sonarly_domain::apikey::random_secret_hex();
            webhook_secret = Some(secret.clone());
            ProviderSetup::Unipile(UnipileSetup {
                base_url: args.unipile_dsn.ok_or_else(|| anyhow::anyhow!("--unipile-dsn is required"))?,
                api_key: args.unipile_api_key.ok_or_else(|| anyhow::anyhow!("--unipile-api-key is required"))?,
                account_id: args
                    .unipile_account_id
                    .ok_or_else(|| anyhow::anyhow!("--unipile-account-id is required"))?,
                webhook_secret: secret,
            })
        }
        other => anyhow::bail!("--provider must be sandbox or unipile, not {other}"),
    };
    let input = ConnectAccount { group_id: args.group, name: args.name, account_type, rules, provider };
    let account = sonarly_app::linkedin::connect_account(store, &SystemClock, input)
        .await
        .map_err(|e| anyhow::anyhow!("{} {}", e.message, e.details.unwrap_or_default()))?;
    eprintln!("Connected {} account \"{}\".", account.provider.as_str(), account.display_name);
    if let Some(secret) = webhook_secret {
        eprintln!(
            "Register a Unipile webhook to POST to /v1/webhooks/unipile/{} with header \
             `X-Sonarly-Webhook-Secret: {secret}` (shown once).",
            account.id
        );
    }
    println!("{}", account.id);
    Ok(())
}
