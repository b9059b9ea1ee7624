//! Compiles the contracts with protox (pure Rust), so no system `protoc` is needed.

const PROTOS: &[&str] = &[
    "folio/users/v1/users.proto",
    "folio/documents/v1/documents.proto",
    "folio/integration/v1/integration.proto",
    "folio/notifications/v1/notifications.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let descriptors = protox::compile(PROTOS, ["."])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Content chunks as `Bytes`: handed on without copying.
        .bytes(".")
        // Messages carrying a client secret get a redacting Debug (src/lib.rs).
        .skip_debug([
            ".folio.integration.v1.ConnectRequest",
            ".folio.integration.v1.ReplaceClientSecretRequest",
            ".folio.users.v1.PutSignInSettingsRequest",
            ".folio.users.v1.OidcProvider",
        ])
        .compile_fds(descriptors)?;
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
