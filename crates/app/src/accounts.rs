//! Account groups as the public API and the admin CLI see them.

use crate::{AppResult, StoreResultExt, validate_name};
use sonarly_domain::DomainError;
use sonarly_domain::GroupId;
use sonarly_domain::clock::Clock;
use sonarly_domain::cursor::CursorCodec;
use sonarly_domain::id::new_hex_id;
use sonarly_domain::models::{AccountGroup, ApiKey};
use sonarly_domain::page::{Page, PageRequest};
use sonarly_domain::prospecting::{NEW_GROUP_CREDITS, Plan};
use sonarly_store::Store;

/// The cursor list name for `GET /v1/accounts`.
pub const ACCOUNTS_LIST: &str = "accounts";

/// Creates a group on the `tester` plan with a small credit grant.
pub async fn create_group(store: &Store, clock: &dyn Clock, name: &str) -> AppResult<AccountGroup> {
    create_group_on(store, clock, name, Plan::Tester, NEW_GROUP_CREDITS).await
}

pub async fn create_group_on(
    store: &Store,
    clock: &dyn Clock,
    name: &str,
    plan: Plan,
    credits: i64,
) -> AppResult<AccountGroup> {
    let name = validate_name("name", name)?;
    let now = clock.now();
    let group = AccountGroup { id: GroupId::new(new_hex_id(now)), name, created_at: now };
    store.insert_group(&group, plan, credits).await.or_internal()?;
    Ok(group)
}

pub async fn set_plan(store: &Store, group_id: &GroupId, plan: &str) -> AppResult<()> {
    let plan = Plan::parse(plan)
        .map_err(|_| DomainError::invalid_field("plan", "must be tester, starter, scale or enterprise"))?;
    if store.set_group_plan(group_id, plan).await.or_internal()? { Ok(()) } else { Err(account_not_found()) }
}

/// Adds credits; returns the new balance.
pub async fn add_credits(store: &Store, group_id: &GroupId, amount: i64) -> AppResult<i64> {
    if amount <= 0 {
        return Err(DomainError::invalid_field("credits", "must be a positive number"));
    }
    store.add_group_credits(group_id, amount).await.or_internal()?.ok_or_else(account_not_found)
}

pub async fn list_all_groups(store: &Store) -> AppResult<Vec<AccountGroup>> {
    store.list_all_groups().await.or_internal()
}

/// The groups `key` can access, newest first.
pub async fn list_accessible(
    store: &Store,
    codec: &CursorCodec,
    key: &ApiKey,
    page: &PageRequest,
) -> AppResult<Page<AccountGroup>> {
    let rows = store.list_groups_for_key(&key.id, page).await.or_internal()?;
    Ok(Page::from_rows(rows, page, codec, ACCOUNTS_LIST, |g| (g.created_at, g.id.to_string())))
}

/// One group, if `key` may see it. A group the key cannot access answers
/// exactly like one that does not exist.
pub async fn get_accessible(store: &Store, key: &ApiKey, group_id: &GroupId) -> AppResult<AccountGroup> {
    if !key.can_access_group(group_id) {
        return Err(account_not_found());
    }
    store.get_group(group_id).await.or_internal()?.ok_or_else(account_not_found)
}

pub fn account_not_found() -> DomainError {
    DomainError::not_found("Account group")
}
