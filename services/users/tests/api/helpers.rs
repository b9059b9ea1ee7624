use folio_platform::{
    actor::{Actor, ActorRole},
    db::{Backend, DatabaseUrl},
    secrets::Secret,
};
use folio_proto::users::v1::{self as pb, users_service_client::UsersServiceClient};
use folio_testkit::{Pki, TestDatabase, any_port};
use folio_users::{Application, Settings, settings::Bootstrap};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub port: u16,
    pub http_port: u16,
    pub pki: Pki,
    pub db: TestDatabase,
    stop: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub fn settings(pki: &Pki, database_url: DatabaseUrl, bootstrap: Option<Bootstrap>) -> Settings {
    Settings {
        platform: pki.platform("users"),
        grpc_addr: any_port(),
        database: folio_testkit::database_settings(database_url),
        bootstrap,
        secrets_key: Some(folio_platform::secrets::SecretSource::given(
            folio_platform::secrets::Secret::new("7a".repeat(32)),
            "FOLIO_USERS_SECRETS_KEY",
        )),
    }
}

pub fn bootstrap(email: &str, password: &str) -> Bootstrap {
    Bootstrap {
        organisation: "Bootstrap Org".into(),
        email: email.into(),
        password: Secret::new(password),
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        let pki = Pki::new();
        let db = TestDatabase::create(backend).await;
        Self::spawn_with(pki, db, None).await
    }

    pub async fn spawn_with(pki: Pki, db: TestDatabase, bootstrap: Option<Bootstrap>) -> Self {
        let app = Application::build(settings(&pki, db.url.clone(), bootstrap))
            .await
            .expect("users service starts");
        let (port, http_port, stop) = (app.port(), app.http_port(), app.stop_token());
        tokio::spawn(app.run_until_stopped());
        Self {
            port,
            http_port,
            pki,
            db,
            stop,
        }
    }

    pub fn client(&self, identity: &str) -> UsersServiceClient<Channel> {
        UsersServiceClient::new(self.pki.channel(identity, self.port))
    }

    pub fn bff(&self) -> UsersServiceClient<Channel> {
        self.client("bff")
    }

    /// An organisation and its admin, created the way an operator does.
    pub async fn organisation(&self, name: &str) -> (pb::Organisation, pb::User) {
        let created = self
            .client("operator")
            .create_organisation(pb::CreateOrganisationRequest {
                name: name.into(),
                admin_email: format!("admin@{}.example", name.to_lowercase().replace(' ', "-")),
                admin_display_name: format!("{name} Admin"),
                admin_password: PASSWORD.into(),
            })
            .await
            .expect("organisation created")
            .into_inner();
        (created.organisation.unwrap(), created.admin.unwrap())
    }

    pub async fn provision(&self, admin: &pb::User, email: &str, role: pb::Role) -> pb::User {
        self.bff()
            .provision_user(actor(admin).request(pb::ProvisionUserRequest {
                email: email.into(),
                display_name: email.split('@').next().unwrap().into(),
                role: role.into(),
                password: PASSWORD.into(),
            }))
            .await
            .expect("user provisioned")
            .into_inner()
    }
}

/// The end user `user`, as the bff would send them.
pub fn actor(user: &pb::User) -> Actor {
    Actor {
        user_id: user.id.parse().unwrap(),
        org_id: user.organisation_id.parse().unwrap(),
        role: match pb::Role::try_from(user.role).unwrap() {
            pb::Role::Admin => ActorRole::Admin,
            pb::Role::Editor => ActorRole::Editor,
            pb::Role::Viewer | pb::Role::Unspecified => ActorRole::Viewer,
        },
    }
}

pub use folio_testkit::http_get;
