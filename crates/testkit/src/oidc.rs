//! A real OpenID Connect provider per test: npm's oidc-provider (OpenID
//! Certified) on a free loopback port, with two issuers that play Entra ID
//! tenants (`/{tid}/v2.0`) and one plain issuer (`/generic`), its own login
//! page, and a switch that makes its next token answers lie
//! (`node/oidc_provider.mjs`). `scripts/install-oidc-provider` (run by
//! `./scripts/test`) installs the package into `~/.cache/folio-oidc-provider`
//! (or `$FOLIO_OIDC_PROVIDER_DIR`).

use std::{io::Read, path::PathBuf};

use reqwest::{StatusCode, Url, header};
use serde_json::{Value, json};

use crate::process::Tied;

const SCRIPT: &str = include_str!("../node/oidc_provider.mjs");

/// The two tenants the provider plays.
pub const TENANT_A: &str = "2f6e4a3c-0b1d-4e5f-8a9b-1c2d3e4f5a6b";
pub const TENANT_B: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

fn install_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FOLIO_OIDC_PROVIDER_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cache/folio-oidc-provider")
}

/// The running provider. Dropping it (or [`OidcProvider::stop`]) stops it.
#[derive(Debug)]
pub struct OidcProvider {
    port: u16,
    http: reqwest::Client,
    process: Option<Tied>,
    script: PathBuf,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.script);
    }
}

