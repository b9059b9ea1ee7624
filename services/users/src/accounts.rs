//! The users service's use cases: each checks who may do it, applies the
//! domain rules and commits its changes in one transaction.

use folio_platform::{actor::Actor, clock::now_millis, db::Database};
use uuid::Uuid;

use crate::{
    domain::{
        DisplayName, Email, Organisation, OrganisationName, Password, PasswordHash, Role, User,
        UserChanges, verify_each, verify_or_waste_time,
    },
    error::{Error, Taken},
    store,
};

/// A new user's details, parsed.
#[derive(Debug, Clone)]
pub(crate) struct NewUser {
    pub email: Email,
    pub display_name: DisplayName,
    pub role: Role,
    pub password: Password,
}

#[derive(Debug, Clone)]
pub(crate) struct Accounts {
    db: Database,
}

/// Hashes with the salt and parameters the email's other accounts use (see
/// `Password::hash_like`), so one Argon2 run checks all of them at sign-in.
async fn hash_for(db: &Database, email: &Email, password: Password) -> Result<PasswordHash, Error> {
    let sibling = {
        let mut conn = db.reader().acquire().await?;
        store::find_users_by_email(&mut conn, email)
            .await?
            .into_iter()
            .next()
            .map(|u| u.password_hash)
    };
    tokio::task::spawn_blocking(move || password.hash_like(sibling.as_ref())).await?
}

/// What a correct email and password lead to.
#[derive(Debug, Clone)]
pub(crate) enum SignIn {
    /// One account matched (or the one chosen did).
    User(User),
    /// The password is right for accounts in several organisations: the
    /// person chooses. Only those organisations are named.
    Choose(Vec<Organisation>),
}

fn unique(error: sqlx::Error, what: Taken) -> Error {
    if store::is_unique_violation(&error) {
        Error::AlreadyExists(what)
    } else {
        Error::Database(error)
    }
}

impl Accounts {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    fn user(org_id: Uuid, new: NewUser, password_hash: PasswordHash, now: i64) -> User {
        User {
            id: Uuid::now_v7(),
            org_id,
            email: new.email,
            display_name: new.display_name,
            role: new.role,
            disabled: false,
            password_hash,
            created_at: now,
            updated_at: now,
        }
    }

    pub(crate) async fn create_organisation(
        &self,
        name: OrganisationName,
        admin: NewUser,
    ) -> Result<(Organisation, User), Error> {
        let password_hash = hash_for(&self.db, &admin.email, admin.password.clone()).await?;
        let now = now_millis();
        let org = Organisation {
            id: Uuid::now_v7(),
            name: name.as_str().to_owned(),
            created_at: now,
        };
        let admin = Self::user(
            org.id,
            NewUser {
                role: Role::Admin,
                ..admin
            },
            password_hash,
            now,
        );
        let mut tx = self.db.pool.begin().await?;
        store::insert_organisation(&mut tx, &org)
            .await
            .map_err(|e| unique(e, Taken::OrganisationName))?;
        store::insert_user(&mut tx, &admin)
            .await
            .map_err(|e| unique(e, Taken::Email))?;
        tx.commit().await?;
        tracing::info!(org = %org.id, "organisation created");
        Ok((org, admin))
    }

