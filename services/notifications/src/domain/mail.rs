//! Email to people: what they can be told, how they chose to be told, and
//! the messages themselves (plain text and HTML, both with the link).

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::error::Error;

/// What a person can be told by email. A new kind is a variant here, its
/// name and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    /// A task was assigned to them.
    Assignment,
    /// Their tasks due tomorrow or overdue (a digest only).
    Reminder,
    /// A new version made their task stale.
    Stale,
    /// An approval they asked for was decided.
    Approval,
    /// A request they made was fulfilled.
    Request,
    /// Admins: a OneDrive connection's sync is failing, or works again.
    OneDrive,
    /// Admins: a webhook endpoint was disabled after failing too long.
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    Off,
    Immediate,
    Daily,
}

impl Kind {
    pub(crate) const ALL: [Self; 7] = [
        Self::Assignment,
        Self::Reminder,
        Self::Stale,
        Self::Approval,
        Self::Request,
        Self::OneDrive,
        Self::Webhook,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Assignment => "assignment",
            Self::Reminder => "reminder",
            Self::Stale => "stale",
            Self::Approval => "approval",
            Self::Request => "request",
            Self::OneDrive => "onedrive",
            Self::Webhook => "webhook",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    pub(crate) fn default_choice(self) -> Choice {
        match self {
            Self::Reminder => Choice::Daily,
            Self::Assignment
            | Self::Stale
            | Self::Approval
            | Self::Request
            | Self::OneDrive
            | Self::Webhook => Choice::Immediate,
        }
    }

    /// Reminders gather tasks; one email per task would be noise.
    fn allows(self, choice: Choice) -> bool {
        !matches!((self, choice), (Self::Reminder, Choice::Immediate))
    }
}

impl Choice {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Immediate => "immediate",
            Self::Daily => "daily",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Off, Self::Immediate, Self::Daily]
            .into_iter()
            .find(|c| c.as_str() == raw)
    }
}

/// One person's choices; kinds not chosen take their default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Preferences(BTreeMap<Kind, Choice>);

impl Preferences {
    pub(crate) fn choice(&self, kind: Kind) -> Choice {
        self.0.get(&kind).copied().unwrap_or(kind.default_choice())
    }

    /// These choices with `kind` set to `choice`.
    pub(crate) fn with(mut self, kind: Kind, choice: Choice) -> Self {
        self.0.insert(kind, choice);
        self
    }

    /// Every kind with its choice (defaults filled in).
    pub(crate) fn all(&self) -> Vec<(Kind, Choice)> {
        Kind::ALL.into_iter().map(|k| (k, self.choice(k))).collect()
    }

    /// From `kind → choice` pairs as a person sent them.
    pub(crate) fn parse(pairs: &BTreeMap<String, String>) -> Result<Self, Error> {
        if pairs.len() > Kind::ALL.len() {
            return Err(Error::invalid(
                "preferences",
                "names a kind that does not exist",
            ));
        }
        let mut chosen = BTreeMap::new();
        for (kind, choice) in pairs {
            let kind = Kind::parse(kind)
                .ok_or_else(|| Error::invalid("preferences", "names a kind that does not exist"))?;
            let choice = Choice::parse(choice).ok_or_else(|| {
                Error::invalid("preferences", "choices are off, immediate or daily")
            })?;
            if !kind.allows(choice) {
                return Err(Error::invalid(
                    "preferences",
                    "reminders are gathered into a daily digest: off or daily",
                ));
            }
            chosen.insert(kind, choice);
        }
        Ok(Self(chosen))
    }

    /// As stored: `kind=choice` pairs, comma-separated.
    pub(crate) fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|(k, c)| format!("{}={}", k.as_str(), c.as_str()))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(crate) fn from_stored(text: &str) -> Result<Self, Error> {
        let pairs = text
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.split_once('=')
                    .map(|(k, c)| (k.to_owned(), c.to_owned()))
                    .ok_or(Error::Corrupt("preferences"))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Self::parse(&pairs).map_err(|_| Error::Corrupt("preferences"))
    }
}

