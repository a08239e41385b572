//! `sonarly linkedin …`: connect LinkedIn accounts to an account group.

use crate::errors::{domain, hinted};
use crate::output::{emit, emit_line};
use crate::{Database, open_store};
use anyhow::Context;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, Subcommand};
use sonarly_app::linkedin::{ConnectAccount, ProviderSetup, UnipileSetup, onboard};
use sonarly_domain::GroupId;
use sonarly_domain::clock::SystemClock;
use sonarly_domain::linkedin_account::{ReadBudgets, RulesChange, SendingRules, WorkingHours};
use sonarly_domain::secrets::{Keyring, PREVIOUS_SECRET_KEY_ENV, SECRET_KEY_ENV};
use sonarly_linkedin::AccountType;
use sonarly_linkedin::sandbox::SandboxConfig;
use sonarly_linkedin::unipile::CheckpointOutcome;
use std::fmt::Write;

#[derive(Subcommand)]
pub enum LinkedInCommand {
    /// Connect a LinkedIn account (sandbox or Unipile); prints its id.
    Connect(Box<ConnectArgs>),
    /// Change a connected account's name or sending rules; flags left out keep their values.
    /// The change applies from the account's next action.
    Update(Box<UpdateArgs>),
    /// List connected accounts.
    List {
        /// Only this account group (its id).
        #[arg(long, value_name = "ID")]
        group: Option<GroupId>,
    },
    /// Seal every stored Unipile API key with SONARLY_SECRET_KEY (opening it with that key,
    /// SONARLY_SECRET_KEY_PREVIOUS, or as plaintext); prints how many changed.
    #[command(after_long_help = "Run after moving the old key to SONARLY_SECRET_KEY_PREVIOUS and setting a new \
                                 SONARLY_SECRET_KEY, or once to seal keys stored before sealing existed; then \
                                 restart the servers with the new key alone (docs/linkedin.md, Secrets at rest).")]
    RotateSecrets,
    /// Print a Unipile hosted-auth link to open in a browser: it connects a LinkedIn account
    /// (or reconnects one); Unipile's dashboard then shows the account id to pass to `connect`.
    HostedLink(UnipileWorkspaceArgs),
    /// Solve the checkpoint (2FA or one-time code) LinkedIn put on a Unipile account.
    Checkpoint(CheckpointArgs),
}

/// The Unipile workspace: its DSN and API key.
#[derive(Args)]
pub struct UnipileWorkspaceArgs {
    /// The DSN (base URL) of your Unipile workspace, e.g. api8.unipile.com:13851.
    #[arg(long, value_name = "URL")]
    unipile_dsn: String,
    /// API key; prefer the environment variable, which stays out of `ps`.
    #[arg(long, value_name = "KEY", env = "SONARLY_UNIPILE_API_KEY", hide_env_values = true)]
    unipile_api_key: String,
    /// Reconnect this Unipile account (after a disconnection) instead of connecting a new one.
    #[arg(long, value_name = "UNIPILE_ACCOUNT_ID")]
    reconnect: Option<String>,
    /// A label Unipile attaches to the connection (e.g. who the seat belongs to).
    #[arg(long)]
    name: Option<String>,
}

#[derive(Args)]
pub struct CheckpointArgs {
    /// The DSN (base URL) of your Unipile workspace.
    #[arg(long, value_name = "URL")]
    unipile_dsn: String,
    /// API key; prefer the environment variable, which stays out of `ps`.
    #[arg(long, value_name = "KEY", env = "SONARLY_UNIPILE_API_KEY", hide_env_values = true)]
    unipile_api_key: String,
    /// The Unipile account the checkpoint is on.
    #[arg(long, value_name = "ID")]
    unipile_account_id: String,
    /// The code LinkedIn sent (authenticator app, SMS or e-mail); TRY_ANOTHER_WAY asks for another kind.
    #[arg(long)]
    code: String,
}

