//! Promotion as code.
//!
//! Each environment (DEV, STAGE, PROD) is an Argo CD `Application` in
//! `argocd/apps/folio-<env>.yaml`. What an environment runs is its **pin**:
//! the image tag of every Folio service (the Helm parameter `image.tag`) and
//! the git revision the chart is taken from (`spec.source.targetRevision`).
//!
//! * [`set_image`] writes a new pin into the first environment (DEV); the
//!   release workflow calls it after pushing the images of a commit.
//! * [`promote`] copies the pin of one environment into the next one, and
//!   refuses anything else: skipping an environment, going backwards, an
//!   unknown environment, or a tag that is not what the source runs.
//!
//! Files are edited as text (comments and layout stay as they are); the
//! result is parsed again and compared with the expected document before it
//! replaces the original, so a successful call never leaves a file that
//! says something other than intended.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_norway::Value;

/// Directory (relative to the repository root) holding one Argo CD
/// Application per environment.
pub const APPS_DIR: &str = "argocd/apps";

/// Name of the Helm parameter that carries the image tag.
pub const IMAGE_TAG_PARAMETER: &str = "image.tag";

/// A deployment environment, in promotion order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Environment {
    /// Development: every commit on `main` lands here.
    Dev,
    /// Staging: takes what passed DEV.
    Stage,
    /// Production: takes what passed STAGE.
    Prod,
}

impl Environment {
    /// All environments, in promotion order.
    pub const ALL: [Environment; 3] = [Environment::Dev, Environment::Stage, Environment::Prod];

    /// Lower-case name used in file names and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Stage => "stage",
            Environment::Prod => "prod",
        }
    }

    /// Kubernetes namespace of the environment.
    pub fn namespace(self) -> String {
        format!("folio-{}", self.name())
    }

    /// Git tag that marks the commit whose release passed this environment.
    pub fn git_tag(self) -> String {
        format!("env-{}", self.name().to_ascii_uppercase())
    }

    /// The environment a release must have passed before entering this one.
    pub fn previous(self) -> Option<Environment> {
        match self {
            Environment::Dev => None,
            Environment::Stage => Some(Environment::Dev),
            Environment::Prod => Some(Environment::Stage),
        }
    }

    /// The environment a release goes to after this one.
    pub fn next(self) -> Option<Environment> {
        match self {
            Environment::Dev => Some(Environment::Stage),
            Environment::Stage => Some(Environment::Prod),
            Environment::Prod => None,
        }
    }

    /// Path of this environment's Argo CD Application under `root`.
    pub fn application_path(self, root: &Path) -> PathBuf {
        root.join(APPS_DIR)
            .join(format!("folio-{}.yaml", self.name()))
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().to_ascii_uppercase())
    }
}

impl FromStr for Environment {
    type Err = ReleaseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Environment::ALL
            .into_iter()
            .find(|env| env.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ReleaseError::UnknownEnvironment(s.to_owned()))
    }
}

/// What an environment runs: image tag and chart revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Tag of every service image (`<registry>/folio-<service>:<tag>`).
    pub image_tag: String,
    /// Git revision the chart is rendered from (`spec.source.targetRevision`).
    pub revision: String,
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "image tag {} (chart at {})",
            self.image_tag, self.revision
        )
    }
}

/// Result of a successful write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The environment's Application file was rewritten.
    Updated {
        /// Environment written.
        env: Environment,
        /// Pin before the change.
        before: Pin,
        /// Pin after the change.
        after: Pin,
    },
    /// The environment already had the requested pin; nothing was written.
    Unchanged {
        /// Environment inspected.
        env: Environment,
        /// Its (unchanged) pin.
        pin: Pin,
    },
}

