//! `FOLIO_FAKE_GRAPH=1`: `folio up` with a fake OneDrive, so that a newcomer
//! can see mirroring work without a Microsoft tenant. The fake Graph runs in
//! process; a folder on disk stands in for the OneDrive folder (drop a file
//! into it and it appears in the portal), and the integration is pointed at
//! the fake. The admin enters the demo app's client secret in the portal,
//! as with a real tenant.

use std::{fmt::Write as _, path::Path, sync::Arc, time::Duration};

use folio_fake_graph::{FakeGraph, LocalFolder, demo};
use folio_platform::start::StartError;
use tokio_util::sync::CancellationToken;

/// How often the folder on disk is compared with the fake drive.
const SCAN_EVERY: Duration = Duration::from_secs(1);

pub struct FakeOneDrive {
    graph: Arc<FakeGraph>,
    local: LocalFolder,
}

impl FakeOneDrive {
    /// Starts the fake Graph; the demo's files live under `<data>/onedrive`.
    pub async fn start(data_dir: &Path) -> Result<Self, StartError> {
        let setup = |what: &str, e: std::io::Error| StartError::Setup(format!("{what}: {e}"));
        let graph = FakeGraph::start()
            .await
            .map_err(|e| setup("fake Graph", e))?;
        let folder = demo::set_up(&graph);
        let local = LocalFolder::new(data_dir.join("onedrive"), demo::DRIVE, &folder)
            .map_err(|e| setup("the fake OneDrive folder", e))?;
        Ok(Self {
            graph: Arc::new(graph),
            local,
        })
    }

    /// Points the integration at the fake.
    pub fn configure(&self, settings: &mut folio_integration::Settings) -> Result<(), StartError> {
        settings.graph_url = Some(
            self.graph
                .graph_url()
                .parse()
                .map_err(|e| StartError::Setup(format!("fake Graph URL: {e}")))?,
        );
        settings.token_url = self.graph.token_url();
        Ok(())
    }

    /// What to type into the portal's OneDrive page, for the banner.
    pub fn describe(&self, banner: &mut String) {
        let _ = writeln!(
            banner,
            "  fake OneDrive: files dropped into {} appear in the portal once connected",
            self.local.dir().display()
        );
        let _ = writeln!(
            banner,
            "    connect it (OneDrive page) with tenant {}, app id {}, client secret {}, drive {}, folder {}",
            demo::TENANT,
            demo::APP_ID,
            demo::SECRET,
            demo::DRIVE,
            demo::FOLDER
        );
    }

    /// Keeps the folder on disk and the fake drive alike until stopped.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(SCAN_EVERY);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = ticks.tick() => {
                    if let Err(e) = self.local.sync(&self.graph) {
                        tracing::warn!(error = %e, "the fake OneDrive folder could not be synced");
                    }
                }
            }
        }
    }
}
