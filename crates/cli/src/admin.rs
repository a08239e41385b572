//! `sonarly groups …` and `sonarly keys …`. Machine-readable results (a new
//! group id, a new key) are printed alone on the last line of stdout; messages
//! for humans go to stderr.

use crate::errors::domain;
use crate::output::{emit, emit_line};
use crate::{Database, open_store};
use anyhow::Context;
use clap::Subcommand;
use sonarly_app::keys::NewKey;
use sonarly_domain::GroupId;
use sonarly_domain::clock::SystemClock;
use sonarly_domain::models::DEFAULT_KEY_RATE_LIMIT_PER_MINUTE;
use sonarly_domain::scope::ScopeSet;
use std::fmt::Write;

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// Create an account group; prints its id.
    Create {
        /// The group's name, 1 to 200 characters.
        name: String,
    },
    /// List account groups: id, creation time, plan, credits, name.
    List,
    /// Set a group's plan: tester, starter, scale or enterprise.
    SetPlan {
        /// The account group's id (from `groups list`).
        group_id: GroupId,
        /// tester, starter, scale or enterprise.
        plan: String,
    },
    /// Add prospecting credits to a group; prints the new balance.
    AddCredits {
        /// The account group's id (from `groups list`).
        group_id: GroupId,
        /// How many credits to add (a positive number).
        credits: i64,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key; prints the key once.
    Create {
        /// Account group the key may access (repeat for several).
        #[arg(long = "group", value_name = "ID", required = true)]
        groups: Vec<GroupId>,
        /// `all`, or a comma-separated list such as `audiences:read,messages:write`.
        #[arg(long, default_value = "all")]
        scopes: String,
        /// Requests per minute allowed for this key.
        #[arg(long = "rate-limit", value_name = "N", default_value_t = DEFAULT_KEY_RATE_LIMIT_PER_MINUTE)]
        rate_limit: u32,
        /// A label to recognise the key by.
        #[arg(long, value_name = "LABEL", default_value = "cli")]
        name: String,
    },
    /// List API keys (never their secrets).
    List,
    /// Revoke an API key by id.
    Revoke {
        /// The key's id (from `keys list`).
        key_id: String,
    },
}

pub async fn groups(db: &Database, cmd: GroupsCommand) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    let result = run_groups(&store, cmd).await;
    store.close().await;
    result
}

async fn run_groups(store: &sonarly_store::Store, cmd: GroupsCommand) -> anyhow::Result<()> {
    match cmd {
        GroupsCommand::Create { name } => {
            let group = sonarly_app::accounts::create_group(store, &SystemClock, &name)
                .await
                .map_err(|e| domain(e, "not found"))
                .context("cannot create the account group")?;
            eprintln!("Created account group \"{}\".", group.name);
            emit_line(&group.id)?;
        }
        GroupsCommand::List => {
            let groups = sonarly_app::accounts::list_all_groups(store)
                .await
                .map_err(|e| domain(e, "not found"))
                .context("cannot list the account groups")?;
            let mut out = String::new();
            for group in groups {
                let (plan, credits) = store
                    .group_plan(&group.id)
                    .await
                    .with_context(|| format!("cannot read the plan of account group {}", group.id))?
                    .map_or(("", 0), |(plan, credits)| (plan.as_str(), credits));
                let _ = writeln!(out, "{}\t{}\t{plan}\t{credits} credits\t{}", group.id, group.created_at, group.name);
            }
            emit(&out)?;
        }
        GroupsCommand::SetPlan { group_id, plan } => {
            sonarly_app::accounts::set_plan(store, &group_id, &plan)
                .await
                .map_err(|e| domain(e, &format!("account group {group_id} does not exist")))
                .context("cannot set the plan")?;
            eprintln!("Account group {group_id} is now on the {plan} plan.");
        }
        GroupsCommand::AddCredits { group_id, credits } => {
            let balance = sonarly_app::accounts::add_credits(store, &group_id, credits)
                .await
                .map_err(|e| domain(e, &format!("account group {group_id} does not exist")))
                .context("cannot add credits")?;
            eprintln!("Added {credits} credits to account group {group_id}.");
            emit_line(balance)?;
        }
    }
    Ok(())
}

pub async fn keys(db: &Database, cmd: KeysCommand) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    let result = run_keys(&store, cmd).await;
    store.close().await;
    result
}

async fn run_keys(store: &sonarly_store::Store, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create { groups, scopes, rate_limit, name } => {
            let scopes = ScopeSet::parse(&scopes).map_err(|e| anyhow::anyhow!("--scopes: {e}"))?;
            let new = NewKey { name, group_ids: groups, scopes, rate_limit_per_minute: rate_limit };
            let (key, generated) = sonarly_app::keys::create_key(store, &SystemClock, new)
                .await
                .map_err(|e| domain(e, "an account group does not exist"))
                .context("cannot create the API key")?;
            eprintln!(
                "Created API key {} ({}), scopes {}, {} requests/minute. It is shown once; store it now:",
                key.id,
                key.display_prefix,
                key.scopes.to_storage(),
                key.rate_limit_per_minute
            );
            emit_line(generated.plaintext())?;
        }
        KeysCommand::List => {
            let keys = sonarly_app::keys::list_keys(store)
                .await
                .map_err(|e| domain(e, "not found"))
                .context("cannot list the API keys")?;
            let mut out = String::from("id\tname\tprefix\tstatus\trate/min\tgroups\tscopes\tlast used\n");
            for key in keys {
                let _ = writeln!(
                    out,
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
            emit(&out)?;
        }
        KeysCommand::Revoke { key_id } => {
            sonarly_app::keys::revoke_key(store, &SystemClock, &key_id)
                .await
                .map_err(|e| domain(e, &format!("API key {key_id} does not exist")))
                .context("cannot revoke the API key")?;
            eprintln!("Revoked API key {key_id}.");
        }
    }
    Ok(())
}