/// What `linkedin update` may change: each flag present replaces the account's value.
#[derive(Args)]
pub struct UpdateArgs {
    /// The account group (its id) the LinkedIn account works for.
    #[arg(long, value_name = "ID")]
    group: GroupId,
    /// The LinkedIn account (its id, as `linkedin list` shows it).
    #[arg(long, value_name = "ID")]
    account: String,
    /// A display name for the account.
    #[arg(long)]
    name: Option<String>,
    /// IANA time zone of the account's working hours (e.g. Europe/Paris).
    #[arg(long, value_name = "TZ")]
    timezone: Option<String>,
    /// Working hours, `HH:MM-HH:MM` in the account's time zone (`00:00-24:00` = always).
    #[arg(long, value_name = "HH:MM-HH:MM")]
    working_hours: Option<String>,
    /// Most messages sent per day.
    #[arg(long, value_name = "N")]
    daily_messages: Option<u32>,
    /// Most InMails sent per day.
    #[arg(long, value_name = "N")]
    daily_inmails: Option<u32>,
    /// Most invitations sent per day.
    #[arg(long, value_name = "N")]
    daily_invitations: Option<u32>,
    /// Most profile visits per day.
    #[arg(long, value_name = "N")]
    daily_profile_visits: Option<u32>,
    /// Most engagements (likes, comments) per day.
    #[arg(long, value_name = "N")]
    daily_engagements: Option<u32>,
    /// Most invitations sent per rolling week.
    #[arg(long, value_name = "N")]
    weekly_invitations: Option<u32>,
    /// Withdraw invitations still pending this many days after they were sent; 0 never withdraws.
    #[arg(long, value_name = "DAYS")]
    withdraw_invitations_after_days: Option<u32>,
    /// Most stale invitations withdrawn per day.
    #[arg(long, value_name = "N")]
    daily_withdrawals: Option<u32>,
    /// Minimum random spacing between two actions of the account, in seconds.
    #[arg(long, value_name = "SECS")]
    min_spacing_secs: Option<u32>,
    /// Maximum random spacing between two actions of the account, in seconds.
    #[arg(long, value_name = "SECS")]
    max_spacing_secs: Option<u32>,
    /// Weeks the account warms up over, counted from its connection (0 = full caps now).
    #[arg(long, value_name = "N")]
    ramp_up_weeks: Option<u32>,
    /// Profiles fetched per day (reads, email lookups), at most.
    #[arg(long, value_name = "N")]
    daily_profile_fetches: Option<u32>,
    /// Search result pages per day, at most.
    #[arg(long, value_name = "N")]
    daily_search_pages: Option<u32>,
    /// Pages of connections or pending invitations read per day, at most.
    #[arg(long, value_name = "N")]
    daily_relation_reads: Option<u32>,
    /// Pages of conversations or messages read per day, at most.
    #[arg(long, value_name = "N")]
    daily_inbox_reads: Option<u32>,
    /// Members' recent activity read per day (signal scans), at most.
    #[arg(long, value_name = "N")]
    daily_activity_reads: Option<u32>,
}

