//! Connected accounts and the database-backed sandbox, on both backends.

use sonarly_app::linkedin::{
    ConnectAccount, ProviderRegistry, ProviderSetup, ResealReport, UnipileSetup, connect_account, connect_account_with,
    reseal_provider_secrets, unipile_account_id,
};
use sonarly_domain::Timestamp;
use sonarly_domain::clock::Clock;
use sonarly_domain::clock::{ManualClock, SharedClock};
use sonarly_domain::linkedin_account::{LinkedInAccount, ProviderKind, SendingRules, WorkingHours};
use sonarly_domain::secrets::{Keyring, SecretKey};
use sonarly_linkedin::sandbox::{CallKind, SandboxConfig};
use sonarly_linkedin::{AccountType, LinkedInError, OutboundToken, PeopleSource, SeatHealth};
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
    // The sandbox itself, without the governor that would stop at the seat's budget.
    let registry = ProviderRegistry::new(db.store.clone(), shared.clone()).without_governor();
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
    let account = connect_account_with(&db.store, &clock, &keyring(1), good).await.unwrap();
    assert!(account.webhook_secret_hash.is_some());
    assert!(!account.webhook_secret_hash.as_deref().unwrap().contains("0123456789abcdef0123"));
    let registry = ProviderRegistry::new(db.store.clone(), Arc::new(clock.clone())).with_keyring(keyring(1));
    assert!(registry.provider(&account).is_ok(), "a Unipile provider is built from the stored settings");
});

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes([byte; 32])
}

fn keyring(byte: u8) -> Keyring {
    Keyring::new(key(byte), None)
}

fn unipile_input(group_id: &str, api_key: &str) -> ConnectAccount {
    let mut input = sandbox_input(group_id);
    input.provider = ProviderSetup::Unipile(UnipileSetup {
        base_url: "https://api8.unipile.com:13851".into(),
        api_key: api_key.into(),
        account_id: "acc_123".into(),
        webhook_secret: "0123456789abcdef0123".into(),
    });
    input
}

/// The row as the database holds it.
async fn stored(db: &TestDb, account: &LinkedInAccount) -> LinkedInAccount {
    db.store.system().linkedin_account(&account.id).await.unwrap().unwrap()
}

