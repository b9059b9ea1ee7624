//! Email as people get it, through a real SMTP server (aiosmtpd) per test:
//! plain on loopback, STARTTLS with a test CA and a login, implicit TLS, a
//! server that refuses; `.eml` files without SMTP; choices; the digest.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use folio_notifications::settings::{MailSettings, MailTransport, SmtpSettings};
use folio_platform::{
    actor::Actor,
    db::Backend,
    secrets::{FileSecrets, Secret, SecretSource},
};
use folio_proto::{
    documents::v1 as docs,
    notifications::v1::{self as pb, notifications_service_client::NotificationsServiceClient},
};
use folio_testkit::receivers::{Mail, SmtpOptions, SmtpServer};
use time::{Duration as Span, OffsetDateTime, macros::format_description};
use tonic::Code;

use crate::helpers::{World, eventually};

pub const PORTAL: &str = "https://folio.example.com/";

pub fn smtp(
    url: &str,
    login: Option<(&str, &str)>,
    ca: Option<std::path::PathBuf>,
) -> MailSettings {
    let source = |value: &str, var: &str| Some(SecretSource::given(Secret::new(value), var));
    MailSettings {
        transport: MailTransport::Smtp(Box::new(SmtpSettings {
            url: url.parse().unwrap(),
            username: login.and_then(|(u, _)| source(u, "FOLIO_SMTP_USERNAME")),
            password: login.and_then(|(_, p)| source(p, "FOLIO_SMTP_PASSWORD")),
            ca_file: ca,
        })),
        from: "Folio <folio@folio.example.com>".into(),
        public_url: PORTAL.parse().unwrap(),
        digest_hour: None,
    }
}

pub async fn mails(server: &SmtpServer, at_least: usize) -> Vec<Mail> {
    eventually(Duration::from_secs(20), "mail", || async {
        let got = server.received();
        (got.len() >= at_least).then_some(got)
    })
    .await
}

/// `assigner` creates a document and a task assigned to `assignee`.
pub async fn assign(world: &World, assigner: &Actor, assignee: &Actor, title: &str) -> docs::Task {
    let document = world.upload(assigner, title).await;
    world
        .create_task(assigner, &document.id, Some(assignee))
        .await
}

