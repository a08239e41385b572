//! Store conformance: the same cases on SQLite and PostgreSQL.

use sonarly_domain::GroupId;
use sonarly_domain::Timestamp;
use sonarly_domain::cursor::CursorPosition;
use sonarly_domain::models::{AccountGroup, ApiKey, Audience};
use sonarly_domain::page::PageRequest;
use sonarly_domain::prospecting::Plan;
use sonarly_domain::scope::ScopeSet;
use sonarly_testkit::{TestBackend, TestDb, both_backends};

#[path = "store/schema.rs"]
mod schema;

fn group(id: &str, at: i64) -> AccountGroup {
    AccountGroup { id: id.into(), name: format!("Group {id}"), created_at: Timestamp::from_millis(at) }
}

fn audience(id: &str, group_id: &str, at: i64, filling: Option<&str>) -> Audience {
    Audience {
        id: id.into(),
        group_id: group_id.into(),
        name: format!("Audience {id}"),
        audience_type: sonarly_domain::folder::AudienceType::LinkedInSearch,
        description: None,
        folder_id: None,
        prospect_count: 3,
        filling_job_id: filling.map(Into::into),
        created_at: Timestamp::from_millis(at),
        updated_at: Timestamp::from_millis(at),
    }
}

both_backends!(migrations_are_idempotent_and_ready, |backend: TestBackend| async move {
    let db = TestDb::new(backend).await.unwrap();
    assert!(db.store.is_ready().await);
    db.store.migrate().await.unwrap();
    let (url, _guard) = TestDb::empty(backend).await.unwrap();
    let fresh = sonarly_store::Store::connect(&url).await.unwrap();
    assert!(!fresh.is_ready().await, "an unmigrated database is not ready");
});

both_backends!(keys_round_trip_with_groups_and_revocation, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let s = &db.store;
    s.insert_group(&group("g1", 1), Plan::Tester, 0).await.unwrap();
    s.insert_group(&group("g2", 2), Plan::Tester, 0).await.unwrap();
    let key = ApiKey {
        id: "k1".into(),
        name: "ci".into(),
        display_prefix: "sk_live_abcdef".into(),
        key_hash: "hash-1".into(),
        scopes: ScopeSet::parse("audiences:read").unwrap(),
        group_ids: vec!["g1".into(), "g2".into()],
        rate_limit_per_minute: 60,
        revoked_at: None,
        last_used_at: None,
        created_at: Timestamp::from_millis(5),
    };
    s.insert_api_key(&key).await.unwrap();
    let found = s.find_api_key_by_hash("hash-1").await.unwrap().unwrap();
    assert_eq!(found, key);
    assert!(s.find_api_key_by_hash("hash-2").await.unwrap().is_none());
    assert!(matches!(s.insert_api_key(&key).await, Err(sonarly_store::StoreError::UniqueViolation(_))));

    s.touch_api_key("k1", Timestamp::from_millis(100_000)).await.unwrap();
    s.touch_api_key("k1", Timestamp::from_millis(120_000)).await.unwrap();
    let touched = s.find_api_key_by_hash("hash-1").await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(Timestamp::from_millis(100_000)), "throttled to once a minute");

    assert!(s.revoke_api_key("k1", Timestamp::from_millis(7)).await.unwrap());
    assert!(s.revoke_api_key("k1", Timestamp::from_millis(9)).await.unwrap());
    assert!(!s.revoke_api_key("nope", Timestamp::from_millis(9)).await.unwrap());
    let revoked = s.find_api_key_by_hash("hash-1").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(Timestamp::from_millis(7)));
    assert_eq!(s.list_api_keys().await.unwrap().len(), 1);
});

both_backends!(keyset_pages_are_complete_and_disjoint, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    let s = &db.store;
    s.insert_group(&group("g1", 1), Plan::Tester, 0).await.unwrap();
    s.insert_group(&group("g2", 1), Plan::Tester, 0).await.unwrap();
    // Ties on created_at must be broken by id.
    for i in 0..25 {
        s.insert_audience(&audience(&format!("a{i:02}"), "g1", 1000 + (i / 3), None)).await.unwrap();
    }
    s.insert_audience(&audience("filling", "g1", 5000, Some("job1"))).await.unwrap();
    s.insert_audience(&audience("other", "g2", 5000, None)).await.unwrap();

    let mut seen = Vec::new();
    let mut page = PageRequest::first(10);
    loop {
        let rows = s.list_ready_audiences(&GroupId::from("g1"), &page).await.unwrap();
        let more = rows.len() > 10;
        let rows: Vec<_> = rows.into_iter().take(10).collect();
        let last = rows.last().cloned();
        seen.extend(rows.into_iter().map(|a| a.id));
        if !more {
            break;
        }
        let last = last.unwrap();
        page = PageRequest { limit: 10, after: Some(CursorPosition { created_at: last.created_at, id: last.id }) };
    }
    let mut expected: Vec<_> = (0..25).map(|i| format!("a{i:02}")).collect();
    expected.reverse();
    assert_eq!(seen, expected);

    assert!(s.get_audience(&GroupId::from("g2"), "a01").await.unwrap().is_none(), "no cross-group reads");
    assert!(!s.get_audience(&GroupId::from("g1"), "filling").await.unwrap().unwrap().is_ready());
});

