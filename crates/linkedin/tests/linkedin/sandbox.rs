//! The sandbox network: determinism, simulated time, limits, faults and idempotency.

use sonarly_domain::Timestamp;
use sonarly_domain::clock::{Clock, ManualClock, SharedClock};
use sonarly_linkedin::sandbox::{EnforcementConfig, MemoryJournal, Sandbox, SandboxConfig, SandboxJournal};
use sonarly_linkedin::*;
use std::collections::HashSet;
use std::sync::Arc;

const HOUR: i64 = 3_600_000;
const ENGINEERS: &str = "https://www.linkedin.com/search/results/people/?keywords=software%20engineer";

fn start() -> Timestamp {
    Timestamp::from_millis(1_780_000_000_000)
}

struct Net {
    clock: ManualClock,
    journal: Arc<MemoryJournal>,
}

impl Net {
    fn new() -> Self {
        Self { clock: ManualClock::new(start()), journal: Arc::new(MemoryJournal::default()) }
    }

    fn account(&self, id: &str, config: SandboxConfig) -> Sandbox {
        let clock: SharedClock = Arc::new(self.clock.clone());
        let journal: Arc<dyn SandboxJournal> = self.journal.clone();
        Sandbox::new(id, config, clock, journal)
    }
}

fn cfg() -> SandboxConfig {
    SandboxConfig { connected_at_ms: start().as_millis(), ..SandboxConfig::default() }
}

fn token(t: &str) -> OutboundToken {
    OutboundToken::new(t)
}

async fn all_people(sandbox: &Sandbox, url: &str) -> Vec<Person> {
    let mut people = Vec::new();
    let mut cursor = None;
    loop {
        let page = sandbox.search_people(&PeopleSource::SearchUrl(url.into()), cursor.as_deref(), 50).await.unwrap();
        assert!(page.items.len() <= 50);
        people.extend(page.items);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return people,
        }
    }
}

#[tokio::test]
async fn the_same_url_gives_the_same_people_across_restarts_and_accounts() {
    let net = Net::new();
    let first = all_people(&net.account("a1", cfg()), ENGINEERS).await;
    let restarted = all_people(&net.account("a1", cfg()), ENGINEERS).await;
    assert_eq!(first, restarted);
    assert_eq!(first.len(), 1_000, "classic searches are capped like LinkedIn's");
    let ids: HashSet<_> = first.iter().map(|p| p.provider_id.clone()).collect();
    assert_eq!(ids.len(), first.len(), "no duplicates across pages");
    for person in &first {
        assert!(person.provider_id.starts_with("ACoAA") && person.provider_id.len() == 39, "{}", person.provider_id);
        assert_eq!(person.profile_url, format!("https://www.linkedin.com/in/{}", person.public_identifier));
        assert!(person.title.as_deref().unwrap().to_lowercase().contains("engineer"), "{:?}", person.title);
        assert!(person.company.is_some() && person.location.is_some());
        assert!(matches!(person.connection_degree, Some(1..=3)));
    }
    // Another account in the same world sees the same people (its own degrees aside).
    let other = net.account("a2", SandboxConfig { account_seed: 99, ..cfg() });
    let theirs = all_people(&other, ENGINEERS).await;
    let their_ids: Vec<_> = theirs.iter().map(|p| &p.provider_id).collect();
    let my_ids: Vec<_> = first.iter().map(|p| &p.provider_id).collect();
    assert_eq!(their_ids, my_ids);
}

#[tokio::test]
async fn overlapping_searches_share_people_and_filters_narrow() {
    let net = Net::new();
    // Paging five whole searches in one day is past LinkedIn's search wall; not under test here.
    let unmetered = EnforcementConfig { search_pages_per_day: 0, ..EnforcementConfig::default() };
    let sandbox = net.account("a1", SandboxConfig { enforcement: unmetered, ..cfg() });
    let berlin = all_people(
        &sandbox,
        "https://www.linkedin.com/search/results/people/?keywords=software%20engineer&geoUrn=%5B%22103035651%22%5D",
    )
    .await;
    assert!(!berlin.is_empty() && berlin.len() < 1_000);
    assert!(berlin.iter().all(|p| p.location.as_deref() == Some("Berlin, Germany")));
    let broad: HashSet<_> =
        all_people(&sandbox, "https://www.linkedin.com/search/results/people/?keywords=engineer%20berlin")
            .await
            .into_iter()
            .map(|p| p.provider_id)
            .collect();
    assert!(berlin.iter().any(|p| broad.contains(&p.provider_id)), "overlapping queries share people");
    // Free text outside the vocabulary still finds a stable slice of people.
    let odd = all_people(&sandbox, "https://www.linkedin.com/search/results/people/?keywords=quokka").await;
    assert!(!odd.is_empty());
    assert_eq!(odd, all_people(&sandbox, "https://www.linkedin.com/search/results/people/?keywords=Quokka").await);
}