#[derive(Args)]
pub struct ConnectArgs {
    /// The account group (its id) the LinkedIn account works for.
    #[arg(long, value_name = "ID")]
    group: GroupId,
    /// Where the account lives.
    #[arg(long, value_parser = PossibleValuesParser::new([
        PossibleValue::new("sandbox").help("the built-in simulated network"),
        PossibleValue::new("unipile").help("a real account, through Unipile"),
    ]))]
    provider: String,
    /// A display name for the account.
    #[arg(long, default_value = "LinkedIn account")]
    name: String,
    /// The LinkedIn subscription of the account (default classic). For Unipile the type is
    /// read from Unipile when connecting and wins over this flag.
    #[arg(long = "type", value_name = "TYPE", value_parser = ["classic", "sales_navigator", "recruiter"])]
    account_type: Option<String>,
    /// IANA time zone of the account's working hours (e.g. Europe/Paris).
    #[arg(long, value_name = "TZ", default_value = "UTC")]
    timezone: String,
    /// Working hours, `HH:MM-HH:MM` in the account's time zone (`00:00-24:00` = always).
    #[arg(long, value_name = "HH:MM-HH:MM", default_value = "09:00-18:00")]
    working_hours: String,
    /// Most messages sent per day (defaults follow LinkedIn's guidance: see docs/linkedin.md).
    #[arg(long, value_name = "N", default_value_t = SendingRules::default().daily_messages)]
    daily_messages: u32,
    /// Most InMails sent per day.
    #[arg(long, value_name = "N", default_value_t = SendingRules::default().daily_inmails)]
    daily_inmails: u32,
    /// Most invitations sent per day.
    #[arg(long, value_name = "N", default_value_t = SendingRules::default().daily_invitations)]
    daily_invitations: u32,
    /// Most profile visits per day.
    #[arg(long, value_name = "N", default_value_t = SendingRules::default().daily_profile_visits)]
    daily_profile_visits: u32,
    /// Most engagements (likes, comments) per day.
    #[arg(long, value_name = "N", default_value_t = SendingRules::default().daily_engagements)]
    daily_engagements: u32,
    /// Most invitations sent per rolling week.
    #[arg(long, value_name = "N", default_value_t = SendingRules::default().weekly_invitations)]
    weekly_invitations: u32,
    /// Invitations still pending this many days after they were sent are withdrawn
    /// (LinkedIn holds many old pending invitations against a seat); 0 never withdraws.
    #[arg(long, value_name = "DAYS", default_value_t = SendingRules::default().withdraw_invitations_after_days)]
    withdraw_invitations_after_days: u32,
    /// Most stale invitations withdrawn per day.
    #[arg(long, value_name = "N", default_value_t = SendingRules::default().daily_withdrawals)]
    daily_withdrawals: u32,
    /// Minimum random spacing between two actions of the account, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = SendingRules::default().min_spacing_secs)]
    min_spacing_secs: u32,
    /// Maximum random spacing between two actions of the account, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = SendingRules::default().max_spacing_secs)]
    max_spacing_secs: u32,
    /// A new or little-used LinkedIn account: warm it up over N weeks (caps and budgets start
    /// at 1/(N+1) of the configured ones and grow each week; 0 = full caps from the first day).
    #[arg(long, value_name = "N", default_value_t = 0)]
    ramp_up_weeks: u32,
    /// Profiles fetched per day (reads, email lookups), at most.
    #[arg(long, value_name = "N", default_value_t = ReadBudgets::default().profile_fetches)]
    daily_profile_fetches: u32,
    /// Search result pages per day, at most.
    #[arg(long, value_name = "N", default_value_t = ReadBudgets::default().search_pages)]
    daily_search_pages: u32,
    /// Pages of connections or pending invitations read per day, at most.
    #[arg(long, value_name = "N", default_value_t = ReadBudgets::default().relation_reads)]
    daily_relation_reads: u32,
    /// Pages of conversations or messages read per day, at most.
    #[arg(long, value_name = "N", default_value_t = ReadBudgets::default().inbox_reads)]
    daily_inbox_reads: u32,
    /// Members' recent activity read per day (signal scans), at most.
    #[arg(long, value_name = "N", default_value_t = ReadBudgets::default().activity_reads)]
    daily_activity_reads: u32,
    /// Sandbox: seed of the simulated network (accounts with the same seed see the same people).
    #[arg(long, value_name = "SEED", default_value_t = SandboxConfig::default().world_seed)]
    sandbox_world_seed: u64,
    /// Sandbox: share of invitations accepted (0..1).
    #[arg(long, value_name = "RATE", default_value_t = SandboxConfig::default().acceptance_rate)]
    sandbox_acceptance_rate: f64,
    /// Sandbox: share of messages that get a reply (0..1).
    #[arg(long, value_name = "RATE", default_value_t = SandboxConfig::default().reply_rate)]
    sandbox_reply_rate: f64,
    /// Sandbox: share of calls failing with a transient error (0..1).
    #[arg(long, value_name = "RATE", default_value_t = SandboxConfig::default().fault_rate)]
    sandbox_fault_rate: f64,
    /// Sandbox: InMail credits.
    #[arg(long, value_name = "N", default_value_t = SandboxConfig::default().inmail_credits)]
    sandbox_inmail_credits: u32,
    /// Unipile: the DSN (base URL) of your Unipile workspace.
    #[arg(long, value_name = "URL")]
    unipile_dsn: Option<String>,
    /// Unipile: API key; prefer the environment variable, which stays out of `ps`.
    #[arg(long, value_name = "KEY", env = "SONARLY_UNIPILE_API_KEY", hide_env_values = true)]
    unipile_api_key: Option<String>,
    /// Unipile: the account id Unipile gave the LinkedIn account.
    #[arg(long, value_name = "ID")]
    unipile_account_id: Option<String>,
    /// Unipile: the URL Unipile reaches this server at (e.g. https://sonarly.example.com); the
    /// account's three webhooks (messaging, users, account_status) are then registered for you.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

