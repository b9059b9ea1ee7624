//! Folio's internal gRPC contracts, generated from the `.proto` files beside this crate.
#![allow(unreachable_pub, clippy::all, clippy::pedantic)]

pub mod errors;

/// The largest message either side of a call encodes or decodes, on every
/// contract: content travels in chunks far below it.
pub const MAX_MESSAGE: usize = 8 << 20;

pub mod users {
    pub mod v1 {
        tonic::include_proto!("folio.users.v1");

        // A sign-in client secret never reaches a log line through `{:?}`.
        impl std::fmt::Debug for PutSignInSettingsRequest {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("PutSignInSettingsRequest")
                    .field("oidc", &self.oidc)
                    .field(
                        "client_secret",
                        &self.client_secret.as_ref().map(|_| "[redacted]"),
                    )
                    .field(
                        "client_certificate",
                        &self.client_certificate.as_ref().map(|_| "[redacted]"),
                    )
                    .finish()
            }
        }

        impl std::fmt::Debug for OidcProvider {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("OidcProvider")
                    .field("organisation_id", &self.organisation_id)
                    .field("preset", &self.preset)
                    .field("issuer", &self.issuer)
                    .field("client_id", &self.client_id)
                    .field("client_secret", &"[redacted]")
                    .field("client_certificate", &"[redacted]")
                    .field("tenant_id", &self.tenant_id)
                    .finish()
            }
        }
    }
}

pub mod documents {
    pub mod v1 {
        tonic::include_proto!("folio.documents.v1");
    }
}

pub mod integration {
    pub mod v1 {
        tonic::include_proto!("folio.integration.v1");

        // The client secret never reaches a log line through `{:?}`.
        impl std::fmt::Debug for ConnectRequest {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("ConnectRequest")
                    .field("tenant_id", &self.tenant_id)
                    .field("app_id", &self.app_id)
                    .field("drive_id", &self.drive_id)
                    .field("folder", &self.folder)
                    .field("client_secret", &"[redacted]")
                    .finish()
            }
        }

        impl std::fmt::Debug for ReplaceClientSecretRequest {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("ReplaceClientSecretRequest")
                    .field("client_secret", &"[redacted]")
                    .finish()
            }
        }
        /// The binary metadata key an error status carries its encoded
        /// [`OneDriveFailure`] under.
        pub const ONEDRIVE_FAILURE_METADATA: &str = "x-folio-onedrive-failure-bin";
    }
}

pub mod notifications {
    pub mod v1 {
        tonic::include_proto!("folio.notifications.v1");
    }
}