#[tokio::test]
async fn sources_need_the_right_product_and_valid_input() {
    let net = Net::new();
    let classic = net.account("c", cfg());
    let sales_nav = net.account("s", SandboxConfig { account_type: AccountType::SalesNavigator, ..cfg() });
    let sn_url = "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)";
    let err = classic.search_people(&PeopleSource::SearchUrl(sn_url.into()), None, 25).await.unwrap_err();
    assert!(matches!(err, LinkedInError::FeatureUnavailable(_)));
    assert!(classic.saved_searches().await.unwrap().is_empty());
    let page = sales_nav.search_people(&PeopleSource::SearchUrl(sn_url.into()), None, 500).await.unwrap();
    assert_eq!(page.items.len(), 100, "Sales Navigator pages hold up to 100");
    let saved = sales_nav.saved_searches().await.unwrap();
    assert_eq!(saved.len(), 3);
    let from_saved = sales_nav.search_people(&PeopleSource::SavedSearch(saved[0].id.clone()), None, 10).await.unwrap();
    assert!(!from_saved.items.is_empty());
    let lists = sales_nav.lead_lists().await.unwrap();
    let members = sales_nav.search_people(&PeopleSource::LeadList(lists[0].id.clone()), None, 100).await.unwrap();
    assert!((20..=90).contains(&members.items.len()));
    let missing = sales_nav.search_people(&PeopleSource::SavedSearch("123".into()), None, 10).await.unwrap_err();
    assert!(matches!(missing, LinkedInError::NotFound(_)));
    let post = PeopleSource::PostCommenters("https://www.linkedin.com/posts/avery-stone_activity-7123".into());
    let commenters = classic.search_people(&post, None, 50).await.unwrap();
    assert!(commenters.total.unwrap() >= 20);
    for bad in [
        PeopleSource::SearchUrl("https://example.com/x".into()),
        PeopleSource::PostCommenters("https://www.linkedin.com/in/x".into()),
    ] {
        assert!(matches!(classic.search_people(&bad, None, 10).await.unwrap_err(), LinkedInError::InvalidInput(_)));
    }
}

#[tokio::test]
async fn profiles_resolve_by_provider_id_and_public_identifier() {
    let net = Net::new();
    let sandbox = net.account("a1", cfg());
    let person = all_people(&sandbox, ENGINEERS).await.remove(7);
    let by_id = sandbox.profile(&person.provider_id).await.unwrap();
    let by_slug = sandbox.profile(&person.public_identifier).await.unwrap();
    assert_eq!(by_id, person);
    assert_eq!(by_slug, person);
    let mut typo = person.provider_id.clone();
    typo.pop();
    typo.push('Z');
    assert!(matches!(sandbox.profile(&typo).await.unwrap_err(), LinkedInError::NotReachable(_)));
    assert!(sandbox.find_email(&person.provider_id).await.is_ok());
    let me = sandbox.own_profile().await.unwrap();
    assert!(me.provider_id.starts_with("ACoAA"));
}

