//! Secrets from AWS Secrets Manager, through the real SDK against moto.

use std::sync::Arc;

use folio_platform::secrets::{AwsSecrets, SecretProvider, SecretRef, SecretSource};
use folio_testkit::Moto;

const RDS: &str = r#"{"engine":"mysql","host":"db.internal","port":3306,"username":"folio_users","password":"Rds-Pa55:w/rd"}"#;

#[tokio::test]
async fn reads_whole_secrets_json_keys_and_new_versions() {
    let moto = Moto::start();
    let client = moto.secrets();
    client
        .create_secret()
        .name("folio/test/plain")
        .secret_string("plain-Value-1")
        .send()
        .await
        .unwrap();
    let rds = client
        .create_secret()
        .name("folio/test/rds")
        .secret_string(RDS)
        .send()
        .await
        .unwrap();
    let aws = AwsSecrets::new(client.clone());

    assert_eq!(
        aws.get("folio/test/plain").await.unwrap().expose(),
        "plain-Value-1"
    );
    assert_eq!(
        aws.get("folio/test/rds#password").await.unwrap().expose(),
        "Rds-Pa55:w/rd"
    );
    assert_eq!(
        aws.get("folio/test/rds#username").await.unwrap().expose(),
        "folio_users"
    );
    assert_eq!(
        aws.get("folio/test/rds#port").await.unwrap().expose(),
        "3306"
    );
    let by_arn = format!("{}#host", rds.arn().unwrap());
    assert_eq!(aws.get(&by_arn).await.unwrap().expose(), "db.internal");

    // Through a configured reference, as the services use it; a new version
    // of the secret is what the next fetch returns.
    let reference: SecretRef = "aws:folio/test/rds#password".parse().unwrap();
    let source = SecretSource::aws(aws.clone(), &reference, "FOLIO_T_DATABASE_PASSWORD_SECRET");
    assert_eq!(source.fetch().await.unwrap().expose(), "Rds-Pa55:w/rd");
    client
        .put_secret_value()
        .secret_id("folio/test/rds")
        .secret_string(RDS.replace("Rds-Pa55:w/rd", "Rotated-Pa55"))
        .send()
        .await
        .unwrap();
    assert_eq!(source.fetch().await.unwrap().expose(), "Rotated-Pa55");

    let shown = format!("{aws:?} {source:?} {:?}", source.fetch().await.unwrap());
    assert!(!shown.contains("Rotated-Pa55"), "{shown}");
}

#[tokio::test]
async fn errors_name_the_reference_never_the_value() {
    let moto = Moto::start();
    let client = moto.secrets();
    for (name, value) in [
        ("folio/test/rds", RDS),
        ("folio/test/plain", "plain-Value-1"),
    ] {
        client
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    let aws: Arc<dyn SecretProvider> = Arc::new(AwsSecrets::new(client));
    let fetch = async |name: &str| {
        SecretSource::new(Arc::clone(&aws), name, "FOLIO_T_PASSWORD_SECRET")
            .fetch()
            .await
            .unwrap_err()
            .to_string()
    };

    assert_eq!(
        fetch("folio/test/missing#password").await,
        "FOLIO_T_PASSWORD_SECRET: secret aws:folio/test/missing#password is not set"
    );
    let wrong_key = fetch("folio/test/rds#passwd").await;
    assert_eq!(
        wrong_key,
        r#"FOLIO_T_PASSWORD_SECRET: secret aws:folio/test/rds#passwd cannot be read: it has no key "passwd""#
    );
    let not_json = fetch("folio/test/plain#password").await;
    assert!(not_json.contains("not a JSON object"), "{not_json}");
    for error in [&wrong_key, &not_json] {
        for value in ["Rds-Pa55", "folio_users", "db.internal", "plain-Value-1"] {
            assert!(!error.contains(value), "{error}");
        }
    }

    // Nothing listens there any more: the error says so, and names the reference.
    let endpoint = moto.endpoint();
    drop(moto);
    let gone = AwsSecrets::new(aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "k", "s", None, None, "test",
            ))
            .http_client(folio_platform::aws::http_client())
            .build(),
    ));
    let unreachable = gone
        .get("folio/test/rds#password")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        unreachable.starts_with(
            "secret aws:folio/test/rds#password cannot be read: Secrets Manager cannot be reached"
        ),
        "{unreachable}"
    );
}
