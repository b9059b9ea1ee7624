//! Who is told what by email beyond assignments (a task gone stale, a
//! decided approval, a fulfilled request), each as they chose: at once,
//! gathered into one daily digest, or not at all; through a real SMTP server.

use std::time::Duration;

use folio_platform::{actor::Actor, db::Backend};
use folio_proto::{documents::v1 as docs, notifications::v1 as pb};
use folio_testkit::receivers::{Mail, SmtpOptions, SmtpServer};
use sqlx::Row;
use time::{Duration as Span, OffsetDateTime, macros::format_description};

use crate::{
    helpers::{World, eventually},
    mail::{PORTAL, mails, smtp},
};

async fn choose(world: &World, actor: &Actor, pairs: &[(&str, &str)]) {
    world
        .client()
        .update_preferences(
            actor.request(pb::UpdatePreferencesRequest {
                choices: pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            }),
        )
        .await
        .expect("choices saved");
}

async fn task(world: &World, actor: &Actor, request: docs::CreateTaskRequest) -> docs::Task {
    world
        .documents()
        .create_task(actor.request(request))
        .await
        .expect("task created")
        .into_inner()
}

/// A new version of `document` by `actor`.
async fn new_version(world: &World, actor: &Actor, document: &str, content: &str) {
    world
        .upload_with(
            actor,
            docs::UploadHeader {
                target: Some(docs::upload_header::Target::DocumentId(document.into())),
                ..Default::default()
            },
            content,
        )
        .await;
}

fn to<'a>(got: &'a [Mail], address: &str, subject: &str) -> &'a Mail {
    got.iter()
        .find(|m| m.to == [address] && m.subject.contains(subject))
        .unwrap_or_else(|| panic!("no mail to {address} about {subject}: {got:#?}"))
}

