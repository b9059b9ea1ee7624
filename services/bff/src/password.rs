//! Passwords checked under the sign-in limits: signing in, and changing
//! one's own. Every attempt is counted before the password is checked, in
//! one atomic step, so parallel guesses cannot all slip under a limit.

use std::net::IpAddr;

use folio_clients::{UsersClient, UsersError};
use folio_platform::actor::Actor;
use folio_proto::users::v1 as pb;

use crate::{
    error::ApiError,
    rest::forms::PasswordChange,
    session::{Limiter, SessionStore},
    settings::LoginLimits,
};

/// What a right password opens.
#[derive(Debug)]
pub(crate) enum SignIn {
    User(pb::User),
    /// The password is right for several organisations' accounts (only
    /// those are named): the person chooses, and signs in again.
    Choose(Vec<pb::Organisation>),
}

fn outcome(outcome: &'static str) {
    metrics::counter!("folio_sign_ins_total", "outcome" => outcome).increment(1);
}

fn limited(retry_after: u64) -> ApiError {
    outcome("limited");
    ApiError::RateLimited { retry_after }
}

fn wrong_password(error: &UsersError) -> bool {
    matches!(
        error,
        UsersError::Unauthenticated(_)
            | UsersError::Refused {
                reason: pb::ErrorReason::WrongCredentials,
                ..
            }
    )
}

/// Signs in with `request`'s email and password from `client`. A
/// stranger's failures throttle only their own (account, address) pair: the
/// owner, from an address that has not failed, is slowed down at most.
pub(crate) async fn sign_in(
    users: &UsersClient,
    limiter: &Limiter,
    limits: LoginLimits,
    client: IpAddr,
    request: pb::SignInRequest,
) -> Result<SignIn, ApiError> {
    let email = request.email.trim().to_lowercase();
    let address = limiter.count(&format!("address:{client}")).await?;
    if let Some(retry_after) = address.over(limits.per_address) {
        return Err(limited(retry_after));
    }
    let pair_key = format!("pair:{email}|{client}");
    let pair = limiter.count(&pair_key).await?;
    if let Some(retry_after) = pair.over(limits.per_account) {
        return Err(limited(retry_after));
    }
    let account_key = format!("account:{email}");
    let account = limiter.count(&account_key).await?;
    let delay = limits.slow_down_after(account.count);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = users.sign_in(request).await.map_err(|error| {
        if wrong_password(&error) {
            outcome("refused");
            return ApiError::InvalidCredentials;
        }
        // The password was right, but the organisation's non-admins sign in
        // with its identity provider only.
        if let UsersError::PermissionDenied(_) = error {
            outcome("provider_only");
            return ApiError::ProviderSignInOnly;
        }
        ApiError::from_call(error, "user")
    })?;
    let Some(user) = answer.user else {
        outcome("choose");
        return Ok(SignIn::Choose(answer.choices));
    };
    for key in [&pair_key, &account_key] {
        limiter.reset(key).await?;
    }
    outcome("ok");
    Ok(SignIn::User(user))
}

/// Changes `actor`'s own password. Counted first, against
/// `limits.per_account` like sign-in (invalid input counts too); on success
/// every other session of theirs ends (`keep` is the one that stays).
pub(crate) async fn change(
    users: &UsersClient,
    (limiter, sessions): (&Limiter, &SessionStore),
    limits: LoginLimits,
    (actor, keep): (Actor, &str),
    change: PasswordChange,
) -> Result<(), ApiError> {
    let key = format!("password:{}", actor.user_id);
    let attempts = limiter.count(&key).await?;
    if let Some(retry_after) = attempts.over(limits.per_account) {
        return Err(ApiError::RateLimited { retry_after });
    }
    change.check()?;
    let request = actor.request(pb::ChangePasswordRequest {
        current_password: change.current_password,
        new_password: change.new_password,
    });
    users.change_password(request).await.map_err(|error| {
        if wrong_password(&error) {
            ApiError::CurrentPasswordIncorrect
        } else {
            ApiError::from_call(error, "user")
        }
    })?;
    limiter.reset(&key).await?;
    sessions.end_user(actor.user_id, Some(keep)).await?;
    Ok(())
}
