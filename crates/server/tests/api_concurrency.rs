//! Concurrent requests on one card: a card is one chip, so operations on it
//! take turns; none may fail as a server error, exactly one acts.

mod support;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use mynacard_store::access::StaffRole;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_simultaneous_conversions_of_one_card_act_once_and_never_fail() {
    let app = TestApp::new("concurrency", date(2026, 11, 29));
    let clerk = app.login_as("chiyoda.busy", StaffRole::Window, Some(CHIYODA)).await;
    let resident = app.resident(
        CHIYODA,
        "並行　太郎",
        &mynacard_rules::numbers::MyNumber::complete("31415926535")
            .expect("n")
            .expose(),
        date(1985, 5, 5),
    );
    let serial = app.issue_card(CHIYODA, resident);
    let path = format!("/api/v1/window/cards/{serial}/face-recognition");
    let keys: Vec<String> = (0..8).map(|i| format!("busy-{i}")).collect();
    let calls = keys
        .iter()
        .map(|key| app.call(Method::POST, &path, &clerk, Some(key), None));
    let answers = futures_join_all(calls).await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for a in &answers {
        assert!(!a.status.is_server_error(), "a server error: {}", a.text);
        *by_status.entry(a.status.as_u16()).or_default() += 1;
    }
    assert_eq!(by_status.get(&200), Some(&1), "exactly one conversion: {by_status:?}");
    let record = app
        .get(&format!("/api/v1/window/residents/{resident}"), &clerk)
        .await
        .expect(StatusCode::OK);
    assert_eq!(record.json["cards"][0]["face_recognition"], true, "{}", record.text);
    let entries = record.json["cards"][0]["surface_entries"]
        .as_array()
        .map_or(0, |e| e.len());
    assert!(entries <= 1, "one 追記欄 entry at most: {}", record.text);
    for a in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
        // Decided before the first conversion was recorded: `state_changed`
        // (retry); after it: `face_card_already`.
        assert!(["face_card_already", "state_changed"].contains(&a.code()), "{}", a.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_passwords_sent_at_once_all_count_and_lock_the_account() {
    let app = TestApp::new("concurrency-login", date(2026, 11, 29));
    app.staff("hotline.busy", StaffRole::Hotline, None);
    let body = serde_json::json!({"login": "hotline.busy", "password": "not the password"});
    let nobody = As::nobody();
    let calls = (0..8).map(|_| app.call(Method::POST, "/api/v1/session", &nobody, None, Some(body.clone())));
    let answers = futures_join_all(calls).await;
    for a in &answers {
        assert!(
            a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::TOO_MANY_REQUESTS,
            "{}",
            a.text
        );
    }
    // Eight failures counted, not one per moment: the account is locked,
    // and even the right password is refused until the lock runs out.
    let right = app
        .call(
            Method::POST,
            "/api/v1/session",
            &As::nobody(),
            None,
            Some(serde_json::json!({"login": "hotline.busy", "password": PASSWORD})),
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "{}", right.text);
    assert_eq!(right.code(), "too_many_attempts");
}

/// Runs the futures at once on the runtime's workers and collects their answers.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<Answer>
where
    F: std::future::Future<Output = Answer>,
{
    // The router is cloned per request; run them interleaved in this task
    // (the handlers' blocking work goes to the blocking pool in parallel).
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out = Vec::new();
    let mut pending: Vec<_> = set.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for slot in pending.iter_mut() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(answer) => {
                        out.push(answer);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out
}
