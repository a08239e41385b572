//! `sonarly events tail`: prints an account group's events as JSON lines
//! (`{id, type, createdAt, accountGroupId, data}`), oldest first, and follows
//! new ones, reading the database like the other admin commands.
//!
//! It starts after `--after evt_…`, or with the last `--last` events; then it
//! catches up with the same `after` query as `GET …/events?after=`, which only
//! returns events 2 seconds old (so a slow transaction is never skipped).
//! Without `--after`, catch-up starts after the newest event that old, and the
//! last events printed first are not printed again when catch-up reaches them.

use crate::errors::domain;
use crate::output::emit_line;
use crate::{Database, open_store};
use anyhow::Context;
use clap::{Args, Subcommand};
use sonarly_app::events::{ListEvents, list_events};
use sonarly_domain::GroupId;
use sonarly_domain::clock::{Clock, SystemClock};
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::events::{CATCH_UP_SETTLE_MS, Event};
use sonarly_store::Store;
use std::collections::HashSet;
use std::time::Duration;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Print a group's events as JSON lines, oldest first, and follow new ones.
    Tail(TailArgs),
}

#[derive(Args)]
pub struct TailArgs {
    /// The account group's id (from `groups list`).
    #[arg(long, value_name = "ID")]
    group: GroupId,
    /// Start after this event (`evt_…`) instead of with the last events.
    #[arg(long, value_name = "EVENT_ID")]
    after: Option<String>,
    /// Without --after, how many of the latest events to print first.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100))]
    last: u32,
    /// Only these event types, comma-separated (e.g. message.received,credits.low).
    #[arg(long, value_name = "TYPES")]
    types: Option<String>,
    /// Print what is there and exit instead of following.
    #[arg(long)]
    no_follow: bool,
    /// How often to look for new events, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(100..))]
    poll_ms: u64,
}

pub async fn run(db: &Database, cmd: EventsCommand) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    let result = match cmd {
        EventsCommand::Tail(args) => tail(&store, &args).await,
    };
    store.close().await;
    result
}

fn line(event: &Event) -> String {
    serde_json::json!({
        "id": event.id, "type": event.event_type.as_str(), "createdAt": event.created_at.to_rfc3339(),
        "accountGroupId": event.group_id, "data": event.data,
    })
    .to_string()
}

async fn tail(store: &Store, args: &TailArgs) -> anyhow::Result<()> {
    if store.get_group(&args.group).await.context("cannot read the account groups")?.is_none() {
        anyhow::bail!("no account group {} (ids: sonarly groups list)", args.group);
    }
    // Cursors are not shown to anyone here; any key works.
    let codec = CursorCodec::new(b"events-tail".to_vec());
    let types = args.types.as_deref();
    // Events printed ahead of the catch-up (the last ones, not settled yet), not to print again.
    let mut printed: HashSet<String> = HashSet::new();
    let mut anchor = args.after.clone();
    if anchor.is_none() {
        // Following starts after the newest *settled* event (also with `--last 0`, which prints none of
        // the past): starting after a newer one could step past a transaction stamped earlier but
        // committed later, which catch-up waits for. It is found before the last events are read, so
        // that nothing stored in between falls behind it unprinted.
        anchor = settled_events(store, &codec, &args.group, types, true).await?.pop().map(|e| e.id);
        if args.last > 0 {
            let limit = args.last.to_string();
            let query = ListEvents { limit: Some(&limit), types, ..Default::default() };
            let page = list_events(store, &codec, &SystemClock, &args.group, &query).await.map_err(fail)?;
            for event in page.items.iter().rev() {
                emit_line(line(event))?;
                printed.insert(event.id.clone());
            }
        }
    }
    loop {
        let (events, more) = match &anchor {
            Some(after) => {
                let query = ListEvents { limit: Some("100"), after: Some(after), types, ..Default::default() };
                let page = list_events(store, &codec, &SystemClock, &args.group, &query).await.map_err(fail)?;
                (page.items, page.has_more)
            }
            // Nothing was settled when following started, so the whole log is recent (and short).
            None => (settled_events(store, &codec, &args.group, types, false).await?, false),
        };
        for event in events {
            if !printed.remove(&event.id) {
                emit_line(line(&event))?;
            }
            anchor = Some(event.id);
        }
        if more {
            continue;
        }
        if args.no_follow {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
    }
}

fn fail(e: sonarly_domain::DomainError) -> anyhow::Error {
    domain(e, "no such event")
}

/// The group's settled events (old enough for catch-up), oldest first; with
/// `newest_only`, just the newest of them (the log is read newest first until one is found).
async fn settled_events(
    store: &Store,
    codec: &CursorCodec,
    group: &GroupId,
    types: Option<&str>,
    newest_only: bool,
) -> anyhow::Result<Vec<Event>> {
    let settled = SystemClock.now().plus_millis(-CATCH_UP_SETTLE_MS);
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = ListEvents { limit: Some("100"), cursor: cursor.as_deref(), types, ..Default::default() };
        let page = list_events(store, codec, &SystemClock, group, &query).await.map_err(fail)?;
        for event in page.items {
            if event.created_at <= settled {
                found.push(event);
                if newest_only {
                    return Ok(found);
                }
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    found.reverse();
    Ok(found)
}
