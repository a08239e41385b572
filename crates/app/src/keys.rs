//! API-key administration (the `sonarly keys` and `sonarly serve` demo paths).

use crate::linkedin::{ConnectAccount, ProviderSetup, connect_account};
use crate::{AppResult, StoreResultExt, accounts, validate_name};
use sonarly_domain::DomainError;
use sonarly_domain::GroupId;
use sonarly_domain::apikey::GeneratedKey;
use sonarly_domain::clock::Clock;
use sonarly_domain::id::new_hex_id;
use sonarly_domain::linkedin_account::{ReadBudgets, SendingRules, WorkingHours};
use sonarly_domain::models::{AccountGroup, ApiKey};
use sonarly_domain::prospecting::{DEMO_GROUP_CREDITS, Plan};
use sonarly_domain::scope::ScopeSet;
use sonarly_linkedin::AccountType;
use sonarly_linkedin::sandbox::{EnforcementConfig, SandboxConfig};
use sonarly_store::Store;

/// What a new key may do.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub group_ids: Vec<GroupId>,
    pub scopes: ScopeSet,
    pub rate_limit_per_minute: u32,
}

/// Creates a key. The plaintext is returned once, inside `GeneratedKey`; only
/// its hash is stored.
pub async fn create_key(store: &Store, clock: &dyn Clock, new: NewKey) -> AppResult<(ApiKey, GeneratedKey)> {
    let name = validate_name("name", &new.name)?;
    if new.group_ids.is_empty() {
        return Err(DomainError::invalid_field("group", "at least one account group is required"));
    }
    if new.rate_limit_per_minute == 0 {
        return Err(DomainError::invalid_field("rateLimit", "must be at least 1 request per minute"));
    }
    let mut group_ids = new.group_ids.clone();
    group_ids.sort();
    group_ids.dedup();
    for group_id in &group_ids {
        if store.get_group(group_id).await.or_internal()?.is_none() {
            return Err(DomainError::invalid_field("group", format!("account group {group_id} does not exist")));
        }
    }
    let generated = GeneratedKey::generate();
    let now = clock.now();
    let key = ApiKey {
        id: new_hex_id(now),
        name,
        display_prefix: generated.display_prefix(),
        key_hash: generated.hash(),
        scopes: new.scopes,
        group_ids,
        rate_limit_per_minute: new.rate_limit_per_minute,
        revoked_at: None,
        last_used_at: None,
        created_at: now,
    };
    store.insert_api_key(&key).await.or_internal()?;
    Ok((key, generated))
}

pub async fn list_keys(store: &Store) -> AppResult<Vec<ApiKey>> {
    store.list_api_keys().await.or_internal()
}

pub async fn revoke_key(store: &Store, clock: &dyn Clock, key_id: &str) -> AppResult<()> {
    if store.revoke_api_key(key_id, clock.now()).await.or_internal()? {
        Ok(())
    } else {
        Err(DomainError::not_found("API key"))
    }
}

/// On an empty database, creates the "Demo" group with two sandbox LinkedIn
/// accounts working around the clock (one classic, one Sales Navigator with
/// InMail credits) and one full-scope key, so a new user can call every
/// endpoint at once and see results. Returns `None` when the database already
/// has groups.
pub async fn ensure_demo(store: &Store, clock: &dyn Clock) -> AppResult<Option<(AccountGroup, GeneratedKey)>> {
    if store.count_groups().await.or_internal()? > 0 {
        return Ok(None);
    }
    let group = accounts::create_group_on(store, clock, "Demo", Plan::Starter, DEMO_GROUP_CREDITS).await?;
    for (name, account_type, credits) in
        [("Demo Classic", AccountType::Classic, 0), ("Demo Sales Navigator", AccountType::SalesNavigator, 50)]
    {
        // Generous seats, so a first walk through the API never waits for tomorrow's budget: five
        // times the default read budgets, on a sandbox that tolerates five times LinkedIn's volume
        // (it still enforces). A seat you connect yourself gets the real defaults.
        let d = ReadBudgets::default();
        let reads = ReadBudgets {
            profile_fetches: d.profile_fetches * 5,
            search_pages: d.search_pages * 5,
            relation_reads: d.relation_reads * 5,
            inbox_reads: d.inbox_reads * 5,
            activity_reads: d.activity_reads * 5,
        };
        let rules = SendingRules { working_hours: WorkingHours::AROUND_THE_CLOCK, reads, ..SendingRules::default() };
        let e = EnforcementConfig::default();
        let enforcement = EnforcementConfig {
            profile_views_per_day: e.profile_views_per_day * 5,
            search_pages_per_day: e.search_pages_per_day * 5,
            sales_navigator_search_pages_per_day: e.sales_navigator_search_pages_per_day * 5,
            relation_polls_per_day: e.relation_polls_per_day * 5,
            inbox_reads_per_day: e.inbox_reads_per_day * 5,
            ..e
        };
        let sandbox = SandboxConfig { inmail_credits: credits, enforcement, ..SandboxConfig::default() };
        let input = ConnectAccount {
            group_id: group.id.clone(),
            name: name.into(),
            account_type,
            rules,
            provider: ProviderSetup::Sandbox(sandbox),
        };
        connect_account(store, clock, input).await?;
    }
    let (_, generated) = create_key(
        store,
        clock,
        NewKey {
            name: "demo".into(),
            group_ids: vec![group.id.clone()],
            scopes: ScopeSet::all(),
            rate_limit_per_minute: sonarly_domain::models::DEFAULT_KEY_RATE_LIMIT_PER_MINUTE,
        },
    )
    .await?;
    Ok(Some((group, generated)))
}
