//! `openapi/integration.yaml` is checked against itself and against the
//! running service: it is OpenAPI 3.1, every reference resolves, its
//! examples are valid, and what the webhook answers fits its schemas.

use folio_platform::db::Backend;
use serde_json::{Value, json};

use crate::helpers::World;

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/integration.yaml"
    ))
    .expect("openapi/integration.yaml");
    serde_yaml::from_str(&text).expect("valid YAML")
}

/// A validator for one component schema, with the spec's components in scope.
fn validator(spec: &Value, schema: &str) -> jsonschema::Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{schema}"),
        "components": spec["components"],
    });
    jsonschema::validator_for(&root).expect("a valid JSON Schema")
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    out.push(v.as_str().unwrap().to_owned());
                }
                refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

#[test]
fn the_contract_is_consistent() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1."));
    for path in [
        folio_integration::api::webhook::NOTIFICATIONS_PATH,
        folio_integration::api::webhook::LIFECYCLE_PATH,
        "/healthz",
        "/readyz",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} is described");
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(!all.is_empty());
    for reference in all {
        let pointer = reference.strip_prefix('#').expect("local reference");
        assert!(spec.pointer(pointer).is_some(), "{reference} resolves");
    }
    // Every example fits its schema.
    let batch = validator(&spec, "NotificationBatch");
    for path in [
        "/api/v1/onedrive/notifications",
        "/api/v1/onedrive/lifecycle",
    ] {
        let example =
            &spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"];
        assert!(batch.is_valid(example), "{path} example");
    }
    let problem = validator(&spec, "Problem");
    let example = &spec["components"]["responses"]["Malformed"]["content"]["application/problem+json"]
        ["example"];
    assert!(problem.is_valid(example));
    assert!(!problem.is_valid(&json!({ "type": "about:blank", "title": "x", "status": 400 })));
    assert!(!batch.is_valid(&json!({ "value": [{ "clientState": "x" }] })));
}

async fn the_webhook_answers_as_described(backend: Backend) {
    let world = World::start(backend).await;
    let spec = spec();
    let problem = validator(&spec, "Problem");
    let url = world.webhook_url(folio_integration::api::webhook::NOTIFICATIONS_PATH);
    let client = reqwest::Client::new();
    for (content_type, body, status) in [
        ("application/json", "{".to_owned(), 400),
        ("text/plain", "x".to_owned(), 415),
        ("application/json", "x".repeat(300 * 1024), 413),
    ] {
        let response = client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        let described = &spec["paths"][folio_integration::api::webhook::NOTIFICATIONS_PATH]["post"]
            ["responses"][status.to_string()];
        assert!(described.is_object(), "{status} is described");
        let body: Value = response.json().await.unwrap();
        assert!(problem.is_valid(&body), "{body}");
    }
}

folio_testkit::backend_tests!(the_webhook_answers_as_described);
