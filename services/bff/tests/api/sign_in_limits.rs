//! Sign-in limits (issue 12, points 4 and 5): attempts are counted before
//! the password is checked, atomically, in Redis (MariaDB runs) and in
//! process (SQLite runs); a stranger's failures throttle their own
//! (account, address) pair and never lock the owner out.

use std::time::{Duration, Instant};

use folio_bff::settings::LoginLimits;
use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::{Browser, Options, PASSWORD, Reply, TestSystem};

backend_tests!(
    parallel_wrong_passwords_are_limited,
    strangers_cannot_lock_the_owner_out
);

/// `POST /api/v1/session` as a client at `address` (behind one trusted proxy).
async fn sign_in_from(browser: &Browser, address: &str, email: &str, password: &str) -> Reply {
    let path = "/api/v1/session";
    let request = browser
        .request(Method::POST, path)
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}));
    browser.send(request, &Method::POST, path).await
}

async fn parallel_wrong_passwords_are_limited(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let browser = system.browser();
    let attempts = (0..20).map(|_| {
        let browser = browser.clone();
        async move {
            browser
                .sign_in("admin@acme.example", "wrong password!!")
                .await
        }
    });
    let replies = futures::future::join_all(attempts).await;
    let count = |status| replies.iter().filter(|r| r.status == status).count();
    let (refused, limited) = (
        count(StatusCode::UNAUTHORIZED),
        count(StatusCode::TOO_MANY_REQUESTS),
    );
    assert_eq!(refused + limited, 20, "only 401s and 429s");
    assert!(
        refused <= 5,
        "at most the limit (5) of parallel guesses reach the password check: {refused} did"
    );
    for reply in replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
    {
        assert_eq!(reply.problem_type(), "rate-limited");
        assert!(reply.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    }
    // The same pair stays limited, right password or not.
    assert_eq!(
        browser.sign_in("admin@acme.example", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn strangers_cannot_lock_the_owner_out(backend: Backend) {
    let slow_down = Duration::from_millis(20);
    let options = Options {
        login: LoginLimits {
            per_account: 3,
            per_address: 1000,
            window: Duration::from_secs(60),
            slow_down,
        },
        forwarded_hops: 1,
        ..Options::default()
    };
    let system = TestSystem::spawn_with(backend, options).await;
    let browser = system.browser();
    let owner = "admin@acme.example";
    // Five strangers guess, each until their own pair is limited.
    for stranger in 1..=5 {
        let address = format!("198.51.100.{stranger}");
        for attempt in 1..=5 {
            let reply = sign_in_from(&browser, &address, owner, "wrong password!!").await;
            let expected = if attempt <= 3 {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            assert_eq!(reply.status, expected, "{address}, attempt {attempt}");
        }
    }
    // Fifteen failures on the account: a new address is slowed down, not refused.
    let started = Instant::now();
    let guess = sign_in_from(&browser, "198.51.100.77", owner, "wrong password!!").await;
    assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    assert!(
        started.elapsed() >= slow_down * 9,
        "attempts on an account under attack are slowed down ({:?})",
        started.elapsed()
    );
    // The owner, from an address that has not failed, signs in.
    let owner_in = sign_in_from(&browser, "203.0.113.9", owner, PASSWORD).await;
    assert_eq!(owner_in.status, StatusCode::OK, "{}", owner_in.text());
    // A stranger's pair is still limited, even with the right password.
    assert_eq!(
        sign_in_from(&browser, "198.51.100.1", owner, PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The owner's own failures limit only the owner's pair.
    for _ in 0..3 {
        sign_in_from(&browser, "203.0.113.9", owner, "typo password!!").await;
    }
    assert_eq!(
        sign_in_from(&browser, "203.0.113.9", owner, PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_in_from(&browser, "203.0.113.10", owner, PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}
