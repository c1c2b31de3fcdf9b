//! Emails: what the request and the settings send, to whom, and reminders.

use super::*;

async fn put_settings(app: &TestApp, change: impl FnOnce(&mut Value)) {
    let mut settings = expect_status(
        app.get("/v1/settings", &app.admin_token).await,
        StatusCode::OK,
    )
    .await;
    change(&mut settings);
    let object = settings.as_object_mut().unwrap();
    object.remove("version");
    object.remove("updated_at");
    expect_status(
        app.request(reqwest::Method::PUT, "/v1/settings", Some(&app.admin_token))
            .json(&settings)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
}

async fn emails_follow_the_request_and_the_settings(backend: Backend) {
    let smtp = SmtpServer::start();
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let w = world(&app, "all_in_order").await;
    // The notice before timed access ends has its own test.
    put_settings(&app, |s| s["grant_ending_notice_hours"] = json!(0)).await;
    let (riley, max, sam, kim) = (
        "riley@example.org",
        "max@example.org",
        "sam@example.org",
        "kim@example.org",
    );
    let request = submit(&app, &w).await;
    let id = request["id"].as_str().unwrap();
    eventually(
        "the confirmation and the first approver's email",
        || async { smtp.mails_to(riley).len() == 1 && smtp.mails_to(max).len() == 1 },
    )
    .await;
    let confirmation = &smtp.mails_to(riley)[0];
    assert_eq!(
        confirmation.subject,
        "We received your request for GitHub Admin"
    );
    assert_eq!(confirmation.from, MAIL_FROM);
    assert_eq!(confirmation.to, "Riley <riley@example.org>");
    assert!(
        confirmation
            .text
            .contains("Review pull requests for the 3.2 release")
    );
    assert!(
        confirmation
            .text
            .contains(&format!("{PORTAL_URL}/requests/{id}"))
    );
    assert!(
        confirmation.text.contains("Who approves:"),
        "approval progress is shown"
    );
    // minijinja escapes `/` in HTML as `&#x2f;`, which browsers read as `/`.
    let html = confirmation.html.replace("&#x2f;", "/");
    assert!(
        html.contains(&format!("href=\"{PORTAL_URL}/requests/{id}\"")),
        "{html}"
    );
    let to_max = &smtp.mails_to(max)[0];
    assert_eq!(
        to_max.subject,
        "Riley requests GitHub Admin: your approval is needed"
    );
    assert!(
        to_max
            .text
            .contains(&format!("{PORTAL_URL}/approvals/{id}"))
    );
    assert!(
        smtp.mails_to(sam).is_empty(),
        "the second step is not active yet"
    );

    expect_status(
        act(&app, &request["id"], "approve", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    eventually("the second step's approvers are told", || async {
        smtp.mails_to(sam).len() == 1 && smtp.mails_to(kim).len() == 1
    })
    .await;
    for reviewer in &w.reviewers {
        expect_status(
            act(
                &app,
                &request["id"],
                "approve",
                reviewer,
                json!({ "comment": "Enjoy" }),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    eventually("the decision", || async { smtp.mails_to(riley).len() == 2 }).await;
    let approved = &smtp.mails_to(riley)[1];
    assert_eq!(approved.subject, "Approved: your request for GitHub Admin");
    let grant = expect_status(
        app.get("/v1/me/grants", &app.token_for(&w.requester)).await,
        StatusCode::OK,
    )
    .await;
    let ends: chrono::DateTime<chrono::Utc> = grant["items"][0]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        approved.text.contains(&format!(
            "Your access ends on {}",
            ends.format("%Y-%m-%d %H:%M UTC")
        )),
        "{}",
        approved.text
    );
    assert!(approved.text.contains("Comment: Enjoy"));

    // A denial says why and what next.
    let second = submit(&app, &w).await;
    eventually("the second confirmation", || async {
        smtp.mails_to(riley).len() == 3
    })
    .await;
    let denial = json!({ "reason": "Releases are frozen", "next_steps": "Ask again on Monday", "comment": "Sorry" });
    expect_status(
        act(&app, &second["id"], "deny", &w.manager, denial).await,
        StatusCode::OK,
    )
    .await;
    eventually("the denial", || async { smtp.mails_to(riley).len() == 4 }).await;
    let denied = &smtp.mails_to(riley)[3];
    assert_eq!(denied.subject, "Denied: your request for GitHub Admin");
    for text in [
        "by Max Manager",
        "Reason: Releases are frozen",
        "Next steps: Ask again on Monday",
        "Comment: Sorry",
    ] {
        assert!(denied.text.contains(text), "{text} in {}", denied.text);
        assert!(denied.html.contains(text), "{text} in {}", denied.html);
    }

    // Toggles off: the requester hears nothing more; approvers still get their tasks.
    put_settings(&app, |s| {
        s["email_request_received"] = json!(false);
        s["email_decision"] = json!(false);
    })
    .await;
    let max_before = smtp.mails_to(max).len();
    let third = submit(&app, &w).await;
    eventually("the approver is still told", || async {
        smtp.mails_to(max).len() == max_before + 1
    })
    .await;
    expect_status(
        act(
            &app,
            &third["id"],
            "deny",
            &w.manager,
            json!({ "reason": "Not this week" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    settle().await;
    assert_eq!(
        smtp.mails_to(riley).len(),
        4,
        "no confirmation and no decision email"
    );
    // Riley 4, Max 3 (one per request), Sam and Kim 1 each (the second step of the first request),
    // the administrator 3 (every submitted request, seed 001).
    assert_eq!(smtp.mails_to(ADMIN_EMAIL).len(), 3, "{:#?}", smtp.mails());
    assert_eq!(smtp.mails().len(), 12, "{:#?}", smtp.mails());
}

async fn admins_hear_of_requests_that_need_them_and_reminders_come_once(backend: Backend) {
    let smtp = SmtpServer::start();
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let w: World = world(&app, "any").await;
    let admin_flow = json!({
        "kind": "resource_request", "name": "Billing", "display": { "logo": "stripe" }, "target_group_id": w.target,
        "visibility_group_ids": [w.visible], "approval_type": "manual",
        "approvers": [{ "type": "administrator" }]
    });
    let flow = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &admin_flow)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let body = json!({ "flow_id": flow["id"], "reason": "Month-end close" });
    let request = expect_status(
        app.post("/v1/access-requests", &app.token_for(&w.requester), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    eventually("the administrators' email", || async {
        smtp.mails_to(ADMIN_EMAIL).len() == 1
    })
    .await;
    assert_eq!(
        smtp.mails_to(ADMIN_EMAIL)[0].subject,
        "New access request: Riley requests Billing"
    );

    // Pending longer than the reminder delay: one reminder, however many job passes run.
    put_settings(&app, |s| s["approver_reminder_days"] = json!(2)).await;
    app.clock.advance(chrono::Duration::days(3));
    eventually("the reminder", || async {
        smtp.mails_to(ADMIN_EMAIL).len() == 2
    })
    .await;
    settle().await;
    let to_admin = smtp.mails_to(ADMIN_EMAIL);
    assert_eq!(to_admin.len(), 2, "one reminder only");
    assert_eq!(
        to_admin[1].subject,
        "Reminder: Riley is waiting for your decision on Billing"
    );
    assert!(to_admin[1].text.contains(&format!(
        "{PORTAL_URL}/approvals/{}",
        request["id"].as_str().unwrap()
    )));

    // Timed access: the holder is told before it ends, once.
    put_settings(&app, |s| s["grant_ending_notice_hours"] = json!(2)).await;
    let timed = submit(&app, &w).await;
    expect_status(
        act(&app, &timed["id"], "approve", &w.manager, json!({})).await,
        StatusCode::OK,
    )
    .await;
    eventually("the notice before the end", || async {
        smtp.mails_to("riley@example.org")
            .iter()
            .any(|m| m.subject.starts_with("Your access to GitHub Admin ends on"))
    })
    .await;
    settle().await;
    let notices = smtp
        .mails_to("riley@example.org")
        .into_iter()
        .filter(|m| m.subject.starts_with("Your access to"))
        .count();
    assert_eq!(notices, 1);

    // Off means off.
    put_settings(&app, |s| s["email_admin_new_request"] = json!(false)).await;
    let admin_mails = smtp.mails_to(ADMIN_EMAIL).len();
    let other = app
        .create_user_with(
            json!({ "email": "ola@example.org", "display_name": "Ola", "manager_id": w.manager }),
        )
        .await;
    join(&app, &w.visible, &other).await;
    expect_status(
        app.post("/v1/access-requests", &app.token_for(&other), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    eventually("Ola's confirmation", || async {
        smtp.mails_to("ola@example.org").len() == 1
    })
    .await;
    settle().await;
    assert_eq!(smtp.mails_to(ADMIN_EMAIL).len(), admin_mails);
}

/// Seed 001: "When a user submits a resource request, admins receive an email notification" — every
/// administrator, whoever approves; the approvers get theirs; automatic flows' requests and the
/// setting turned off send none.
async fn every_administrator_hears_of_a_submitted_request(backend: Backend) {
    let smtp = SmtpServer::start();
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let w = world(&app, "any").await;
    app.create_user_with(
        json!({ "email": "ida@example.org", "display_name": "Ida Admin", "is_admin": true }),
    )
    .await;
    submit(&app, &w).await;
    eventually("both administrators and the manager", || async {
        smtp.mails_to(ADMIN_EMAIL).len() == 1
            && smtp.mails_to("ida@example.org").len() == 1
            && smtp.mails_to("max@example.org").len() == 1
    })
    .await;
    let to_ida = &smtp.mails_to("ida@example.org")[0];
    assert_eq!(
        to_ida.subject,
        "New access request: Riley requests GitHub Admin"
    );
    assert!(
        to_ida.text.contains("its approvers decide"),
        "{}",
        to_ida.text
    );
    assert_eq!(
        smtp.mails_to("max@example.org")[0].subject,
        "Riley requests GitHub Admin: your approval is needed"
    );

    let automatic = json!({
        "kind": "resource_request", "name": "Wiki", "display": { "logo": "wiki" }, "target_group_id": w.target,
        "visibility_group_ids": [w.visible], "approval_type": "automatic"
    });
    let automatic = expect_status(
        app.post("/v1/approval-flows", &app.admin_token, &automatic)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let body = json!({ "flow_id": automatic["id"], "reason": "Read the runbooks" });
    expect_status(
        app.post("/v1/access-requests", &app.token_for(&w.requester), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    eventually("the requester's approval email", || async {
        smtp.mails_to("riley@example.org")
            .iter()
            .any(|m| m.subject.starts_with("Approved"))
    })
    .await;
    settle().await;
    assert_eq!(
        smtp.mails_to("ida@example.org").len(),
        1,
        "nothing to review in an automatic flow"
    );
}

per_backend! {
    every_administrator_hears_of_a_submitted_request => super::every_administrator_hears_of_a_submitted_request,
    emails_follow_the_request_and_the_settings => super::emails_follow_the_request_and_the_settings,
    admins_hear_of_requests_that_need_them_and_reminders_come_once => super::admins_hear_of_requests_that_need_them_and_reminders_come_once,
}
