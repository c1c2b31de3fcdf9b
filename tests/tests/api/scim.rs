//! Directory sync over SCIM 2.0 (`/scim/v2`), as Okta and Microsoft Entra ID drive it: the request
//! shapes come from each one's documentation (tests/fixtures/scim/, with their sources).

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;
use crate::requests::{join, submit, world};

const MEDIA_TYPE: &str = "application/scim+json";

/// An identity provider's SCIM client, with a token an admin made for it.
struct Idp<'a> {
    app: &'a TestApp,
    token: String,
    token_id: String,
}

impl<'a> Idp<'a> {
    async fn connect(app: &'a TestApp, name: &str) -> Idp<'a> {
        let created = expect_status(
            app.post(
                "/v1/scim-tokens",
                &app.admin_token,
                &json!({ "name": name }),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert!(
            created["scim_base_url"]
                .as_str()
                .unwrap()
                .ends_with("/scim/v2")
        );
        Idp {
            app,
            token: created["token"].as_str().unwrap().to_owned(),
            token_id: created["id"].as_str().unwrap().to_owned(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        call(self.app, &self.token, method, path, body).await
    }

    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> Value {
        let (status, answer) = self.call(method.clone(), path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        answer
    }
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method, app.url(&format!("/scim/v2{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", MEDIA_TYPE)
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    if status != StatusCode::NO_CONTENT {
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(content_type.as_deref(), Some(MEDIA_TYPE), "{status}");
    }
    let text = response.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

/// A request of an identity provider's fixture file, with its `{placeholders}` filled in.
fn fixture(idp: &str, name: &str, vars: &[(&str, &str)]) -> Value {
    let path = format!("{}/fixtures/scim/{idp}.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        file["source"].as_str().unwrap().contains("https://"),
        "every fixture file names its source"
    );
    let mut text = file[name].to_string();
    for (key, value) in vars {
        text = text.replace(&format!("{{{key}}}"), value);
    }
    serde_json::from_str(&text).unwrap()
}

fn filter_path(resource: &str, filter: &Value) -> String {
    let filter = filter.as_str().unwrap();
    let encoded: String = form_urlencoded_byte_serialize(filter);
    format!("/{resource}?filter={encoded}")
}

fn form_urlencoded_byte_serialize(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn v1_user(app: &TestApp, id: &str) -> Value {
    expect_status(
        app.get(&format!("/v1/users/{id}"), &app.admin_token).await,
        StatusCode::OK,
    )
    .await
}

/// `(user_id, source)` of every membership of the group, as `/v1` shows them.
async fn memberships(app: &TestApp, group: &str) -> Vec<(String, String)> {
    let members = expect_status(
        app.get(&format!("/v1/groups/{group}/members"), &app.admin_token)
            .await,
        StatusCode::OK,
    )
    .await;
    members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_owned(),
                m["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

both_backends! {
    async fn okta_finds_creates_deactivates_and_pushes_groups(app: TestApp) {
        let okta = Idp::connect(&app, "Okta").await;
        let user_name = "ada@example.org";
        let find = filter_path("Users", &fixture("okta", "find_user", &[("user_name", user_name)]));
        assert_eq!(okta.ok(Method::GET, &find, None, StatusCode::OK).await["totalResults"], json!(0));

        let created = okta.ok(Method::POST, "/Users", Some(&fixture("okta", "create_user", &[("user_name", user_name)])), StatusCode::CREATED).await;
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!((created["userName"].as_str(), created["displayName"].as_str(), created["active"].as_bool()), (Some(user_name), Some("Ada Lovelace"), Some(true)));
        assert_eq!(created["externalId"], json!("00ujl29u0le5T6Aj10h7"));
        let found = okta.ok(Method::GET, &find, None, StatusCode::OK).await;
        assert_eq!((found["totalResults"].as_i64(), found["Resources"][0]["id"].as_str()), (Some(1), Some(id.as_str())));
        let again = okta.call(Method::POST, "/Users", Some(&fixture("okta", "create_user", &[("user_name", user_name)]))).await;
        assert_eq!((again.0, again.1["scimType"].as_str()), (StatusCode::CONFLICT, Some("uniqueness")));

        let user = v1_user(&app, &id).await;
        assert_eq!((user["email"].as_str(), user["active"].as_bool(), user["is_admin"].as_bool()), (Some(user_name), Some(true), Some(false)));
        let deactivated = okta.ok(Method::PATCH, &format!("/Users/{id}"), Some(&fixture("okta", "deactivate_user", &[])), StatusCode::OK).await;
        assert_eq!(deactivated["active"], json!(false));
        assert_eq!(v1_user(&app, &id).await["active"], json!(false));
        okta.ok(Method::PATCH, &format!("/Users/{id}"), Some(&fixture("okta", "reactivate_user", &[])), StatusCode::OK).await;
        assert_eq!(v1_user(&app, &id).await["active"], json!(true));

        let group = okta.ok(Method::POST, "/Groups", Some(&fixture("okta", "create_group", &[])), StatusCode::CREATED).await;
        let group_id = group["id"].as_str().unwrap().to_owned();
        let vars = [("group_id", group_id.as_str()), ("user_id", id.as_str()), ("user_name", user_name)];
        let renamed = okta.ok(Method::PATCH, &format!("/Groups/{group_id}"), Some(&fixture("okta", "rename_group", &vars)), StatusCode::OK).await;
        assert_eq!(renamed["displayName"], json!("Engineering (all)"));
        let with_member = okta.ok(Method::PATCH, &format!("/Groups/{group_id}"), Some(&fixture("okta", "add_members", &vars)), StatusCode::OK).await;
        assert_eq!(with_member["members"][0]["value"].as_str(), Some(id.as_str()));
        assert_eq!(memberships(&app, &group_id).await, [(id.clone(), "scim".to_owned())]);
        let without = okta.ok(Method::PATCH, &format!("/Groups/{group_id}"), Some(&fixture("okta", "remove_member", &vars)), StatusCode::OK).await;
        assert_eq!(without["members"], json!([]));
        assert!(memberships(&app, &group_id).await.is_empty());

        // Every change is audited, naming the identity provider.
        let events = expect_status(app.get(&format!("/v1/events?subject_id={id}"), &app.admin_token).await, StatusCode::OK).await;
        let events = events["items"].as_array().unwrap();
        assert!(events.iter().any(|e| e["type"] == "user_create"), "{events:?}");
        assert!(events.iter().all(|e| e["actor_id"].is_null() && e["data"]["identity_provider"]["token_id"] == json!(okta.token_id)), "{events:?}");
    }

    async fn entra_updates_email_name_and_manager_then_disables(app: TestApp) {
        let entra = Idp::connect(&app, "Entra ID").await;
        let manager = entra.ok(Method::POST, "/Users", Some(&json!({ "userName": "boss@example.org", "displayName": "Boss" })), StatusCode::CREATED).await;
        let manager_id = manager["id"].as_str().unwrap().to_owned();
        let user_name = "grace@example.org";
        let created = entra.ok(Method::POST, "/Users", Some(&fixture("entra", "create_user", &[("user_name", user_name)])), StatusCode::CREATED).await;
        let id = created["id"].as_str().unwrap().to_owned();
        // No displayName was sent: none reads back, and the directory's name comes from name.formatted.
        assert_eq!((created.get("displayName"), &created["name"]["formatted"]), (None, &json!("Grace Hopper")));
        assert_eq!(v1_user(&app, &id).await["display_name"], json!("Grace Hopper"));

        let vars = [("new_user_name", "grace.hopper@example.org"), ("manager_id", manager_id.as_str())];
        let updated = entra.ok(Method::PATCH, &format!("/Users/{id}"), Some(&fixture("entra", "update_user", &vars)), StatusCode::OK).await;
        assert_eq!(updated["emails"][0]["value"], json!("grace.hopper@example.org"));
        assert_eq!(v1_user(&app, &id).await["email"], json!("grace.hopper@example.org"));

        entra.ok(Method::PATCH, &format!("/Users/{id}"), Some(&fixture("entra", "set_manager", &vars)), StatusCode::OK).await;
        assert_eq!(v1_user(&app, &id).await["manager_id"].as_str(), Some(manager_id.as_str()));
        let without = entra.ok(Method::PATCH, &format!("/Users/{id}"), Some(&fixture("entra", "remove_manager", &vars)), StatusCode::OK).await;
        assert!(without["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].get("manager").is_none());
        assert!(v1_user(&app, &id).await["manager_id"].is_null());

        let disabled = entra.ok(Method::PATCH, &format!("/Users/{id}"), Some(&fixture("entra", "disable_user", &vars)), StatusCode::OK).await;
        assert_eq!(disabled["active"], json!(false));

        let group = entra.ok(Method::POST, "/Groups", Some(&fixture("entra", "create_group", &[])), StatusCode::CREATED).await;
        let group_id = group["id"].as_str().unwrap().to_owned();
        let find = format!("{}&excludedAttributes=members", filter_path("Groups", &fixture("entra", "find_group", &[])));
        let found = entra.ok(Method::GET, &find, None, StatusCode::OK).await;
        assert_eq!(found["Resources"][0]["id"].as_str(), Some(group_id.as_str()));
        assert!(found["Resources"][0].get("members").is_none(), "members excluded");
        let vars = [("user_id", id.as_str())];
        entra.ok(Method::PATCH, &format!("/Groups/{group_id}"), Some(&fixture("entra", "add_member", &vars)), StatusCode::OK).await;
        assert_eq!(memberships(&app, &group_id).await, [(id.clone(), "scim".to_owned())]);
        let renamed = entra.ok(Method::PATCH, &format!("/Groups/{group_id}"), Some(&fixture("entra", "rename_group", &vars)), StatusCode::OK).await;
        assert_eq!((renamed["displayName"].as_str(), renamed["members"].as_array().map(Vec::len)), (Some("Security Reviewers (EU)"), Some(1)));
        entra.ok(Method::PATCH, &format!("/Groups/{group_id}"), Some(&fixture("entra", "remove_member", &vars)), StatusCode::OK).await;
        assert!(memberships(&app, &group_id).await.is_empty());
    }

    async fn a_manager_named_before_it_arrives_is_set_when_it_does(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        let report = idp.ok(Method::POST, "/Users", Some(&json!({
            "userName": "report@example.org",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "manager": { "value": "00u-manager" } }
        })), StatusCode::CREATED).await;
        let report_id = report["id"].as_str().unwrap().to_owned();
        assert!(v1_user(&app, &report_id).await["manager_id"].is_null(), "not known yet");
        let manager = idp.ok(Method::POST, "/Users", Some(&json!({ "userName": "mgr@example.org", "externalId": "00u-manager" })), StatusCode::CREATED).await;
        assert_eq!(v1_user(&app, &report_id).await["manager_id"], manager["id"]);
    }

    async fn a_manager_change_through_scim_puts_pending_requests_in_error(app: TestApp) {
        let w = world(&app, "all_in_order").await;
        let request = submit(&app, &w).await;
        let idp = Idp::connect(&app, "Entra ID").await;
        let patch = fixture("entra", "set_manager", &[("manager_id", w.reviewers[0].as_str())]);
        idp.ok(Method::PATCH, &format!("/Users/{}", w.requester), Some(&patch), StatusCode::OK).await;
        let path = format!("/v1/access-requests/{}", request["id"].as_str().unwrap());
        let after = expect_status(app.get(&path, &app.admin_token).await, StatusCode::OK).await;
        assert_eq!(after["status"], json!("error"), "{after}");
    }

    async fn a_group_push_that_omits_a_grant_member_leaves_their_access(app: TestApp) {
        let w = world(&app, "any").await;
        let flow = json!({
            "kind": "resource_request", "name": "Wiki Reader", "display": { "logo": "wiki" },
            "target_group_id": w.target, "visibility_group_ids": [w.visible], "approval_type": "automatic"
        });
        let flow = expect_status(app.post("/v1/approval-flows", &app.admin_token, &flow).await, StatusCode::CREATED).await;
        let body = json!({ "flow_id": flow["id"], "reason": "Read the release wiki pages" });
        let approved = expect_status(app.post("/v1/access-requests", &app.token_for(&w.requester), &body).await, StatusCode::CREATED).await;
        assert_eq!(approved["status"], json!("approved"));
        join(&app, &w.target, &w.manager).await;

        let idp = Idp::connect(&app, "Okta").await;
        let group = json!({ "displayName": "GitHub Admins", "members": [{ "value": w.reviewers[0] }] });
        idp.ok(Method::PUT, &format!("/Groups/{}", w.target), Some(&group), StatusCode::OK).await;
        let mut sources = memberships(&app, &w.target).await;
        sources.sort();
        let mut expected = vec![
            (w.requester.clone(), "grant".to_owned()),
            (w.manager.clone(), "direct".to_owned()),
            (w.reviewers[0].clone(), "scim".to_owned()),
        ];
        expected.sort();
        assert_eq!(sources, expected);
        // The IdP's view holds its own member only, and a PUT without it removes only that.
        let empty = json!({ "displayName": "GitHub Admins", "members": [] });
        let answer = idp.ok(Method::PUT, &format!("/Groups/{}", w.target), Some(&empty), StatusCode::OK).await;
        assert_eq!(answer["members"], json!([]));
        assert_eq!(memberships(&app, &w.target).await.len(), 2);

        // Deactivated by the identity provider, the requester loses the access they were granted.
        idp.ok(Method::PATCH, &format!("/Users/{}", w.requester), Some(&fixture("okta", "deactivate_user", &[])), StatusCode::OK).await;
        assert_eq!(memberships(&app, &w.target).await, [(w.manager.clone(), "direct".to_owned())]);
        let grants = expect_status(app.get(&format!("/v1/grants?user_id={}", w.requester), &app.admin_token).await, StatusCode::OK).await;
        let statuses: Vec<&str> = grants["items"].as_array().unwrap().iter().filter(|g| g["user_id"] == json!(w.requester)).map(|g| g["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["revoked"]);
    }

    async fn scim_and_api_credentials_stay_apart(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        let v1 = app.get("/v1/me", &idp.token).await;
        assert_eq!(v1.status(), StatusCode::UNAUTHORIZED, "a SCIM token opens nothing under /v1");
        let (status, error) = call(&app, &app.admin_token, Method::GET, "/Users", None).await;
        assert_eq!((status, error["status"].as_str()), (StatusCode::UNAUTHORIZED, Some("401")), "a user's JWT opens nothing under /scim/v2");
        let (status, _) = call(&app, "scim_not-a-token", Method::GET, "/Users", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let person = app.create_user("pat@example.org", "Pat").await;
        let refused = app.post("/v1/scim-tokens", &app.token_for(&person), &json!({ "name": "mine" })).await;
        expect_problem(refused, StatusCode::FORBIDDEN).await;

        idp.ok(Method::GET, "/Users", None, StatusCode::OK).await;
        let listed = expect_status(app.get("/v1/scim-tokens", &app.admin_token).await, StatusCode::OK).await;
        let token = &listed["items"][0];
        assert!(token.get("token").is_none() && !listed.to_string().contains(&idp.token), "never shown again");
        assert!(token["last_used_at"].is_string(), "{token}");
        let revoked = app.delete(&format!("/v1/scim-tokens/{}", idp.token_id), &app.admin_token).await;
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        assert_eq!(idp.call(Method::GET, "/Users", None).await.0, StatusCode::UNAUTHORIZED);
    }

    async fn a_deleted_user_is_kept_deactivated_and_gone_from_scim(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        let created = idp.ok(Method::POST, "/Users", Some(&json!({ "userName": "leaver@example.org" })), StatusCode::CREATED).await;
        let id = created["id"].as_str().unwrap().to_owned();
        idp.ok(Method::DELETE, &format!("/Users/{id}"), None, StatusCode::NO_CONTENT).await;
        assert_eq!(idp.call(Method::GET, &format!("/Users/{id}"), None).await.0, StatusCode::NOT_FOUND);
        let listed = idp.ok(Method::GET, "/Users", None, StatusCode::OK).await;
        assert!(listed["Resources"].as_array().unwrap().iter().all(|u| u["id"] != json!(id)), "{listed}");
        let find = filter_path("Users", &json!("userName eq \"leaver@example.org\""));
        assert_eq!(idp.ok(Method::GET, &find, None, StatusCode::OK).await["totalResults"], json!(0));
        assert_eq!(v1_user(&app, &id).await["active"], json!(false), "kept for the history");
        let back = idp.ok(Method::POST, "/Users", Some(&json!({ "userName": "leaver@example.org" })), StatusCode::CREATED).await;
        assert_eq!(back["id"].as_str(), Some(id.as_str()), "the same person, back");
        // `active` was not sent, so it is unassigned, which means active.
        assert_eq!((back.get("active"), &v1_user(&app, &id).await["active"]), (None, &json!(true)));
    }

    async fn bad_scim_input_gets_scim_errors(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        let (status, error) = idp.call(Method::GET, "/Users?filter=userName%20co%20%22a%22", None).await;
        assert_eq!((status, error["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidFilter")));
        let (status, error) = idp.call(Method::GET, "/Users?filter=userName%20eq%20%22a%00b%22", None).await;
        assert_eq!((status, error["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidFilter")));
        let (status, error) = idp.call(Method::POST, "/Users", Some(&json!({ "userName": "nul\u{0}@example.org" }))).await;
        assert_eq!((status, error["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidValue")));
        let (status, _) = idp.call(Method::POST, "/Users", Some(&json!({ "displayName": "No user name" }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = idp.call(Method::GET, "/Users/not-an-id", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, error) = idp.call(Method::PATCH, &format!("/Users/{}", app.admin_id), Some(&json!({ "Operations": [] }))).await;
        assert_eq!((status, error["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidSyntax")));
        let raw = app.client.post(app.url("/scim/v2/Groups")).bearer_auth(&idp.token).header("content-type", MEDIA_TYPE).body("{").send().await.unwrap();
        assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
        let config = idp.ok(Method::GET, "/ServiceProviderConfig", None, StatusCode::OK).await;
        assert_eq!((config["patch"]["supported"].as_bool(), config["bulk"]["supported"].as_bool()), (Some(true), Some(false)));
    }
}

/// People pushed 8 at a time, every tenth the manager of the next nine (named by externalId, often
/// before they arrive): every report ends up with their manager, however the writes interleave.
async fn push_people_concurrently(idp: &Idp<'_>) {
    let pushes = (0..200usize).map(|i| {
        let mut body =
            json!({ "userName": format!("p{i}@example.org"), "externalId": format!("ext-{i}") });
        if !i.is_multiple_of(10) {
            body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
                json!({ "manager": { "value": format!("ext-{}", i - i % 10) } });
        }
        async move { idp.call(Method::POST, "/Users", Some(&body)).await.0 }
    });
    let statuses: Vec<StatusCode> = futures_util::stream::iter(pushes)
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
}

both_backends! {
    async fn a_sync_at_full_speed_sets_every_manager(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        push_people_concurrently(&idp).await;
        let listed = idp.ok(Method::GET, "/Users?count=1000", None, StatusCode::OK).await;
        let people = listed["Resources"].as_array().unwrap();
        let by_external: std::collections::HashMap<&str, &str> = people.iter()
            .filter_map(|u| Some((u["externalId"].as_str()?, u["id"].as_str()?)))
            .collect();
        let mut missing = Vec::new();
        for user in people.iter().filter(|u| u["externalId"].is_string()) {
            let i: usize = user["externalId"].as_str().unwrap()[4..].parse().unwrap();
            if i.is_multiple_of(10) {
                continue;
            }
            let expected = by_external[format!("ext-{}", i - i % 10).as_str()];
            let manager = &user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"];
            if manager.as_str() != Some(expected) || v1_user(&app, user["id"].as_str().unwrap()).await["manager_id"].as_str() != Some(expected) {
                missing.push(i);
            }
        }
        assert!(missing.is_empty(), "{} of 180 reports lack their manager: {missing:?}", missing.len());
    }
}

/// What an identity provider writes reads back as written: userName apart from the email, removals,
/// the directory's values where an admin changed them since, members by `$ref`.
mod round_trips;