pub async fn run(db: &Database, cmd: LinkedInCommand) -> anyhow::Result<()> {
    // These two only talk to Unipile.
    let cmd = match cmd {
        LinkedInCommand::HostedLink(args) => return hosted_link(args).await,
        LinkedInCommand::Checkpoint(args) => return checkpoint(args).await,
        other => other,
    };
    let store = open_store(db).await?;
    let result = match cmd {
        LinkedInCommand::Connect(args) => connect(&store, *args).await,
        LinkedInCommand::Update(args) => update(&store, *args).await,
        LinkedInCommand::List { group } => list(&store, group).await,
        LinkedInCommand::RotateSecrets => rotate_secrets(&store).await,
        LinkedInCommand::HostedLink(_) | LinkedInCommand::Checkpoint(_) => unreachable!("handled above"),
    };
    store.close().await;
    result
}

async fn update(store: &sonarly_store::Store, a: UpdateArgs) -> anyhow::Result<()> {
    let working_hours = match &a.working_hours {
        Some(text) => Some(WorkingHours::parse(text).map_err(|e| anyhow::anyhow!("--working-hours {e}"))?),
        None => None,
    };
    let change = RulesChange {
        timezone: a.timezone,
        working_hours,
        daily_messages: a.daily_messages,
        daily_inmails: a.daily_inmails,
        daily_invitations: a.daily_invitations,
        daily_profile_visits: a.daily_profile_visits,
        daily_engagements: a.daily_engagements,
        daily_withdrawals: a.daily_withdrawals,
        weekly_invitations: a.weekly_invitations,
        withdraw_invitations_after_days: a.withdraw_invitations_after_days,
        min_spacing_secs: a.min_spacing_secs,
        max_spacing_secs: a.max_spacing_secs,
        ramp_up_weeks: a.ramp_up_weeks,
        profile_fetches: a.daily_profile_fetches,
        search_pages: a.daily_search_pages,
        relation_reads: a.daily_relation_reads,
        inbox_reads: a.daily_inbox_reads,
        activity_reads: a.daily_activity_reads,
    };
    let not_found = format!("no LinkedIn account {} in account group {}", a.account, a.group);
    let account =
        sonarly_app::linkedin::update_seat(store, &SystemClock, &a.group, &a.account, a.name.as_deref(), &change)
            .await
            .map_err(|e| domain(e, &not_found))?;
    let r = &account.rules;
    let (start, end) = r.working_hours.format();
    emit_line(format!(
        "{}: {} {start}-{end}, invitations {}/day {}/week, messages {}/day, spacing {}-{} s, ramp-up {} weeks",
        account.id,
        r.timezone,
        r.daily_invitations,
        r.weekly_invitations,
        r.daily_messages,
        r.min_spacing_secs,
        r.max_spacing_secs,
        r.ramp_up_weeks
    ))
}

