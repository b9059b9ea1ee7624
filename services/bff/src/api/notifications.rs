//! A person's email choices and, for admins, the mails that could not be
//! delivered: through the notifications service.

use std::collections::BTreeMap;

use axum::{Json, Router, extract::State, routing::get};
use folio_proto::notifications::v1 as pb;

use crate::{
    error::ApiError,
    rest::{forms::Checks, views::Page, webhooks::MailProblem},
    web::{
        AppState,
        extract::{Admin, Authed, JsonBody},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/session/notifications", get(choices).put(choose))
        .route("/api/v1/mail-problems", get(problems))
}

type Choices = BTreeMap<String, String>;

async fn choices(State(state): State<AppState>, authed: Authed) -> Result<Json<Choices>, ApiError> {
    let found = state
        .notifications
        .get_preferences(authed.actor().request(pb::GetPreferencesRequest {}))
        .await
        .map_err(|s| ApiError::from_call(s, "preferences"))?;
    Ok(Json(found.choices.into_iter().collect()))
}

async fn choose(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(chosen): JsonBody<Choices>,
) -> Result<Json<Choices>, ApiError> {
    check_choices(&chosen)?;
    let found = state
        .notifications
        .update_preferences(authed.actor().request(pb::UpdatePreferencesRequest {
            choices: chosen.into_iter().collect(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "preferences"))?;
    Ok(Json(found.choices.into_iter().collect()))
}

/// At most 10 kinds, each `off`, `immediate` or `daily`.
fn check_choices(chosen: &Choices) -> Result<(), ApiError> {
    let mut checks = Checks::default();
    if chosen.len() > 10 {
        checks.fail("preferences", "at most 10 kinds");
    }
    let valid = |(kind, choice): (&String, &String)| {
        kind.len() <= 32 && matches!(choice.as_str(), "off" | "immediate" | "daily")
    };
    if !chosen.iter().all(valid) {
        checks.fail(
            "preferences",
            "each kind's choice is off, immediate or daily",
        );
    }
    checks.finish()
}

async fn problems(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> Result<Json<Page<MailProblem>>, ApiError> {
    let found = state
        .notifications
        .list_mail_problems(admin.actor().request(pb::ListMailProblemsRequest {}))
        .await
        .map_err(|s| ApiError::from_call(s, "mail problems"))?;
    Ok(Json(Page {
        items: found.problems.into_iter().map(MailProblem::from).collect(),
        next_cursor: None,
    }))
}
