use folio_integration::{Application, Settings};
use folio_platform::{config::Env, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init(Env::new("FOLIO_").or("LOG_FORMAT", Default::default())?);
    let settings = Settings::from_env().await?;
    let app = Application::build(settings).await?;
    tracing::info!(
        grpc_port = app.port(),
        http_port = app.http_port(),
        "integration listening"
    );
    shutdown::cancel_on_signal(app.stop_token());
    app.run_until_stopped().await?;
    Ok(())
}