#[tokio::test]
async fn invitations_are_accepted_only_as_simulated_time_passes() {
    let net = Net::new();
    let config = SandboxConfig { invitations_per_day: 500, invitations_per_week: 500, ..cfg() };
    let sandbox = net.account("a1", config);
    let people: Vec<_> = all_people(&sandbox, ENGINEERS)
        .await
        .into_iter()
        .filter(|p| p.connection_degree != Some(1))
        .take(120)
        .collect();
    for (k, p) in people.iter().enumerate() {
        sandbox.send_invitation(&token(&format!("inv-{k}")), &p.provider_id, Some("Hi!")).await.unwrap();
    }
    let invited: HashSet<_> = people.iter().map(|p| p.provider_id.clone()).collect();
    let accepted_now =
        sandbox.relations(None).await.unwrap().items.iter().filter(|r| invited.contains(&r.provider_id)).count();
    assert_eq!(accepted_now, 0, "nobody accepts instantly");
    assert_eq!(sandbox.sent_invitations(None).await.unwrap().total, Some(120));
    let not_yet = sandbox.start_chat(&token("early"), &people[0].provider_id, "hello").await;
    assert!(matches!(not_yet, Err(LinkedInError::NotConnected)));

    net.clock.advance_millis(73 * HOUR);
    let mut all_relations = Vec::new();
    let mut cursor = None;
    loop {
        let page = sandbox.relations(cursor.as_deref()).await.unwrap();
        all_relations.extend(page.items);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let accepted: Vec<_> = all_relations.iter().filter(|r| invited.contains(&r.provider_id)).collect();
    assert!((20..=65).contains(&accepted.len()), "about 35% accept: {}", accepted.len());
    let pending = sandbox.sent_invitations(None).await.unwrap().total.unwrap() as usize;
    assert_eq!(pending + accepted.len(), 120);
    let friend = accepted[0].provider_id.clone();
    assert_eq!(sandbox.profile(&friend).await.unwrap().connection_degree, Some(1));
    sandbox.start_chat(&token("hello-friend"), &friend, "Thanks for connecting!").await.unwrap();
    let again = sandbox.send_invitation(&token("re-invite"), &friend, None).await.unwrap_err();
    assert!(matches!(again, LinkedInError::AlreadyDone(_)));
}

#[tokio::test]
async fn replies_arrive_after_a_delay_in_the_conversation() {
    let net = Net::new();
    let sandbox = net.account("a1", SandboxConfig { reply_rate: 1.0, ..cfg() });
    let relations = sandbox.relations(None).await.unwrap().items;
    assert!(relations.len() >= 50, "the account starts with connections");
    let chats_before = sandbox.chats(None).await.unwrap();
    assert!(!chats_before.items.is_empty(), "and with conversations");
    let friend = &relations[0].provider_id;
    let sent = sandbox.start_chat(&token("m1"), friend, "Hi there, quick question").await.unwrap();
    let messages = sandbox.chat_messages(&sent.chat_id, None).await.unwrap().items;
    assert_eq!(messages[0].text, "Hi there, quick question");
    assert!(messages[0].is_sender);
    assert!(messages.iter().all(|m| m.sent_at <= start()));

    net.clock.advance_millis(49 * HOUR);
    let messages = sandbox.chat_messages(&sent.chat_id, None).await.unwrap().items;
    assert!(!messages[0].is_sender, "the reply is the newest message");
    assert_eq!(messages[0].sender_provider_id, *friend);
    assert_eq!(messages[0].parent_message_id, sent.message_id);
    let chat = sandbox.chats(None).await.unwrap().items.into_iter().find(|c| c.chat_id == sent.chat_id).unwrap();
    assert_eq!(chat.unread_count, 1);
    sandbox.send_message(&token("m2"), &sent.chat_id, "Great, talk soon").await.unwrap();
    let unknown = sandbox.send_message(&token("m3"), "2-nope", "hello").await.unwrap_err();
    assert!(matches!(unknown, LinkedInError::NotFound(_)));
}

#[tokio::test]
async fn limits_answer_like_linkedin() {
    let net = Net::new();
    let config = SandboxConfig {
        invitations_per_day: 3,
        invitations_per_week: 5,
        inmail_credits: 2,
        account_type: AccountType::SalesNavigator,
        ..cfg()
    };
    let sandbox = net.account("a1", config);
    let people: Vec<_> =
        all_people(&sandbox, ENGINEERS).await.into_iter().filter(|p| p.connection_degree != Some(1)).collect();
    for (k, person) in people.iter().take(3).enumerate() {
        sandbox.send_invitation(&token(&format!("i{k}")), &person.provider_id, None).await.unwrap();
    }
    let capped = sandbox.send_invitation(&token("i3"), &people[3].provider_id, None).await.unwrap_err();
    assert_eq!(capped, LinkedInError::LimitReached(LimitKind::WeeklyInvitations));
    net.clock.advance_millis(25 * HOUR);
    sandbox.send_invitation(&token("i3"), &people[3].provider_id, None).await.unwrap();
    sandbox.send_invitation(&token("i4"), &people[4].provider_id, None).await.unwrap();
    let weekly = sandbox.send_invitation(&token("i5"), &people[5].provider_id, None).await.unwrap_err();
    assert_eq!(weekly, LinkedInError::LimitReached(LimitKind::WeeklyInvitations));

    let long_note = "x".repeat(301);
    let err = sandbox.send_invitation(&token("long"), &people[9].provider_id, Some(&long_note)).await.unwrap_err();
    assert!(matches!(err, LinkedInError::InvalidInput(_)));

    let mut sent = 0;
    for p in &people[10..30] {
        match sandbox.send_inmail(&token(&format!("in-{}", p.provider_id)), &p.provider_id, "Hello", "Body").await {
            Ok(_) => sent += 1,
            Err(LinkedInError::NotReachable(_)) => {}
            Err(LinkedInError::LimitReached(LimitKind::InMailCredits)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(sent, 2);
    assert_eq!(sandbox.inmail_credits().await.unwrap(), Some(0));
}

#[tokio::test]
async fn a_repeated_token_sends_nothing_new_even_across_instances() {
    let net = Net::new();
    let one = net.account("a1", cfg());
    let friend = one.relations(None).await.unwrap().items[0].provider_id.clone();
    let first = one.start_chat(&token("same"), &friend, "Hello once").await.unwrap();
    let again = one.start_chat(&token("same"), &friend, "Hello once").await.unwrap();
    assert_eq!(first, again);
    // A second process sharing the journal honours the token too.
    let two = net.account("a1", cfg());
    let third = two.start_chat(&token("same"), &friend, "Hello once").await.unwrap();
    assert_eq!(first, third);
    let ledger = two.ledger().await.unwrap();
    assert_eq!(ledger.iter().filter(|a| a.token == "same").count(), 1);
    assert_eq!(
        one.reconcile(
            &token("same"),
            &OutboundAttempt::StartChat { recipient_provider_id: friend.clone(), text: "Hello once".into() },
            start()
        )
        .await
        .unwrap(),
        vec![Trace::Message(first.clone())]
    );
    assert_eq!(
        one.reconcile(&token("never"), &OutboundAttempt::Invitation { recipient_provider_id: friend }, start())
            .await
            .unwrap(),
        vec![]
    );
    let messages = two.chat_messages(&first.chat_id, None).await.unwrap().items;
    assert_eq!(messages.iter().filter(|m| m.text == "Hello once").count(), 1);
}

#[tokio::test]
async fn faults_and_bursts_surface_as_typed_retryable_errors() {
    let net = Net::new();
    let flaky = net.account("a1", SandboxConfig { fault_rate: 0.3, ..cfg() });
    let mut faults = 0;
    for _ in 0..200 {
        match flaky.own_profile().await {
            Ok(_) => {}
            Err(e) => {
                assert!(matches!(e, LinkedInError::Transient(_)) && e.is_retryable());
                faults += 1;
            }
        }
    }
    assert!((30..=90).contains(&faults), "about 30% fail: {faults}");

    let bursty = net.account("b1", SandboxConfig { burst_per_minute: 5, ..cfg() });
    let people = all_people(&bursty, ENGINEERS).await;
    for p in &people[..5] {
        bursty.follow(&token(&format!("f-{}", p.provider_id)), &p.provider_id).await.unwrap();
    }
    let limited = bursty.follow(&token("f-more"), &people[5].provider_id).await.unwrap_err();
    assert!(matches!(limited, LinkedInError::RateLimited { retry_after: Some(_) }) && limited.is_retryable());
    net.clock.advance_millis(61_000);
    bursty.follow(&token("f-more"), &people[5].provider_id).await.unwrap();
}

#[tokio::test]
async fn recent_activity_is_a_stable_dated_history_that_grows_with_the_clock() {
    use sonarly_domain::clock::Clock;
    use sonarly_domain::template::SignalSource;
    let net = Net::new();
    let sandbox = net.account("a1", cfg());
    let people = all_people(&sandbox, ENGINEERS).await;
    let mut sources = HashSet::new();
    let mut total = 0;
    for person in people.iter().take(40) {
        let items = sandbox.recent_activity(&person.provider_id).await.unwrap();
        // The same history through the public identifier, from another account, after a restart.
        assert_eq!(items, sandbox.recent_activity(&person.public_identifier).await.unwrap());
        let other = net.account("a2", SandboxConfig { account_seed: 7, ..cfg() });
        assert_eq!(items, other.recent_activity(&person.provider_id).await.unwrap());
        for item in &items {
            assert!(item.occurred_at <= start(), "{item:?} is in the future");
            assert!(!item.id.is_empty() && !item.text.is_empty());
            match item.source {
                SignalSource::LinkedinPosts => {
                    assert!(item.post_link.as_deref().unwrap().starts_with("https://www.linkedin.com/feed/update/"));
                    assert!(item.total_likes.is_some() && item.total_comments.is_some());
                }
                SignalSource::LinkedinComments => assert!(item.comment_link.is_some() && item.post_link.is_some()),
                SignalSource::JobChanges | SignalSource::Hiring => {
                    assert!(item.job_url.is_some() && item.company_name.is_some() && item.title.is_some())
                }
                SignalSource::CompanyNews | SignalSource::Funding => assert!(item.company_name.is_some()),
            }
            sources.insert(item.source);
        }
        total += items.len();
    }
    assert!(total > 100, "people are active: {total} items for 40 people");
    assert!(sources.len() >= 5, "varied sources: {sources:?}");

    // Two weeks later new items appear, and the ones still in the window are unchanged.
    let person = &people[0].provider_id;
    let before = sandbox.recent_activity(person).await.unwrap();
    net.clock.advance_millis(14 * 24 * HOUR);
    let after = sandbox.recent_activity(person).await.unwrap();
    let newest_before = before.first().map(|i| i.occurred_at);
    assert!(after.iter().all(|i| i.occurred_at <= net.clock.now()));
    if let Some(newest) = newest_before {
        let fresh: Vec<_> = after.iter().filter(|i| i.occurred_at > start()).collect();
        assert!(after.iter().any(|i| i.occurred_at >= newest));
        assert!(fresh.iter().all(|i| !before.contains(i)));
    }

    let err = sandbox.recent_activity("ACoAAnobody").await.unwrap_err();
    assert!(matches!(err, LinkedInError::NotReachable(_)), "{err:?}");
}

#[tokio::test]
async fn a_withdrawn_invitation_leaves_the_pending_list_and_blocks_a_new_one_for_three_weeks() {
    let net = Net::new();
    let a = net.account("wd", SandboxConfig { acceptance_rate: 0.0, ..cfg() });
    let people = all_people(&a, ENGINEERS).await;
    let stranger = people.iter().find(|p| p.connection_degree != Some(1)).unwrap();
    let sent = a.send_invitation(&token("inv-1"), &stranger.provider_id, None).await.unwrap();
    assert_eq!(a.sent_invitations(None).await.unwrap().items.len(), 1);

    net.clock.advance_millis(22 * 24 * HOUR);
    a.withdraw_invitation(&sent.invitation_id).await.unwrap();
    assert!(a.sent_invitations(None).await.unwrap().items.is_empty(), "withdrawn: no longer pending");
    // Idempotent: again, or an id LinkedIn never issued, is success and records nothing new.
    a.withdraw_invitation(&sent.invitation_id).await.unwrap();
    a.withdraw_invitation("inv-unknown").await.unwrap();
    let withdrawals = a.ledger().await.unwrap().into_iter().filter(|x| x.kind.as_str() == "withdrawal").count();
    assert_eq!(withdrawals, 1);
    assert_eq!(
        a.meter().calls_on(sonarly_linkedin::sandbox::CallKind::Withdrawal, net.clock.now()),
        3,
        "LinkedIn counts every call"
    );

    // LinkedIn's cool-down: no new invitation to them for three weeks, then it goes.
    net.clock.advance_millis(20 * 24 * HOUR);
    let refused = a.send_invitation(&token("inv-2"), &stranger.provider_id, None).await.unwrap_err();
    assert!(matches!(refused, LinkedInError::NotReachable(_)), "{refused:?}");
    net.clock.advance_millis(2 * 24 * HOUR);
    a.send_invitation(&token("inv-3"), &stranger.provider_id, None).await.unwrap();
    assert_eq!(a.sent_invitations(None).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn withdrawals_past_the_daily_limit_are_refused() {
    let net = Net::new();
    let a = net.account("wd-limit", SandboxConfig { acceptance_rate: 0.0, withdrawals_per_day: 2, ..cfg() });
    let people = all_people(&a, ENGINEERS).await;
    let mut ids = Vec::new();
    for (k, p) in people.iter().filter(|p| p.connection_degree != Some(1)).take(3).enumerate() {
        ids.push(a.send_invitation(&token(&format!("inv-{k}")), &p.provider_id, None).await.unwrap().invitation_id);
    }
    a.withdraw_invitation(&ids[0]).await.unwrap();
    a.withdraw_invitation(&ids[1]).await.unwrap();
    let refused = a.withdraw_invitation(&ids[2]).await.unwrap_err();
    assert_eq!(refused, LinkedInError::LimitReached(LimitKind::DailyActions));
    assert_eq!(a.sent_invitations(None).await.unwrap().items.len(), 1);
    net.clock.advance_millis(25 * HOUR);
    a.withdraw_invitation(&ids[2]).await.unwrap();
    assert!(a.sent_invitations(None).await.unwrap().items.is_empty());
}
