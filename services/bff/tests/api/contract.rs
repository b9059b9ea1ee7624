//! Checks a response against `openapi/bff.yaml`: the operation exists, the
//! status is one it documents, the content type is documented, and a JSON
//! body validates against the documented schema.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
};

use serde_json::Value;

pub struct Contract {
    spec: Value,
    validators: Mutex<HashMap<String, &'static jsonschema::Validator>>,
}

pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/bff.yaml");
        let text = std::fs::read_to_string(path).expect("openapi/bff.yaml");
        let spec: Value = serde_yaml::from_str(&text).expect("the spec parses");
        Contract {
            spec,
            validators: Mutex::default(),
        }
    })
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

impl Contract {
    /// JSON pointer of the response object for this call, following `$ref`s.
    fn response_pointer(&self, method: &str, path: &str, status: u16) -> Result<String, String> {
        let paths = self.spec["paths"].as_object().ok_or("no paths")?;
        let template = paths
            .keys()
            .filter(|t| matches_template(t, path))
            // A literal segment beats a template (e.g. /session/password).
            .min_by_key(|t| t.matches('{').count())
            .ok_or_else(|| format!("{path} is not in the spec"))?;
        let method = method.to_ascii_lowercase();
        let operation = &paths[template][&method];
        if operation.is_null() {
            return Err(format!("{method} {template} is not in the spec"));
        }
        let status = status.to_string();
        if operation["responses"][&status].is_null() {
            return Err(format!(
                "{method} {template} does not document status {status}"
            ));
        }
        let mut pointer = format!("/paths/{}/{method}/responses/{status}", escape(template));
        while let Some(reference) = self.spec.pointer(&pointer).and_then(|r| r["$ref"].as_str()) {
            pointer = reference.trim_start_matches('#').to_owned();
        }
        Ok(pointer)
    }

    fn validator(&self, schema_pointer: &str) -> &'static jsonschema::Validator {
        let mut cache = self.validators.lock().unwrap();
        if let Some(validator) = cache.get(schema_pointer) {
            return validator;
        }
        let mut root = self.spec.clone();
        let fragment = schema_pointer.replace('{', "%7B").replace('}', "%7D");
        root["$ref"] = Value::String(format!("#{fragment}"));
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema at {schema_pointer} compiles: {e}"));
        let leaked: &'static jsonschema::Validator = Box::leak(Box::new(validator));
        cache.insert(schema_pointer.to_owned(), leaked);
        leaked
    }

    /// Panics, naming the call, when the response breaks the contract.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        let call = format!("{method} {path} → {status}");
        let pointer = match self.response_pointer(method, path, status) {
            Ok(pointer) => pointer,
            // Paths and methods the spec does not have answer the general 404/405 problem.
            Err(_) if status == 404 || status == 405 => {
                assert_eq!(content_type, Some("application/problem+json"), "{call}");
                let instance: Value = serde_json::from_slice(body).unwrap();
                let validator = self.validator("/components/schemas/Problem");
                assert!(validator.is_valid(&instance), "{call}: {instance}");
                return;
            }
            Err(e) => panic!("{call}: {e}"),
        };
        let response = self.spec.pointer(&pointer).unwrap();
        let Some(content) = response["content"].as_object() else {
            assert!(
                body.is_empty(),
                "{call}: the spec documents no body, got {} bytes",
                body.len()
            );
            return;
        };
        if status == 304 || (method == "HEAD") {
            return;
        }
        let essence = content_type
            .and_then(|c| c.split(';').next())
            .map(str::trim)
            .unwrap_or_else(|| panic!("{call}: no Content-Type"));
        let media = content
            .iter()
            .find(|(key, _)| {
                key.as_str() == essence
                    || key.as_str() == "*/*"
                    || key
                        .strip_suffix("/*")
                        .is_some_and(|k| essence.starts_with(k))
            })
            .map(|(key, _)| key.clone())
            .unwrap_or_else(|| {
                panic!(
                    "{call}: Content-Type {essence} is not documented ({:?})",
                    content.keys().collect::<Vec<_>>()
                )
            });
        if !(media.ends_with("json")) {
            return;
        }
        let instance: Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("{call}: body is not JSON: {e}"));
        let schema_pointer = format!("{pointer}/content/{}/schema", escape(&media));
        let validator = self.validator(&schema_pointer);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{call}: body breaks the contract: {errors:?}\n{instance}"
        );
    }
}

#[test]
fn the_spec_is_usable_and_the_checker_can_fail() {
    let c = contract();
    assert!(
        c.response_pointer("get", "/api/v1/documents/abc", 200)
            .is_ok()
    );
    assert!(c.response_pointer("get", "/api/v1/nowhere", 200).is_err());
    assert!(c.response_pointer("get", "/api/v1/session", 418).is_err());
    let bad = std::panic::catch_unwind(|| {
        c.check(
            "GET",
            "/api/v1/session",
            200,
            Some("application/json"),
            br#"{"user":1}"#,
        );
    });
    assert!(bad.is_err(), "a wrong body is caught");
}
