//! Contract messages ↔ domain types.

use folio_platform::{
    actor::ActorRole,
    clock::{now_millis, rfc3339},
};
use folio_proto::integration::v1 as pb;

use crate::{
    domain::{Connection, ConnectionState, lag_millis},
    engine::MirrorStatus,
    store::conflicts::Conflict,
};

/// The connection as `role` may see it: its Graph coordinates (tenant, app,
/// drive, folder, subscription) only for admins; state and health for all.
pub(super) fn connection(c: &Connection, status: MirrorStatus, role: ActorRole) -> pb::Connection {
    let admin = role == ActorRole::Admin;
    let coordinate = |value: &str| {
        if admin {
            value.to_owned()
        } else {
            String::new()
        }
    };
    let state = match c.state(now_millis()) {
        ConnectionState::Active => pb::ConnectionState::Active,
        ConnectionState::Pending => pb::ConnectionState::Pending,
        ConnectionState::Error => pb::ConnectionState::Error,
        ConnectionState::Throttled => pb::ConnectionState::Throttled,
    };
    let time = |t: Option<i64>| t.map(rfc3339).unwrap_or_default();
    pb::Connection {
        id: c.id.to_string(),
        organisation_id: c.org_id.to_string(),
        tenant_id: coordinate(&c.tenant_id),
        app_id: coordinate(&c.app_id),
        drive_id: coordinate(&c.drive_id),
        folder_id: coordinate(&c.folder_id),
        state: state.into(),
        subscription_id: coordinate(c.subscription_id.as_deref().unwrap_or_default()),
        subscription_expires_at: time(c.subscription_id.as_ref().and(c.subscription_expires_at)),
        last_sync_at: time(c.last_sync_at),
        documents_mirrored: status.mirrored,
        last_error: c.last_error.clone().unwrap_or_default(),
        connected_by: c.actor_id.to_string(),
        connected_at: rfc3339(c.created_at),
        paused_until: time(c.paused_until.filter(|p| *p > now_millis())),
        client_secret_set_at: if admin {
            time(c.client_secret_set_at)
        } else {
            String::new()
        },
        sync_items_seen: status.progress.seen,
        sync_items_mirrored: status.progress.mirrored,
        sync_items_skipped: status.progress.skipped,
        sync_in_progress: status.progress.page_link.is_some(),
        skipped_items: status
            .skipped
            .into_iter()
            .map(|s| pb::SkippedItem {
                item_id: s.item_id,
                name: s.name,
                reason: s.reason,
                skipped_at: rfc3339(s.skipped_at),
            })
            .collect(),
        skipped_total: status.skipped_total,
        last_sync_lag_ms: c.last_lag_ms.map(|lag| u64::try_from(lag).unwrap_or(0)),
        current_lag_ms: status
            .oldest_waiting
            .map_or(0, |oldest| lag_millis(oldest, now_millis())),
        open_conflicts: status.open_conflicts,
    }
}

pub(super) fn conflict(c: Conflict) -> pb::Conflict {
    pb::Conflict {
        id: c.id.to_string(),
        document_id: c.document_id.to_string(),
        name: c.name,
        sent_version: c.sent_version,
        incoming_version: c.incoming_version.unwrap_or_default(),
        incoming_at: c.incoming_at.map(rfc3339).unwrap_or_default(),
        sent_by: c.sent_by.to_string(),
        sent_at: rfc3339(c.sent_at),
    }
}
