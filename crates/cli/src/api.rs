//! `sonarly api …`: calls a running server over HTTP with an API key, through the typed
//! client (`sonarly-client`), for people who live in the terminal. Answers print as an
//! aligned table, or as JSON with `--json` (a list as `{items, hasMore, nextCursor}`).

use crate::output::{emit, emit_line};
use anyhow::Context;
use clap::{Args, Subcommand};
use futures_util::TryStreamExt;
use serde::Serialize;
use sonarly_client::{
    CampaignStatus, Client, Error as ClientError, JobStatus, JobStatusView, ListCampaignsParams, ListEventsParams,
    ListJobsParams, ListMessagesParams, ListParams, ListResponsesParams, Page, QueueResponseBody, ResponseChannel,
    ResponseStatus, SourceType, StartJobBody,
};
use std::io::{IsTerminal, Write};
use std::time::Duration;

#[derive(Args)]
pub struct ApiArgs {
    /// The server's base URL.
    #[arg(long, value_name = "URL", env = "SONARLY_URL", default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// The API key (`sk_…`). Prefer the environment variable: a flag shows in `ps`.
    #[arg(long, value_name = "KEY", env = "SONARLY_API_KEY", hide_env_values = true, global = true)]
    key: Option<String>,
    /// Print the answer as JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds to wait for one answer.
    #[arg(long, value_name = "SECS", default_value_t = 60, global = true)]
    timeout: u64,
    #[command(subcommand)]
    command: ApiCommand,
}

#[derive(Subcommand)]
enum ApiCommand {
    /// Account groups this key can access.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Connected LinkedIn accounts (seats).
    #[command(subcommand, name = "linkedin-accounts")]
    LinkedinAccounts(LinkedinAccountsCommand),
    /// Audiences and their prospects.
    #[command(subcommand)]
    Audiences(AudiencesCommand),
    /// Prospecting jobs: start one (with a progress bar until it ends), read its status.
    #[command(subcommand)]
    Prospecting(ProspectingCommand),
    /// The unified inbox.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// Scheduled responses: queue, list, cancel.
    #[command(subcommand)]
    Responses(ResponsesCommand),
    /// Campaigns: list, start, stop.
    #[command(subcommand)]
    Campaigns(CampaignsCommand),
    /// The event log.
    #[command(subcommand)]
    Events(ApiEventsCommand),
}

/// The account group of a command.
#[derive(Args)]
struct Group {
    /// The account group's id (from `sonarly api accounts list`).
    #[arg(long, value_name = "ID", env = "SONARLY_GROUP")]
    group: String,
}

/// One page, or all of them.
#[derive(Args)]
struct Paging {
    /// Items per page (1 to 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: Option<u32>,
    /// Start after this cursor (a `nextCursor`) or item id.
    #[arg(long, value_name = "CURSOR")]
    cursor: Option<String>,
    /// Every page, following `nextCursor`.
    #[arg(long)]
    all: bool,
}

impl Paging {
    fn params(&self) -> ListParams {
        ListParams { cursor: self.cursor.clone(), limit: self.limit }
    }
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// List the account groups.
    List(Paging),
    /// Show one account group.
    Get {
        /// The account group's id.
        id: String,
    },
}

#[derive(Subcommand)]
enum LinkedinAccountsCommand {
    /// List the group's LinkedIn accounts.
    List {
        #[command(flatten)]
        group: Group,
        #[command(flatten)]
        paging: Paging,
    },
}