/// The id of one email: the same however often its cause is read again, so
/// a restart never makes a second one.
pub(crate) fn mail_id(person: Uuid, cause: &str) -> String {
    let digest = Sha256::digest(format!("{person}/{cause}"));
    hex::encode(&digest[..16])
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Subjects are one line whatever a title holds.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(150)
        .collect()
}

/// What the organisation's name and a link look like in every message.
#[derive(Debug, Clone)]
pub(crate) struct Context<'a> {
    pub organisation: &'a str,
    pub person: &'a str,
}

fn wrap(context: &Context<'_>, subject: &str, lines_text: &str, lines_html: &str) -> Message {
    let org = context.organisation;
    Message {
        subject: one_line(&format!("[{org}] {subject}")),
        text: format!(
            "Hello {},\n\n{lines_text}\n-- \nFolio for {org}. Choose which emails you get on your account page.\n",
            context.person
        ),
        html: format!(
            "<!doctype html><html><body><p>Hello {},</p>{lines_html}<p style=\"color:#666\">Folio for {}. Choose which emails you get on your account page.</p></body></html>",
            escape(context.person),
            escape(org)
        ),
    }
}

/// What one person is told, with the names it concerns (as people typed them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    Assigned {
        task: String,
        document: String,
    },
    Stale {
        task: String,
        document: String,
        version: u32,
    },
    Decided {
        task: String,
        document: String,
        version: u32,
        approved: bool,
        by: String,
    },
    Fulfilled {
        task: String,
        document: String,
        version: u32,
        by: String,
    },
    SyncFailed {
        reason: String,
    },
    SyncRecovered,
    WebhookDisabled {
        url: String,
    },
}

impl Notice {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Self::Assigned { .. } => Kind::Assignment,
            Self::Stale { .. } => Kind::Stale,
            Self::Decided { .. } => Kind::Approval,
            Self::Fulfilled { .. } => Kind::Request,
            Self::SyncFailed { .. } | Self::SyncRecovered => Kind::OneDrive,
            Self::WebhookDisabled { .. } => Kind::Webhook,
        }
    }

    fn subject(&self) -> String {
        match self {
            Self::Assigned { task, .. } => format!("Assigned to you: {task}"),
            Self::Stale { task, .. } => format!("Out of date: {task}"),
            Self::Decided { task, approved, .. } => format!(
                "{}: {task}",
                if *approved { "Approved" } else { "Rejected" }
            ),
            Self::Fulfilled { task, .. } => format!("Request fulfilled: {task}"),
            Self::SyncFailed { .. } => "OneDrive sync is failing".to_owned(),
            Self::SyncRecovered => "OneDrive syncs again".to_owned(),
            Self::WebhookDisabled { url } => format!("Webhook disabled: {url}"),
        }
    }

    /// The one sentence that says it; `name` renders what people typed
    /// (quoted in text, escaped and bold in HTML).
    fn sentence(&self, name: &dyn Fn(&str) -> String) -> String {
        match self {
            Self::Assigned { task, document } => format!(
                "The task {} on {} was assigned to you.",
                name(task),
                name(document)
            ),
            Self::Stale {
                task,
                document,
                version,
            } => format!(
                "{} has a new version (v{version}), so your task {} is about an older one: carry it forward or close it.",
                name(document),
                name(task)
            ),
            Self::Decided {
                task,
                document,
                version,
                approved,
                by,
            } => format!(
                "{} {} version {version} of {} (your approval request {}).",
                name(by),
                if *approved { "approved" } else { "rejected" },
                name(document),
                name(task)
            ),
            Self::Fulfilled {
                task,
                document,
                version,
                by,
            } => format!(
                "{} fulfilled your request {} with version {version} of {}: accept it or send it back.",
                name(by),
                name(task),
                name(document)
            ),
            Self::SyncFailed { reason } => format!(
                "Folio cannot sync the organisation's OneDrive folder: {}. It keeps trying; if this goes on, check the connection.",
                name(reason)
            ),
            Self::SyncRecovered => {
                "The organisation's OneDrive folder syncs again: changes made meanwhile are mirrored now.".to_owned()
            }
            Self::WebhookDisabled { url } => format!(
                "The webhook endpoint {} kept failing and was disabled: nothing more is sent to it until an admin enables it again.",
                name(url)
            ),
        }
    }

    fn text(&self) -> String {
        self.sentence(&|s| format!("\"{s}\""))
    }

    fn html(&self) -> String {
        self.sentence(&|s| format!("<strong>{}</strong>", escape(s)))
    }
}

