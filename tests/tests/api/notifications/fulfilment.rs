//! Fulfilment's notifications: the assignees of a task that opens (or is reassigned to them) are
//! emailed, the requester is told when their access is ready, and webhooks carry the task events.

use super::*;
use crate::fulfilment::{approved, complete, shop};

async fn tasks_are_emailed_to_their_assignees_and_the_requester_hears_when_access_is_ready(
    backend: Backend,
) {
    let smtp = SmtpServer::start();
    let receiver = WebhookReceiver::start().await;
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let (_, secret) = channel(
        &app,
        &receiver.url(),
        &[
            "access_management_access_request_fulfilment_task_open",
            "access_management_access_request_fulfilment_task_done",
            "access_management_access_request_reassign",
        ],
    )
    .await;
    let shop = shop(
        &app,
        json!({ "provisioning": "manual", "assignment": true }),
    )
    .await;
    let request = approved(&app, &shop).await;
    let (admin, ivy, olive, rae) = (
        ADMIN_EMAIL,
        "ivy@example.org",
        "olive@example.org",
        "rae@example.org",
    );
    eventually(
        "the IT Admins are told a provisioning task waits",
        || async {
            smtp.mails_to(admin)
                .iter()
                .any(|m| m.subject.contains("waits on you"))
                && smtp
                    .mails_to(ivy)
                    .iter()
                    .any(|m| m.subject.contains("waits on you"))
        },
    )
    .await;
    let mail = smtp
        .mails_to(ivy)
        .into_iter()
        .find(|m| m.subject.contains("waits on you"))
        .unwrap();
    assert_eq!(
        mail.subject,
        "Figma for Rae: create the account (provisioning) waits on you"
    );
    assert!(
        mail.text.contains(request["id"].as_str().unwrap()),
        "{}",
        mail.text
    );
    let approval = smtp
        .mails_to(rae)
        .into_iter()
        .find(|m| m.subject.starts_with("Approved"))
        .unwrap();
    assert!(approval.text.contains("being set up"), "{}", approval.text);
    assert!(
        smtp.mails_to(olive).is_empty(),
        "the assignment waits for provisioning"
    );

    // An IT Admin hands the task to a colleague made administrator since: they are told.
    let nia = app
        .create_user_with(
            json!({ "email": "nia@example.org", "display_name": "Nia IT", "is_admin": true }),
        )
        .await;
    let path = format!(
        "/v1/access-requests/{}/fulfilment/provisioning/reassign",
        request["id"].as_str().unwrap()
    );
    let body = json!({ "from_user_id": shop.second_admin, "to_user_id": nia });
    expect_status(
        app.post(&path, &app.admin_token, &body).await,
        StatusCode::OK,
    )
    .await;
    eventually("the new assignee is told", || async {
        smtp.mails_to("nia@example.org")
            .iter()
            .any(|m| m.subject.contains("waits on you"))
    })
    .await;

    expect_status(
        complete(
            &app,
            &request,
            "provisioning",
            &app.token_for(&nia),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    eventually("the App Admin is told the assignment waits", || async {
        smtp.mails_to(olive).iter().any(|m| {
            m.subject == "Figma for Rae: assign the licence or role (assignment) waits on you"
        })
    })
    .await;
    assert!(
        !smtp
            .mails_to(rae)
            .iter()
            .any(|m| m.subject.contains("is ready")),
        "not ready before assignment"
    );
    expect_status(
        complete(
            &app,
            &request,
            "assignment",
            &app.token_for(&shop.owner),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    eventually("the requester is told their access is ready", || async {
        smtp.mails_to(rae)
            .iter()
            .any(|m| m.subject == "Your access to Figma is ready")
    })
    .await;
    let ready = smtp
        .mails_to(rae)
        .into_iter()
        .find(|m| m.subject.contains("is ready"))
        .unwrap();
    assert!(
        ready.text.contains("provisioned and assigned") && ready.text.contains("ends on"),
        "{}",
        ready.text
    );

    let expected = [
        (
            "access_management_access_request_fulfilment_task_open",
            "provisioning",
        ),
        ("access_management_access_request_reassign", "provisioning"),
        (
            "access_management_access_request_fulfilment_task_done",
            "provisioning",
        ),
        (
            "access_management_access_request_fulfilment_task_open",
            "assignment",
        ),
        (
            "access_management_access_request_fulfilment_task_done",
            "assignment",
        ),
    ];
    eventually("every task event is delivered", || async {
        receiver.received().len() >= expected.len()
    })
    .await;
    let mut got: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|call| {
            call.verify(&secret).unwrap();
            let body = call.json();
            (
                body["type"].as_str().unwrap().to_owned(),
                body["data"]["task"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    got.sort();
    let mut expected: Vec<(String, String)> = expected
        .iter()
        .map(|(t, k)| (t.to_string(), k.to_string()))
        .collect();
    expected.sort();
    assert_eq!(got, expected);
}

async fn an_approver_placed_by_an_app_admin_is_asked_for_their_approval(backend: Backend) {
    let smtp = SmtpServer::start();
    let options = Options {
        smtp_url: Some(smtp.url()),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_for(backend, options).await else {
        return;
    };
    let shop = shop(
        &app,
        json!({ "provisioning": "manual", "assignment": true }),
    )
    .await;
    let deputy = app.create_user("dan@example.org", "Dan Deputy").await;
    let request = crate::fulfilment::submit_to(&app, &shop).await;
    eventually("the manager is asked first", || async {
        !smtp.mails_to("mia@example.org").is_empty()
    })
    .await;
    let body = json!({ "from_user_id": shop.manager, "to_user_id": deputy });
    let moved = expect_status(
        act(&app, &request["id"], "reassign", &shop.owner, body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["steps"][0]["approver_ids"], json!([deputy]));
    eventually(
        "the App Admin's choice is asked for their approval",
        || async {
            smtp.mails_to("dan@example.org")
                .iter()
                .any(|m| m.subject == "Rae requests Figma: your approval is needed")
        },
    )
    .await;
    let reassigned = crate::requests::events_of(
        &app,
        &request["id"],
        "access_management_access_request_reassign",
    )
    .await;
    assert_eq!(reassigned.len(), 1);
    assert_eq!(
        reassigned[0]["actor_id"],
        shop.owner.as_str(),
        "recorded with who moved it"
    );
}

per_backend! {
    tasks_are_emailed_to_their_assignees_and_the_requester_hears_when_access_is_ready => super::tasks_are_emailed_to_their_assignees_and_the_requester_hears_when_access_is_ready,
    an_approver_placed_by_an_app_admin_is_asked_for_their_approval => super::an_approver_placed_by_an_app_admin_is_asked_for_their_approval,
}
