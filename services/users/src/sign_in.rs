//! Sign-in with an organisation's OpenID Connect provider: its admin's
//! settings (the client secret sealed, never answered), finding the provider
//! for a sign-in, and who a verified identity is (docs/adr/0066, 0067). The
//! protocol itself (redirects, tokens, signatures) is the bff's.

use folio_platform::{
    actor::Actor, clock::now_millis, db::Database, sealed::SealingKey, secrets::Secret,
};
use uuid::Uuid;

use crate::{
    accounts::{Accounts, NewUser},
    domain::{
        DisplayName, Email, FirstSignIn, OidcConfig, OidcInput, Password, Preset, User,
        first_sign_in, parse_client_secret,
    },
    error::{Error, Taken},
    store::{self, StoredSettings},
};

#[derive(Debug, Clone)]
pub(crate) struct ProviderSignIn {
    db: Database,
    /// Seals client secrets; without one, only Entra ID with the
    /// deployment's app can be configured.
    key: Option<SealingKey>,
}

/// A provider to sign in with, and the secret of the organisation's client.
#[derive(Debug, Clone)]
pub(crate) struct FoundProvider {
    pub org_id: Uuid,
    pub config: OidcConfig,
    pub client_secret: Option<Secret>,
}

/// What a verified ID token says about its person.
#[derive(Debug, Clone)]
pub(crate) struct ProviderIdentity {
    pub org_id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub tenant_id: String,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
}

async fn require_admin(conn: &mut sqlx::AnyConnection, actor: &Actor) -> Result<(), Error> {
    match store::get_user(conn, actor.org_id, actor.user_id).await? {
        Some(user) if user.is_enabled_admin() => Ok(()),
        _ => Err(Error::PermissionDenied("only an admin may do this")),
    }
}

/// Whether `user` may sign in with a password, given their organisation's
/// provider settings.
pub(crate) async fn allows_password(
    conn: &mut sqlx::AnyConnection,
    user: &User,
) -> Result<bool, Error> {
    Ok(store::get_settings(conn, user.org_id)
        .await?
        .is_none_or(|s| s.config.allows_password(user)))
}

impl ProviderSignIn {
    pub(crate) fn new(db: Database, key: Option<SealingKey>) -> Self {
        Self { db, key }
    }