impl Outcome {
    /// Whether a file was changed.
    pub fn changed(&self) -> bool {
        matches!(self, Outcome::Updated { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Updated { env, before, after } => {
                write!(f, "{env}: {before} -> {after}")
            }
            Outcome::Unchanged { env, pin } => {
                write!(f, "{env} already runs {pin}; nothing changed")
            }
        }
    }
}

/// Why a release operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// Not one of dev, stage, prod.
    #[error("unknown environment {0:?} (expected one of: dev, stage, prod)")]
    UnknownEnvironment(String),
    /// Not a valid OCI image tag.
    #[error(
        "invalid image tag {0:?}: expected 1-128 characters from [A-Za-z0-9_.-], not starting with '.' or '-'"
    )]
    InvalidTag(String),
    /// Not a plausible git revision.
    #[error("invalid git revision {0:?}")]
    InvalidRevision(String),
    /// Promotion that jumps over an environment.
    #[error(
        "refusing to promote {from} -> {to}: it skips {skipped}; promote {from} -> {skipped} first"
    )]
    SkipsEnvironment {
        /// Source environment.
        from: Environment,
        /// Target environment.
        to: Environment,
        /// The environment that would be skipped.
        skipped: Environment,
    },
    /// Promotion backwards or onto itself.
    #[error("refusing to promote {from} -> {to}: promotion only goes DEV -> STAGE -> PROD")]
    NotForward {
        /// Source environment.
        from: Environment,
        /// Target environment.
        to: Environment,
    },
    /// `set-image` on an environment that must be promoted into.
    #[error(
        "refusing to set an image directly in {0}: it only takes what passed the environment before it; use `folio release promote {prev} {name}`",
        prev = .0.previous().map_or("", Environment::name),
        name = .0.name()
    )]
    NotEntryEnvironment(Environment),
    /// `--tag` given but the source environment runs something else.
    #[error("refusing to promote tag {requested} from {env}: {env} runs {actual}")]
    TagMismatch {
        /// Source environment.
        env: Environment,
        /// Tag the caller asked for.
        requested: String,
        /// Tag the source environment actually runs.
        actual: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// A file is not YAML, or not the Application layout this tool edits.
    #[error("{path}: {message}")]
    Layout {
        /// File concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Checks that `tag` is a valid OCI image tag.
pub fn validate_tag(tag: &str) -> Result<(), ReleaseError> {
    let valid = (1..=128).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !tag.starts_with(['.', '-']);
    if valid {
        Ok(())
    } else {
        Err(ReleaseError::InvalidTag(tag.to_owned()))
    }
}

/// Checks that `revision` looks like a git branch, tag or commit.
pub fn validate_revision(revision: &str) -> Result<(), ReleaseError> {
    let valid = (1..=255).contains(&revision.len())
        && revision
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'))
        && !revision.starts_with(['.', '-', '/'])
        && !revision.ends_with(['/', '.'])
        && !revision.contains("..")
        && !revision.contains("//");
    if valid {
        Ok(())
    } else {
        Err(ReleaseError::InvalidRevision(revision.to_owned()))
    }
}

/// Reads the pin of `env` from the repository at `root`.
pub fn read_pin(root: &Path, env: Environment) -> Result<Pin, ReleaseError> {
    let path = env.application_path(root);
    let text = read(&path)?;
    let doc = parse(&path, &text)?;
    pin_of(&path, &doc)
}

/// Pins of every environment, in promotion order.
pub fn status(root: &Path) -> Result<Vec<(Environment, Pin)>, ReleaseError> {
    Environment::ALL
        .into_iter()
        .map(|env| read_pin(root, env).map(|pin| (env, pin)))
        .collect()
}

/// Points the entry environment (DEV) at images tagged `tag`; with
/// `revision`, also pins the chart to that git revision.
///
/// Refuses any other environment: they only take what passed the previous
/// one (see [`promote`]).
pub fn set_image(
    root: &Path,
    env: Environment,
    tag: &str,
    revision: Option<&str>,
) -> Result<Outcome, ReleaseError> {
    if env.previous().is_some() {
        return Err(ReleaseError::NotEntryEnvironment(env));
    }
    validate_tag(tag)?;
    if let Some(revision) = revision {
        validate_revision(revision)?;
    }
    let current = read_pin(root, env)?;
    let wanted = Pin {
        image_tag: tag.to_owned(),
        revision: revision.map_or_else(|| current.revision.clone(), str::to_owned),
    };
    write_pin(root, env, &wanted)
}

/// Copies the pin of `from` (read under `source_root`) into `to` (written
/// under `target_root`).
///
/// `source_root` lets a caller read the source environment as it was at a
/// git tag (e.g. a checkout of `env-DEV`) while writing into the current
/// branch; pass the same path twice otherwise. With `expected_tag`, refuses
/// unless the source environment runs exactly that tag.
pub fn promote(
    source_root: &Path,
    target_root: &Path,
    from: Environment,
    to: Environment,
    expected_tag: Option<&str>,
) -> Result<Outcome, ReleaseError> {
    check_step(from, to)?;
    if let Some(tag) = expected_tag {
        validate_tag(tag)?;
    }
    let source = read_pin(source_root, from)?;
    validate_tag(&source.image_tag)?;
    validate_revision(&source.revision)?;
    if let Some(tag) = expected_tag
        && tag != source.image_tag
    {
        return Err(ReleaseError::TagMismatch {
            env: from,
            requested: tag.to_owned(),
            actual: source.image_tag,
        });
    }
    write_pin(target_root, to, &source)
}

/// Checks that `from -> to` is one step forward in the promotion order.
pub fn check_step(from: Environment, to: Environment) -> Result<(), ReleaseError> {
    if to <= from {
        return Err(ReleaseError::NotForward { from, to });
    }
    match from.next() {
        Some(next) if next == to => Ok(()),
        Some(next) => Err(ReleaseError::SkipsEnvironment {
            from,
            to,
            skipped: next,
        }),
        None => Err(ReleaseError::NotForward { from, to }),
    }
}

/// Writes `wanted` into `env`'s Application, unless it is already there.
fn write_pin(root: &Path, env: Environment, wanted: &Pin) -> Result<Outcome, ReleaseError> {
    let path = env.application_path(root);
    let text = read(&path)?;
    let doc = parse(&path, &text)?;
    let before = pin_of(&path, &doc)?;
    if &before == wanted {
        return Ok(Outcome::Unchanged { env, pin: before });
    }

    let mut edited = text;
    if before.image_tag != wanted.image_tag {
        edited = replace_parameter_value(&path, &edited, IMAGE_TAG_PARAMETER, &wanted.image_tag)?;
    }
    if before.revision != wanted.revision {
        edited = replace_unique_key(&path, &edited, "targetRevision", &wanted.revision)?;
    }

    // The edit must change exactly the two pinned fields and nothing else.
    let mut expected = doc;
    set_pin(&path, &mut expected, wanted)?;
    let reparsed = parse(&path, &edited)?;
    if reparsed != expected {
        return Err(layout(
            &path,
            "editing the file would change more than the pin; refusing to write it",
        ));
    }

    write_atomically(&path, &edited)?;
    Ok(Outcome::Updated {
        env,
        before,
        after: wanted.clone(),
    })
}

fn read(path: &Path) -> Result<String, ReleaseError> {
    fs::read_to_string(path).map_err(|source| ReleaseError::Io {
        path: path.to_owned(),
        source,
    })
}

fn write_atomically(path: &Path, text: &str) -> Result<(), ReleaseError> {
    let io_err = |source| ReleaseError::Io {
        path: path.to_owned(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.folio-tmp"));
    fs::write(&tmp, text).map_err(io_err)?;
    fs::rename(&tmp, path).map_err(|source| {
        // Best effort: do not leave the temporary file behind.
        let _ = fs::remove_file(&tmp);
        io_err(source)
    })
}

fn layout(path: &Path, message: impl Into<String>) -> ReleaseError {
    ReleaseError::Layout {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn parse(path: &Path, text: &str) -> Result<Value, ReleaseError> {
    let doc: Value =
        serde_norway::from_str(text).map_err(|e| layout(path, format!("not valid YAML: {e}")))?;
    match doc.get("kind").and_then(Value::as_str) {
        Some("Application") => Ok(doc),
        _ => Err(layout(
            path,
            "not an Argo CD Application (kind: Application)",
        )),
    }
}

fn source_of<'a>(path: &Path, doc: &'a Value) -> Result<&'a Value, ReleaseError> {
    doc.get("spec")
        .and_then(|spec| spec.get("source"))
        .ok_or_else(|| layout(path, "no spec.source"))
}

fn pin_of(path: &Path, doc: &Value) -> Result<Pin, ReleaseError> {
    let source = source_of(path, doc)?;
    let revision = source
        .get("targetRevision")
        .and_then(Value::as_str)
        .ok_or_else(|| layout(path, "no string spec.source.targetRevision"))?
        .to_owned();
    let params = source
        .get("helm")
        .and_then(|helm| helm.get("parameters"))
        .and_then(Value::as_sequence)
        .ok_or_else(|| layout(path, "no spec.source.helm.parameters list"))?;
    let mut tags = params
        .iter()
        .filter(|p| p.get("name").and_then(Value::as_str) == Some(IMAGE_TAG_PARAMETER))
        .map(|p| p.get("value").and_then(Value::as_str));
    let image_tag = match (tags.next(), tags.next()) {
        (Some(Some(tag)), None) => tag.to_owned(),
        (Some(None), None) => {
            return Err(layout(
                path,
                format!("the {IMAGE_TAG_PARAMETER} parameter has no string value (quote it)"),
            ));
        }
        (None, _) => {
            return Err(layout(
                path,
                format!("no {IMAGE_TAG_PARAMETER} entry in spec.source.helm.parameters"),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(layout(
                path,
                format!("more than one {IMAGE_TAG_PARAMETER} parameter"),
            ));
        }
    };
    Ok(Pin {
        image_tag,
        revision,
    })
}

fn set_pin(path: &Path, doc: &mut Value, pin: &Pin) -> Result<(), ReleaseError> {
    let source = doc
        .get_mut("spec")
        .and_then(|spec| spec.get_mut("source"))
        .ok_or_else(|| layout(path, "no spec.source"))?;
    if let Some(revision) = source.get_mut("targetRevision") {
        *revision = Value::String(pin.revision.clone());
    }
    let params = source
        .get_mut("helm")
        .and_then(|helm| helm.get_mut("parameters"))
        .and_then(Value::as_sequence_mut)
        .ok_or_else(|| layout(path, "no spec.source.helm.parameters list"))?;
    for param in params.iter_mut() {
        if param.get("name").and_then(Value::as_str) == Some(IMAGE_TAG_PARAMETER)
            && let Some(value) = param.get_mut("value")
        {
            *value = Value::String(pin.image_tag.clone());
        }
    }
    Ok(())
}

/// One `key: value` line of a block mapping, split into its parts.
struct KeyLine<'a> {
    /// Column of the key (after indentation and an optional `- `).
    key_column: usize,
    /// The key, unquoted.
    key: &'a str,
    /// Everything up to and including the whitespace after the colon.
    head: &'a str,
    /// The scalar value as written (possibly quoted), or empty.
    value: &'a str,
    /// Whitespace and comment after the value, kept as is.
    tail: &'a str,
}

fn split_key_line(line: &str) -> Option<KeyLine<'_>> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let mut rest_start = indent;
    if line[rest_start..].starts_with("- ") {
        rest_start += 2;
        rest_start += line[rest_start..].len() - line[rest_start..].trim_start_matches(' ').len();
    }
    let rest = &line[rest_start..];
    if rest.starts_with('#') || rest.is_empty() {
        return None;
    }
    let colon = rest
        .find(": ")
        .or_else(|| rest.strip_suffix(':').map(str::len))?;
    let raw_key = &rest[..colon];
    let key = raw_key.trim_matches(|c| c == '"' || c == '\'');
    if key.is_empty() || key.contains([' ', '#']) && !raw_key.starts_with(['"', '\'']) {
        return None;
    }
    let after_colon = rest_start + colon + 1;
    let value_start =
        after_colon + line[after_colon..].len() - line[after_colon..].trim_start_matches(' ').len();
    let value_part = &line[value_start..];
    let value_len = match value_part.chars().next() {
        Some(q @ ('"' | '\'')) => value_part[1..].find(q).map_or(value_part.len(), |i| i + 2),
        Some('#') | None => 0,
        Some(_) => value_part.find(" #").unwrap_or(value_part.len()),
    };
    let value_len = value_part[..value_len].trim_end().len();
    Some(KeyLine {
        key_column: rest_start,
        key,
        head: &line[..value_start],
        value: &value_part[..value_len],
        tail: &value_part[value_len..],
    })
}

/// Quote a (validated) tag or revision so YAML reads it as a string.
fn quoted(value: &str) -> String {
    format!("\"{value}\"")
}

/// Replaces the value of the only line whose key is `key`.
fn replace_unique_key(
    path: &Path,
    text: &str,
    key: &str,
    new_value: &str,
) -> Result<String, ReleaseError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let hits: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            split_key_line(line.trim_end_matches(['\n', '\r'])).is_some_and(|k| k.key == key)
        })
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [i] => Ok(rewrite_line(&lines, *i, new_value)),
        [] => Err(layout(path, format!("no `{key}:` line to edit"))),
        _ => Err(layout(
            path,
            format!("more than one `{key}:` line; edit it by hand"),
        )),
    }
}