both_backends!(settings_initialise_once, |backend| async move {
    let db = TestDb::new(backend).await.unwrap();
    assert_eq!(db.store.setting_or_init("cursor_secret", "first").await.unwrap(), "first");
    assert_eq!(db.store.setting_or_init("cursor_secret", "second").await.unwrap(), "first");
});

both_backends!(provider_id_lookups_return_every_match, |backend| async move {
    use sonarly_domain::prospecting::Prospect;
    let db = TestDb::new(backend).await.unwrap();
    let s = &db.store;
    s.insert_group(&group("g1", 1), Plan::Tester, 0).await.unwrap();
    s.insert_group(&group("g2", 1), Plan::Tester, 0).await.unwrap();
    let prospect = |id: &str, group: &str, provider: &str, member: Option<&str>| Prospect {
        id: id.into(),
        group_id: group.into(),
        provider_id: provider.into(),
        member_id: member.map(Into::into),
        person_id: "p".into(),
        name: id.into(),
        ..Prospect::default()
    };
    // The same member imported once by member id and once by a Sales Navigator id.
    s.upsert_prospects(
        &[
            prospect("a", "g1", "ACoAAmember", Some("ACoAAmember")),
            prospect("b", "g1", "ACwAAsalesnav", Some("ACoAAmember")),
            prospect("c", "g1", "ACoAAother", None),
            prospect("d", "g2", "ACoAAmember", Some("ACoAAmember")),
        ],
        None,
    )
    .await
    .unwrap();
    let ids = |v: Vec<Prospect>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(s.prospects_by_provider_id(&GroupId::from("g1"), "ACoAAmember").await.unwrap()), ["a", "b"]);
    assert_eq!(ids(s.prospects_by_provider_id(&GroupId::from("g1"), "ACwAAsalesnav").await.unwrap()), ["b"]);
    assert_eq!(
        ids(s.prospects_by_provider_id(&GroupId::from("g1"), "ACoAAnobody").await.unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(s.prospects_by_provider_id(&GroupId::from("g2"), "ACoAAother").await.unwrap()),
        Vec::<String>::new()
    );
    // Upserting the same provider id again refreshes, never duplicates.
    s.upsert_prospects(&[prospect("zzz", "g1", "ACoAAother", None)], None).await.unwrap();
    assert_eq!(s.count_prospects(&GroupId::from("g1")).await.unwrap(), 3);
});

both_backends!(reads_by_a_child_id_see_nothing_of_another_group, |backend| async move {
    use sonarly_domain::prospecting::Prospect;
    let db = TestDb::new(backend).await.unwrap();
    let s = &db.store;
    let (g1, g2) = (GroupId::from("g1"), GroupId::from("g2"));
    s.insert_group(&group("g1", 1), Plan::Tester, 0).await.unwrap();
    s.insert_group(&group("g2", 1), Plan::Tester, 0).await.unwrap();
    s.insert_audience(&audience("aud", "g1", 10, None)).await.unwrap();
    let prospect = |id: &str| Prospect {
        id: id.into(),
        group_id: g1.clone(),
        provider_id: format!("ACoAA{id}"),
        person_id: id.into(),
        name: id.into(),
        ..Prospect::default()
    };
    s.upsert_prospects(&[prospect("p1"), prospect("p2")], Some("aud")).await.unwrap();
    let ids = vec!["p1".to_owned(), "p2".to_owned(), "p3".to_owned()];

    // The owner group sees its audience's members.
    assert_eq!(s.audience_prospect_ids(&g1, "aud").await.unwrap(), ["p1", "p2"]);
    assert_eq!(s.audience_members_among(&g1, "aud", &ids).await.unwrap().len(), 2);
    assert_eq!(s.list_audience_prospects(&g1, "aud", None, 10).await.unwrap().len(), 2);
    // Another group naming the same audience id finds nothing at all.
    assert!(s.audience_prospect_ids(&g2, "aud").await.unwrap().is_empty());
    assert!(s.audience_members_among(&g2, "aud", &ids).await.unwrap().is_empty());
    assert!(s.list_audience_prospects(&g2, "aud", None, 10).await.unwrap().is_empty());
    // The same holds for a campaign's leads and instances: no campaign of g2 has this id.
    assert!(s.campaign_lead_ids(&g2, "aud").await.unwrap().is_empty());
    assert!(s.campaign_leads_among(&g2, "aud", &ids).await.unwrap().is_empty());
    assert!(s.instances_for_leads(&g2, "aud", &ids).await.unwrap().is_empty());
});
