//! Connected accounts and the database-backed sandbox, on both backends.

use sonarly_app::linkedin::{ConnectAccount, ProviderRegistry, ProviderSetup, UnipileSetup, connect_account};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::Clock;
use sonarly_domain::clock::{ManualClock, SharedClock};
use sonarly_domain::linkedin_account::{ProviderKind, SendingRules, WorkingHours};
use sonarly_linkedin::sandbox::{CallKind, SandboxConfig};
use sonarly_linkedin::{AccountType, OutboundToken, PeopleSource, SeatHealth};
use sonarly_testkit::{TestDb, both_backends};
use std::sync::Arc;

fn sandbox_input(group_id: &str) -> ConnectAccount {
    ConnectAccount {
        group_id: group_id.into(),
        name: "Sandbox".into(),
        account_type: AccountType::Classic,
        // Around the clock: the governor keeps background reads to working hours.
        rules: SendingRules { working_hours: WorkingHours::AROUND_THE_CLOCK, ..SendingRules::default() },
        provider: ProviderSetup::Sandbox(SandboxConfig { reply_rate: 1.0, ..SandboxConfig::default() }),
    }
}

both_backends!(sandbox_state_survives_restarts_and_is_shared, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let shared: SharedClock = Arc::new(clock.clone());
    let group = sonarly_app::accounts::create_group(&db.store, &clock, "G").await.unwrap();
    let account = connect_account(&db.store, shared.as_ref(), sandbox_input(&group.id)).await.unwrap();
    assert_eq!(account.provider, ProviderKind::Sandbox);

    let first = ProviderRegistry::new(db.store.clone(), shared.clone()).provider(&account).unwrap();
    let url = PeopleSource::SearchUrl("https://www.linkedin.com/search/results/people/?keywords=founder".into());
    let people = first.search_people(&url, None, 25).await.unwrap();
    let friend = first.relations(None).await.unwrap().items[0].provider_id.clone();
    let sent = first.start_chat(&OutboundToken::new("t-1"), &friend, "Hello from before the restart").await.unwrap();

    // A new registry is a restarted server (or a second instance on the same database).
    let second = ProviderRegistry::new(db.store.clone(), shared.clone()).provider(&account).unwrap();
    assert_eq!(second.search_people(&url, None, 25).await.unwrap(), people, "same people after a restart");
    let again = second.start_chat(&OutboundToken::new("t-1"), &friend, "Hello from before the restart").await.unwrap();
    assert_eq!(again, sent, "the token is honoured across instances");
    let messages = second.chat_messages(&sent.chat_id, None).await.unwrap().items;
    assert_eq!(messages.iter().filter(|m| m.text == "Hello from before the restart").count(), 1);

    clock.advance_millis(49 * 3_600_000);
    let later = second.chat_messages(&sent.chat_id, None).await.unwrap().items;
    assert!(!later[0].is_sender, "the reply arrived as simulated time passed");
});

both_backends!(a_sandbox_restriction_survives_the_account_row_changing, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let shared: SharedClock = Arc::new(clock.clone());
    let group = sonarly_app::accounts::create_group(&db.store, &clock, "G").await.unwrap();
    let account = connect_account(&db.store, shared.as_ref(), sandbox_input(&group.id)).await.unwrap();
    let registry = ProviderRegistry::new(db.store.clone(), shared.clone());
    let provider = registry.provider(&account).unwrap();
    let someone = provider.relations(None).await.unwrap().items[0].provider_id.clone();
    // Fetching profiles far past LinkedIn's wall restricts the seat.
    let mut refused = 0;
    while !matches!(provider.profile(&someone).await, Err(e) if e.stops_account()) {
        refused += 1;
        assert!(refused < 1_000, "the seat is never restricted");
    }
    // The row changes (a settings edit, a status change): the sandbox is rebuilt, still restricted.
    let mut edited = account.clone();
    edited.updated_at = edited.updated_at.plus_millis(1);
    let rebuilt = registry.provider(&edited).unwrap();
    assert!(!Arc::ptr_eq(&rebuilt, &provider), "rebuilt");
    assert!(matches!(rebuilt.seat_health().await.unwrap(), SeatHealth::Disconnected(_)));
    assert!(rebuilt.chats(None).await.unwrap_err().stops_account());
    let meter = registry.sandbox_meter(&account.id);
    assert_eq!(meter.restrictions().len(), 1);
    assert_eq!(meter.calls_on(CallKind::ProfileView, clock.now()), 150 + 20);
    clock.advance_millis(3 * 86_400_000);
    assert_eq!(rebuilt.seat_health().await.unwrap(), SeatHealth::Ok);
});

both_backends!(connecting_validates_input, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let group = sonarly_app::accounts::create_group(&db.store, &clock, "G").await.unwrap();
    let mut bad_zone = sandbox_input(&group.id);
    bad_zone.rules.timezone = "Nowhere/City".into();
    let err = connect_account(&db.store, &clock, bad_zone).await.unwrap_err();
    assert_eq!((err.status, err.fields[0].field.as_str()), (400, "timezone"));
    let err = connect_account(&db.store, &clock, sandbox_input("507f1f77bcf86cd799439011")).await.unwrap_err();
    assert_eq!(err.status, 400);
    let mut bad_rate = sandbox_input(&group.id);
    bad_rate.provider = ProviderSetup::Sandbox(SandboxConfig { fault_rate: 2.0, ..SandboxConfig::default() });
    assert!(connect_account(&db.store, &clock, bad_rate).await.is_err());
    let mut unipile = sandbox_input(&group.id);
    unipile.provider = ProviderSetup::Unipile(UnipileSetup {
        base_url: "ftp://x".into(),
        api_key: "".into(),
        account_id: "".into(),
        webhook_secret: "short".into(),
    });
    let err = connect_account(&db.store, &clock, unipile).await.unwrap_err();
    assert_eq!(err.fields.len(), 4, "{err:?}");

    let mut good = sandbox_input(&group.id);
    good.provider = ProviderSetup::Unipile(UnipileSetup {
        base_url: "https://api8.unipile.com:13851/".into(),
        api_key: "unipile-key".into(),
        account_id: "acc_123".into(),
        webhook_secret: "0123456789abcdef0123".into(),
    });
    let account = connect_account(&db.store, &clock, good).await.unwrap();
    assert!(account.webhook_secret_hash.is_some());
    assert!(!account.webhook_secret_hash.as_deref().unwrap().contains("0123456789abcdef0123"));
    let registry = ProviderRegistry::new(db.store.clone(), Arc::new(clock.clone()));
    assert!(registry.provider(&account).is_ok(), "a Unipile provider is built from the stored settings");
});
