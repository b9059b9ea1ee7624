//! Organisations and their people, created through the users service's
//! gRPC API as an operator and the bff would: for the suites of services
//! that act on behalf of users (documents, integration).

use folio_clients::{TracedChannel, UsersClient};
use folio_platform::actor::{Actor, ActorRole};
use folio_proto::users::v1 as users_pb;

use crate::Pki;

/// Every seeded account's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// One organisation's people, as the bff would present them.
#[derive(Debug, Clone)]
pub struct Org {
    pub admin: Actor,
    pub editor: Actor,
    pub viewer: Actor,
}

/// The actor the bff would send for `user` in `role`.
pub fn actor(user: &users_pb::User, role: ActorRole) -> Actor {
    Actor {
        user_id: user.id.parse().expect("a user id"),
        org_id: user.organisation_id.parse().expect("an organisation id"),
        role,
    }
}

/// Organisation `name` with `admin@`, `editor@` and `viewer@<name>.example`,
/// through the users service listening on `users_port`.
pub async fn organisation(pki: &Pki, users_port: u16, name: &str) -> Org {
    let users = |identity| {
        UsersClient::new(TracedChannel::new(
            pki.channel(identity, users_port),
            "test",
        ))
    };
    let created = users("operator")
        .create_organisation(users_pb::CreateOrganisationRequest {
            name: name.into(),
            admin_email: format!("admin@{name}.example"),
            admin_display_name: "Admin".into(),
            admin_password: PASSWORD.into(),
        })
        .await
        .expect("organisation created");
    let admin = actor(&created.admin.expect("its admin"), ActorRole::Admin);
    let users = users("bff");
    let provision = async |who: &str, role: users_pb::Role, actor_role| {
        let user = users
            .provision_user(admin.request(users_pb::ProvisionUserRequest {
                email: format!("{who}@{name}.example"),
                display_name: who.into(),
                role: role.into(),
                password: PASSWORD.into(),
            }))
            .await
            .expect("user provisioned");
        actor(&user, actor_role)
    };
    let editor = provision("editor", users_pb::Role::Editor, ActorRole::Editor).await;
    let viewer = provision("viewer", users_pb::Role::Viewer, ActorRole::Viewer).await;
    Org {
        admin,
        editor,
        viewer,
    }
}
