//! The integration's contract (`folio.integration.v1`).

use folio_proto::integration::v1::{
    self as pb, integration_service_client::IntegrationServiceClient,
};

use crate::call::{client, unary};

/// What a call to the integration failed with.
pub type IntegrationError = crate::CallError<pb::ErrorReason>;

client!(
    /// The integration: the organisation's OneDrive connection and sends.
    IntegrationClient,
    IntegrationServiceClient
);

unary!(IntegrationClient, IntegrationError, {
    write connect_one_drive(pb::ConnectRequest) -> pb::Connection;
    write replace_client_secret(pb::ReplaceClientSecretRequest) -> pb::Connection;
    read get_connection(pb::GetConnectionRequest) -> pb::Connection;
    write sync_now(pb::SyncNowRequest) -> pb::Connection;
    write disconnect_one_drive(pb::DisconnectRequest) -> pb::DisconnectResponse;
    write send_to_one_drive(pb::SendToOneDriveRequest) -> pb::SendToOneDriveResponse;
    read list_conflicts(pb::ListConflictsRequest) -> pb::ListConflictsResponse;
    write dismiss_conflict(pb::DismissConflictRequest) -> pb::DismissConflictResponse;
});
