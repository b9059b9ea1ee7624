use folio_notifications::{Application, Settings};
use folio_platform::{
    shutdown,
    telemetry::{self, TelemetryConfig},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = telemetry::install(&TelemetryConfig::from_env("folio-notifications")?)?;
    let served = serve().await;
    // Spans and metrics of the last work go out before the process ends.
    telemetry.shutdown().await;
    served
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env().await?;
    if folio_platform::db::Migrations::from_env()? == folio_platform::db::Migrations::Only {
        Application::migrate(&settings).await?;
        tracing::info!("notifications migrations applied (FOLIO_MIGRATIONS=only)");
        return Ok(());
    }
    let app = Application::build(settings).await?;
    tracing::info!(
        grpc_port = app.port(),
        http_port = app.http_port(),
        "notifications listening"
    );
    shutdown::cancel_on_signal(app.stop_token());
    app.run_until_stopped().await?;
    Ok(())
}
