//! Graph client secrets kept in AWS Secrets Manager (moto here): a connection
//! names its secret, the integration finds it under its configured prefix,
//! and a name with nothing behind it is refused without storing anything.

use std::{sync::Arc, time::Duration};

use folio_platform::{
    db::Backend,
    secrets::{AwsSecrets, PrefixedSecrets},
};
use folio_proto::integration::v1 as pb;
use folio_testkit::Moto;
use tonic::Code;

use crate::helpers::{SECRET, SECRET_REF, World, eventually};

const PREFIX: &str = "folio/test/graph/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_secrets_from_secrets_manager() {
    let moto = Moto::start();
    moto.secrets()
        .create_secret()
        .name(format!("{PREFIX}{SECRET_REF}"))
        .secret_string(SECRET)
        .send()
        .await
        .expect("moto stores the secret");

    let mut world = World::start(Backend::Sqlite).await;
    // The same service, looking secrets up in Secrets Manager instead of files.
    World::stop_integration(&world.integration);
    let store = PrefixedSecrets::new(PREFIX, Arc::new(AwsSecrets::new(moto.secrets())));
    world.integration = world.spawn_integration_with(Arc::new(store)).await;

    let mut unknown = world.connect_request();
    unknown.secret_ref = "graph-nobody".into();
    let refused = world
        .integration()
        .connect_one_drive(world.admin.request(unknown))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("secret"),
        "{}",
        refused.message()
    );
    assert!(!refused.message().contains(SECRET));
    let none = world
        .integration()
        .get_connection(world.admin.request(pb::GetConnectionRequest {}))
        .await
        .unwrap_err();
    assert_eq!(
        none.code(),
        Code::NotFound,
        "a refused connect stores nothing"
    );

    world.graph.add_file(
        crate::helpers::DRIVE,
        &world.folder,
        "from-aws.txt",
        "hello",
    );
    let connected = world.connect().await;
    assert_eq!(connected.secret_ref, SECRET_REF);
    eventually(Duration::from_secs(20), "the file mirrored", || async {
        world.document_named("from-aws.txt").await
    })
    .await;
}
