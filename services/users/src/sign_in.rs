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
        first_sign_in, identity_id, keeps_a_way_in, parse_client_secret,
    },
    error::{Error, Taken},
    store::{self, StoredIdentity, StoredSettings},
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
    /// Or its certificate (PEM key and certificate), docs/adr/0074.
    pub client_certificate: Option<Secret>,
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
        client_certificate: Option<&str>,
    ) -> Result<Option<StoredSettings>, Error> {
        let certificate = client_certificate
            .map(parse_client_certificate)
            .transpose()?;
        if client_secret.is_some() && certificate.is_some() {
            return Err(Error::invalid(
                "client_certificate",
                "give a client_secret or a client_certificate, not both",
            ));
        }
        let is_certificate = certificate.is_some();
        let secret = match certificate {
            Some(pem) => Some(pem),
            None => client_secret.map(parse_client_secret).transpose()?,
        };
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
        let (sealed, set_at, sealed_is_certificate) = match (&secret, kept) {
            (Some(secret), _) => {
                let key = self.key.as_ref().ok_or(Error::FailedPrecondition(
                    "this deployment has no key to store client secrets with \
                     (FOLIO_USERS_SECRETS_KEY): use Entra ID with the deployment's app",
                ))?;
                let sealed = key
                    .seal(
                        &Secret::new(secret.clone()),
                        &binding(&config, actor.org_id, is_certificate),
                    )
                    .map_err(|_| Error::Corrupt("sealing a client secret"))?;
                (Some(sealed), Some(now), is_certificate)
            }
            (None, Some(kept)) if !config.client_id.is_empty() => (
                kept.secret.clone(),
                kept.secret_set_at,
                kept.secret_is_certificate,
            ),
            (None, _) => (None, None, false),
        };
        let stored = StoredSettings {
            org_id: actor.org_id,
            config,
            secret: sealed,
            secret_is_certificate: sealed_is_certificate,
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

    /// The provider of `organisation`, or of the organisation that serves
    /// the email's domain. Decided by the domain alone, never by accounts:
    /// the answer is the same whether the address has an account or not
    /// (docs/adr/0073).
    pub(crate) async fn find(
        &self,
        email: Option<&str>,
        organisation: Option<Uuid>,
    ) -> Result<FoundProvider, Error> {
        let mut conn = self.db.reader().acquire().await?;
        let org_id = match (organisation, email) {
            (Some(org_id), _) => Some(org_id),
            (None, Some(email)) => {
                let email = Email::parse(email)?;
                let domain = email.as_str().rsplit('@').next().unwrap_or_default();
                store::find_domain(&mut conn, domain).await?
            }
            (None, None) => return Err(Error::invalid("email", "or organisation_id is needed")),
        };
        let found = match org_id {
            Some(org_id) => store::get_settings(&mut conn, org_id).await?,
            None => None,
        };
        let settings = found.ok_or(Error::NotFound("sign-in provider"))?;
        let is_certificate = settings.secret_is_certificate;
        let opened = match (&settings.secret, &self.key) {
            (Some(sealed), Some(key)) => Some(
                key.open(
                    sealed,
                    &binding(&settings.config, settings.org_id, is_certificate),
                )
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
        let (client_secret, client_certificate) = if is_certificate {
            (None, opened)
        } else {
            (opened, None)
        };
        Ok(FoundProvider {
            org_id: settings.org_id,
            config: settings.config,
            client_secret,
            client_certificate,
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
        let user = accounts.insert_in(id.org_id, new).await?;
        let mut conn = self.db.pool.acquire().await?;
        store::set_password_known(&mut conn, user.id, false).await?;
        Ok(user)
    }

    /// The person whose identities `actor` asks about: their own
    /// (`user_id` none or theirs), or, for an admin, anyone's of the
    /// organisation. Another organisation's person is not found.
    async fn whose(
        conn: &mut sqlx::AnyConnection,
        actor: &Actor,
        user_id: Option<Uuid>,
    ) -> Result<(User, bool), Error> {
        let me = store::get_user(conn, actor.org_id, actor.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(Error::PermissionDenied("the account is disabled"))?;
        match user_id {
            None => Ok((me, true)),
            Some(id) if id == me.id => Ok((me, true)),
            Some(_) if !me.is_enabled_admin() => {
                Err(Error::PermissionDenied("only an admin may do this"))
            }
            Some(id) => store::get_user(conn, actor.org_id, id)
                .await?
                .map(|u| (u, false))
                .ok_or(Error::NotFound("user")),
        }
    }

    /// A person's linked identities, each with whether it is of the issuer
    /// the organisation signs in with now.
    pub(crate) async fn identities(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
    ) -> Result<Vec<(StoredIdentity, bool)>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        let (user, _) = Self::whose(&mut conn, actor, user_id).await?;
        let settings = store::get_settings(&mut conn, user.org_id).await?;
        let issuer = settings.as_ref().map(current_issuer);
        Ok(store::list_identities(&mut conn, user.org_id, user.id)
            .await?
            .into_iter()
            .map(|i| {
                let current = issuer.as_ref().is_some_and(|c| c.matches(&i.issuer));
                (i, current)
            })
            .collect())
    }

    /// Unlinks one of a person's identities. Their own only while they keep
    /// a way in; an admin may unlink anyone's of the organisation (the
    /// account is an invitation again, linked by its next first sign-in).
    pub(crate) async fn unlink(
        &self,
        actor: &Actor,
        user_id: Option<Uuid>,
        wanted: &str,
    ) -> Result<(), Error> {
        let mut tx = self.db.pool.begin().await?;
        let (user, own) = Self::whose(&mut tx, actor, user_id).await?;
        let identities = store::list_identities(&mut tx, user.org_id, user.id).await?;
        let target = identities
            .iter()
            .find(|i| identity_id(&i.issuer, &i.subject) == wanted.trim())
            .ok_or(Error::NotFound("identity"))?;
        if own {
            let settings = store::get_settings(&mut tx, user.org_id).await?;
            let issuer = settings.as_ref().map(current_issuer);
            let others = identities
                .iter()
                .filter(|i| !std::ptr::eq(*i, target))
                .filter(|i| issuer.as_ref().is_some_and(|c| c.matches(&i.issuer)))
                .count();
            let known = store::password_known(&mut tx, user.id).await?;
            if !keeps_a_way_in(settings.as_ref().map(|s| &s.config), &user, known, others) {
                return Err(Error::LastWayIn);
            }
        }
        if !store::delete_identity(
            &mut tx,
            user.org_id,
            user.id,
            &target.issuer,
            &target.subject,
        )
        .await?
        {
            return Err(Error::NotFound("identity"));
        }
        tx.commit().await?;
        tracing::info!(
            user = %user.id,
            org = %user.org_id,
            by = %actor.user_id,
            "provider identity unlinked"
        );
        Ok(())
    }
}

/// The issuer an organisation signs in with now, to tell current links from
/// those of an earlier provider.
enum CurrentIssuer {
    Exact(String),
    /// `{authority}/{tenant}/v2.0`.
    EntraTenant(String),
}

impl CurrentIssuer {
    fn matches(&self, issuer: &str) -> bool {
        match self {
            Self::Exact(exact) => issuer == exact,
            Self::EntraTenant(tenant) => {
                !tenant.is_empty() && issuer.ends_with(&format!("/{tenant}/v2.0"))
            }
        }
    }
}

/// Which stored issuers the organisation signs in with now. The users
/// service does not know the deployment's Entra authority, so an Entra
/// issuer is recognised by its tenant segment.
fn current_issuer(settings: &StoredSettings) -> CurrentIssuer {
    match settings.config.preset {
        Preset::Entra => CurrentIssuer::EntraTenant(
            settings
                .config
                .tenant_id
                .map(|t| t.to_string())
                .unwrap_or_default(),
        ),
        Preset::Generic => CurrentIssuer::Exact(settings.config.issuer.clone()),
    }
}

/// What a sealed credential is bound to: a certificate's binding differs
/// from a secret's, so a row whose kind was altered does not open.
fn binding(config: &OidcConfig, org_id: Uuid, is_certificate: bool) -> String {
    let binding = config.secret_binding(org_id);
    if is_certificate {
        format!("{binding}/certificate")
    } else {
        binding
    }
}

/// An organisation's client certificate as entered: PEM text with a
/// certificate and a private key block, at most 16 KiB. The bff checks the
/// key signs; here only its shape.
fn parse_client_certificate(raw: &str) -> Result<String, Error> {
    let pem = raw.trim();
    let has_key = [
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----",
    ]
    .iter()
    .any(|b| pem.contains(b));
    if pem.len() > 16 * 1024
        || !pem.contains("-----BEGIN CERTIFICATE-----")
        || !has_key
        || pem.contains('\0')
    {
        return Err(Error::invalid(
            "client_certificate",
            "must be PEM text with the RSA private key and the certificate, at most 16 KiB",
        ));
    }
    Ok(pem.to_owned())
}
