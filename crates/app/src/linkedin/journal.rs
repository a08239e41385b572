//! The sandbox journal, kept in the database so a simulated account survives
//! restarts and is shared by every server process on the same database.

use async_trait::async_trait;
use sonarly_domain::Timestamp;
use sonarly_linkedin::sandbox::{SandboxAction, SandboxActionKind, SandboxJournal};
use sonarly_linkedin::{LinkedInError, LinkedInResult};
use sonarly_store::{SandboxActionRow, Store};

pub struct StoreJournal {
    store: Store,
}

impl StoreJournal {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn to_row(a: &SandboxAction) -> SandboxActionRow {
    SandboxActionRow {
        seq: a.seq,
        account_id: a.account_id.clone(),
        token: a.token.clone(),
        kind: a.kind.as_str().to_owned(),
        recipient_provider_id: a.recipient_provider_id.clone(),
        chat_id: a.chat_id.clone(),
        body: a.text.clone(),
        subject: a.subject.clone(),
        result_id: a.result_id.clone(),
        at: a.at.as_millis(),
    }
}

fn from_row(r: SandboxActionRow) -> LinkedInResult<SandboxAction> {
    let kind = SandboxActionKind::parse(&r.kind)
        .ok_or_else(|| LinkedInError::Transient(format!("unknown sandbox action kind {}", r.kind)))?;
    Ok(SandboxAction {
        seq: r.seq,
        account_id: r.account_id,
        token: r.token,
        kind,
        recipient_provider_id: r.recipient_provider_id,
        chat_id: r.chat_id,
        text: r.body,
        subject: r.subject,
        result_id: r.result_id,
        at: Timestamp::from_millis(r.at),
    })
}

/// A database failure is transient from the provider's point of view: the
/// caller retries later.
fn storage(e: sonarly_store::StoreError) -> LinkedInError {
    tracing::warn!(error = %e, "sandbox journal unavailable");
    LinkedInError::Transient("sandbox journal unavailable".into())
}

#[async_trait]
impl SandboxJournal for StoreJournal {
    async fn record(&self, action: SandboxAction) -> LinkedInResult<SandboxAction> {
        from_row(self.store.record_sandbox_action(&to_row(&action)).await.map_err(storage)?)
    }

    async fn actions_since(&self, account_id: &str, after: i64) -> LinkedInResult<Vec<SandboxAction>> {
        self.store.sandbox_actions_since(account_id, after).await.map_err(storage)?.into_iter().map(from_row).collect()
    }
}