    pub(crate) async fn settings(&self, actor: &Actor) -> Result<Option<StoredSettings>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        require_admin(&mut conn, actor).await?;
        store::get_settings(&mut conn, actor.org_id).await
    }

    /// Replaces the actor's organisation's settings; `None` turns provider
    /// sign-in off (and forgets the secret). People's links are kept, so
    /// turning it on again finds them.
    pub(crate) async fn put(
        &self,
        actor: &Actor,
        input: Option<OidcInput>,
        client_secret: Option<&str>,
    ) -> Result<Option<StoredSettings>, Error> {
        let secret = client_secret.map(parse_client_secret).transpose()?;
        let mut tx = self.db.pool.begin().await?;
        require_admin(&mut tx, actor).await?;
        let Some(input) = input else {
            if secret.is_some() {
                return Err(Error::invalid(
                    "client_secret",
                    "must be left out when turning sign-in off",
                ));
            }
            store::put_settings(&mut tx, actor.org_id, None).await?;
            tx.commit().await?;
            tracing::info!(org = %actor.org_id, by = %actor.user_id, "provider sign-in off");
            return Ok(None);
        };
        let old = store::get_settings(&mut tx, actor.org_id).await?;
        let kept = old
            .as_ref()
            .filter(|old| old.secret.is_some() && old.config.client_id == input.client_id.trim());
        let config = OidcConfig::parse(&input, secret.is_some(), kept.is_some())?;
        let now = now_millis();
        let (sealed, set_at) = match (&secret, kept) {
            (Some(secret), _) => {
                let key = self.key.as_ref().ok_or(Error::FailedPrecondition(
                    "this deployment has no key to store client secrets with \
                     (FOLIO_USERS_SECRETS_KEY): use Entra ID with the deployment's app",
                ))?;
                let sealed = key
                    .seal(
                        &Secret::new(secret.clone()),
                        &config.secret_binding(actor.org_id),
                    )
                    .map_err(|_| Error::Corrupt("sealing a client secret"))?;
                (Some(sealed), Some(now))
            }
            (None, Some(kept)) if !config.client_id.is_empty() => {
                (kept.secret.clone(), kept.secret_set_at)
            }
            (None, _) => (None, None),
        };
        let stored = StoredSettings {
            org_id: actor.org_id,
            config,
            secret: sealed,
            secret_set_at: set_at,
            updated_at: now,
        };
        store::put_settings(&mut tx, actor.org_id, Some(&stored)).await?;
        tx.commit().await?;
        tracing::info!(
            org = %actor.org_id,
            by = %actor.user_id,
            preset = stored.config.preset.as_str(),
            "provider sign-in settings changed"
        );
        Ok(Some(stored))
    }

    /// The provider of `organisation`, or of the one organisation among the
    /// email's enabled accounts that has one.
    pub(crate) async fn find(
        &self,
        email: Option<&str>,
        organisation: Option<Uuid>,
    ) -> Result<FoundProvider, Error> {
        let mut conn = self.db.reader().acquire().await?;
        let found = match (organisation, email) {
            (Some(org_id), _) => store::get_settings(&mut conn, org_id).await?,
            (None, Some(email)) => {
                let email = Email::parse(email)?;
                let mut found = Vec::new();
                for user in store::find_users_by_email(&mut conn, &email).await? {
                    if user.disabled {
                        continue;
                    }
                    if let Some(settings) = store::get_settings(&mut conn, user.org_id).await? {
                        found.push(settings);
                    }
                }
                // Accounts in several organisations answer as none do: saying
                // "several" would reveal the others (docs/adr/0048). Such a
                // person starts from their organisation's own sign-in link,
                // or signs in with the password, which offers the choice
                // only once it has proved who they are.
                if found.len() > 1 {
                    found.clear();
                }
                found.pop()
            }
            (None, None) => return Err(Error::invalid("email", "or organisation_id is needed")),
        };
        let settings = found.ok_or(Error::NotFound("sign-in provider"))?;
        let client_secret = match (&settings.secret, &self.key) {
            (Some(sealed), Some(key)) => Some(
                key.open(sealed, &settings.config.secret_binding(settings.org_id))
                    .map_err(|_| {
                        Error::FailedPrecondition(
                            "the stored client secret cannot be opened: an admin must enter it again",
                        )
                    })?,
            ),
            (Some(_), None) => {
                return Err(Error::FailedPrecondition(
                    "the stored client secret cannot be opened: an admin must enter it again",
                ));
            }
            (None, _) => None,
        };
        Ok(FoundProvider {
            org_id: settings.org_id,
            config: settings.config,
            client_secret,
        })
    }

    /// The person behind a verified identity: by its link, or on a first
    /// sign-in by the admin's invitation or a new account (docs/adr/0067).
    pub(crate) async fn sign_in(
        &self,
        accounts: &Accounts,
        id: &ProviderIdentity,
    ) -> Result<User, Error> {
        if id.issuer.is_empty() || id.subject.is_empty() || id.subject.len() > 255 {
            return Err(Error::invalid("subject", "must be 1 to 255 characters"));
        }
        let mut conn = self.db.pool.acquire().await?;
        let settings = store::get_settings(&mut conn, id.org_id)
            .await?
            .ok_or(Error::FailedPrecondition("provider sign-in is off"))?;
        let tenant_ok = match settings.config.preset {
            Preset::Entra => settings
                .config
                .tenant_id
                .is_some_and(|t| t.to_string() == id.tenant_id),
            Preset::Generic => settings.config.issuer == id.issuer,
        };
        if !tenant_ok {
            return Err(Error::FailedPrecondition(
                "the organisation's provider settings changed meanwhile",
            ));
        }
        let linked = store::find_identity(&mut conn, id.org_id, &id.issuer, &id.subject).await?;
        let user = match linked {
            Some(user_id) => store::get_user(&mut conn, id.org_id, user_id)
                .await?
                .ok_or(Error::Corrupt("linked user"))?,
            None => {
                let invited = match Email::parse(&id.email) {
                    Ok(email) => {
                        let account = store::find_users_by_email(&mut conn, &email)
                            .await?
                            .into_iter()
                            .find(|u| u.org_id == id.org_id);
                        match account {
                            Some(u) if !store::is_linked(&mut conn, u.id, &id.issuer).await? => {
                                Some(u)
                            }
                            // Linked to another identity of this issuer:
                            // the address alone does not make it theirs.
                            Some(_) => return Err(Error::NotFound("account")),
                            None => None,
                        }
                    }
                    Err(_) => None,
                };
                let user = match first_sign_in(
                    invited.as_ref(),
                    id.email_verified,
                    settings.config.create_accounts,
                ) {
                    FirstSignIn::Link(_) => invited.ok_or(Error::Corrupt("invitation"))?,
                    FirstSignIn::Create => {
                        drop(conn);
                        let created = self.create(accounts, id, &settings).await?;
                        conn = self.db.pool.acquire().await?;
                        created
                    }
                    FirstSignIn::Refuse => return Err(Error::NotFound("account")),
                };
                store::insert_identity(
                    &mut conn,
                    id.org_id,
                    &id.issuer,
                    &id.subject,
                    user.id,
                    now_millis(),
                )
                .await
                .map_err(|e| {
                    if store::is_unique_violation(&e) {
                        // The same first sign-in twice at once: one links.
                        Error::AlreadyExists(Taken::Identity)
                    } else {
                        Error::Database(e)
                    }
                })?;
                tracing::info!(user = %user.id, org = %id.org_id, "provider identity linked");
                user
            }
        };
        if user.disabled {
            return Err(Error::PermissionDenied("the account is disabled"));
        }
        Ok(user)
    }

    /// A new account for a first sign-in, with the default role and a
    /// random password nobody knows (an admin may reset it).
    async fn create(
        &self,
        accounts: &Accounts,
        id: &ProviderIdentity,
        settings: &StoredSettings,
    ) -> Result<User, Error> {
        let email = Email::parse(&id.email)
            .map_err(|_| Error::invalid("email", "the provider gave no usable email address"))?;
        let name = DisplayName::parse(&id.display_name)
            .or_else(|_| DisplayName::parse(email.as_str().split('@').next().unwrap_or("")))?;
        let new = NewUser {
            email,
            display_name: name,
            role: settings.config.default_role,
            password: Password::parse("password", &crate::domain::new_secret())?,
        };
        accounts.insert_in(id.org_id, new).await
    }
}
