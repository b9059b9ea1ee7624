//! Handing a message to the mail system: SMTP (implicit TLS, or STARTTLS
//! whenever offered and always before credentials), or `.eml` files.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use folio_platform::secrets::Secret;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
};

use crate::{
    settings::{MailSettings, MailTransport, SmtpSettings},
    store::mails::Mail,
};

/// Why a message did not go.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// The server refused it for good (5xx): retrying cannot help.
    #[error("refused: {0}")]
    Permanent(String),
    /// Unreachable, a 4xx, a TLS failure: try again later.
    #[error("{0}")]
    Transient(String),
}

pub(crate) enum Mailer {
    Off,
    Directory(PathBuf),
    Smtp(Box<Relay>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("Mailer::Off"),
            Self::Directory(dir) => write!(f, "Mailer::Directory({})", dir.display()),
            Self::Smtp(_) => f.write_str("Mailer::Smtp"),
        }
    }
}

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// The SMTP relay: the transport in use, replaced through a watch channel
/// when the login is rotated in its secrets source and the new one is
/// accepted by the server (no restart).
pub(crate) struct Relay {
    settings: SmtpSettings,
    login: Mutex<Option<Login>>,
    transport: watch::Sender<Arc<Transport>>,
}

/// A user name and password as last fetched.
#[derive(Clone, PartialEq, Eq)]
struct Login {
    username: Secret,
    password: Secret,
}

impl Relay {
    async fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let login = fetch_login(settings).await?;
        let transport = smtp_transport(settings, login.as_ref()).await?;
        Ok(Self {
            settings: settings.clone(),
            login: Mutex::new(login),
            transport: watch::Sender::new(Arc::new(transport)),
        })
    }

    /// The transport in use now (the borrow ends here, before any await).
    fn current(&self) -> Arc<Transport> {
        self.transport.borrow().clone()
    }

    /// Fetches the login again; when it changed and the server accepts it,
    /// the next messages use it. True when it was replaced.
    async fn refresh(&self) -> Result<bool, String> {
        let fresh = fetch_login(&self.settings).await?;
        if *self.login.lock().unwrap_or_else(PoisonError::into_inner) == fresh {
            return Ok(false);
        }
        let transport = smtp_transport(&self.settings, fresh.as_ref()).await?;
        // Validated before use: a half-rotated secret leaves the old login.
        match transport.test_connection().await {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                return Err("the mail server did not accept the new login".to_owned());
            }
        }
        self.transport.send_replace(Arc::new(transport));
        *self.login.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
        Ok(true)
    }
}

impl Mailer {
    pub(crate) async fn new(settings: &MailSettings) -> Result<Self, String> {
        match &settings.transport {
            MailTransport::Off => Ok(Self::Off),
            MailTransport::Directory(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                Ok(Self::Directory(dir.clone()))
            }
            MailTransport::Smtp(smtp) => Relay::new(smtp).await.map(|r| Self::Smtp(Box::new(r))),
        }
    }

    pub(crate) fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }

    /// Fetches the SMTP login again every `period` until `stop` (0: never).
    /// A login that cannot be fetched or that the server refuses is logged,
    /// naming no value, and the one in use is kept.
    pub(crate) async fn keep_login_fresh(&self, period: Duration, stop: CancellationToken) {
        let Self::Smtp(relay) = self else {
            return;
        };
        if period.is_zero() || relay.settings.username.is_none() {
            return;
        }
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(period) => {}
            }
            match relay.refresh().await {
                Ok(true) => tracing::info!("SMTP login changed; the next mails use it"),
                Ok(false) => tracing::debug!("SMTP login unchanged"),
                Err(error) => tracing::warn!(
                    %error,
                    "cannot refresh the SMTP login; keeping the current one"
                ),
            }
        }
    }

    pub(crate) async fn send(&self, from: &str, mail: &Mail) -> Result<(), SendError> {
        let message = message(from, mail).map_err(SendError::Permanent)?;
        match self {
            Self::Off => Err(SendError::Transient(
                "no mail transport is configured".into(),
            )),
            Self::Directory(dir) => {
                let path = dir.join(format!("{}.eml", mail.id));
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| SendError::Transient(format!("{}: {e}", path.display())))?;
                tracing::info!(path = %path.display(), to = %mail.to_address, "mail written (no SMTP configured)");
                Ok(())
            }
            Self::Smtp(relay) => match relay.current().send(message).await {
                Ok(_) => Ok(()),
                Err(error) if error.is_permanent() && !is_login_refused(&error) => {
                    Err(SendError::Permanent(
                        error
                            .status()
                            .map_or_else(|| "permanently".into(), |c| c.to_string()),
                    ))
                }
                Err(error) => Err(SendError::Transient(match error.status() {
                    Some(code) => format!("the mail server answered {code}"),
                    None => "the mail server could not be reached, or TLS failed".into(),
                })),
            },
        }
    }
}

fn message(from: &str, mail: &Mail) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|_| "the sender address is not valid".to_owned())?;
    let address = mail
        .to_address
        .parse()
        .map_err(|_| "the recipient's address is not valid".to_owned())?;
    let to = Mailbox::new(Some(mail.to_name.clone()), address);
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        // The same on a resend, so mail clients can tell it is one message.
        .message_id(Some(format!("<{}@folio.notifications>", mail.id)))
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|_| "the message could not be built".to_owned())
}

/// 530, 534, 535, 538: the relay refused the login, not the message; a
/// rotated password is retried until the new one is fetched.
fn is_login_refused(error: &lettre::transport::smtp::Error) -> bool {
    error
        .status()
        .is_some_and(|code| matches!(code.to_string().as_str(), "530" | "534" | "535" | "538"))
}

async fn fetch_login(smtp: &SmtpSettings) -> Result<Option<Login>, String> {
    match (&smtp.username, &smtp.password) {
        (Some(user), Some(password)) => Ok(Some(Login {
            username: user.fetch().await.map_err(|e| e.to_string())?,
            password: password.fetch().await.map_err(|e| e.to_string())?,
        })),
        (None, None) => Ok(None),
        _ => Err("FOLIO_SMTP_USERNAME and FOLIO_SMTP_PASSWORD go together".to_owned()),
    }
}

async fn smtp_transport(smtp: &SmtpSettings, login: Option<&Login>) -> Result<Transport, String> {
    let host = smtp.url.host_str().unwrap_or_default().to_owned();
    let implicit = smtp.url.scheme() == "smtps";
    let port = smtp.url.port().unwrap_or(if implicit { 465 } else { 587 });
    let mut params = TlsParameters::builder(host.clone());
    if let Some(ca) = &smtp.ca_file {
        let pem = tokio::fs::read(ca)
            .await
            .map_err(|e| format!("FOLIO_SMTP_CA_FILE {}: {e}", ca.display()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| format!("FOLIO_SMTP_CA_FILE: {e}"))?;
        params = params.add_root_certificate(cert);
    }
    let params = params
        .build_rustls()
        .map_err(|e| format!("SMTP TLS: {e}"))?;
    let login = login.map(|l| {
        Credentials::new(
            l.username.expose().to_owned(),
            l.password.expose().to_owned(),
        )
    });
    let tls = match (implicit, login.is_some()) {
        (true, _) => Tls::Wrapper(params),
        // Credentials never travel in the clear: STARTTLS or no session.
        (false, true) => Tls::Required(params),
        (false, false) => Tls::Opportunistic(params),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(30)));
    if let Some(login) = login {
        builder = builder.credentials(login);
    }
    Ok(builder.build())
}
