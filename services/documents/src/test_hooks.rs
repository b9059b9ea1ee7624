//! Pause points for tests that drive an interleaving deterministically.
//! Compiled only with the `test-hooks` feature, which only the service's own
//! tests enable.

use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot};

/// A paused step: what it works on, and the sender that lets it go on.
pub type Paused = (String, oneshot::Sender<()>);

static BEFORE_BLOB_DELETE: Mutex<Option<mpsc::UnboundedSender<Paused>>> = Mutex::new(None);

/// From now on, retention stops after claiming a blob and before deleting
/// it, until the test lets it go on.
pub fn pause_before_blob_delete() -> mpsc::UnboundedReceiver<Paused> {
    let (sender, receiver) = mpsc::unbounded_channel();
    *BEFORE_BLOB_DELETE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sender);
    receiver
}

pub(crate) async fn before_blob_delete(key: &str) {
    let sender = BEFORE_BLOB_DELETE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(sender) = sender {
        let (go_on, wait) = oneshot::channel();
        if sender.send((key.to_owned(), go_on)).is_ok() {
            let _ = wait.await;
        }
    }
}