/// Replaces the `value:` of the list item whose `name:` is `name`.
fn replace_parameter_value(
    path: &Path,
    text: &str,
    name: &str,
    new_value: &str,
) -> Result<String, ReleaseError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let content = |i: usize| lines[i].trim_end_matches(['\n', '\r']);
    let indent = |i: usize| content(i).len() - content(i).trim_start_matches(' ').len();
    let is_blank_or_comment = |i: usize| {
        let t = content(i).trim_start();
        t.is_empty() || t.starts_with('#')
    };

    let mut found = None;
    for i in 0..lines.len() {
        let Some(kl) = split_key_line(content(i)) else {
            continue;
        };
        if kl.key != "name" || kl.value.trim_matches(|c| c == '"' || c == '\'') != name {
            continue;
        }
        // The list item spans from its "- " line to the line before the next
        // line indented at or left of the dash.
        let column = kl.key_column;
        let item_start = (0..=i)
            .rev()
            .find(|&j| {
                !is_blank_or_comment(j)
                    && content(j)[indent(j)..].starts_with("- ")
                    && split_key_line(content(j)).is_some_and(|k| k.key_column == column)
            })
            .ok_or_else(|| layout(path, format!("`name: {name}` is not in a list item")))?;
        let dash = indent(item_start);
        let item_end = (i + 1..lines.len())
            .find(|&j| !is_blank_or_comment(j) && indent(j) <= dash)
            .unwrap_or(lines.len());
        let values: Vec<usize> = (item_start..item_end)
            .filter(|&j| {
                split_key_line(content(j))
                    .is_some_and(|k| k.key == "value" && k.key_column == column)
            })
            .collect();
        match values.as_slice() {
            [v] if found.is_none() => found = Some(*v),
            [_] => {
                return Err(layout(
                    path,
                    format!("more than one `name: {name}` parameter"),
                ));
            }
            _ => {
                return Err(layout(
                    path,
                    format!("the `{name}` parameter needs exactly one `value:` line"),
                ));
            }
        }
    }
    let line = found.ok_or_else(|| layout(path, format!("no `name: {name}` parameter")))?;
    Ok(rewrite_line(&lines, line, new_value))
}

