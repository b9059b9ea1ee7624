use folio_bff::{Application, Settings};
use folio_platform::{
    shutdown,
    telemetry::{self, TelemetryConfig},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = telemetry::install(&TelemetryConfig::from_env("folio-bff")?)?;
    let served = serve().await;
    // Spans of the last requests go out before the process ends.
    telemetry.shutdown().await;
    served
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env().await?;
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "bff listening");
    shutdown::cancel_on_signal(app.stop_token());
    app.run_until_stopped().await?;
    Ok(())
}
