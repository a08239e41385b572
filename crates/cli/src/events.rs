//! `sonarly events tail`: prints an account group's events as JSON lines
//! (`{id, type, createdAt, accountGroupId, data}`), oldest first, and follows
//! new ones, reading the database like the other admin commands.
//!
//! It starts after `--after evt_…`, or with the last `--last` events; then it
//! catches up with the same `after` query as `GET …/events?after=`, which only
//! returns events 2 seconds old (so a slow transaction is never skipped).

use crate::errors::domain;
use crate::output::emit_line;
use crate::{Database, open_store};
use anyhow::Context;
use clap::{Args, Subcommand};
use sonarly_app::events::{ListEvents, list_events};
use sonarly_domain::clock::SystemClock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::events::Event;
use sonarly_store::Store;
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
    group: String,
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
    let fail = |e| domain(e, "no such event");
    let mut anchor = args.after.clone();
    if anchor.is_none() {
        // The newest event is where following starts, also with `--last 0` (which prints none of the past).
        let limit = args.last.max(1).to_string();
        let query = ListEvents { limit: Some(&limit), types: args.types.as_deref(), ..Default::default() };
        let page = list_events(store, &codec, &SystemClock, &args.group, &query).await.map_err(fail)?;
        for event in page.items.iter().take(args.last as usize).rev() {
            emit_line(line(event))?;
        }
        anchor = page.items.first().map(|e| e.id.clone());
    }
    loop {
        let query = ListEvents {
            limit: Some("100"),
            after: anchor.as_deref(),
            types: args.types.as_deref(),
            ..Default::default()
        };
        let page = list_events(store, &codec, &SystemClock, &args.group, &query).await.map_err(fail)?;
        // Catch-up pages run oldest first; without an anchor yet, the newest-first page is reversed.
        let events: Vec<&Event> =
            if anchor.is_some() { page.items.iter().collect() } else { page.items.iter().rev().collect() };
        for event in &events {
            emit_line(line(event))?;
        }
        if let Some(newest) = events.last() {
            anchor = Some(newest.id.clone());
        }
        if page.has_more {
            continue;
        }
        if args.no_follow {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
    }
}
