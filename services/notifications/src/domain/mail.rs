//! Email to people: what they can be told, how they chose to be told, and
//! the messages themselves (plain text and HTML, both with the link).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::Error;

/// What a person can be told by email. A new kind is a variant here, its
/// name and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A task was assigned to them.
    Assignment,
    /// Their tasks due tomorrow or overdue (a digest only).
    Reminder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Off,
    Immediate,
    Daily,
}

impl Kind {
    pub const ALL: [Self; 2] = [Self::Assignment, Self::Reminder];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assignment => "assignment",
            Self::Reminder => "reminder",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    pub fn default_choice(self) -> Choice {
        match self {
            Self::Assignment => Choice::Immediate,
            Self::Reminder => Choice::Daily,
        }
    }

    /// Reminders gather tasks; one email per task would be noise.
    fn allows(self, choice: Choice) -> bool {
        !matches!((self, choice), (Self::Reminder, Choice::Immediate))
    }
}

impl Choice {
    pub fn as_str(self) -> &'static str {
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
pub struct Preferences(BTreeMap<Kind, Choice>);

impl Preferences {
    pub fn choice(&self, kind: Kind) -> Choice {
        self.0.get(&kind).copied().unwrap_or(kind.default_choice())
    }

    /// These choices with `kind` set to `choice`.
    pub fn with(mut self, kind: Kind, choice: Choice) -> Self {
        self.0.insert(kind, choice);
        self
    }

    /// Every kind with its choice (defaults filled in).
    pub fn all(&self) -> Vec<(Kind, Choice)> {
        Kind::ALL.into_iter().map(|k| (k, self.choice(k))).collect()
    }

    /// From `kind → choice` pairs as a person sent them.
    pub fn parse(pairs: &BTreeMap<String, String>) -> Result<Self, Error> {
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
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|(k, c)| format!("{}={}", k.as_str(), c.as_str()))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn from_stored(text: &str) -> Result<Self, Error> {
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

/// "A task was assigned to you."
pub(crate) fn assignment(context: &Context<'_>, task: &str, document: &str, link: &str) -> Message {
    let text =
        format!("The task \"{task}\" on \"{document}\" was assigned to you.\n\nOpen it: {link}\n");
    let html = format!(
        "<p>The task <strong>{}</strong> on <strong>{}</strong> was assigned to you.</p><p><a href=\"{}\">Open it in Folio</a></p>",
        escape(task),
        escape(document),
        escape(link)
    );
    wrap(context, &format!("Assigned to you: {task}"), &text, &html)
}

/// One task in a digest.
#[derive(Debug, Clone)]
pub(crate) struct DigestLine {
    pub task: String,
    pub due: String,
    pub link: String,
    pub overdue: bool,
}

/// The daily digest of tasks due tomorrow and overdue.
pub(crate) fn digest(context: &Context<'_>, lines: &[DigestLine]) -> Message {
    let mut text = String::from("Your tasks that need attention:\n\n");
    let mut html = String::from("<p>Your tasks that need attention:</p><ul>");
    for line in lines {
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
    let overdue = lines.iter().filter(|l| l.overdue).count();
    let subject = match overdue {
        0 => format!("{} task(s) due tomorrow", lines.len()),
        n => format!("{n} overdue task(s), {} due tomorrow", lines.len() - n),
    };
    wrap(context, &subject, &text, &html)
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
        let m = assignment(
            &context,
            "Review <script>",
            "Offer\nline",
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
}