fn rewrite_line(lines: &[&str], index: usize, new_value: &str) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i != index {
            out.push_str(line);
            continue;
        }
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        if let Some(kl) = split_key_line(body) {
            let head = if kl.head.ends_with(' ') {
                kl.head.to_owned()
            } else {
                format!("{} ", kl.head)
            };
            out.push_str(&head);
            out.push_str(&quoted(new_value));
            out.push_str(kl.tail);
        } else {
            out.push_str(body);
        }
        out.push_str(ending);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_parse_case_insensitively() {
        assert_eq!("DEV".parse::<Environment>().unwrap(), Environment::Dev);
        assert_eq!(" stage".parse::<Environment>().unwrap(), Environment::Stage);
        assert!("qa".parse::<Environment>().is_err());
        assert_eq!(Environment::Prod.git_tag(), "env-PROD");
        assert_eq!(Environment::Stage.namespace(), "folio-stage");
    }

    #[test]
    fn steps_only_go_one_forward() {
        use Environment::{Dev, Prod, Stage};
        assert!(check_step(Dev, Stage).is_ok());
        assert!(check_step(Stage, Prod).is_ok());
        assert!(matches!(
            check_step(Dev, Prod),
            Err(ReleaseError::SkipsEnvironment { skipped: Stage, .. })
        ));
        assert!(matches!(
            check_step(Prod, Stage),
            Err(ReleaseError::NotForward { .. })
        ));
        assert!(matches!(
            check_step(Dev, Dev),
            Err(ReleaseError::NotForward { .. })
        ));
    }

    #[test]
    fn tags_are_validated() {
        for ok in ["a", "0123abc", "v1.2.3", "sha-1_x", &"a".repeat(128)] {
            assert!(validate_tag(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "a b",
            "a:b",
            "a\"b",
            "a\nb",
            &"a".repeat(129),
        ] {
            assert!(validate_tag(bad).is_err(), "{bad:?}");
        }
        assert!(validate_revision("main").is_ok());
        assert!(validate_revision("refs/tags/env-DEV").is_ok());
        assert!(validate_revision("a..b").is_err());
        assert!(validate_revision("x y").is_err());
    }

    #[test]
    fn key_lines_keep_comments() {
        let kl = split_key_line("        - name: image.tag  # the tag").unwrap();
        assert_eq!(kl.key, "name");
        assert_eq!(kl.value, "image.tag");
        assert_eq!(kl.tail, "  # the tag");
        assert_eq!(kl.key_column, 10);
        let kl = split_key_line("    targetRevision: \"main\" # pinned").unwrap();
        assert_eq!(kl.value, "\"main\"");
        assert_eq!(kl.tail, " # pinned");
        assert!(split_key_line("   # comment: x").is_none());
    }

    #[test]
    fn parameter_value_is_replaced_in_place() {
        let text = "spec:\n  source:\n    helm:\n      parameters:\n        - name: other\n          value: x\n        # tag\n        - name: image.tag\n          value: 'old' # keep\n        - value: y\n          name: z\n";
        let out = replace_parameter_value(Path::new("t"), text, "image.tag", "new").unwrap();
        assert_eq!(
            out,
            text.replace("value: 'old' # keep", "value: \"new\" # keep")
        );
        let reversed = "p:\n  - value: old\n    name: image.tag\n";
        let out = replace_parameter_value(Path::new("t"), reversed, "image.tag", "n").unwrap();
        assert_eq!(out, "p:\n  - value: \"n\"\n    name: image.tag\n");
    }
}