async fn list(store: &sonarly_store::Store, group: Option<GroupId>) -> anyhow::Result<()> {
    let accounts = match group {
        Some(g) => store.group_linkedin_accounts(&g).await,
        None => store.system().all_linkedin_accounts().await,
    }
    .context("cannot list the LinkedIn accounts")?;
    let now = sonarly_domain::clock::Clock::now(&SystemClock);
    let mut out =
        String::from("id\tgroup\tprovider\ttype\tstatus\ttimezone\thours\tname\ttoday\tpaused\twithdraw_after\n");
    for a in accounts {
        let report =
            sonarly_app::linkedin::seat::seat_report(store, &a, now).await.context("cannot read the seat's ledger")?;
        let (start, end) = a.rules.working_hours.format();
        // Today's use, for the kinds used at all: `invitation 12/80, profile_fetch 30/90`.
        let today: Vec<String> = report
            .usage
            .iter()
            .filter(|u| u.used > 0)
            .map(|u| match u.cap {
                Some(cap) => format!("{} {}/{cap}", u.kind, u.used),
                None => format!("{} {}", u.kind, u.used),
            })
            .collect();
        let state = match a.ramp_up_week(now) {
            Some(week) => format!("{} (warming up: week {week}/{})", report.state.as_str(), a.rules.ramp_up_weeks),
            None => report.state.as_str().to_owned(),
        };
        let paused: Vec<String> =
            report.pauses.iter().map(|p| format!("{} until {} ({})", p.kind, p.until.to_rfc3339(), p.reason)).collect();
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{start}-{end}\t{}\t{}\t{}\t{}",
            a.id,
            a.group_id,
            a.provider.as_str(),
            a.account_type,
            state,
            a.rules.timezone,
            a.display_name,
            if today.is_empty() { "-".to_owned() } else { today.join(", ") },
            if paused.is_empty() { "-".to_owned() } else { paused.join(", ") },
            match a.rules.withdraw_invitations_after_days {
                0 => "never".to_owned(),
                days => format!("{days}d"),
            },
        );
    }
    emit(&out)
}

