//! What an identity provider writes through SCIM reads back as written (as scim2-tester checks it):
//! a userName apart from the email, removed attributes, an admin's changes since, members by `$ref`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Idp, filter_path, memberships, v1_user};
use crate::both_backends;
use crate::helpers::*;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn patch_op(op: &str, path: &str, value: Option<Value>) -> Value {
    let mut operation = json!({ "op": op, "path": path });
    if let Some(value) = value {
        operation["value"] = value;
    }
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [operation] })
}

async fn events_of(app: &TestApp, subject: &str) -> Vec<Value> {
    let events = expect_status(
        app.get(
            &format!("/v1/events?subject_id={subject}"),
            &app.admin_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    events["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn a_user_name_apart_from_the_email_round_trips(app: TestApp) {
        let idp = Idp::connect(&app, "Entra ID").await;
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada.lovelace",
            "emails": [{ "value": "Ada@Example.org", "type": "work", "primary": true }],
            "name": { "givenName": "Ada", "familyName": "Lovelace" }
        });
        let created = idp.ok(Method::POST, "/Users", Some(&body), StatusCode::CREATED).await;
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!((&created["userName"], &created["emails"], &created["name"]), (&body["userName"], &body["emails"], &body["name"]));
        let user = v1_user(&app, &id).await;
        assert_eq!((user["email"].as_str(), user["display_name"].as_str()), (Some("ada@example.org"), Some("Ada Lovelace")));

        // Found by its userName (ignoring case) and by its email; the email is not its userName.
        for (filter, total) in [("userName eq \"ADA.LOVELACE\"", 1), ("emails.value eq \"ada@example.org\"", 1), ("userName eq \"ada@example.org\"", 0)] {
            let found = idp.ok(Method::GET, &filter_path("Users", &json!(filter)), None, StatusCode::OK).await;
            assert_eq!(found["totalResults"], json!(total), "{filter}");
        }
        let taken = idp.call(Method::POST, "/Users", Some(&json!({ "userName": "Ada.Lovelace", "emails": [{ "value": "other@example.org" }] }))).await;
        assert_eq!((taken.0, taken.1["scimType"].as_str()), (StatusCode::CONFLICT, Some("uniqueness")), "unique ignoring case");
        let (status, error) = idp.call(Method::POST, "/Users", Some(&json!({ "userName": "no.email" }))).await;
        assert_eq!((status, error["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidValue")), "a person needs an email");

        // A new userName alone leaves the email as it was, and is audited.
        let renamed = idp.ok(Method::PATCH, &format!("/Users/{id}"), Some(&patch_op("replace", "userName", Some(json!("ada.king")))), StatusCode::OK).await;
        assert_eq!(renamed["userName"], json!("ada.king"));
        assert_eq!(v1_user(&app, &id).await["email"], json!("ada@example.org"));
        let events = events_of(&app, &id).await;
        assert!(events.iter().any(|e| e["type"] == "user_update" && e["data"]["scim_changed"] == json!(["userName"]) && e["data"]["identity_provider"]["token_id"] == json!(idp.token_id)), "{events:?}");

        // Someone the identity provider never named has their email as userName.
        let person = app.create_user("pat@example.org", "Pat").await;
        let found = idp.ok(Method::GET, &filter_path("Users", &json!("userName eq \"Pat@example.org\"")), None, StatusCode::OK).await;
        assert_eq!((found["Resources"][0]["id"].as_str(), found["Resources"][0]["userName"].as_str()), (Some(person.as_str()), Some("pat@example.org")));
    }

    async fn removed_attributes_read_back_removed(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        let body = json!({
            "userName": "grace", "externalId": "00u-grace", "displayName": "Amazing Grace", "active": true,
            "name": { "formatted": "Grace B. Hopper", "givenName": "Grace", "familyName": "Hopper" },
            "emails": [{ "value": "grace@example.org", "type": "work", "primary": true }],
            ENTERPRISE: { "manager": { "value": "00u-boss" } }
        });
        let created = idp.ok(Method::POST, "/Users", Some(&body), StatusCode::CREATED).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let listed = idp.ok(Method::GET, &filter_path("Users", &json!("userName eq \"grace\"")), None, StatusCode::OK).await;
        assert_eq!(listed["Resources"][0][ENTERPRISE]["manager"]["value"], json!("00u-boss"), "a manager not pushed yet is listed too");

        let path = format!("/Users/{id}");
        for attribute in ["displayName", "name", "active", "externalId", ENTERPRISE] {
            let answer = idp.ok(Method::PATCH, &path, Some(&patch_op("remove", attribute, None)), StatusCode::OK).await;
            let read = idp.ok(Method::GET, &path, None, StatusCode::OK).await;
            for document in [&answer, &read] {
                assert!(document.get(attribute).is_none(), "{attribute} is still there: {document}");
            }
        }
        // The directory's fields follow what is left: the name falls back to userName.
        let user = v1_user(&app, &id).await;
        assert_eq!(
            (user["display_name"].as_str(), user["active"].as_bool(), &user["external_id"], &user["manager_id"]),
            (Some("grace"), Some(true), &Value::Null, &Value::Null)
        );

        // A PUT replaces: what it leaves out is gone too.
        let put = json!({ "userName": "grace", "name": { "givenName": "Grace" }, "emails": [{ "value": "grace@example.org" }] });
        let replaced = idp.ok(Method::PUT, &path, Some(&put), StatusCode::OK).await;
        assert_eq!((&replaced["name"], &replaced["emails"], replaced.get("displayName")), (&put["name"], &put["emails"], None));
        assert_eq!(v1_user(&app, &id).await["display_name"], json!("Grace"));
    }

    async fn what_an_admin_changed_since_shows_through_scim(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        let body = json!({ "userName": "lin", "name": { "givenName": "Lin" }, "emails": [{ "value": "lin@example.org", "type": "work" }] });
        let created = idp.ok(Method::POST, "/Users", Some(&body), StatusCode::CREATED).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let changes = json!({ "display_name": "Lin Chen", "email": "lin.chen@example.org", "active": false });
        expect_status(app.patch(&format!("/v1/users/{id}"), &app.admin_token, &changes).await, StatusCode::OK).await;

        let read = idp.ok(Method::GET, &format!("/Users/{id}"), None, StatusCode::OK).await;
        assert_eq!((&read["displayName"], &read["emails"], &read["active"]), (&json!("Lin Chen"), &json!([{ "value": "lin.chen@example.org", "type": "work" }]), &json!(false)));
        assert_eq!((&read["userName"], &read["name"]), (&body["userName"], &body["name"]), "the rest as the identity provider wrote it");
    }

    async fn group_members_may_be_named_by_their_ref(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        let user = idp.ok(Method::POST, "/Users", Some(&json!({ "userName": "member@example.org" })), StatusCode::CREATED).await;
        let (user_id, location) = (user["id"].as_str().unwrap().to_owned(), user["meta"]["location"].clone());
        let body = json!({ "displayName": "By reference", "members": [{ "$ref": location }] });
        let group = idp.ok(Method::POST, "/Groups", Some(&body), StatusCode::CREATED).await;
        assert_eq!(group["members"], json!([{ "value": user_id, "$ref": location }]), "read back as written, with its value");
        let group_id = group["id"].as_str().unwrap().to_owned();
        assert_eq!(memberships(&app, &group_id).await, [(user_id.clone(), "scim".to_owned())]);
        let removed = idp.ok(Method::PATCH, &format!("/Groups/{group_id}"), Some(&patch_op("remove", "members", None)), StatusCode::OK).await;
        assert_eq!(removed["members"], json!([]));
        assert!(memberships(&app, &group_id).await.is_empty());
    }

    async fn one_search_lists_users_then_groups(app: TestApp) {
        let idp = Idp::connect(&app, "Okta").await;
        let user = idp.ok(Method::POST, "/Users", Some(&json!({ "userName": "ops@example.org", "displayName": "Ops" })), StatusCode::CREATED).await;
        let group = idp.ok(Method::POST, "/Groups", Some(&json!({ "displayName": "Ops" })), StatusCode::CREATED).await;
        let search = |start: u32, count: u32| json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "displayName eq \"Ops\"", "startIndex": start, "count": count
        });
        let both = idp.ok(Method::POST, "/.search", Some(&search(1, 10)), StatusCode::OK).await;
        let ids: Vec<&Value> = both["Resources"].as_array().unwrap().iter().map(|r| &r["id"]).collect();
        assert_eq!((&both["totalResults"], ids), (&json!(2), vec![&user["id"], &group["id"]]));
        let second = idp.ok(Method::POST, "/.search", Some(&search(2, 1)), StatusCode::OK).await;
        assert_eq!((&second["totalResults"], &second["Resources"][0]["meta"]["resourceType"]), (&json!(2), &json!("Group")));
        let by_user_name = json!({ "filter": "userName eq \"ops@example.org\"" });
        let only_user = idp.ok(Method::POST, "/.search", Some(&by_user_name), StatusCode::OK).await;
        assert_eq!((&only_user["totalResults"], &only_user["Resources"][0]["id"]), (&json!(1), &user["id"]), "groups have no userName");
    }
}