/// The email telling one person of `notice` at once.
pub(crate) fn immediate(context: &Context<'_>, notice: &Notice, link: &str) -> Message {
    let text = format!("{}\n\nOpen it: {link}\n", notice.text());
    let html = format!(
        "<p>{}</p><p><a href=\"{}\">Open it in Folio</a></p>",
        notice.html(),
        escape(link)
    );
    wrap(context, &notice.subject(), &text, &html)
}

/// One notice kept for the daily digest, rendered once when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestNews {
    pub text: String,
    pub html: String,
}

impl DigestNews {
    pub(crate) fn new(notice: &Notice, link: &str) -> Self {
        Self {
            text: format!("- {} {link}\n", notice.text()),
            html: format!(
                "<li>{} <a href=\"{}\">Open</a></li>",
                notice.html(),
                escape(link)
            ),
        }
    }
}

/// One task in a digest.
#[derive(Debug, Clone)]
pub(crate) struct DigestLine {
    pub task: String,
    pub due: String,
    pub link: String,
    pub overdue: bool,
}

/// What one person's daily digest holds: their tasks due tomorrow and
/// overdue, and what happened since the last digest of the kinds they
/// chose `daily` for (`more` of which did not fit, seen at `more_link`).
#[derive(Debug, Clone)]
pub(crate) struct Digest<'a> {
    pub due: &'a [DigestLine],
    pub news: &'a [DigestNews],
    pub more: usize,
    pub more_link: &'a str,
}

impl Digest<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        self.due.is_empty() && self.news.is_empty()
    }
}

/// How many of `due` tasks and `news` one digest shows within `total`
/// lines: each keeps at least half when the other has more.
pub(crate) fn share(due: usize, news: usize, total: usize) -> (usize, usize) {
    let due_shown = due.min(total.saturating_sub(news).max(total / 2));
    (due_shown, news.min(total - due_shown))
}

