use std::time::Duration;

use folio_platform::db::Backend;
use folio_testkit::{Redis, process::free_port};
use reqwest::StatusCode;

use super::helpers::{Options, PASSWORD, Sessions, TestSystem};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_is_a_clear_503_and_the_bff_recovers() {
    let port = free_port();
    let redis = Redis::start_on(port);
    let options = Options {
        sessions: Some(Sessions::redis(redis.url())),
        ..Options::default()
    };
    let system = TestSystem::spawn_with(Backend::Sqlite, options).await;
    let admin = system.signed_in("admin@acme.example").await;
    assert_eq!(admin.get("/api/v1/documents").await.status, StatusCode::OK);

    drop(redis);
    // A session read within the last second is used without asking Redis
    // (docs/adr/0075); past that, the request needs Redis.
    tokio::time::sleep(folio_bff::session::RECENT_FOR + Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let down = admin.get("/api/v1/documents").await;
    assert_eq!(
        (down.status, down.problem_type().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "service-unavailable")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no hang: {:?}",
        started.elapsed()
    );
    let sign_in = system
        .browser()
        .sign_in("admin@acme.example", PASSWORD)
        .await;
    assert_eq!(sign_in.status, StatusCode::SERVICE_UNAVAILABLE);
    let ready = admin.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);

    // Redis returns (empty: it keeps nothing on disk), and so does the bff.
    let _redis = Redis::start_on(port);
    let mut recovered = false;
    for _ in 0..40 {
        if system.browser().get("/readyz").await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "ready again once Redis is back");
    let again = system.signed_in("admin@acme.example").await;
    assert_eq!(again.get("/api/v1/documents").await.status, StatusCode::OK);
}
