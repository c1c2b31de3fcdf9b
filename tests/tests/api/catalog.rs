use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::flows::{create_flow, device_flow, fixture, resource_flow};
use crate::helpers::*;
use crate::requests::{act, submit, world};

async fn join(app: &TestApp, group: &str, user: &str) {
    let response = app
        .post(
            &format!("/v1/groups/{group}/members"),
            &app.admin_token,
            &json!({ "user_id": user }),
        )
        .await;
    expect_status(response, StatusCode::CREATED).await;
}

fn names(catalog: &Value) -> Vec<String> {
    catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn put_settings(app: &TestApp, change: impl FnOnce(&mut Value)) -> Value {
    let mut settings = expect_status(
        app.get("/v1/settings", &app.admin_token).await,
        StatusCode::OK,
    )
    .await;
    for key in ["version", "updated_at"] {
        settings.as_object_mut().unwrap().remove(key);
    }
    change(&mut settings);
    let response = app
        .request(Method::PUT, "/v1/settings", Some(&app.admin_token))
        .json(&settings)
        .send()
        .await
        .unwrap();
    expect_status(response, StatusCode::OK).await
}

/// The catalog entry of flow `flow` as `token` sees it.
async fn entry_of(app: &TestApp, token: &str, flow: &str) -> Value {
    let catalog = expect_status(app.get("/v1/catalog", token).await, StatusCode::OK).await;
    catalog["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["flow_id"] == flow)
        .cloned()
        .unwrap()
}

both_backends! {
    async fn the_catalog_entry_shows_the_callers_request_and_its_progress(app: TestApp) {
        let w = world(&app, "any").await;
        let token = app.token_for(&w.requester);
        assert!(entry_of(&app, &token, &w.flow).await["my_request"].is_null(), "no request yet");

        let request = submit(&app, &w).await;
        let mine = entry_of(&app, &token, &w.flow).await["my_request"].clone();
        assert_eq!((mine["id"].clone(), mine["status"].as_str()), (request["id"].clone(), Some("pending")));
        assert_eq!(mine["steps"][0]["type"], "requester_manager");
        assert_eq!(mine["steps"][0]["state"], "active");

        // Someone else who sees the flow sees no request of theirs.
        let colleague = app.create_user("cole@example.org", "Cole").await;
        join(&app, &w.visible, &colleague).await;
        assert!(entry_of(&app, &app.token_for(&colleague), &w.flow).await["my_request"].is_null());

        put_settings(&app, |s| s["show_approval_progress"] = json!(false)).await;
        let hidden = entry_of(&app, &token, &w.flow).await["my_request"].clone();
        assert_eq!((hidden["status"].as_str(), hidden["steps"].is_null()), (Some("pending"), true), "{hidden}");

        expect_status(act(&app, &request["id"], "approve", &w.manager, json!({})).await, StatusCode::OK).await;
        let decided = entry_of(&app, &token, &w.flow).await["my_request"].clone();
        assert_eq!((decided["status"].as_str(), decided["decided_at"].is_string()), (Some("approved"), true));
    }

    async fn the_catalog_filters_by_kind_approval_type_and_availability(app: TestApp) {
        let w = world(&app, "any").await;
        let wiki = json!({
            "kind": "resource_request", "name": "Wiki", "display": { "logo": "wiki" }, "target_group_id": w.target,
            "visibility_group_ids": [w.visible], "approval_type": "automatic"
        });
        let wiki = create_flow(&app, &wiki).await;
        let laptop = json!({
            "kind": "device_admin", "name": "Laptop admin", "display": { "logo": "apple" },
            "visibility_group_ids": [w.visible], "session_durations_seconds": [900], "approval_type": "manual"
        });
        create_flow(&app, &laptop).await;
        let token = app.token_for(&w.requester);
        let listed = |query: &'static str| {
            let (app, token) = (&app, token.clone());
            async move { names(&expect_status(app.get(&format!("/v1/catalog{query}"), &token).await, StatusCode::OK).await) }
        };
        assert_eq!(listed("").await, ["Laptop admin", "Wiki", "GitHub Admin"]);
        assert_eq!(listed("?kind=device_admin").await, ["Laptop admin"]);
        assert_eq!(listed("?kind=resource_request&approval_type=manual").await, ["GitHub Admin"]);
        assert_eq!(listed("?approval_type=automatic").await, ["Wiki"]);
        assert_eq!(listed("?availability=requestable").await, ["Laptop admin", "Wiki", "GitHub Admin"]);
        assert!(listed("?availability=have_access").await.is_empty());

        // A pending request: no longer requestable, no access yet.
        submit(&app, &w).await;
        assert_eq!(listed("?availability=requestable").await, ["Laptop admin", "Wiki"]);
        // An automatic flow grants at once.
        let body = json!({ "flow_id": wiki["id"], "reason": "Read the runbooks" });
        expect_status(app.post("/v1/access-requests", &token, &body).await, StatusCode::CREATED).await;
        assert_eq!(listed("?availability=have_access").await, ["Wiki"]);
        assert_eq!(listed("?availability=requestable").await, ["Laptop admin"]);
        assert_eq!(listed("?availability=have_access&kind=device_admin").await, Vec::<String>::new());

        // Access given up: requestable again.
        let grants = expect_status(app.get("/v1/me/grants", &token).await, StatusCode::OK).await;
        let grant = grants["items"][0]["id"].as_str().unwrap();
        expect_status(app.delete(&format!("/v1/grants/{grant}"), &token).await, StatusCode::NO_CONTENT).await;
        assert_eq!(listed("?availability=requestable").await, ["Laptop admin", "Wiki"]);
        assert!(listed("?availability=have_access").await.is_empty());

        for query in ["?kind=app", "?approval_type=sometimes", "?availability=maybe"] {
            expect_problem(app.get(&format!("/v1/catalog{query}"), &token).await, StatusCode::BAD_REQUEST).await;
        }
    }

    async fn only_members_of_a_visibility_group_see_a_flow(app: TestApp) {
        let f = fixture(&app).await;
        let manager = app.create_user("max@example.org", "Max Manager").await;
        let insider = app.create_user_with(json!({ "email": "in@example.org", "display_name": "Insider", "manager_id": manager })).await;
        let outsider = app.create_user("out@example.org", "Outsider").await;
        join(&app, &f.visible, &insider).await;
        create_flow(&app, &resource_flow(&f)).await;
        let mut hidden = resource_flow(&f);
        hidden["name"] = json!("Hidden flow");
        hidden["visibility_group_ids"] = json!([f.approvers]);
        create_flow(&app, &hidden).await;
        let mut disabled = resource_flow(&f);
        disabled["name"] = json!("Disabled flow");
        disabled["enabled"] = json!(false);
        create_flow(&app, &disabled).await;

        let catalog = expect_status(app.get("/v1/catalog", &app.token_for(&insider)).await, StatusCode::OK).await;
        assert_eq!(names(&catalog), ["GitHub Admin"]);
        let entry = &catalog["items"][0];
        assert_eq!((entry["durations_seconds"].clone(), entry["duration_mode"].as_str()), (json!([3600, 86400]), Some("choices")));
        assert_eq!(entry["approvers"][0]["type"], "requester_manager");
        assert_eq!(entry["approvers"][0]["approvers"], json!([{ "id": manager, "display_name": "Max Manager" }]));

        let nothing = expect_status(app.get("/v1/catalog", &app.token_for(&outsider)).await, StatusCode::OK).await;
        assert!(names(&nothing).is_empty(), "an outsider never sees the flow");
    }

    async fn the_catalog_is_searchable_by_name_and_description(app: TestApp) {
        let f = fixture(&app).await;
        let member = app.create_user("m@example.org", "Member").await;
        join(&app, &f.visible, &member).await;
        create_flow(&app, &resource_flow(&f)).await;
        let mut figma = resource_flow(&f);
        figma["name"] = json!("Figma Editor");
        figma["description"] = json!("Edit design files");
        create_flow(&app, &figma).await;
        let token = app.token_for(&member);
        assert_eq!(names(&expect_status(app.get("/v1/catalog?q=FIGMA", &token).await, StatusCode::OK).await), ["Figma Editor"]);
        assert_eq!(names(&expect_status(app.get("/v1/catalog?q=design", &token).await, StatusCode::OK).await), ["Figma Editor"]);
        assert_eq!(names(&expect_status(app.get("/v1/catalog?q=git", &token).await, StatusCode::OK).await), ["GitHub Admin"]);
    }

    async fn device_admin_entries_list_the_callers_devices(app: TestApp) {
        let f = fixture(&app).await;
        let member = app.create_user("m@example.org", "Member").await;
        join(&app, &f.visible, &member).await;
        expect_status(app.post("/v1/devices", &app.admin_token, &json!({ "name": "m-laptop", "os": "linux", "assigned_user_ids": [member] })).await, StatusCode::CREATED).await;
        expect_status(app.post("/v1/devices", &app.admin_token, &json!({ "name": "other", "os": "linux" })).await, StatusCode::CREATED).await;
        create_flow(&app, &device_flow(&f)).await;
        let catalog = expect_status(app.get("/v1/catalog", &app.token_for(&member)).await, StatusCode::OK).await;
        let entry = &catalog["items"][0];
        assert_eq!(entry["kind"], "device_admin");
        let devices: Vec<&str> = entry["devices"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(devices, ["m-laptop"]);
        assert_eq!(entry["approvers"][0]["approvers"][0]["id"], app.admin_id.as_str());
    }

    async fn settings_switch_the_catalog_off_and_hide_approver_names(app: TestApp) {
        let f = fixture(&app).await;
        let member = app.create_user("m@example.org", "Member").await;
        join(&app, &f.visible, &member).await;
        create_flow(&app, &device_flow(&f)).await;
        let token = app.token_for(&member);

        put_settings(&app, |s| s["show_approval_progress"] = json!(false)).await;
        let catalog = expect_status(app.get("/v1/catalog", &token).await, StatusCode::OK).await;
        assert_eq!(catalog["items"][0]["approvers"][0]["type"], "administrator");
        assert!(catalog["items"][0]["approvers"][0]["approvers"].is_null(), "names are hidden");

        put_settings(&app, |s| s["resource_requests_enabled"] = json!(false)).await;
        let catalog = expect_status(app.get("/v1/catalog", &token).await, StatusCode::OK).await;
        assert_eq!(catalog["requests_enabled"], false);
        assert!(catalog["items"].as_array().unwrap().is_empty());
    }

    async fn settings_are_validated_versioned_and_admin_only(app: TestApp) {
        let initial = expect_status(app.get("/v1/settings", &app.admin_token).await, StatusCode::OK).await;
        assert_eq!((initial["expiry_days"].as_i64(), initial["version"].as_i64()), (Some(30), Some(1)));

        let mut body = initial.clone();
        for key in ["version", "updated_at"] {
            body.as_object_mut().unwrap().remove(key);
        }
        let mut invalid = body.clone();
        invalid["expiry_days"] = json!(0);
        invalid["max_access_duration_seconds"] = json!(5);
        let response = app.request(Method::PUT, "/v1/settings", Some(&app.admin_token)).json(&invalid).send().await.unwrap();
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["expiry_days", "max_access_duration_seconds"]);
        let mut incomplete = body.clone();
        incomplete.as_object_mut().unwrap().remove("expiry_days");
        let response = app.request(Method::PUT, "/v1/settings", Some(&app.admin_token)).json(&incomplete).send().await.unwrap();
        assert_eq!(error_fields(&expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await), ["expiry_days"]);

        body["expiry_days"] = json!(14);
        let response = app.request(Method::PUT, "/v1/settings", Some(&app.admin_token)).header("If-Match", "\"1\"").json(&body).send().await.unwrap();
        assert_eq!(expect_status(response, StatusCode::OK).await["version"], 2);
        let response = app.request(Method::PUT, "/v1/settings", Some(&app.admin_token)).header("If-Match", "\"1\"").json(&body).send().await.unwrap();
        expect_problem(response, StatusCode::PRECONDITION_FAILED).await;

        let person = app.token_for(&app.create_user("p@example.org", "P").await);
        expect_problem(app.get("/v1/settings", &person).await, StatusCode::FORBIDDEN).await;
        let response = app.request(Method::PUT, "/v1/settings", Some(&person)).json(&body).send().await.unwrap();
        expect_problem(response, StatusCode::FORBIDDEN).await;
    }

    async fn the_maximum_duration_setting_bounds_flows(app: TestApp) {
        let f = fixture(&app).await;
        put_settings(&app, |s| s["max_access_duration_seconds"] = json!(7200)).await;
        let response = app.post("/v1/approval-flows", &app.admin_token, &resource_flow(&f)).await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["timed_access.durations_seconds[1]"]);
    }
}