async fn connect(store: &sonarly_store::Store, args: ConnectArgs) -> anyhow::Result<()> {
    let declared_type = args.account_type.is_some();
    let account_type = AccountType::parse(args.account_type.as_deref().unwrap_or("classic"))
        .map_err(|_| anyhow::anyhow!("--type must be classic, sales_navigator or recruiter"))?;
    if args.public_url.is_some() && args.provider != "unipile" {
        anyhow::bail!("--public-url is for --provider unipile (it registers Unipile webhooks)");
    }
    if let Some(url) = &args.public_url {
        // Checked before anything is stored.
        onboard::webhook_url(url, "id").map_err(|e| domain(e, "")).context("--public-url")?;
    }
    let working_hours = WorkingHours::parse(&args.working_hours).map_err(|e| anyhow::anyhow!("--working-hours {e}"))?;
    let rules = SendingRules {
        timezone: args.timezone,
        working_hours,
        daily_messages: args.daily_messages,
        daily_inmails: args.daily_inmails,
        daily_invitations: args.daily_invitations,
        daily_profile_visits: args.daily_profile_visits,
        daily_engagements: args.daily_engagements,
        weekly_invitations: args.weekly_invitations,
        daily_withdrawals: args.daily_withdrawals,
        withdraw_invitations_after_days: args.withdraw_invitations_after_days,
        min_spacing_secs: args.min_spacing_secs,
        max_spacing_secs: args.max_spacing_secs,
        reads: ReadBudgets {
            profile_fetches: args.daily_profile_fetches,
            search_pages: args.daily_search_pages,
            relation_reads: args.daily_relation_reads,
            inbox_reads: args.daily_inbox_reads,
            activity_reads: args.daily_activity_reads,
        },
        ramp_up_weeks: args.ramp_up_weeks,
    };
    let mut unipile_setup = None;
    let provider = match args.provider.as_str() {
        "sandbox" => ProviderSetup::Sandbox(SandboxConfig {
            world_seed: args.sandbox_world_seed,
            acceptance_rate: args.sandbox_acceptance_rate,
            reply_rate: args.sandbox_reply_rate,
            fault_rate: args.sandbox_fault_rate,
            inmail_credits: args.sandbox_inmail_credits,
            ..SandboxConfig::default()
        }),
        "unipile" => {
            let secret = sonarly_domain::apikey::random_secret_hex();
            let setup = UnipileSetup {
                base_url: args
                    .unipile_dsn
                    .ok_or_else(|| anyhow::anyhow!("--unipile-dsn is required with --provider unipile"))?,
                api_key: args.unipile_api_key.ok_or_else(|| {
                    anyhow::anyhow!(
                        "--unipile-api-key (or SONARLY_UNIPILE_API_KEY) is required with --provider unipile"
                    )
                })?,
                account_id: args
                    .unipile_account_id
                    .ok_or_else(|| anyhow::anyhow!("--unipile-account-id is required with --provider unipile"))?,
                webhook_secret: secret,
            };
            unipile_setup = Some(setup.clone());
            ProviderSetup::Unipile(setup)
        }
        other => anyhow::bail!("--provider must be sandbox or unipile, not {other}"),
    };
    let keyring = keyring()?;
    if matches!(provider, ProviderSetup::Unipile(_)) && !keyring.can_seal() {
        return Err(hinted(
            format!("{SECRET_KEY_ENV} is not set: a Unipile API key is only stored encrypted"),
            format!(
                "generate a key with `openssl rand -base64 32`, keep it safe and set it as {SECRET_KEY_ENV} for \
                     this command and for `sonarly serve` (docs/linkedin.md, Secrets at rest)"
            ),
        ));
    }
    let input = ConnectAccount { group_id: args.group, name: args.name, account_type, rules, provider };
    let seat = onboard::connect_verified(store, &SystemClock, &keyring, input)
        .await
        .map_err(|e| domain(e, "the account group does not exist"))
        .context("cannot connect the LinkedIn account")?;
    let account = &seat.account;
    eprintln!("Connected {} account \"{}\".", account.provider.as_str(), account.display_name);
    if let Some(profile) = &seat.profile {
        let premium = if profile.is_premium { ", premium" } else { "" };
        eprintln!(
            "Unipile verified the account: {} {} ({}{premium}).",
            profile.first_name, profile.last_name, seat.derived
        );
        if declared_type && seat.declared != seat.derived {
            eprintln!(
                "Note: --type {} ignored; Unipile reports a {} seat, which is what is stored.",
                seat.declared, seat.derived
            );
        }
    }
    let Some(setup) = unipile_setup else { return emit_line(&account.id) };
    match &args.public_url {
        Some(public_url) => {
            let registered = onboard::register_webhooks(&setup, account, public_url).await;
            // The id first: the account is stored whatever happens to the webhooks.
            emit_line(&account.id)?;
            let hooks = registered.map_err(|e| domain(e, "")).with_context(|| {
                format!(
                    "the account is connected but its Unipile webhooks could not all be registered; \
                     connect it again with --public-url once fixed, or register them by hand \
                     (docs/linkedin.md) for /v1/webhooks/unipile/{}",
                    account.id
                )
            })?;
            for hook in hooks {
                let id = if hook.id.is_empty() { "(no id returned)" } else { hook.id.as_str() };
                eprintln!("Registered the Unipile {} webhook: {id}", hook.source.as_str());
            }
            Ok(())
        }
        None => {
            eprintln!(
                "Register the Unipile webhooks (messaging, users, account_status with `ok`) to POST to \
                 /v1/webhooks/unipile/{} with header `X-Sonarly-Webhook-Secret: {}` (shown once), or \
                 connect with --public-url to have them registered for you.",
                account.id, setup.webhook_secret
            );
            emit_line(&account.id)
        }
    }
}

