//! Contract tests: Microsoft's documented example payloads (kept in
//! tests/fixtures/graph, sources in its README) read with the types the
//! integration really uses. A fixture that stops parsing, or parses into
//! something else, means our reading of Graph is wrong.

use super::{DeltaPage, DriveItem, ErrorBody, SubscriptionBody, auth, parse_time};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/graph/",
            $name
        ))
    };
}

fn page(raw: &str) -> DeltaPage {
    serde_json::from_str(raw).expect("a delta page")
}

#[test]
fn delta_pages_parse_with_their_links_and_tombstones() {
    let first = page(fixture!("delta-page-with-nextlink.json"));
    assert!(
        first
            .next_link
            .as_deref()
            .is_some_and(|l| l.starts_with("https://graph.microsoft.com/"))
    );
    assert!(first.delta_link.is_none());
    assert_eq!(first.value.len(), 3);
    assert!(first.value[0].is_folder());
    assert!(first.value[1].file.is_some() && !first.value[1].is_deleted());
    assert!(first.value[2].is_deleted());
    // A bare `file: {}` (no hashes) has no content hash: nothing to compare.
    assert_eq!(first.value[1].content_hash(), None);

    let last = page(fixture!("delta-final-page-with-deltalink.json"));
    assert!(last.next_link.is_none());
    // The odd `delta?(token='…')` form is a link like any other.
    assert!(
        last.delta_link
            .as_deref()
            .is_some_and(|l| l.contains("(token='"))
    );
    assert!(last.value[0].is_deleted() && last.value[0].is_folder());

    let latest = page(fixture!("delta-token-latest.json"));
    assert!(latest.value.is_empty());
    assert!(latest.delta_link.is_some());
}

#[test]
fn tombstones_and_the_deleted_facet() {
    let item: DriveItem = serde_json::from_str(fixture!("delta-deleted-item.json")).unwrap();
    assert!(item.is_deleted());
    assert!(!item.is_folder());
    // ODB tombstones carry only id, deleted and parentReference.
    let facet: serde_json::Value = serde_json::from_str(fixture!("deleted-facet.json")).unwrap();
    let odb: DriveItem = serde_json::from_value(serde_json::json!({
        "id": "01ABC",
        "deleted": facet,
        "parentReference": { "id": "01PARENT", "driveId": "b!x", "driveType": "business" },
    }))
    .unwrap();
    assert!(odb.is_deleted());
    assert_eq!(odb.name, None);
    assert_eq!(odb.parent_id(), Some("01PARENT"));
}

#[test]
fn error_bodies_name_their_code() {
    for (raw, code) in [
        (fixture!("error-410-resync-required.json"), "resyncRequired"),
        (
            fixture!("error-429-too-many-requests.json"),
            "TooManyRequests",
        ),
        (fixture!("error-fragment-overlap.json"), "invalidRange"),
        (fixture!("upload-conflict-409.json"), "nameAlreadyExists"),
    ] {
        let body: ErrorBody = serde_json::from_str(raw).expect(code);
        assert_eq!(body.error.code, code);
    }
}

#[test]
fn subscription_answer_with_seven_digit_fractions() {
    let created: SubscriptionBody =
        serde_json::from_str(fixture!("subscription-create-response.json")).unwrap();
    assert_eq!(created.id, "7f105c7d-2dc5-4530-97cd-4e7ae6534c07");
    let expires = parse_time(&created.expiration).expect("7 fractional digits parse");
    assert_eq!(expires.year(), 2016);
}

#[test]
fn token_answers() {
    let ok: auth::TokenResponse = serde_json::from_str(fixture!("token-response.json")).unwrap();
    assert_eq!(ok.expires_in, 3599);
    assert!(ok.access_token.starts_with("eyJ"));
    let refused: auth::TokenError = serde_json::from_str(fixture!("token-error.json")).unwrap();
    assert_eq!(refused.error, "invalid_scope");
}

#[test]
fn upload_answers_are_drive_items_or_sessions() {
    let done: DriveItem = serde_json::from_str(fixture!("upload-complete-201.json")).unwrap();
    assert_eq!(done.size, Some(128));
    assert!(done.file.is_some());
    // The session and fragment answers are read by upload.rs; here only
    // that they are the JSON the docs show.
    for raw in [
        fixture!("create-upload-session-response.json"),
        fixture!("upload-fragment-202.json"),
        fixture!("upload-fragment-202-multiple-ranges.json"),
        fixture!("upload-session-status-resume.json"),
    ] {
        let value: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert!(value.get("expirationDateTime").is_some());
    }
}

#[test]
fn notifications_are_the_documented_envelopes() {
    // Read by api/webhook.rs; checked there against these shapes.
    for raw in [
        fixture!("change-notification.json"),
        fixture!("onedrive-webhook-notification.json"),
        fixture!("lifecycle-notification.json"),
        fixture!("lifecycle-reauthorization-required.json"),
    ] {
        let value: serde_json::Value = serde_json::from_str(raw).unwrap();
        let first = &value["value"][0];
        assert!(first["subscriptionId"].is_string() && first["clientState"].is_string());
    }
}

#[test]
fn every_fixture_is_covered() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/graph");
    let here = include_str!("contract.rs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".json") {
            assert!(
                here.contains(&format!("fixture!(\"{name}\")")),
                "{name} is not tested"
            );
        }
    }
}
