//! `folio org …`: onboarding a client is an operator's job. These commands
//! call the users service over mTLS with the operator identity, which only
//! this tool holds (locally from the development PKI under `FOLIO_DATA_DIR`,
//! or the files in `FOLIO_OPERATOR_TLS_*_FILE`).

use folio_clients::{UsersClient, UsersError};
use folio_platform::{config::Env, grpc, start::StartError, tls};
use folio_proto::users::v1::{
    CreateOrganisationRequest, ListOrganisationsRequest, Organisation, User,
};

fn client() -> Result<UsersClient, StartError> {
    let env = Env::new("FOLIO_OPERATOR_");
    let files = tls::TlsFiles::from_env(&env, "operator")?;
    let users = Env::new("FOLIO_USERS_");
    let url = match env.optional::<String>("USERS_URL")? {
        Some(url) => url,
        None => {
            let addr: std::net::SocketAddr = users.or(
                "GRPC_ADDR",
                std::net::SocketAddr::from(([127, 0, 0, 1], 50051)),
            )?;
            format!("https://localhost:{}", addr.port())
        }
    };
    let channel = grpc::traced_channel(&url, tls::client_config(&files)?, "folio")
        .map_err(|e| StartError::Setup(e.to_string()))?;
    Ok(UsersClient::new(channel))
}

fn refused(error: &UsersError) -> StartError {
    StartError::Setup(format!("the users service refused: {error}"))
}

pub async fn create(
    name: String,
    admin_email: String,
    admin_password: String,
    admin_name: Option<String>,
) -> Result<(Organisation, User), StartError> {
    let created = client()?
        .create_organisation(CreateOrganisationRequest {
            admin_display_name: admin_name.unwrap_or_else(|| format!("{name} admin")),
            name,
            admin_email,
            admin_password,
        })
        .await
        .map_err(|e| refused(&e))?;
    match (created.organisation, created.admin) {
        (Some(org), Some(admin)) => Ok((org, admin)),
        _ => Err(StartError::Setup(
            "the users service answered without the organisation".into(),
        )),
    }
}

pub async fn list() -> Result<Vec<Organisation>, StartError> {
    Ok(client()?
        .list_organisations(ListOrganisationsRequest {})
        .await
        .map_err(|e| refused(&e))?
        .organisations)
}
