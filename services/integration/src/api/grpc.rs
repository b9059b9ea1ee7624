use std::sync::Arc;

use folio_platform::actor::Actor;
use folio_proto::integration::v1::{self as pb, integration_service_server::IntegrationService};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert;
use crate::{domain::ConnectionSpec, engine::Engine, error::Error};

#[derive(Debug, Clone)]
pub struct IntegrationApi {
    engine: Arc<Engine>,
}

impl IntegrationApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }
}

fn actor<T>(request: &Request<T>) -> Result<Actor, Error> {
    Ok(Actor::from_metadata(request.metadata())?)
}

fn parse_id(field: &'static str, value: &str) -> Result<Uuid, Error> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::invalid(field, "must be a UUID"))
}

#[tonic::async_trait]
impl IntegrationService for IntegrationApi {
    async fn connect_one_drive(
        &self,
        request: Request<pb::ConnectRequest>,
    ) -> Result<Response<pb::Connection>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let spec = ConnectionSpec::parse(
            &req.tenant_id,
            &req.app_id,
            &req.client_secret,
            &req.drive_id,
            &req.folder,
        )?;
        let (conn, mirrored) = self.engine.connect(&actor, spec).await?;
        Ok(Response::new(convert::connection(
            &conn, mirrored, actor.role,
        )))
    }

    async fn get_connection(
        &self,
        request: Request<pb::GetConnectionRequest>,
    ) -> Result<Response<pb::Connection>, Status> {
        let actor = actor(&request)?;
        let (conn, mirrored) = self.engine.connection(&actor).await?;
        Ok(Response::new(convert::connection(
            &conn, mirrored, actor.role,
        )))
    }

    async fn replace_client_secret(
        &self,
        request: Request<pb::ReplaceClientSecretRequest>,
    ) -> Result<Response<pb::Connection>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let (conn, mirrored) = self
            .engine
            .replace_client_secret(&actor, &req.client_secret)
            .await?;
        Ok(Response::new(convert::connection(
            &conn, mirrored, actor.role,
        )))
    }

    async fn sync_now(
        &self,
        request: Request<pb::SyncNowRequest>,
    ) -> Result<Response<pb::Connection>, Status> {
        let actor = actor(&request)?;
        let (conn, mirrored) = self.engine.sync_now(&actor).await?;
        Ok(Response::new(convert::connection(
            &conn, mirrored, actor.role,
        )))
    }

    async fn disconnect_one_drive(
        &self,
        request: Request<pb::DisconnectRequest>,
    ) -> Result<Response<pb::DisconnectResponse>, Status> {
        let actor = actor(&request)?;
        self.engine.disconnect(&actor).await?;
        Ok(Response::new(pb::DisconnectResponse {}))
    }

    async fn send_to_one_drive(
        &self,
        request: Request<pb::SendToOneDriveRequest>,
    ) -> Result<Response<pb::SendToOneDriveResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let document = parse_id("document_id", &req.document_id)?;
        let sent = self.engine.send(&actor, document, req.version).await?;
        Ok(Response::new(pb::SendToOneDriveResponse {
            item_id: sent.item_id,
            name: sent.name,
            size: sent.size,
            chunked: sent.chunked,
        }))
    }

    async fn list_conflicts(
        &self,
        request: Request<pb::ListConflictsRequest>,
    ) -> Result<Response<pb::ListConflictsResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let document = if req.document_id.is_empty() {
            None
        } else {
            Some(parse_id("document_id", &req.document_id)?)
        };
        let (conflicts, total) = self.engine.conflicts(&actor, document).await?;
        Ok(Response::new(pb::ListConflictsResponse {
            conflicts: conflicts.into_iter().map(convert::conflict).collect(),
            total,
        }))
    }

    async fn dismiss_conflict(
        &self,
        request: Request<pb::DismissConflictRequest>,
    ) -> Result<Response<pb::DismissConflictResponse>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("conflict_id", &request.get_ref().conflict_id)?;
        self.engine.dismiss_conflict(&actor, id).await?;
        Ok(Response::new(pb::DismissConflictResponse {}))
    }
}