fn assert_links(mail: &Mail, document: &str) {
    let link = format!("{PORTAL}#/documents/{document}");
    let text = mail.text.as_deref().expect("a plain-text part");
    let html = mail.html.as_deref().expect("an HTML part");
    assert!(text.contains(&link), "{text}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(mail.subject.starts_with("[acme] "), "{}", mail.subject);
    assert!(text.contains("Folio for acme") && html.contains("Folio for acme"));
    assert!(
        !mail.data.contains("globex"),
        "nothing of the other organisation"
    );
}

async fn stale_tasks_decisions_and_fulfilled_requests_are_mailed_to_whom_they_concern(
    backend: Backend,
) {
    let server = SmtpServer::start(&SmtpOptions::default());
    let world = World::start_with_mail(
        backend,
        smtp(&format!("smtp://127.0.0.1:{}", server.port()), None, None),
    )
    .await;
    let (admin, editor, viewer) = (world.org.admin, world.org.editor, world.org.viewer);
    // Only the kinds under test: nobody is told of assignments here.
    for person in [&admin, &editor, &viewer] {
        choose(&world, person, &[("assignment", "off")]).await;
    }

    // The editor's review goes stale when the admin adds a version.
    let contract = world.upload(&admin, "Contract").await;
    task(
        &world,
        &admin,
        docs::CreateTaskRequest {
            document_id: contract.id.clone(),
            title: "Review the terms".into(),
            assignee_id: editor.user_id.to_string(),
            ..Default::default()
        },
    )
    .await;
    new_version(&world, &admin, &contract.id, "Contract, second draft").await;

    // The editor asks the admin to approve; the admin approves.
    let offer = world.upload(&editor, "Offer").await;
    let approval = task(
        &world,
        &editor,
        docs::CreateTaskRequest {
            document_id: offer.id.clone(),
            title: "Sign off the offer".into(),
            assignee_id: admin.user_id.to_string(),
            kind: docs::TaskKind::Approval.into(),
            ..Default::default()
        },
    )
    .await;
    world
        .documents()
        .decide_approval(admin.request(docs::DecideApprovalRequest {
            id: approval.id.clone(),
            decision: docs::Decision::Approved.into(),
            comment: String::new(),
        }))
        .await
        .expect("approved");

    // The admin asks the viewer for a document; the viewer sends it.
    let request = task(
        &world,
        &admin,
        docs::CreateTaskRequest {
            title: "Send the signed <invoice>".into(),
            assignee_id: viewer.user_id.to_string(),
            kind: docs::TaskKind::Request.into(),
            ..Default::default()
        },
    )
    .await;
    let fulfilled = world
        .upload_with(
            &viewer,
            docs::UploadHeader {
                request_id: request.id.clone(),
                ..Default::default()
            },
            "the invoice",
        )
        .await;

    mails(&server, 3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got = server.received();
    assert_eq!(got.len(), 3, "one mail each, to its person: {got:#?}");

    let stale = to(&got, "editor@acme.example", "Out of date: Review the terms");
    assert_links(stale, &contract.id);
    let text = stale.text.as_deref().unwrap();
    assert!(
        text.contains("\"Contract\" has a new version (v2)"),
        "{text}"
    );

    let decided = to(&got, "editor@acme.example", "Approved: Sign off the offer");
    assert_links(decided, &offer.id);
    let text = decided.text.as_deref().unwrap();
    assert!(
        text.contains("\"Admin\" approved version 1 of \"Offer\""),
        "{text}"
    );

    let done = to(
        &got,
        "admin@acme.example",
        "Request fulfilled: Send the signed",
    );
    assert_links(done, &fulfilled.id);
    assert!(
        done.text
            .as_deref()
            .unwrap()
            .contains("\"viewer\" fulfilled your request")
    );
    let html = done.html.as_deref().unwrap();
    assert!(
        html.contains("&lt;invoice&gt;") && !html.contains("<invoice>"),
        "{html}"
    );

    // Off means off: the editor turns approvals off, the next decision is silent.
    choose(&world, &editor, &[("approval", "off")]).await;
    let second = task(
        &world,
        &editor,
        docs::CreateTaskRequest {
            document_id: contract.id.clone(),
            title: "Approve the draft".into(),
            assignee_id: admin.user_id.to_string(),
            kind: docs::TaskKind::Approval.into(),
            ..Default::default()
        },
    )
    .await;
    world
        .documents()
        .decide_approval(admin.request(docs::DecideApprovalRequest {
            id: second.id,
            decision: docs::Decision::Rejected.into(),
            comment: "Not yet".into(),
        }))
        .await
        .expect("rejected");
    let newest = world.newest_event(&admin).await;
    eventually(Duration::from_secs(20), "the log read", || async {
        (u64::try_from(world.position(admin.org_id).await).unwrap() >= newest).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.received().len(), 3, "{:#?}", server.received());
}

/// News waiting for `user`'s digest, and news already told.
async fn news(world: &World, user: &Actor) -> (i64, i64) {
    let pool = world.pool().await;
    let count = async |told: bool| {
        let sql = if told {
            "SELECT COUNT(*) AS n FROM digest_news WHERE user_id = ? AND mail_id IS NOT NULL"
        } else {
            "SELECT COUNT(*) AS n FROM digest_news WHERE user_id = ? AND mail_id IS NULL"
        };
        sqlx::query(sql)
            .bind(user.user_id.to_string())
            .fetch_one(&pool)
            .await
            .unwrap()
            .get::<i64, _>("n")
    };
    (count(false).await, count(true).await)
}

async fn daily_choices_gather_into_one_digest_that_a_restart_neither_loses_nor_doubles(
    backend: Backend,
) {
    let server = SmtpServer::start(&SmtpOptions::default());
    let url = format!("smtp://127.0.0.1:{}", server.port());
    // The first instance makes no digest: what it reads waits.
    let world = World::start_with_mail(backend, smtp(&url, None, None)).await;
    let (admin, editor) = (world.org.admin, world.org.editor);
    choose(
        &world,
        &editor,
        &[("assignment", "daily"), ("stale", "daily")],
    )
    .await;

    let day = format_description!("[year]-[month]-[day]");
    let tomorrow = (OffsetDateTime::now_utc().date() + Span::days(1))
        .format(day)
        .unwrap();
    let plan = world.upload(&admin, "Plan").await;
    let budget = world.upload(&admin, "Budget").await;
    for (document, title, due) in [
        (&plan, "Check the plan", tomorrow.as_str()),
        (&budget, "Check the budget", ""),
    ] {
        task(
            &world,
            &admin,
            docs::CreateTaskRequest {
                document_id: document.id.clone(),
                title: title.into(),
                assignee_id: editor.user_id.to_string(),
                due_date: due.into(),
                ..Default::default()
            },
        )
        .await;
    }
    new_version(&world, &admin, &budget.id, "Budget v2").await;
    eventually(Duration::from_secs(20), "three news kept", || async {
        (news(&world, &editor).await == (3, 0)).then_some(())
    })
    .await;
    assert!(server.received().is_empty(), "daily means no mail at once");
    world.notifications_stop_and_wait().await;

    // From the digest hour on: one mail with everything.
    let mut settings = world.settings();
    settings.mail.digest_hour = Some(0);
    let second = World::spawn(settings.clone()).await;
    let got = mails(&server, 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        server.received().len(),
        1,
        "one digest: {:#?}",
        server.received()
    );
    let digest = &got[0];
    assert_eq!(digest.to, ["editor@acme.example"]);
    assert!(
        digest
            .subject
            .contains("1 task(s) due tomorrow, 3 update(s)"),
        "{}",
        digest.subject
    );
    let text = digest.text.as_deref().unwrap();
    let html = digest.html.as_deref().unwrap();
    for needle in [
        "\"Check the plan\" on \"Plan\" was assigned to you",
        "\"Check the budget\" on \"Budget\" was assigned to you",
        "\"Budget\" has a new version (v2)",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(text.contains(&format!("{PORTAL}#/documents/{}", budget.id)));
    assert!(html.contains(&format!("href=\"{PORTAL}#/documents/{}\"", plan.id)));
    assert_eq!(news(&world, &editor).await, (0, 3));
    second.stop().await;

    // As if the pass had died after the mail, before the day was marked
    // done: the next instance makes it again and sends nothing twice.
    sqlx::query("DELETE FROM digest_runs")
        .execute(&world.pool().await)
        .await
        .unwrap();
    let third = World::spawn(settings).await;
    eventually(Duration::from_secs(20), "the day marked again", || async {
        let pool = world.pool().await;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM digest_runs")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
        (n > 0).then_some(())
    })
    .await;
    // News after today's digest waits for tomorrow's.
    let late = world.upload(&admin, "Late").await;
    world.create_task(&admin, &late.id, Some(&editor)).await;
    eventually(Duration::from_secs(20), "the late news kept", || async {
        (news(&world, &editor).await == (1, 3)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(server.received().len(), 1, "{:#?}", server.received());
    third.stop().await;
}

folio_testkit::backend_tests!(
    stale_tasks_decisions_and_fulfilled_requests_are_mailed_to_whom_they_concern,
    daily_choices_gather_into_one_digest_that_a_restart_neither_loses_nor_doubles,
);
