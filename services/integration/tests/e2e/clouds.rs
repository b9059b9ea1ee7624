//! National clouds: the token scope follows the Graph URL, and can be set
//! per deployment; a Graph that wants another cloud's scope refuses tokens.

use folio_platform::db::Backend;
use tonic::Code;

use crate::helpers::World;

async fn token_scope_is_the_clouds(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    // This Graph plays US Government's: global Graph's scope is refused.
    g.expect_scope("https://graph.microsoft.us/.default");
    let refused = world
        .integration()
        .connect_one_drive(world.admin.request(world.connect_request()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("credentials"), "{refused:?}");

    // Set for the deployment, the US scope gets a token and connects.
    let us = world
        .spawn_integration_configured(World::database_secrets(), |s| {
            s.graph_scope = Some("https://graph.microsoft.us/.default".to_owned());
        })
        .await;
    let tokens = g.token_requests();
    let connected = world
        .integration_as("bff", us.port)
        .connect_one_drive(world.admin.request(world.connect_request()))
        .await
        .expect("connected with the US scope")
        .into_inner();
    assert!(!connected.subscription_id.is_empty());
    assert!(g.token_requests() > tokens);
}

folio_testkit::backend_tests!(token_scope_is_the_clouds);
