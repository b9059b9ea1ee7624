//! Graph client secrets in AWS Secrets Manager (moto here): the admin enters
//! the secret, the integration stores it as one secret named by the
//! organisation's id, replaces it on rotation and deletes it on disconnect;
//! a secret that merely exists in the store is not reachable by naming it.

use std::time::Duration;

use folio_integration::ClientSecretsConfig;
use folio_platform::{db::Backend, secrets::AwsSecrets};
use folio_proto::integration::v1 as pb;
use folio_testkit::Moto;
use tonic::Code;

use crate::helpers::{APP_ID, DRIVE, SECRET, TENANT, World, eventually};

const PREFIX: &str = "folio/test/integration/graph/";

async fn value(moto: &Moto, name: &str) -> Option<String> {
    moto.secrets()
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.secret_string().map(str::to_owned))
}

async fn names(moto: &Moto) -> Vec<String> {
    let listed = moto.secrets().list_secrets().send().await.unwrap();
    let mut names: Vec<String> = listed
        .secret_list()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_secrets_in_secrets_manager_per_organisation() {
    let moto = Moto::start();
    // What an operator (or the old design) put in the store: reachable by
    // name from no organisation's request.
    let planted = format!("{PREFIX}graph-contoso");
    moto.secrets()
        .create_secret()
        .name(&planted)
        .secret_string(SECRET)
        .send()
        .await
        .expect("moto stores the secret");

    let mut world = World::start(Backend::Sqlite).await;
    World::stop_integration(&world.integration);
    world.integration = world
        .spawn_integration_with(ClientSecretsConfig::Aws {
            secrets: AwsSecrets::new(moto.secrets()),
            prefix: PREFIX.to_owned(),
        })
        .await;

    for name in [planted.as_str(), "graph-contoso", "PATH"] {
        let mut request = world.connect_request();
        request.client_secret = name.into();
        let refused = world
            .integration()
            .connect_one_drive(world.stranger.request(request))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{name}");
    }
    assert_eq!(names(&moto).await, vec![planted.clone()], "nothing stored");

    world
        .graph
        .add_file(DRIVE, &world.folder, "from-aws.txt", "hello");
    world.connect().await;
    let own = format!("{PREFIX}org-{}", world.admin.org_id);
    assert_eq!(value(&moto, &own).await.as_deref(), Some(SECRET));
    assert_eq!(names(&moto).await.len(), 2);
    eventually(Duration::from_secs(20), "the file mirrored", || async {
        world.document_named("from-aws.txt").await
    })
    .await;

    // Rotation writes a new version of the same secret.
    const NEW: &str = "rotated-in-aws";
    world.graph.add_app(TENANT, APP_ID, NEW);
    world
        .integration()
        .replace_client_secret(world.admin.request(pb::ReplaceClientSecretRequest {
            client_secret: NEW.into(),
        }))
        .await
        .unwrap();
    assert_eq!(value(&moto, &own).await.as_deref(), Some(NEW));

    world
        .integration()
        .disconnect_one_drive(world.admin.request(pb::DisconnectRequest {}))
        .await
        .unwrap();
    assert_eq!(value(&moto, &own).await, None, "deleted on disconnect");
    assert_eq!(names(&moto).await, vec![planted]);
}
