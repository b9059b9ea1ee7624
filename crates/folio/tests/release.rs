//! Promotion as code, end to end, on a temporary copy of the repository's
//! real `argocd/` directory: through the library and through the binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use folio::release::{self, Environment, Outcome, Pin, ReleaseError};

const SHA_A: &str = "3f786850e387550fdab836ed7e6dc881de23001b";
const SHA_B: &str = "89e6c98d92887913cadf06b2adb97f26cde4849b";

fn repo_argocd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../argocd")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A temporary repository root holding a copy of `argocd/`.
fn scratch_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_argocd(), &dir.path().join("argocd"));
    dir
}

fn app_text(root: &Path, env: Environment) -> String {
    fs::read_to_string(env.application_path(root)).unwrap()
}

fn folio(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("release")
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Lines that differ between two texts of the same length in lines.
fn changed_lines(before: &str, after: &str) -> Vec<(String, String)> {
    assert_eq!(before.lines().count(), after.lines().count());
    before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

#[test]
fn the_repository_pins_every_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pins = release::status(&root).unwrap();
    assert_eq!(pins.len(), 3);
    for (_, pin) in pins {
        release::validate_tag(&pin.image_tag).unwrap();
        release::validate_revision(&pin.revision).unwrap();
    }
}

#[test]
fn dev_to_stage_to_prod_happy_path() {
    let repo = scratch_repo();
    let root = repo.path();
    let stage_before = app_text(root, Environment::Stage);

    let out = release::set_image(root, Environment::Dev, SHA_A, Some(SHA_A)).unwrap();
    assert!(out.changed(), "{out}");
    let pin_a = Pin {
        image_tag: SHA_A.into(),
        revision: SHA_A.into(),
    };
    assert_eq!(release::read_pin(root, Environment::Dev).unwrap(), pin_a);
    // STAGE is untouched until promoted.
    assert_eq!(app_text(root, Environment::Stage), stage_before);

    let out = release::promote(
        root,
        root,
        Environment::Dev,
        Environment::Stage,
        Some(SHA_A),
    )
    .unwrap();
    assert!(
        matches!(out, Outcome::Updated { env: Environment::Stage, ref after, .. } if *after == pin_a)
    );
    // Only the two pinned lines changed; comments and layout are kept.
    let changes = changed_lines(&stage_before, &app_text(root, Environment::Stage));
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes
            .iter()
            .any(|(_, b)| b.trim() == format!("value: \"{SHA_A}\""))
    );
    assert!(
        changes
            .iter()
            .any(|(_, b)| b.trim() == format!("targetRevision: \"{SHA_A}\""))
    );

    let out = folio(root, &["promote", "stage", "prod", "--tag", SHA_A]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("PROD"), "{}", stdout(&out));
    assert_eq!(release::read_pin(root, Environment::Prod).unwrap(), pin_a);

    let out = folio(root, &["get", "prod"]);
    assert_eq!(stdout(&out).trim(), SHA_A);
    let out = folio(root, &["get", "prod", "--revision"]);
    assert_eq!(stdout(&out).trim(), SHA_A);

    // A newer DEV release does not leak into STAGE or PROD by itself.
    let out = folio(root, &["set-image", "dev", SHA_B, "--revision", SHA_B]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(release::read_pin(root, Environment::Stage).unwrap(), pin_a);
    assert_eq!(release::read_pin(root, Environment::Prod).unwrap(), pin_a);
    let status = stdout(&folio(root, &["status"]));
    assert!(
        status.contains(&format!("dev    image.tag={SHA_B}")),
        "{status}"
    );
    assert!(
        status.contains(&format!("prod   image.tag={SHA_A}")),
        "{status}"
    );
}

#[test]
fn promotion_reads_the_source_from_another_checkout() {
    // promote.yml reads DEV as of the env-DEV git tag (a separate checkout)
    // while main may already point DEV at a newer, unverified image.
    let verified = scratch_repo();
    let main = scratch_repo();
    release::set_image(verified.path(), Environment::Dev, SHA_A, Some(SHA_A)).unwrap();
    release::set_image(main.path(), Environment::Dev, SHA_B, Some(SHA_B)).unwrap();

    let source = verified.path().to_str().unwrap();
    let out = folio(
        main.path(),
        &[
            "promote",
            "dev",
            "stage",
            "--source-root",
            source,
            "--tag",
            SHA_A,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        release::read_pin(main.path(), Environment::Stage)
            .unwrap()
            .image_tag,
        SHA_A
    );
    // Asking for the unverified tag from the verified checkout is refused.
    let out = folio(
        main.path(),
        &[
            "promote",
            "dev",
            "stage",
            "--source-root",
            source,
            "--tag",
            SHA_B,
        ],
    );
    assert!(!out.status.success());
}

#[test]
fn refuses_to_skip_an_environment() {
    let repo = scratch_repo();
    let root = repo.path();
    release::set_image(root, Environment::Dev, SHA_A, Some(SHA_A)).unwrap();
    let prod_before = app_text(root, Environment::Prod);

    let err = release::promote(root, root, Environment::Dev, Environment::Prod, None).unwrap_err();
    assert!(
        matches!(
            err,
            ReleaseError::SkipsEnvironment {
                skipped: Environment::Stage,
                ..
            }
        ),
        "{err}"
    );

    let out = folio(root, &["promote", "dev", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("skips STAGE"), "{}", stderr(&out));

    // Backwards, sideways, and setting an image directly are refused too.
    for args in [
        &["promote", "prod", "stage"][..],
        &["promote", "stage", "stage"][..],
        &["set-image", "prod", SHA_A][..],
        &["set-image", "stage", SHA_A][..],
    ] {
        let out = folio(root, args);
        assert!(!out.status.success(), "{args:?} was accepted");
    }
    assert_eq!(app_text(root, Environment::Prod), prod_before);
}

#[test]
fn refuses_an_unknown_environment() {
    let repo = scratch_repo();
    let root = repo.path();
    assert!(matches!(
        "qa".parse::<Environment>(),
        Err(ReleaseError::UnknownEnvironment(_))
    ));
    for args in [
        &["promote", "dev", "qa"][..],
        &["promote", "test", "stage"][..],
        &["set-image", "production", SHA_A][..],
    ] {
        let out = folio(root, args);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            stderr(&out).contains("unknown environment"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn refuses_a_tag_the_source_does_not_run() {
    let repo = scratch_repo();
    let root = repo.path();
    release::set_image(root, Environment::Dev, SHA_A, Some(SHA_A)).unwrap();
    let stage_before = app_text(root, Environment::Stage);

    let err = release::promote(
        root,
        root,
        Environment::Dev,
        Environment::Stage,
        Some(SHA_B),
    )
    .unwrap_err();
    assert!(
        matches!(err, ReleaseError::TagMismatch { ref actual, .. } if actual == SHA_A),
        "{err}"
    );

    let out = folio(root, &["promote", "dev", "stage", "--tag", SHA_B]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(SHA_A), "{}", stderr(&out));
    assert_eq!(app_text(root, Environment::Stage), stage_before);

    // Malformed tags never reach a file.
    for bad in ["", "a b", "x\"\n  evil: true", "-rf"] {
        assert!(release::set_image(root, Environment::Dev, bad, None).is_err());
    }
    let out = folio(root, &["set-image", "dev", "x:y"]);
    assert!(!out.status.success());
    assert_eq!(
        release::read_pin(root, Environment::Dev).unwrap().image_tag,
        SHA_A
    );
}

#[test]
fn promotion_is_idempotent() {
    let repo = scratch_repo();
    let root = repo.path();
    release::set_image(root, Environment::Dev, SHA_A, Some(SHA_A)).unwrap();

    let first = folio(root, &["promote", "dev", "stage"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let after_first = app_text(root, Environment::Stage);

    let second = folio(root, &["promote", "dev", "stage"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("nothing changed"),
        "{}",
        stdout(&second)
    );
    assert_eq!(app_text(root, Environment::Stage), after_first);

    let again = release::set_image(root, Environment::Dev, SHA_A, Some(SHA_A)).unwrap();
    assert!(!again.changed());
    // No temporary files are left behind.
    let leftovers: Vec<_> = fs::read_dir(root.join(release::APPS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn set_image_without_revision_keeps_the_chart_revision() {
    let repo = scratch_repo();
    let root = repo.path();
    let before = release::read_pin(root, Environment::Dev).unwrap();
    release::set_image(root, Environment::Dev, "v9.9.9", None).unwrap();
    let after = release::read_pin(root, Environment::Dev).unwrap();
    assert_eq!(after.image_tag, "v9.9.9");
    assert_eq!(after.revision, before.revision);
}