async fn an_assignment_is_mailed_with_both_parts_and_the_link(backend: Backend) {
    let server = SmtpServer::start(&SmtpOptions::default());
    let world = World::start_with_mail(
        backend,
        smtp(&format!("smtp://127.0.0.1:{}", server.port()), None, None),
    )
    .await;
    let (admin, editor) = (world.org.admin, world.org.editor);
    let task = assign(&world, &admin, &editor, "Offer <draft>").await;
    // Assigning oneself tells nobody; another organisation's assignment
    // reaches only its own people.
    assign(&world, &admin, &admin, "Self").await;
    let got = mails(&server, 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got = if server.received().len() > got.len() {
        server.received()
    } else {
        got
    };
    assert_eq!(got.len(), 1, "{got:#?}");
    let mail = &got[0];
    assert_eq!(mail.to, ["editor@acme.example"]);
    assert!(!mail.tls, "a plain loopback server offers no STARTTLS");
    assert_eq!(mail.content_type, "multipart/alternative");
    assert!(
        mail.subject.starts_with("[acme] Assigned to you: Review"),
        "{}",
        mail.subject
    );
    let link = format!("{PORTAL}#/documents/{}", task.document_id);
    let text = mail.text.as_deref().unwrap();
    let html = mail.html.as_deref().unwrap();
    assert!(text.contains(&link), "{text}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(text.contains("Offer <draft>") && html.contains("Offer &lt;draft&gt;"));
    assert!(text.contains("acme") && html.contains("acme"));
    assert!(!mail.data.contains("globex"));
    assert!(mail.message_id.contains("@folio.notifications"));
}

async fn starttls_with_a_test_ca_and_credentials_only_under_tls(backend: Backend) {
    let pki = folio_testkit::Pki::new();
    let tls = pki.files("smtp");
    let server = SmtpServer::start(&SmtpOptions {
        starttls: Some((tls.cert.clone(), tls.key.clone())),
        auth: Some(("folio".into(), "s3cret".into())),
        ..SmtpOptions::default()
    });
    let url = format!("smtp://localhost:{}", server.port());
    let world = World::start_with_mail(
        backend,
        smtp(&url, Some(("folio", "s3cret")), Some(tls.ca.clone())),
    )
    .await;
    assign(&world, &world.org.admin, &world.org.editor, "Secure").await;
    let got = mails(&server, 1).await;
    assert!(got[0].tls, "STARTTLS was used: {:?}", got[0]);
    assert!(got[0].authenticated);

    // A server without STARTTLS never gets the credentials: nothing is sent.
    let plain = SmtpServer::start(&SmtpOptions::default());
    let mut settings = world.settings();
    settings.mail = smtp(
        &format!("smtp://127.0.0.1:{}", plain.port()),
        Some(("folio", "s3cret")),
        Some(tls.ca.clone()),
    );
    world.notifications_stop_and_wait().await;
    let strict = World::spawn(settings).await;
    assign(
        &world,
        &world.org.admin,
        &world.org.viewer,
        "Never in clear",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(plain.received().is_empty());
    assert_eq!(server.received().len(), 1);
    strict.stop().await;

    // Implicit TLS (smtps://) with the same CA.
    let wrapped = SmtpServer::start(&SmtpOptions {
        implicit_tls: Some((tls.cert.clone(), tls.key.clone())),
        ..SmtpOptions::default()
    });
    let mut settings = world.settings();
    settings.mail = smtp(
        &format!("smtps://localhost:{}", wrapped.port()),
        None,
        Some(tls.ca.clone()),
    );
    let _smtps = World::spawn(settings).await;
    let got = mails(&wrapped, 1).await;
    assert!(got[0].tls);
    assert_eq!(
        got[0].to,
        ["viewer@acme.example"],
        "the pending mail went out"
    );
}

async fn a_rotated_smtp_password_is_used_without_a_restart_once_the_server_takes_it(
    backend: Backend,
) {
    let pki = folio_testkit::Pki::new();
    let tls = pki.files("smtp");
    let server = SmtpServer::start(&SmtpOptions {
        starttls: Some((tls.cert.clone(), tls.key.clone())),
        auth: Some(("folio".into(), "first".into())),
        ..SmtpOptions::default()
    });
    // The password lives in a file (a Kubernetes secret volume), read again
    // every refresh period.
    let secrets = tempfile::tempdir().unwrap();
    let rotate = |password: &str| {
        std::fs::write(secrets.path().join("smtp-password"), password).unwrap();
    };
    rotate("first");
    let mut mail = smtp(
        &format!("smtp://localhost:{}", server.port()),
        Some(("folio", "unused")),
        Some(tls.ca.clone()),
    );
    if let MailTransport::Smtp(relay) = &mut mail.transport {
        relay.password = Some(SecretSource::new(
            Arc::new(FileSecrets {
                dir: secrets.path().to_owned(),
            }),
            "smtp-password",
            "FOLIO_SMTP_PASSWORD_FILE",
        ));
    }
    let world = World::start_with_mail(backend, MailSettings::off()).await;
    world.notifications_stop_and_wait().await;
    let mut settings = world.settings();
    settings.mail = mail;
    settings.platform.secrets_refresh = Duration::from_millis(200);
    let instance = World::spawn(settings).await;
    let (admin, editor) = (world.org.admin, world.org.editor);
    assign(&world, &admin, &editor, "Before").await;
    mails(&server, 1).await;

    // A typo in the secret: the server refuses it, the login in use stays.
    rotate("typo");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assign(&world, &admin, &editor, "During").await;
    mails(&server, 2).await;

    // The relay's password is rotated, then the secret: the mail waiting
    // meanwhile is retried, not refused, and goes with the new login.
    server.set_login("folio", "second");
    assign(&world, &admin, &editor, "After").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(server.received().len(), 2, "the old login no longer works");
    rotate("second");
    let got = mails(&server, 3).await;
    assert!(got.iter().all(|m| m.tls && m.authenticated), "{got:#?}");
    assert!(
        got[2].subject.contains("Assigned to you"),
        "{}",
        got[2].subject
    );
    let problems = NotificationsServiceClient::new(world.pki.channel("bff", instance.port))
        .list_mail_problems(admin.request(pb::ListMailProblemsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .problems;
    assert!(problems.is_empty(), "{problems:?}");
}

async fn a_refused_address_is_recorded_and_shown_to_admins(backend: Backend) {
    let server = SmtpServer::start(&SmtpOptions {
        refuse: true,
        ..SmtpOptions::default()
    });
    let world = World::start_with_mail(
        backend,
        smtp(&format!("smtp://127.0.0.1:{}", server.port()), None, None),
    )
    .await;
    assign(&world, &world.org.admin, &world.org.editor, "Bounce").await;
    let problems = eventually(Duration::from_secs(20), "a problem", || async {
        let list = world
            .client()
            .list_mail_problems(world.admin().request(pb::ListMailProblemsRequest {}))
            .await
            .unwrap()
            .into_inner()
            .problems;
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(problems[0].state, "refused");
    assert_eq!(problems[0].address, "editor@acme.example");
    assert!(problems[0].reason.contains("550"), "{:?}", problems[0]);
    // Not retried.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = world
        .client()
        .list_mail_problems(world.admin().request(pb::ListMailProblemsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .problems;
    assert_eq!(again[0].attempts, 1);
    // Admins only, and only their organisation's.
    let status = world
        .client()
        .list_mail_problems(world.org.editor.request(pb::ListMailProblemsRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let theirs = world
        .client()
        .list_mail_problems(world.stranger.request(pb::ListMailProblemsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.problems.is_empty());
}

async fn without_smtp_mail_is_written_as_eml_files(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut mail = MailSettings::off();
    mail.transport = MailTransport::Directory(dir.path().to_owned());
    let world = World::start_with_mail(backend, mail).await;
    assign(&world, &world.org.admin, &world.org.editor, "Local").await;
    let file = eventually(Duration::from_secs(20), "an .eml", || async {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
    })
    .await;
    assert!(
        file.contains("To: \"editor\" <editor@acme.example>")
            || file.contains("editor@acme.example")
    );
    assert!(file.contains("multipart/alternative"));
    assert!(file.contains("Subject: [acme] Assigned to you"));
}

async fn choices_default_change_and_are_checked(backend: Backend) {
    let server = SmtpServer::start(&SmtpOptions::default());
    let world = World::start_with_mail(
        backend,
        smtp(&format!("smtp://127.0.0.1:{}", server.port()), None, None),
    )
    .await;
    let editor = world.org.editor;
    let mut client = world.client();
    let get = async |actor: Actor| {
        world
            .client()
            .get_preferences(actor.request(pb::GetPreferencesRequest {}))
            .await
            .unwrap()
            .into_inner()
            .choices
            .into_iter()
            .collect::<BTreeMap<_, _>>()
    };
    let defaults = get(editor).await;
    assert_eq!(defaults["assignment"], "immediate");
    assert_eq!(defaults["reminder"], "daily");
    let set = |pairs: &[(&str, &str)]| pb::UpdatePreferencesRequest {
        choices: pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    };
    for bad in [
        set(&[("assignment", "hourly")]),
        set(&[("gossip", "daily")]),
        set(&[("reminder", "immediate")]),
        set(&[(&"k".repeat(10_000), "off")]),
    ] {
        let status = client
            .update_preferences(editor.request(bad))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
    assert_eq!(get(editor).await, defaults, "nothing changed");
    client
        .update_preferences(editor.request(set(&[("assignment", "off")])))
        .await
        .unwrap();
    assert_eq!(get(editor).await["assignment"], "off");
    assert_eq!(
        get(editor).await["reminder"],
        "daily",
        "the other kind kept"
    );
    assert_eq!(
        get(world.org.viewer).await["assignment"],
        "immediate",
        "only their own"
    );
    // Off: an assignment to the editor sends nothing; the viewer still gets theirs.
    assign(&world, &world.org.admin, &editor, "Quiet").await;
    assign(&world, &world.org.admin, &world.org.viewer, "Loud").await;
    let got = mails(&server, 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(server.received().len(), 1);
    assert_eq!(got[0].to, ["viewer@acme.example"]);
}

async fn the_daily_digest_gathers_due_tomorrow_and_overdue(backend: Backend) {
    let server = SmtpServer::start(&SmtpOptions::default());
    let mut mail = smtp(&format!("smtp://127.0.0.1:{}", server.port()), None, None);
    mail.digest_hour = Some(0);
    // Assignments off: only the digest is mailed.
    let world = World::start_with_mail(backend, MailSettings::off()).await;
    let editor = world.org.editor;
    world
        .client()
        .update_preferences(editor.request(pb::UpdatePreferencesRequest {
            choices: [("assignment".to_owned(), "off".to_owned())].into(),
        }))
        .await
        .unwrap();
    let day = format_description!("[year]-[month]-[day]");
    let today = OffsetDateTime::now_utc().date();
    let document = world.upload(&world.org.admin, "Plan").await;
    for (title, due) in [
        ("Late", today - Span::days(2)),
        ("Soon", today + Span::days(1)),
        ("Later", today + Span::days(7)),
    ] {
        world
            .documents()
            .create_task(world.org.admin.request(docs::CreateTaskRequest {
                document_id: document.id.clone(),
                title: title.into(),
                assignee_id: editor.user_id.to_string(),
                due_date: due.format(day).unwrap(),
                ..Default::default()
            }))
            .await
            .unwrap();
    }
    let mut settings = world.settings();
    settings.mail = mail;
    world.notifications_stop_and_wait().await;
    let _instance = World::spawn(settings).await;
    let got = mails(&server, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        server.received().len(),
        1,
        "one digest, not one mail per task"
    );
    let text = got[0].text.as_deref().unwrap();
    assert_eq!(got[0].to, ["editor@acme.example"]);
    assert!(text.contains("Late") && text.contains("overdue"), "{text}");
    assert!(text.contains("Soon"));
    assert!(!text.contains("Later"));
    assert!(
        got[0].subject.contains("1 overdue task(s), 1 due tomorrow"),
        "{}",
        got[0].subject
    );
    assert!(text.contains(&format!("{PORTAL}#/documents/{}", document.id)));
}

folio_testkit::backend_tests!(
    an_assignment_is_mailed_with_both_parts_and_the_link,
    starttls_with_a_test_ca_and_credentials_only_under_tls,
    a_refused_address_is_recorded_and_shown_to_admins,
    a_rotated_smtp_password_is_used_without_a_restart_once_the_server_takes_it,
    without_smtp_mail_is_written_as_eml_files,
    choices_default_change_and_are_checked,
    the_daily_digest_gathers_due_tomorrow_and_overdue,
);
