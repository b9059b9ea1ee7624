//! Handing a message to the mail system: SMTP (implicit TLS, or STARTTLS
//! whenever offered and always before credentials), or `.eml` files.

use std::{path::PathBuf, time::Duration};

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
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
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
            MailTransport::Smtp(smtp) => smtp_transport(smtp).await.map(Self::Smtp),
        }
    }

    pub(crate) fn is_off(&self) -> bool {
        matches!(self, Self::Off)
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
            Self::Smtp(transport) => match transport.send(message).await {
                Ok(_) => Ok(()),
                Err(error) if error.is_permanent() => Err(SendError::Permanent(
                    error
                        .status()
                        .map_or_else(|| "permanently".into(), |c| c.to_string()),
                )),
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

async fn smtp_transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
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
    let login = match (&smtp.username, &smtp.password) {
        (Some(user), Some(password)) => Some(Credentials::new(
            user.fetch()
                .await
                .map_err(|e| e.to_string())?
                .expose()
                .to_owned(),
            password
                .fetch()
                .await
                .map_err(|e| e.to_string())?
                .expose()
                .to_owned(),
        )),
        (None, None) => None,
        _ => return Err("FOLIO_SMTP_USERNAME and FOLIO_SMTP_PASSWORD go together".to_owned()),
    };
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