async fn hosted_link(args: UnipileWorkspaceArgs) -> anyhow::Result<()> {
    let now = sonarly_domain::clock::Clock::now(&SystemClock);
    let url = onboard::hosted_link(
        &args.unipile_dsn,
        &args.unipile_api_key,
        args.reconnect.as_deref(),
        args.name.as_deref(),
        now,
    )
    .await
    .map_err(|e| domain(e, "Unipile does not know that account"))
    .context("cannot get a hosted-auth link from Unipile")?;
    eprintln!(
        "Open this link in a browser within the hour (Unipile also ends links at its daily restart); \
         once done, Unipile's dashboard shows the account id for `sonarly linkedin connect --unipile-account-id`."
    );
    emit_line(&url)
}

async fn checkpoint(args: CheckpointArgs) -> anyhow::Result<()> {
    let outcome =
        onboard::solve_checkpoint(&args.unipile_dsn, &args.unipile_api_key, &args.unipile_account_id, &args.code)
            .await
            .map_err(|e| domain(e, "Unipile does not know that account"))
            .context("cannot solve the checkpoint")?;
    match outcome {
        CheckpointOutcome::Connected { account_id } => {
            eprintln!("Checkpoint solved: the LinkedIn account is connected.");
            emit_line(&account_id)
        }
        CheckpointOutcome::Another { account_id, checkpoint } => {
            eprintln!(
                "LinkedIn asks for another step ({checkpoint}): run this command again with the new code \
                 (within 5 minutes)."
            );
            emit_line(&account_id)
        }
    }
}

/// The server's keyring from `SONARLY_SECRET_KEY` and `SONARLY_SECRET_KEY_PREVIOUS`
/// (environment only, so keys stay out of `ps`); read once per command or server start.
pub fn keyring() -> anyhow::Result<Keyring> {
    let var = |name: &str| std::env::var(name).ok();
    Keyring::from_settings(var(SECRET_KEY_ENV).as_deref(), var(PREVIOUS_SECRET_KEY_ENV).as_deref()).map_err(|e| {
        hinted(e.to_string(), "generate a key with `openssl rand -base64 32` (docs/linkedin.md, Secrets at rest)")
    })
}

async fn rotate_secrets(store: &sonarly_store::Store) -> anyhow::Result<()> {
    let keyring = keyring()?;
    let Some(key_id) = keyring.key_id() else {
        return Err(hinted(
            format!("{SECRET_KEY_ENV} is not set: there is no key to seal with"),
            format!("set the new key as {SECRET_KEY_ENV} and the old one, if any, as {PREVIOUS_SECRET_KEY_ENV}"),
        ));
    };
    let report = sonarly_app::linkedin::reseal_provider_secrets(store, &SystemClock, &keyring)
        .await
        .map_err(|e| domain(e, "not found"))
        .context("cannot re-seal the stored secrets")?;
    for (account, why) in &report.failed {
        eprintln!("Seat {account}: left as it was: {why}.");
    }
    eprintln!("Re-sealed {} Unipile API key(s) with key {key_id}; {} already were.", report.resealed, report.current);
    emit_line(report.resealed)?;
    if !report.failed.is_empty() {
        return Err(hinted(
            format!("{} seat(s) could not be re-sealed", report.failed.len()),
            format!(
                "a key sealed with an older key opens only while that key is {PREVIOUS_SECRET_KEY_ENV}; \
                 otherwise reconnect the seat with its Unipile API key"
            ),
        ));
    }
    Ok(())
}