impl OidcProvider {
    pub fn start() -> Self {
        let dir = install_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "{} has no oidc-provider — the sign-in tests need it: run \
             scripts/install-oidc-provider (./scripts/test does)",
            dir.display()
        );
        // Beside its node_modules, so that its imports resolve.
        let script = dir.join(format!("provider-{}.mjs", uuid::Uuid::new_v4().simple()));
        std::fs::write(&script, SCRIPT).expect("provider script written");
        let mut process = Tied::spawn_with_stdout("node", [script.display().to_string()]);
        let mut stderr = process.stderr();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        let port = process
            .first_line()
            .and_then(|l| l.parse().ok())
            .expect("the provider prints its port");
        Self {
            port,
            http: reqwest::Client::new(),
            process: Some(process),
            script,
        }
    }

    /// Where the Entra tenants' issuers live (`FOLIO_BFF_ENTRA_AUTHORITY`).
    pub fn authority(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The issuer of a tenant the provider plays.
    pub fn tenant_issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.authority())
    }

    /// The plain (non-Entra) issuer.
    pub fn generic_issuer(&self) -> String {
        format!("{}/generic", self.authority())
    }

    async fn control(&self, body: Value) {
        let answer = self
            .http
            .post(format!("{}/_control", self.authority()))
            .json(&body)
            .send()
            .await
            .expect("provider control");
        assert!(answer.status().is_success());
    }

    /// Registers the one client (Folio) with every issuer.
    pub async fn setup(&self, redirect_uri: &str, client_id: &str, client_secret: &str) {
        self.control(json!({"setup": {
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
            "tenants": [TENANT_A, TENANT_B],
        }}))
        .await;
    }

    /// As `setup`, for several Folio addresses (replicas) at once.
    pub async fn setup_for_all(
        &self,
        redirect_uris: &[String],
        client_id: &str,
        client_secret: &str,
    ) {
        self.control(json!({"setup": {
            "redirect_uris": redirect_uris,
            "client_id": client_id,
            "client_secret": client_secret,
            "tenants": [TENANT_A, TENANT_B],
        }}))
        .await;
    }

    /// Registers, beside the secret one, a client that authenticates with
    /// a signed assertion (`private_key_jwt`, as Entra ID's certificate
    /// credentials): the provider trusts the public half of `private_key`.
    pub async fn setup_with_key_client(
        &self,
        redirect_uri: &str,
        client_id: &str,
        client_secret: &str,
        key_client_id: &str,
        private_key: &str,
    ) {
        self.control(json!({"setup": {
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
            "tenants": [TENANT_A, TENANT_B],
            "key_client": {"client_id": key_client_id, "private_key": private_key},
        }}))
        .await;
    }

    /// The last client assertion the token endpoint was sent.
    pub async fn last_assertion(&self) -> Option<String> {
        self.report().await["assertion"].as_str().map(str::to_owned)
    }

    /// How many times any issuer's signing keys (JWKS) were fetched.
    pub async fn jwks_fetches(&self) -> u64 {
        self.report().await["jwks_fetches"].as_u64().unwrap_or(0)
    }

    async fn report(&self) -> Value {
        self.http
            .post(format!("{}/_control", self.authority()))
            .json(&json!({"last_assertion": true}))
            .send()
            .await
            .expect("provider control")
            .json()
            .await
            .expect("provider control answer")
    }

    /// Makes the token answers lie from now on (`None`: honest again):
    /// `wrong_iss`, `other_aud`, `expired`, `nbf_future`, `alg_none`,
    /// `hs256`, `unknown_kid`, `replay_nonce`, `other_tid`, `resign`.
    pub async fn forge(&self, mode: Option<&str>) {
        self.control(json!({ "forge": mode })).await;
    }

    /// Whether the provider's JWKS lists the key forged tokens are signed
    /// with (`false`: as before a key rotation).
    pub async fn publish_forger_key(&self, published: bool) {
        self.control(json!({ "publish_forger": published })).await;
    }

    /// What the provider says about the person who signs in as `login`.
    pub async fn person(&self, login: &str, email: &str, email_verified: bool) {
        self.control(json!({"user": {
            "login": login, "email": email, "email_verified": email_verified, "name": login,
        }}))
        .await;
    }

    /// A guest of the tenants (the Entra `idp` claim names their home
    /// directory), whose address the tenant does not vouch for.
    pub async fn guest(&self, login: &str, email: &str) {
        self.control(json!({"user": {
            "login": login, "email": email, "email_verified": true, "name": login, "guest": true,
        }}))
        .await;
    }

    /// Stops the provider: it is down from now on.
    pub fn stop(&mut self) {
        self.process.take();
    }

    /// Signs in at the provider's own login page as `login`, starting from
    /// the provider URL Folio redirected to; answers the URL the provider
    /// sends the browser back to (Folio's callback, not yet visited).
    pub async fn log_in(&self, authorize: &str, login: &str) -> String {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut url: Url = authorize.parse().expect("an authorization URL");
        for _ in 0..10 {
            if url.port() != Some(self.port) {
                return url.to_string();
            }
            let response = browser
                .get(url.clone())
                .send()
                .await
                .expect("provider answers");
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()[header::LOCATION]
                    .to_str()
                    .unwrap()
                    .to_owned();
                url = url.join(&location).unwrap();
                continue;
            }
            assert_eq!(status, StatusCode::OK, "the provider's page at {url}");
            let page = response.text().await.unwrap();
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("a login form: {page}"));
            let posted = browser
                .post(url.join(action).unwrap())
                .form(&[("prompt", "login"), ("login", login), ("password", "any")])
                .send()
                .await
                .expect("the login form is accepted");
            assert!(posted.status().is_redirection(), "{}", posted.status());
            let location = posted.headers()[header::LOCATION]
                .to_str()
                .unwrap()
                .to_owned();
            url = url.join(&location).unwrap();
        }
        panic!("the provider never sent the browser back");
    }
}

/// An app's certificate credential for tests: an RSA private key (made by
/// node, as ring makes no RSA keys) and a self-signed certificate for it.
/// Answers (the key's PEM, the certificate's PEM).
pub fn client_certificate(name: &str) -> (String, String) {
    let made = std::process::Command::new("node")
        .args([
            "-e",
            "process.stdout.write(require('crypto').generateKeyPairSync('rsa', \
             {modulusLength: 2048}).privateKey.export({type: 'pkcs8', format: 'pem'}))",
        ])
        .output()
        .expect("node makes an RSA key");
    assert!(made.status.success(), "node: {:?}", made);
    let key_pem = String::from_utf8(made.stdout).expect("PEM");
    let key = rcgen::KeyPair::from_pem(&key_pem).expect("an RSA key rcgen signs with");
    let certificate = rcgen::CertificateParams::new(vec![name.to_owned()])
        .expect("certificate parameters")
        .self_signed(&key)
        .expect("a self-signed certificate");
    (key_pem, certificate.pem())
}