/// A row written before sealing existed: the Unipile API key in plaintext.
async fn legacy_unipile_row(db: &TestDb, like: &LinkedInAccount, id: &str, api_key: &str) -> LinkedInAccount {
    let settings =
        format!(r#"{{"baseUrl":"https://api8.unipile.com:13851","apiKey":"{api_key}","accountId":"acc_9"}}"#);
    let row = LinkedInAccount { id: id.into(), provider_settings: settings, ..like.clone() };
    db.store.insert_linkedin_account(&row).await.unwrap();
    row
}

both_backends!(
    a_connected_unipile_seat_stores_no_plaintext_api_key_and_its_connector_still_builds,
    |backend| async move {
        let db = TestDb::new(backend).await.unwrap();
        let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
        let group = sonarly_app::accounts::create_group(&db.store, &clock, "G").await.unwrap();
        let input = unipile_input(&group.id, "unipile-key-do-not-store-me");
        let account = connect_account_with(&db.store, &clock, &keyring(1), input).await.unwrap();
        let row = stored(&db, &account).await;
        assert!(!row.provider_settings.contains("unipile-key-do-not-store-me"), "{}", row.provider_settings);
        assert!(row.provider_settings.contains(&format!("\"apiKey\":\"enc:v1:{}:", key(1).id())));
        assert_eq!(unipile_account_id(&row).as_deref(), Some("acc_123"), "webhooks still find the seat");

        let shared: SharedClock = Arc::new(clock.clone());
        let registry = ProviderRegistry::new(db.store.clone(), shared.clone()).with_keyring(keyring(1));
        assert!(registry.provider(&row).is_ok());
        assert!(registry.interactive(&row).is_ok());
        // A server started without the key (or with another) cannot use the seat, and says why.
        for other in
            [ProviderRegistry::new(db.store.clone(), shared.clone()), registry.clone().with_keyring(keyring(2))]
        {
            let Err(LinkedInError::Unauthorized(why)) = other.provider(&row) else { panic!("refused as unauthorized") };
            assert!(why.contains("SONARLY_SECRET_KEY") && !why.contains("unipile-key"), "{why}");
        }
    }
);

both_backends!(
    without_a_secret_key_a_unipile_seat_is_refused_but_sandbox_and_legacy_seats_work,
    |backend| async move {
        let db = TestDb::new(backend).await.unwrap();
        let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
        let group = sonarly_app::accounts::create_group(&db.store, &clock, "G").await.unwrap();
        let err = connect_account(&db.store, &clock, unipile_input(&group.id, "unipile-key")).await.unwrap_err();
        assert_eq!((err.status, err.fields[0].field.as_str()), (400, "unipileApiKey"));
        assert!(err.fields[0].message.contains("SONARLY_SECRET_KEY is not set"), "{err:?}");
        assert!(!format!("{err:?}").contains("unipile-key\""));
        let sandbox = connect_account(&db.store, &clock, sandbox_input(&group.id)).await.unwrap();
        let legacy = legacy_unipile_row(&db, &sandbox, "00000000000000000000000a", "legacy-key").await;
        let legacy = LinkedInAccount { provider: ProviderKind::Unipile, ..legacy };
        let registry = ProviderRegistry::new(db.store.clone(), Arc::new(clock.clone()));
        assert!(registry.provider(&sandbox).is_ok());
        assert!(registry.provider(&legacy).is_ok(), "a plaintext key stored before sealing still loads");
    }
);

both_backends!(rotate_secrets_reseals_plaintext_and_previous_key_secrets_with_the_current_key, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let group = sonarly_app::accounts::create_group(&db.store, &clock, "G").await.unwrap();
    let old = connect_account_with(&db.store, &clock, &keyring(1), unipile_input(&group.id, "key-one")).await.unwrap();
    let mut template = old.clone();
    template.provider = ProviderKind::Unipile;
    let legacy = legacy_unipile_row(&db, &template, "00000000000000000000000b", "key-two").await;
    let lost =
        connect_account_with(&db.store, &clock, &keyring(3), unipile_input(&group.id, "key-three")).await.unwrap();
    let lost_before = stored(&db, &lost).await.provider_settings;
    connect_account(&db.store, &clock, sandbox_input(&group.id)).await.unwrap();

    clock.advance_millis(1_000);
    let rotating = Keyring::new(key(2), Some(key(1)));
    let report = reseal_provider_secrets(&db.store, &clock, &rotating).await.unwrap();
    assert_eq!((report.resealed, report.current), (2, 0), "{report:?}");
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, lost.id, "a key sealed with an unknown key is reported");
    assert!(report.failed[0].1.contains("SONARLY_SECRET_KEY_PREVIOUS"), "{:?}", report.failed);
    assert_eq!(stored(&db, &lost).await.provider_settings, lost_before, "and left as it was");

    // The previous key can go: the new one alone opens both seats, and nothing is plaintext.
    let registry = ProviderRegistry::new(db.store.clone(), Arc::new(clock.clone())).with_keyring(keyring(2));
    for account in [&old, &legacy] {
        let row = stored(&db, account).await;
        assert!(row.provider_settings.contains(&format!("enc:v1:{}:", key(2).id())), "{}", row.provider_settings);
        assert!(!row.provider_settings.contains("key-one") && !row.provider_settings.contains("key-two"));
        assert!(row.updated_at > account.updated_at, "running servers rebuild the seat's connector");
        assert!(registry.provider(&row).is_ok());
    }
    let again = reseal_provider_secrets(&db.store, &clock, &keyring(2)).await.unwrap();
    assert_eq!((again.resealed, again.current, again.failed.len()), (0, 2, 1));
    let none = reseal_provider_secrets(&db.store, &clock, &Keyring::none()).await.unwrap();
    assert_eq!(none, ResealReport { resealed: 0, current: 0, failed: none.failed.clone() });
    assert_eq!(none.failed.len(), 3, "nothing can be sealed without a key");
});