#[derive(Subcommand)]
enum AudiencesCommand {
    /// List the group's audiences.
    List {
        #[command(flatten)]
        group: Group,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one audience.
    Get {
        #[command(flatten)]
        group: Group,
        /// The audience's id.
        id: String,
    },
    /// List an audience's prospects.
    Prospects {
        #[command(flatten)]
        group: Group,
        /// The audience's id.
        id: String,
        #[command(flatten)]
        paging: Paging,
    },
}

#[derive(Subcommand)]
enum ProspectingCommand {
    /// Start a prospecting job and follow it until it ends; prints the id of the audience it filled.
    Start(StartArgs),
    /// Show a job's status.
    Status {
        #[command(flatten)]
        group: Group,
        /// The job's id.
        id: String,
    },
    /// List the group's jobs.
    List {
        #[command(flatten)]
        group: Group,
        #[command(flatten)]
        paging: Paging,
    },
}

#[derive(Args)]
struct StartArgs {
    #[command(flatten)]
    group: Group,
    /// Name of the job and of the audience it fills.
    #[arg(long)]
    name: String,
    /// A LinkedIn people-search URL (a `linkedin_search` job).
    #[arg(long, value_name = "URL", group = "source")]
    search_url: Option<String>,
    /// A Sales Navigator saved search id (a `sales_navigator` job).
    #[arg(long, value_name = "ID", group = "source")]
    saved_search: Option<String>,
    /// A Sales Navigator lead list id (a `sales_navigator` job).
    #[arg(long, value_name = "ID", group = "source")]
    lead_list: Option<String>,
    /// A LinkedIn post URL (a `post_commenters` job).
    #[arg(long, value_name = "URL", group = "source")]
    post_url: Option<String>,
    /// LinkedIn profile URLs, repeatable or comma-separated (a `url_upload` job).
    #[arg(long = "profile-url", value_name = "URL", value_delimiter = ',', group = "source")]
    profile_urls: Vec<String>,
    /// At most this many prospects.
    #[arg(long, value_name = "N")]
    max_results: Option<i64>,
    /// Also find emails (2 credits per prospect instead of 1).
    #[arg(long)]
    search_emails: bool,
    /// The Idempotency-Key (default: a generated one): the same key and body answer the first start.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    /// Print the job as started and exit without following it.
    #[arg(long)]
    no_wait: bool,
    /// Draw the progress bar on stderr even when it is not a terminal.
    #[arg(long)]
    progress: bool,
    /// How often to poll the job, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(50..))]
    poll_ms: u64,
}

#[derive(Subcommand)]
enum MessagesCommand {
    /// List inbox messages, newest first.
    List {
        #[command(flatten)]
        group: Group,
        /// Only this conversation.
        #[arg(long, value_name = "ID")]
        conversation: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
}

#[derive(Subcommand)]
enum ResponsesCommand {
    /// Queue a response to a prospect.
    Queue {
        #[command(flatten)]
        group: Group,
        /// The prospect's id.
        #[arg(long, value_name = "ID")]
        prospect: String,
        /// The message body.
        #[arg(long)]
        message: String,
        /// `direct_message` (default) or `inmail`.
        #[arg(long, value_name = "CHANNEL")]
        channel: Option<String>,
        /// InMail subject (required for `inmail`).
        #[arg(long)]
        subject: Option<String>,
        /// An existing conversation to answer in.
        #[arg(long, value_name = "ID")]
        conversation: Option<String>,
        /// The Idempotency-Key (default: a generated one).
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// List scheduled responses.
    List {
        #[command(flatten)]
        group: Group,
        /// Only this status: queued, sending, sent, failed or cancelled.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Cancel a queued response.
    Cancel {
        #[command(flatten)]
        group: Group,
        /// The response's id.
        id: String,
    },
}

#[derive(Subcommand)]
enum CampaignsCommand {
    /// List campaigns.
    List {
        #[command(flatten)]
        group: Group,
        /// Only this status: draft, active, stopped or completed.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Start a draft campaign.
    Start {
        #[command(flatten)]
        group: Group,
        /// The campaign's id.
        id: String,
    },
    /// Stop an active campaign.
    Stop {
        #[command(flatten)]
        group: Group,
        /// The campaign's id.
        id: String,
    },
}

#[derive(Subcommand)]
enum ApiEventsCommand {
    /// Print the group's events, oldest first, and follow new ones (polling the events list).
    Tail {
        #[command(flatten)]
        group: Group,
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
    },
}

pub async fn run(args: ApiArgs) -> anyhow::Result<()> {
    let Some(key) = args.key.as_deref().filter(|k| !k.is_empty()) else {
        return Err(crate::errors::hinted(
            "no API key",
            "set SONARLY_API_KEY (or pass --key); create one with: sonarly keys create --group <id>",
        ));
    };
    let client = Client::builder(&args.url, key)
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .build()
        .context("cannot set up the API client")?;
    let out = Out { json: args.json };
    let result = match args.command {
        ApiCommand::Accounts(cmd) => accounts(&client, &out, cmd).await,
        ApiCommand::LinkedinAccounts(LinkedinAccountsCommand::List { group, paging }) => {
            let g = group.group;
            let page = paged(&paging, client.list_linkedin_accounts(&g, &paging.params()), || {
                client.list_linkedin_accounts_stream(&g, paging.params())
            })
            .await?;
            out.page(&page, &["ID", "NAME", "TYPE", "STATUS", "PROVIDER"], |a| {
                vec![a.id.clone(), a.name.clone(), a.account_type.clone(), a.status.clone(), a.provider.clone()]
            })
        }
        ApiCommand::Audiences(cmd) => audiences(&client, &out, cmd).await,
        ApiCommand::Prospecting(cmd) => prospecting(&client, &out, cmd).await,
        ApiCommand::Messages(MessagesCommand::List { group, conversation, paging }) => {
            let g = group.group;
            let params = ListMessagesParams {
                cursor: paging.cursor.clone(),
                limit: paging.limit,
                conversation_id: conversation,
            };
            let page =
                paged(&paging, client.list_messages(&g, &params), || client.list_messages_stream(&g, params.clone()))
                    .await?;
            out.page(&page, &["SENT AT", "CONVERSATION", "FROM", "TEXT"], |m| {
                let from = if m.is_sender { "me".to_owned() } else { m.sender_id.clone() };
                vec![m.sent_at.clone(), m.conversation_id.clone(), from, clip(&m.text, 60)]
            })
        }
        ApiCommand::Responses(cmd) => responses(&client, &out, cmd).await,
        ApiCommand::Campaigns(cmd) => campaigns(&client, &out, cmd).await,
        ApiCommand::Events(ApiEventsCommand::Tail { group, after, last, types, no_follow, poll_ms }) => {
            let tail = Tail { group: group.group, after, last, types, no_follow, poll: Duration::from_millis(poll_ms) };
            tail_events(&client, &out, tail).await
        }
    };
    result.map_err(explain)
}

/// An error of the client, with a hint when the answer says what to do.
fn explain(e: anyhow::Error) -> anyhow::Error {
    let Some(client_error) = e.downcast_ref::<ClientError>() else { return e };
    let hint = match client_error {
        ClientError::Api(api) if api.status == 401 => Some("check SONARLY_API_KEY (or --key)"),
        ClientError::Api(api) if api.status == 403 => Some("this key lacks the scope or the account group"),
        ClientError::Transport(_) => {
            Some("is the server running at SONARLY_URL (or --url)? start one with: sonarly serve")
        }
        _ => None,
    };
    match hint {
        Some(hint) => crate::errors::hinted(format!("{e:#}"), hint),
        None => e,
    }
}

/// One page, or every page as one (with `--all`).
async fn paged<T, S>(
    paging: &Paging,
    one: impl std::future::Future<Output = Result<Page<T>, ClientError>>,
    all: impl FnOnce() -> S,
) -> anyhow::Result<ListOut<T>>
where
    S: futures_util::Stream<Item = Result<T, ClientError>>,
{
    if paging.all {
        let items: Vec<T> = all().try_collect().await?;
        return Ok(ListOut { items, has_more: false, next_cursor: None });
    }
    let page = one.await?;
    Ok(ListOut { items: page.items, has_more: page.has_more, next_cursor: page.next_cursor })
}

/// A list as printed with `--json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListOut<T> {
    items: Vec<T>,
    has_more: bool,
    next_cursor: Option<String>,
}

struct Out {
    json: bool,
}

impl Out {
    fn page<T: Serialize>(
        &self,
        page: &ListOut<T>,
        headers: &[&str],
        row: impl Fn(&T) -> Vec<String>,
    ) -> anyhow::Result<()> {
        if self.json {
            return emit_line(serde_json::to_string_pretty(page)?);
        }
        let rows: Vec<Vec<String>> = page.items.iter().map(row).collect();
        emit(&table(headers, &rows))?;
        if let Some(next) = &page.next_cursor {
            eprintln!("More: --cursor {next} (or --all)");
        }
        Ok(())
    }

    /// One object: JSON, or `field value` lines.
    fn one<T: Serialize>(&self, value: &T, fields: &[(&str, String)]) -> anyhow::Result<()> {
        if self.json {
            return emit_line(serde_json::to_string_pretty(value)?);
        }
        let rows: Vec<Vec<String>> = fields.iter().map(|(k, v)| vec![(*k).to_owned(), v.clone()]).collect();
        emit(&table(&[], &rows))
    }
}

/// Aligned columns, two spaces apart; `headers` on top when there are any.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut all: Vec<Vec<String>> = Vec::new();
    if !headers.is_empty() {
        all.push(headers.iter().map(|h| (*h).to_owned()).collect());
    }
    all.extend(rows.iter().map(|r| r.iter().map(|c| c.replace(['\n', '\r', '\t'], " ")).collect()));
    let columns = all.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| all.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &all {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    let flat = text.replace(['\n', '\r', '\t'], " ");
    if flat.chars().count() <= max { flat } else { format!("{}…", flat.chars().take(max - 1).collect::<String>()) }
}

fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

async fn accounts(client: &Client, out: &Out, cmd: AccountsCommand) -> anyhow::Result<()> {
    match cmd {
        AccountsCommand::List(paging) => {
            let page =
                paged(&paging, client.list_accounts(&paging.params()), || client.list_accounts_stream(paging.params()))
                    .await?;
            out.page(&page, &["ID", "NAME", "CREATED AT"], |a| vec![a.id.clone(), a.name.clone(), a.created_at.clone()])
        }
        AccountsCommand::Get { id } => {
            let a = client.get_account(&id).await?;
            out.one(&a, &[("id", a.id.clone()), ("name", a.name.clone()), ("createdAt", a.created_at.clone())])
        }
    }
}

async fn audiences(client: &Client, out: &Out, cmd: AudiencesCommand) -> anyhow::Result<()> {
    match cmd {
        AudiencesCommand::List { group, paging } => {
            let g = group.group;
            let page = paged(&paging, client.list_audiences(&g, &paging.params()), || {
                client.list_audiences_stream(&g, paging.params())
            })
            .await?;
            out.page(&page, &["ID", "NAME", "PROSPECTS", "TYPE", "CREATED AT"], |a| {
                vec![a.id.clone(), a.name.clone(), a.prospect_count.to_string(), a.kind.clone(), a.created_at.clone()]
            })
        }
        AudiencesCommand::Get { group, id } => {
            let a = client.get_audience(&group.group, &id).await?;
            out.one(
                &a,
                &[
                    ("id", a.id.clone()),
                    ("name", a.name.clone()),
                    ("prospects", a.prospect_count.to_string()),
                    ("type", a.kind.clone()),
                    ("description", or_dash(a.description.as_deref())),
                    ("folder", or_dash(a.folder_id.as_deref())),
                    ("createdAt", a.created_at.clone()),
                ],
            )
        }
        AudiencesCommand::Prospects { group, id, paging } => {
            let g = group.group;
            let page = paged(&paging, client.list_audience_prospects(&g, &id, &paging.params()), || {
                client.list_audience_prospects_stream(&g, &id, paging.params())
            })
            .await?;
            out.page(&page, &["ID", "NAME", "HEADLINE", "COMPANY"], |p| {
                vec![
                    p.id.clone(),
                    p.name.clone(),
                    clip(p.headline.as_deref().unwrap_or(""), 50),
                    p.company.name.clone().unwrap_or_default(),
                ]
            })
        }
    }
}

async fn prospecting(client: &Client, out: &Out, cmd: ProspectingCommand) -> anyhow::Result<()> {
    match cmd {
        ProspectingCommand::Start(args) => start_job(client, out, args).await,
        ProspectingCommand::Status { group, id } => {
            let job = client.get_job(&group.group, &id).await?;
            out.one(&job, &job_fields(&job))
        }
        ProspectingCommand::List { group, paging } => {
            let g = group.group;
            let params = ListJobsParams { cursor: paging.cursor.clone(), limit: paging.limit, status: None };
            let page =
                paged(&paging, client.list_jobs(&g, &params), || client.list_jobs_stream(&g, params.clone())).await?;
            out.page(&page, &["JOB", "STATUS", "CREATED AT", "UPDATED AT"], |j| {
                vec![j.job_id.clone(), j.status.to_string(), j.created_at.clone(), j.updated_at.clone()]
            })
        }
    }
}

fn job_fields(job: &JobStatusView) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("job", job.job_id.clone()),
        ("name", job.name.clone()),
        ("status", job.status.to_string()),
        ("import", format!("{} ({:.0}%)", job.stages.import.status, job.stages.import.progress * 100.0)),
        ("enrichment", format!("{} ({:.0}%)", job.stages.enrichment.status, job.stages.enrichment.progress * 100.0)),
        ("imported", job.imported_count.to_string()),
        ("credits", job.credits_charged.to_string()),
    ];
    if let Some(error) = &job.error {
        fields.push(("error", format!("{}: {}", error.code, error.message)));
    }
    fields.push(("audience", job.audience_id.clone()));
    fields
}

fn job_body(args: &StartArgs) -> anyhow::Result<StartJobBody> {
    let kind = if args.search_url.is_some() {
        SourceType::LinkedinSearch
    } else if args.saved_search.is_some() || args.lead_list.is_some() {
        SourceType::SalesNavigator
    } else if args.post_url.is_some() {
        SourceType::PostCommenters
    } else if !args.profile_urls.is_empty() {
        SourceType::UrlUpload
    } else {
        anyhow::bail!(
            "say where the prospects come from: --search-url, --saved-search, --lead-list, --post-url or --profile-url"
        );
    };
    Ok(StartJobBody {
        search_url: args.search_url.clone(),
        saved_search_id: args.saved_search.clone(),
        lead_list_id: args.lead_list.clone(),
        post_url: args.post_url.clone(),
        profile_urls: (!args.profile_urls.is_empty()).then(|| args.profile_urls.clone()),
        max_results: args.max_results,
        search_emails: args.search_emails.then_some(true),
        ..StartJobBody::new(kind, &args.name)
    })
}

async fn start_job(client: &Client, out: &Out, args: StartArgs) -> anyhow::Result<()> {
    let body = job_body(&args)?;
    let group = &args.group.group;
    let key = args.idempotency_key.clone().unwrap_or_else(sonarly_client::generate_idempotency_key);
    let started = client.start_job_with_idempotency_key(group, &body, &key).await?;
    if args.no_wait {
        let job = client.get_job(group, &started.job_id).await?;
        return out.one(&job, &job_fields(&job));
    }
    let mut bar = Progress::new(args.progress || std::io::stderr().is_terminal());
    let job = loop {
        let job = client.get_job(group, &started.job_id).await?;
        bar.draw(&job);
        if job.status.is_final() {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
    };
    bar.finish();
    match job.status {
        JobStatus::Completed => {
            if out.json {
                emit_line(serde_json::to_string_pretty(&job)?)
            } else {
                eprintln!("Job {} completed: {} prospects in audience:", job.job_id, job.imported_count);
                emit_line(&job.audience_id)
            }
        }
        _ => {
            if out.json {
                emit_line(serde_json::to_string_pretty(&job)?)?;
            }
            let why = job.error.as_ref().map(|e| format!(": {} {}", e.code, e.message)).unwrap_or_default();
            anyhow::bail!("job {} ended {}{why} (audience {})", job.job_id, job.status, job.audience_id)
        }
    }
}

/// A one-line progress bar on stderr, redrawn in place.
struct Progress {
    enabled: bool,
    drawn: bool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Self { enabled, drawn: false }
    }

    fn draw(&mut self, job: &JobStatusView) {
        if !self.enabled {
            return;
        }
        let stages = &job.stages;
        let enriching = !matches!(stages.enrichment.status.as_str(), "skipped" | "not_requested" | "none");
        let done = if enriching {
            (stages.import.progress + stages.enrichment.progress) / 2.0
        } else {
            stages.import.progress
        };
        let done = if job.status == JobStatus::Completed { 1.0 } else { done.clamp(0.0, 1.0) };
        const WIDTH: usize = 30;
        let filled = (done * WIDTH as f64).round() as usize;
        let line = format!(
            "\r[{}{}] {:>3.0}%  {}  {} imported",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            done * 100.0,
            job.status,
            job.imported_count
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{line}\x1b[K");
        let _ = err.flush();
        self.drawn = true;
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}

async fn responses(client: &Client, out: &Out, cmd: ResponsesCommand) -> anyhow::Result<()> {
    let columns = ["ID", "STATUS", "CHANNEL", "PROSPECT", "SCHEDULED AT", "SENT AT"];
    let row = |r: &sonarly_client::ScheduledResponseView| {
        vec![
            r.id.clone(),
            r.status.to_string(),
            r.channel.to_string(),
            r.prospect_id.clone(),
            r.scheduled_at.clone(),
            or_dash(r.sent_at.as_deref()),
        ]
    };
    match cmd {
        ResponsesCommand::Queue { group, prospect, message, channel, subject, conversation, idempotency_key } => {
            let body = QueueResponseBody {
                channel: channel.map(|c| c.parse::<ResponseChannel>().unwrap_or_else(|never| match never {})),
                subject,
                conversation_id: conversation,
                ..QueueResponseBody::new(prospect, message)
            };
            let key = idempotency_key.unwrap_or_else(sonarly_client::generate_idempotency_key);
            let r = client.queue_response_with_idempotency_key(&group.group, &body, &key).await?;
            let labels = ["id", "status", "channel", "prospect", "scheduledAt", "sentAt"];
            let fields: Vec<(&str, String)> = labels.into_iter().zip(row(&r)).collect();
            out.one(&r, &fields)
        }
        ResponsesCommand::List { group, status, paging } => {
            let g = group.group;
            let params = ListResponsesParams {
                cursor: paging.cursor.clone(),
                limit: paging.limit,
                status: status.map(|s| s.parse::<ResponseStatus>().unwrap_or_else(|never| match never {})),
            };
            let page =
                paged(&paging, client.list_responses(&g, &params), || client.list_responses_stream(&g, params.clone()))
                    .await?;
            out.page(&page, &columns, row)
        }
        ResponsesCommand::Cancel { group, id } => {
            let r = client.cancel_response(&group.group, &id).await?;
            out.one(&r, &[("id", r.id.clone()), ("status", r.status.to_string())])
        }
    }
}

async fn campaigns(client: &Client, out: &Out, cmd: CampaignsCommand) -> anyhow::Result<()> {
    match cmd {
        CampaignsCommand::List { group, status, paging } => {
            let g = group.group;
            let params = ListCampaignsParams {
                cursor: paging.cursor.clone(),
                limit: paging.limit,
                status: status.map(|s| s.parse::<CampaignStatus>().unwrap_or_else(|never| match never {})),
            };
            let page =
                paged(&paging, client.list_campaigns(&g, &params), || client.list_campaigns_stream(&g, params.clone()))
                    .await?;
            out.page(&page, &["ID", "NAME", "STATUS", "LEADS", "AUDIENCE", "STARTED AT"], |c| {
                vec![
                    c.id.clone(),
                    c.name.clone(),
                    c.status.to_string(),
                    c.selected_lead_count.to_string(),
                    c.audience_id.clone(),
                    or_dash(c.started_at.as_deref()),
                ]
            })
        }
        CampaignsCommand::Start { group, id } => {
            let s = client.start_campaign(&group.group, &id).await?;
            out.one(
                &s,
                &[
                    ("id", s.campaign.id.clone()),
                    ("status", s.campaign.status.to_string()),
                    ("instancesCreated", s.instances_created.to_string()),
                ],
            )
        }
        CampaignsCommand::Stop { group, id } => {
            let s = client.stop_campaign(&group.group, &id).await?;
            out.one(
                &s,
                &[
                    ("id", s.campaign.id.clone()),
                    ("status", s.campaign.status.to_string()),
                    ("instancesStopped", s.instances_stopped.to_string()),
                ],
            )
        }
    }
}

struct Tail {
    group: String,
    after: Option<String>,
    last: u32,
    types: Option<String>,
    no_follow: bool,
    poll: Duration,
}

/// Events oldest first: the last ones (or those after `--after`), then new ones as the server's
/// catch-up (`?after=`) returns them. Events printed from the newest-first listing are
/// remembered, so catch-up does not print them again.
async fn tail_events(client: &Client, out: &Out, tail: Tail) -> anyhow::Result<()> {
    let print = |e: &sonarly_client::EventView| -> anyhow::Result<()> {
        if out.json {
            emit_line(serde_json::to_string(e)?)
        } else {
            emit(&table(&[], &[vec![e.created_at.clone(), e.kind.clone(), e.id.clone(), e.data.to_string()]]))
        }
    };
    let mut printed = std::collections::HashSet::new();
    let mut anchor = tail.after.clone();
    if anchor.is_none() {
        let limit = tail.last.max(1);
        let params = ListEventsParams { limit: Some(limit), types: tail.types.clone(), ..Default::default() };
        let newest = client.list_events(&tail.group, &params).await?.items;
        // Catch-up starts after the oldest of them; the ones printed are not printed twice.
        anchor = newest.last().map(|e| e.id.clone());
        for event in newest.iter().rev() {
            if tail.last > 0 {
                print(event)?;
            }
            printed.insert(event.id.clone());
        }
        if let Some(oldest) = newest.last() {
            printed.remove(&oldest.id);
        }
    }
    loop {
        let Some(after) = anchor.clone() else {
            // An empty log: wait for the first events.
            if tail.no_follow {
                return Ok(());
            }
            tokio::time::sleep(tail.poll).await;
            let params = ListEventsParams { limit: Some(100), types: tail.types.clone(), ..Default::default() };
            let newest = client.list_events(&tail.group, &params).await?.items;
            for event in newest.iter().rev() {
                print(event)?;
                printed.insert(event.id.clone());
            }
            anchor = newest.last().map(|e| e.id.clone());
            if let Some(oldest) = newest.last() {
                printed.remove(&oldest.id);
            }
            continue;
        };
        let params =
            ListEventsParams { limit: Some(100), after: Some(after), types: tail.types.clone(), ..Default::default() };
        let page = client.list_events(&tail.group, &params).await?;
        for event in &page.items {
            if !printed.remove(&event.id) {
                print(event)?;
            }
            anchor = Some(event.id.clone());
        }
        if page.has_more {
            continue;
        }
        if tail.no_follow {
            return Ok(());
        }
        tokio::time::sleep(tail.poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_flatten_newlines() {
        let rows = vec![vec!["a".to_owned(), "two\nlines".to_owned()], vec!["longer".to_owned(), "x".to_owned()]];
        assert_eq!(table(&["ID", "TEXT"], &rows), "ID      TEXT\na       two lines\nlonger  x\n");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
