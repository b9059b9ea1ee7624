//! The demo set-up `folio up` uses with `FOLIO_FAKE_GRAPH=1`: one app in one
//! tenant, allowed into one drive with a `Clients` folder. The values are
//! what a person types into the portal's OneDrive page.

use crate::FakeGraph;

pub const TENANT: &str = "folio-demo.onmicrosoft.com";
pub const APP_ID: &str = "6f1c7a52-0d3e-4b8f-9a21-5c4d3e2f1a0b";
/// The app's client secret, which the admin enters in the portal.
pub const SECRET: &str = "demo-client-secret";
pub const DRIVE: &str = "b!folio-demo-drive";
pub const FOLDER: &str = "/Clients";

/// Registers the app and creates the drive and folder; returns the folder's id.
pub fn set_up(graph: &FakeGraph) -> String {
    graph.add_app(TENANT, APP_ID, SECRET);
    let root = graph.add_drive(TENANT, DRIVE);
    graph.add_folder(DRIVE, &root, FOLDER.trim_start_matches('/'))
}
