//! `sonarly groups …` and `sonarly keys …`. Machine-readable results (a new
//! group id, a new key) are printed alone on the last line of stdout; messages
//! for humans go to stderr.

use crate::open_store;
use clap::Subcommand;
use sonarly_app::keys::NewKey;
use sonarly_domain::DomainError;
use sonarly_domain::clock::SystemClock;
use sonarly_domain::models::DEFAULT_KEY_RATE_LIMIT_PER_MINUTE;
use sonarly_domain::scope::ScopeSet;

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// Create an account group; prints its id.
    Create { name: String },
    /// List account groups.
    List,
    /// Set a group's plan: tester, starter, scale or enterprise.
    SetPlan { group_id: String, plan: String },
    /// Add prospecting credits to a group; prints the new balance.
    AddCredits { group_id: String, credits: i64 },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key; prints the key once.
    Create {
        /// Account group the key may access (repeat for several).
        #[arg(long = "group", required = true)]
        groups: Vec<String>,
        /// `all`, or a comma-separated list such as `audiences:read,messages:write`.
        #[arg(long, default_value = "all")]
        scopes: String,
        /// Requests per minute allowed for this key.
        #[arg(long = "rate-limit", default_value_t = DEFAULT_KEY_RATE_LIMIT_PER_MINUTE)]
        rate_limit: u32,
        /// A label to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List API keys (never their secrets).
    List,
    /// Revoke an API key by id.
    Revoke { key_id: String },
}

fn domain(e: DomainError) -> anyhow::Error {
    match e.details {
        Some(details) => anyhow::anyhow!("{} ({details})", e.message),
        None => anyhow::anyhow!("{}", e.message),
    }
}

pub async fn groups(database: &str, cmd: GroupsCommand) -> anyhow::Result<()> {
    let store = open_store(database).await?;
    match cmd {
        GroupsCommand::Create { name } => {
            let group = sonarly_app::accounts::create_group(&store, &SystemClock, &name).await.map_err(domain)?;
            eprintln!("Created account group \"{}\".", group.name);
            println!("{}", group.id);
        }
        GroupsCommand::List => {
            for group in sonarly_app::accounts::list_all_groups(&store).await.map_err(domain)? {
                let (plan, credits) = store.group_plan(&group.id).await?.unwrap_or_default();
                println!("{}\t{}\t{plan}\t{credits} credits\t{}", group.id, group.created_at, group.name);
            }
        }
        GroupsCommand::SetPlan { group_id, plan } => {
            sonarly_app::accounts::set_plan(&store, &group_id, &plan).await.map_err(domain)?;
            eprintln!("Account group {group_id} is now on the {plan} plan.");
        }
        GroupsCommand::AddCredits { group_id, credits } => {
            let balance = sonarly_app::accounts::add_credits(&store, &group_id, credits).await.map_err(domain)?;
            eprintln!("Added {credits} credits to account group {group_id}.");
            println!("{balance}");
        }
    }
    store.close().await;
    Ok(())
}

pub async fn keys(database: &str, cmd: KeysCommand) -> anyhow::Result<()> {
    let store = open_store(database).await?;
    match cmd {
        KeysCommand::Create { groups, scopes, rate_limit, name } => {
            let scopes = ScopeSet::parse(&scopes).map_err(|e| anyhow::anyhow!("--scopes: {e}"))?;
            let new = NewKey { name, group_ids: groups, scopes, rate_limit_per_minute: rate_limit };
            let (key, generated) = sonarly_app::keys::create_key(&store, &SystemClock, new).await.map_err(domain)?;
            eprintln!(
                "Created API key {} ({}), scopes {}, {} requests/minute. It is shown once; store it now:",
                key.id,
                key.display_prefix,
                key.scopes.to_storage(),
                key.rate_limit_per_minute
            );
            println!("{}", generated.plaintext());
        }
        KeysCommand::List => {
            println!("id\tname\tprefix\tstatus\trate/min\tgroups\tscopes\tlast used");
            for key in sonarly_app::keys::list_keys(&store).await.map_err(domain)? {
                println!(
                    "{}\t{}\t{}…\t{}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.name,
                    key.display_prefix,
                    if key.is_revoked() { "revoked" } else { "active" },
                    key.rate_limit_per_minute,
                    key.group_ids.join(","),
                    key.scopes.to_storage(),
                    key.last_used_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into()),
                );
            }
        }
        KeysCommand::Revoke { key_id } => {
            sonarly_app::keys::revoke_key(&store, &SystemClock, &key_id).await.map_err(domain)?;
            eprintln!("Revoked API key {key_id}.");
        }
    }
    store.close().await;
    Ok(())
}
