//! The double's own behaviour: what each fault delivers and answers, in
//! process (manual clock) and over HTTP through the real Unipile connector.

use super::*;
use sonarly_domain::Timestamp;
use sonarly_domain::clock::{Clock, ManualClock, SharedClock, SystemClock};
use sonarly_linkedin::unipile::{UnipileConfig, UnipileLinkedIn};
use sonarly_linkedin::{LinkedIn, LinkedInError, OutboundToken};
use std::sync::Arc;
use std::time::Duration;

fn in_process(connections: usize) -> (ManualClock, FaultyNetwork, FaultyLinkedIn) {
    let clock = ManualClock::new(Timestamp::parse_rfc3339("2026-06-01T10:00:00Z").unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let net = FaultyNetwork::new(shared, connections, 2);
    let li = FaultyLinkedIn::new(net.clone(), clock.clone());
    (clock, net, li)
}

fn token(t: &str) -> OutboundToken {
    OutboundToken::new(t)
}

#[tokio::test]
async fn the_same_token_twice_is_two_deliveries() {
    let (_, net, li) = in_process(1);
    let to = net.connections()[0].provider_id.clone();
    let first = li.start_chat(&token("t"), &to, "Thanks!").await.unwrap();
    li.send_message(&token("t"), &first.chat_id, "Thanks!").await.unwrap();
    assert_eq!(net.delivered_count("Thanks!"), 2);
    let messages = li.chat_messages(&first.chat_id, None).await.unwrap().items;
    assert_eq!(messages.len(), 2, "both copies are in the chat");
}

#[tokio::test]
async fn fail_before_delivers_nothing_and_deliver_then_fail_delivers() {
    let (_, net, li) = in_process(1);
    let to = net.connections()[0].provider_id.clone();
    net.push_faults([Fault::FailBefore(Failure::Status(503)), Fault::DeliverThenFail(Failure::Reset)]);
    assert!(matches!(li.start_chat(&token("a"), &to, "A").await, Err(LinkedInError::Transient(_))));
    assert_eq!(net.deliveries().len(), 0);
    assert!(matches!(li.start_chat(&token("b"), &to, "B").await, Err(LinkedInError::Transient(_))));
    assert_eq!(net.delivered_count("B"), 1);
    net.push_faults([Fault::FailBefore(Failure::Status(429))]);
    assert!(matches!(li.start_chat(&token("c"), &to, "C").await, Err(LinkedInError::RateLimited { .. })));
}

#[tokio::test]
async fn a_send_slower_than_the_client_times_out_and_arrives_later() {
    let (clock, net, li) = in_process(1);
    let to = net.connections()[0].provider_id.clone();
    let start = clock.now();
    net.push_faults([Fault::Slow(45_000)]);
    assert!(matches!(li.start_chat(&token("s"), &to, "Slow").await, Err(LinkedInError::Transient(_))));
    assert_eq!(clock.now(), start.plus_millis(30_000), "the client gave up after its timeout");
    let d = &net.deliveries()[0];
    assert_eq!(d.at, start.plus_millis(45_000));
    assert!(li.chats(None).await.unwrap().items.is_empty(), "not visible before it happens");
    clock.advance_millis(15_000);
    assert_eq!(li.chats(None).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn deliveries_show_only_after_the_visibility_delay() {
    let (clock, net, li) = in_process(1);
    let to = net.connections()[0].provider_id.clone();
    net.set_visibility_delay(60_000);
    let sent = li.start_chat(&token("v"), &to, "Later").await.unwrap();
    assert!(li.chat_messages(&sent.chat_id, None).await.unwrap().items.is_empty());
    clock.advance_millis(60_000);
    assert_eq!(li.chat_messages(&sent.chat_id, None).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn held_calls_wait_for_release_and_hung_calls_count_until_cancelled() {
    let (_, net, li) = in_process(1);
    let to = net.connections()[0].provider_id.clone();
    net.push_faults([Fault::Hold, Fault::Hang { deliver: true }]);
    let held = {
        let (li, to) = (li.clone(), to.clone());
        tokio::spawn(async move { li.start_chat(&token("h"), &to, "Held").await })
    };
    net.wait_stuck(1).await;
    assert_eq!(net.deliveries().len(), 0);
    let hung = {
        let (li, to) = (li.clone(), to.clone());
        tokio::spawn(async move { li.start_chat(&token("x"), &to, "Hung").await })
    };
    net.wait_stuck(2).await;
    net.release_held(1);
    assert!(held.await.unwrap().is_ok());
    hung.abort();
    let _ = hung.await;
    assert_eq!(net.stuck_calls(), 0);
    assert_eq!((net.delivered_count("Held"), net.delivered_count("Hung")), (1, 1));
}

#[tokio::test]
async fn invitations_are_pending_until_accepted_and_refused_twice() {
    let (_, net, li) = in_process(0);
    let to = net.members()[0].provider_id.clone();
    li.send_invitation(&token("i"), &to, Some("Hi")).await.unwrap();
    assert_eq!(li.sent_invitations(None).await.unwrap().items.len(), 1);
    assert!(matches!(li.send_invitation(&token("i"), &to, None).await, Err(LinkedInError::AlreadyDone(_))));
    net.accept_invitation(&to);
    assert!(li.sent_invitations(None).await.unwrap().items.is_empty());
    assert_eq!(li.profile(&to).await.unwrap().connection_degree, Some(1));
}

fn connector(mock: &UnipileMock, timeout: Duration) -> UnipileLinkedIn {
    let config = UnipileConfig {
        base_url: mock.base_url(),
        api_key: UnipileMock::API_KEY.into(),
        account_id: UnipileMock::ACCOUNT_ID.into(),
    };
    UnipileLinkedIn::with_timeouts(config, Duration::from_secs(5), timeout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_mock_speaks_unipile_to_the_real_connector() {
    let net = FaultyNetwork::new(Arc::new(SystemClock), 2, 1);
    let mock = UnipileMock::start(net.clone()).await.unwrap();
    let li = connector(&mock, Duration::from_secs(10));
    let to = net.connections()[0].provider_id.clone();
    let sent = li.start_chat(&token("m"), &to, "Hello over HTTP").await.unwrap();
    assert!(sent.chat_id.starts_with("2-"), "{sent:?}");
    li.send_message(&token("m2"), &sent.chat_id, "Second line").await.unwrap();
    let chats = li.chats(None).await.unwrap().items;
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].attendee_provider_id.as_deref(), Some(to.as_str()));
    let messages = li.chat_messages(&sent.chat_id, None).await.unwrap().items;
    assert_eq!(messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["Second line", "Hello over HTTP"]);
    assert!(messages.iter().all(|m| m.is_sender));
    assert_eq!(li.own_profile().await.unwrap().provider_id, net.own_member_id());
    assert_eq!(li.relations(None).await.unwrap().items.len(), 2);

    let other = net.members().iter().find(|m| !m.connected).unwrap().provider_id.clone();
    assert!(matches!(li.start_chat(&token("n"), &other, "No").await, Err(LinkedInError::NotConnected)));
    li.send_invitation(&token("i"), &other, Some("Let us connect")).await.unwrap();
    let pending = li.sent_invitations(None).await.unwrap().items;
    assert_eq!(pending[0].recipient_provider_id, other);
    assert!(matches!(li.send_invitation(&token("i"), &other, None).await, Err(LinkedInError::AlreadyDone(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_mock_fails_writes_before_and_after_delivering() {
    let net = FaultyNetwork::new(Arc::new(SystemClock), 1, 0);
    let mock = UnipileMock::start_with_timeout_hold(net.clone(), Duration::from_secs(30)).await.unwrap();
    let li = connector(&mock, Duration::from_millis(400));
    let to = net.connections()[0].provider_id.clone();
    net.push_faults([
        Fault::FailBefore(Failure::Status(503)),
        Fault::DeliverThenFail(Failure::Reset),
        Fault::DeliverThenFail(Failure::Timeout),
        Fault::Slow(20_000),
    ]);
    for (k, text) in ["503", "reset", "timeout", "slow"].iter().enumerate() {
        let answer = li.start_chat(&token(text), &to, text).await;
        assert!(matches!(answer, Err(LinkedInError::Transient(_))), "write {k}: {answer:?}");
    }
    let texts: Vec<String> = net.deliveries().into_iter().filter_map(|d| d.text).collect();
    assert_eq!(texts, ["reset", "timeout", "slow"], "a failure before delivering delivers nothing");
    let slow = net.deliveries().pop().unwrap();
    assert!(slow.at > net.now(), "the slow write happens after the client gave up");
}
