//! AWS SDK set-up shared by everything that calls AWS through the SDK.
//!
//! Configuration is the SDK's standard one: region from `AWS_REGION`,
//! credentials from the default chain (environment, web identity for IRSA in
//! EKS, container and instance metadata), endpoints overridable with
//! `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_<SERVICE>` (tests point them at a
//! local emulator). HTTPS is rustls on ring, like every other TLS client here.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::{
    Builder,
    tls::{self, rustls_provider::CryptoMode},
};

pub use aws_sdk_secretsmanager::config::SharedHttpClient;

/// The HTTPS client for AWS SDK clients: rustls with ring, the system's roots.
pub fn http_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK configuration from the environment, as any AWS tool reads it.
pub async fn config_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}