/// The daily digest: never one email per task or per change.
pub(crate) fn digest(context: &Context<'_>, digest: &Digest<'_>) -> Message {
    let mut text = String::new();
    let mut html = String::new();
    if !digest.due.is_empty() {
        text.push_str("Your tasks that need attention:\n\n");
        html.push_str("<p>Your tasks that need attention:</p><ul>");
        for line in digest.due {
            let when = if line.overdue { "overdue since" } else { "due" };
            text.push_str(&format!(
                "- {} ({when} {}): {}\n",
                line.task, line.due, line.link
            ));
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a> ({when} {})</li>",
                escape(&line.link),
                escape(&line.task),
                escape(&line.due)
            ));
        }
        html.push_str("</ul>");
        text.push('\n');
    }
    if !digest.news.is_empty() {
        text.push_str("Since your last digest:\n\n");
        html.push_str("<p>Since your last digest:</p><ul>");
        for news in digest.news {
            text.push_str(&news.text);
            html.push_str(&news.html);
        }
        html.push_str("</ul>");
        if digest.more > 0 {
            text.push_str(&format!(
                "\n... and {} more: {}\n",
                digest.more, digest.more_link
            ));
            html.push_str(&format!(
                "<p><a href=\"{}\">... and {} more in Folio</a></p>",
                escape(digest.more_link),
                digest.more
            ));
        }
    }
    let overdue = digest.due.iter().filter(|l| l.overdue).count();
    let mut parts = Vec::new();
    match (digest.due.len(), overdue) {
        (0, _) => {}
        (n, 0) => parts.push(format!("{n} task(s) due tomorrow")),
        (n, late) => parts.push(format!("{late} overdue task(s), {} due tomorrow", n - late)),
    }
    let news = digest.news.len() + digest.more;
    if news > 0 {
        parts.push(format!("{news} update(s)"));
    }
    wrap(context, &parts.join(", "), &text, &html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_default_and_are_checked() {
        let none = Preferences::default();
        assert_eq!(none.choice(Kind::Assignment), Choice::Immediate);
        assert_eq!(none.choice(Kind::Reminder), Choice::Daily);
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, c)| ((*k).to_owned(), (*c).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        let chosen = Preferences::parse(&pairs(&[("assignment", "off")])).unwrap();
        assert_eq!(chosen.choice(Kind::Assignment), Choice::Off);
        assert_eq!(
            Preferences::from_stored(&chosen.to_stored()).unwrap(),
            chosen
        );
        assert!(Preferences::parse(&pairs(&[("gossip", "daily")])).is_err());
        assert!(Preferences::parse(&pairs(&[("assignment", "hourly")])).is_err());
        assert!(Preferences::parse(&pairs(&[("reminder", "immediate")])).is_err());
    }

    #[test]
    fn messages_carry_the_link_and_escape_what_people_typed() {
        let context = Context {
            organisation: "Acme & Co",
            person: "Ann",
        };
        let m = immediate(
            &context,
            &Notice::Assigned {
                task: "Review <script>".into(),
                document: "Offer\nline".into(),
            },
            "https://folio.example/#/documents/1",
        );
        assert!(
            m.subject
                .starts_with("[Acme & Co] Assigned to you: Review <script>")
        );
        assert!(!m.subject.contains('\n'));
        assert!(m.text.contains("https://folio.example/#/documents/1"));
        assert!(
            m.html
                .contains("href=\"https://folio.example/#/documents/1\"")
        );
        assert!(m.html.contains("Review &lt;script&gt;"));
        assert!(!m.html.contains("<script>"));
        assert!(m.html.contains("Acme &amp; Co"));
        assert_eq!(mail_id(Uuid::nil(), "a"), mail_id(Uuid::nil(), "a"));
        assert_ne!(mail_id(Uuid::nil(), "a"), mail_id(Uuid::nil(), "b"));
    }

    #[test]
    fn a_digest_shares_its_lines_and_counts_what_did_not_fit() {
        assert_eq!(share(20, 5, 20), (15, 5));
        assert_eq!(share(3, 30, 20), (3, 17));
        assert_eq!(share(25, 30, 20), (10, 10));
        assert_eq!(share(0, 0, 20), (0, 0));
        let context = Context {
            organisation: "Acme",
            person: "Ann",
        };
        let news = DigestNews::new(
            &Notice::Stale {
                task: "Check".into(),
                document: "Plan <b>".into(),
                version: 3,
            },
            "https://folio.example/#/documents/1",
        );
        let m = digest(
            &context,
            &Digest {
                due: &[],
                news: std::slice::from_ref(&news),
                more: 2,
                more_link: "https://folio.example/#/tasks",
            },
        );
        assert_eq!(m.subject, "[Acme] 3 update(s)");
        assert!(m.text.contains("- \"Plan <b>\" has a new version (v3)"));
        assert!(
            m.text
                .contains("... and 2 more: https://folio.example/#/tasks")
        );
        assert!(m.html.contains("<strong>Plan &lt;b&gt;</strong>"));
    }
}
