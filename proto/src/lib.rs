//! Folio's internal gRPC contracts, generated from the `.proto` files beside this crate.
#![allow(unreachable_pub, clippy::all, clippy::pedantic)]

pub mod users {
    pub mod v1 {
        tonic::include_proto!("folio.users.v1");
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