    pub(crate) async fn list_organisations(&self) -> Result<Vec<Organisation>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        store::list_organisations(&mut conn).await
    }

    /// Creates the first organisation and admin from configuration, once:
    /// does nothing when a user with that email already exists.
    pub(crate) async fn bootstrap(
        &self,
        org_name: OrganisationName,
        admin: NewUser,
    ) -> Result<bool, Error> {
        let mut conn = self.db.reader().acquire().await?;
        if !store::find_users_by_email(&mut conn, &admin.email)
            .await?
            .is_empty()
        {
            return Ok(false);
        }
        drop(conn);
        match self.create_organisation(org_name, admin).await {
            Ok(_) => Ok(true),
            // Another replica bootstrapped at the same moment.
            Err(Error::AlreadyExists(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A wrong password, an unknown email and a disabled user answer alike,
    /// after the same amount of hashing work, whichever organisations the
    /// email has accounts in: the email's accounts share a salt, so one
    /// Argon2 run checks them all. `organisation` picks among several.
    pub(crate) async fn sign_in(
        &self,
        email: &str,
        password: String,
        organisation: Option<Uuid>,
    ) -> Result<SignIn, Error> {
        let accounts = match Email::parse(email) {
            Ok(email) => {
                let mut conn = self.db.reader().acquire().await?;
                store::find_users_by_email(&mut conn, &email).await?
            }
            Err(_) => Vec::new(),
        };
        let hashes: Vec<PasswordHash> = accounts.iter().map(|u| u.password_hash.clone()).collect();
        let matches = tokio::task::spawn_blocking(move || {
            let refs: Vec<&PasswordHash> = hashes.iter().collect();
            verify_each(&refs, &password)
        })
        .await?;
        let opened: Vec<User> = accounts
            .into_iter()
            .zip(matches)
            .filter(|(user, ok)| *ok && !user.disabled)
            .map(|(user, _)| user)
            .filter(|user| organisation.is_none_or(|org| user.org_id == org))
            .collect();
        // The password was right: only now may the answer say that the
        // organisation signs in with its provider instead.
        let mut matched = Vec::with_capacity(opened.len());
        let mut provider_only = false;
        if !opened.is_empty() {
            let mut conn = self.db.reader().acquire().await?;
            for user in opened {
                if crate::sign_in::allows_password(&mut conn, &user).await? {
                    matched.push(user);
                } else {
                    provider_only = true;
                }
            }
        }
        match matched.len() {
            0 if provider_only => Err(Error::ProviderOnly),
            0 => Err(Error::WrongCredentials),
            1 => Ok(SignIn::User(matched.remove(0))),
            _ => {
                let mut conn = self.db.reader().acquire().await?;
                let mut choices = Vec::with_capacity(matched.len());
                for user in &matched {
                    let name = store::organisation_name(&mut conn, user.org_id)
                        .await?
                        .ok_or(Error::Corrupt("organisation"))?;
                    choices.push(Organisation {
                        id: user.org_id,
                        name,
                        created_at: 0,
                    });
                }
                choices.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(SignIn::Choose(choices))
            }
        }
    }

    /// The actor as stored now: their role may have changed since they signed in.
    async fn require_admin(conn: &mut sqlx::AnyConnection, actor: &Actor) -> Result<User, Error> {
        match store::get_user(conn, actor.org_id, actor.user_id).await? {
            Some(user) if user.is_enabled_admin() => Ok(user),
            _ => Err(Error::PermissionDenied("only an admin may do this")),
        }
    }

    pub(crate) async fn provision(&self, actor: &Actor, new: NewUser) -> Result<User, Error> {
        {
            let mut conn = self.db.reader().acquire().await?;
            Self::require_admin(&mut conn, actor).await?;
        }
        self.insert_in(actor.org_id, new).await
    }

    /// A new account in `org_id` (provisioned, or a provider's first sign-in).
    pub(crate) async fn insert_in(&self, org_id: Uuid, new: NewUser) -> Result<User, Error> {
        let password_hash = hash_for(&self.db, &new.email, new.password.clone()).await?;
        let user = Self::user(org_id, new, password_hash, now_millis());
        let mut conn = self.db.pool.acquire().await?;
        store::insert_user(&mut conn, &user)
            .await
            .map_err(|e| unique(e, Taken::Email))?;
        tracing::info!(user = %user.id, org = %user.org_id, "user provisioned");
        Ok(user)
    }

    pub(crate) async fn get(&self, actor: &Actor, id: Uuid) -> Result<User, Error> {
        let mut conn = self.db.reader().acquire().await?;
        store::get_user(&mut conn, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Organisations (all, or the one given) with their people.
    pub(crate) async fn recipients(
        &self,
        only: Option<Uuid>,
    ) -> Result<Vec<(Organisation, Vec<User>)>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        let orgs = store::list_organisations(&mut conn).await?;
        let mut out = Vec::new();
        for org in orgs
            .into_iter()
            .filter(|o| only.is_none_or(|id| o.id == id))
        {
            let users = store::list_users(&mut conn, org.id).await?;
            out.push((org, users));
        }
        Ok(out)
    }

    pub(crate) async fn list(&self, actor: &Actor) -> Result<Vec<User>, Error> {
        let mut conn = self.db.reader().acquire().await?;
        store::list_users(&mut conn, actor.org_id).await
    }

    pub(crate) async fn update(
        &self,
        actor: &Actor,
        id: Uuid,
        changes: &UserChanges,
    ) -> Result<User, Error> {
        let mut tx = self.db.pool.begin().await?;
        // Lock first, then read: concurrent demotions cannot both see "another admin left".
        if !store::lock_admins(&mut tx, actor.org_id).await? {
            return Err(Error::PermissionDenied("only an admin may do this"));
        }
        Self::require_admin(&mut tx, actor).await?;
        let mut user = store::get_user(&mut tx, actor.org_id, id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if changes.is_empty() {
            return Ok(user);
        }
        let was_admin = user.is_enabled_admin();
        changes.apply(&mut user, now_millis());
        store::update_user(&mut tx, &user).await?;
        if was_admin
            && !user.is_enabled_admin()
            && store::count_enabled_admins(&mut tx, actor.org_id).await? == 0
        {
            return Err(Error::LastAdmin);
        }
        tx.commit().await?;
        Ok(user)
    }

    pub(crate) async fn reset_password(
        &self,
        actor: &Actor,
        id: Uuid,
        password: Password,
    ) -> Result<(), Error> {
        let user = {
            let mut conn = self.db.reader().acquire().await?;
            Self::require_admin(&mut conn, actor).await?;
            store::get_user(&mut conn, actor.org_id, id)
                .await?
                .ok_or(Error::NotFound("user"))?
        };
        let hash = hash_for(&self.db, &user.email, password).await?;
        let mut conn = self.db.pool.acquire().await?;
        store::update_password(&mut conn, &user, &hash, now_millis()).await?;
        Ok(())
    }

    pub(crate) async fn change_password(
        &self,
        actor: &Actor,
        current: String,
        new: Password,
    ) -> Result<(), Error> {
        let user = {
            let mut conn = self.db.reader().acquire().await?;
            store::get_user(&mut conn, actor.org_id, actor.user_id).await?
        };
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let matches =
            tokio::task::spawn_blocking(move || verify_or_waste_time(stored.as_ref(), &current))
                .await?;
        let user = match user {
            Some(user) if matches && !user.disabled => user,
            _ => return Err(Error::WrongCredentials),
        };
        let new_hash = hash_for(&self.db, &user.email, new).await?;
        let mut conn = self.db.pool.acquire().await?;
        store::update_password(&mut conn, &user, &new_hash, now_millis()).await?;
        Ok(())
    }
}
