//! The discovery resources (RFC 7644 §4): what this service provider supports, its resource types
//! and the schemas of the attributes it keeps. Open to anyone: they describe, they hold no data.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{
    ENTERPRISE_SCHEMA, GROUP_SCHEMA, MAX_COUNT, ScimError, USER_SCHEMA, base_url, scim_json,
};

const CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub async fn service_provider_config(req: HttpRequest) -> HttpResponse {
    let base = base_url(&req);
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [CONFIG_SCHEMA],
            "documentationUri": "https://github.com/portcullis/portcullis#connect-your-identity-provider",
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": MAX_COUNT },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": false },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "SCIM bearer token",
                "description": "A token an administrator makes for the identity provider with POST /v1/scim-tokens.",
                "primary": true
            }],
            "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") }
        }),
    )
}

fn resource_type_list(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User", "name": "User", "endpoint": "/Users",
            "description": "A person in the directory",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": ENTERPRISE_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") }
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "A group of people",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") }
        }),
    ]
}

fn list(resources: Vec<Value>) -> HttpResponse {
    super::list_response(resources.len() as i64, 0, resources)
}

pub async fn resource_types(req: HttpRequest) -> HttpResponse {
    list(resource_type_list(&base_url(&req)))
}

pub async fn resource_type(
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    resource_type_list(&base_url(&req))
        .into_iter()
        .find(|r| r["id"] == name.as_str())
        .map(|r| scim_json(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::not_found("resource type"))
}

/// An attribute definition (RFC 7643 §7).
fn attribute(name: &str, kind: &str, required: bool, mutability: &str, uniqueness: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "required": required,
        "caseExact": false, "mutability": mutability, "returned": "default", "uniqueness": uniqueness,
        "description": name,
    })
}

fn complex(name: &str, multi_valued: bool, sub_attributes: Vec<Value>) -> Value {
    json!({
        "name": name, "type": "complex", "multiValued": multi_valued, "required": false,
        "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "subAttributes": sub_attributes, "description": name,
    })
}

/// The attribute, required.
fn required(mut attribute: Value) -> Value {
    attribute["required"] = json!(true);
    attribute
}

fn schema_list(base: &str) -> Vec<Value> {
    let meta =
        |id: &str| json!({ "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") });
    vec![
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": USER_SCHEMA, "name": "User",
            "description": "A person. Every person needs an email address: emails is required, unless userName is an email address, which then stands for it.",
            "attributes": [
                attribute("userName", "string", true, "readWrite", "server"),
                complex("name", false, vec![
                    attribute("formatted", "string", false, "readWrite", "none"),
                    attribute("givenName", "string", false, "readWrite", "none"),
                    attribute("familyName", "string", false, "readWrite", "none"),
                ]),
                attribute("displayName", "string", false, "readWrite", "none"),
                attribute("active", "boolean", false, "readWrite", "none"),
                required(complex("emails", true, vec![
                    attribute("value", "string", true, "readWrite", "none"),
                    attribute("type", "string", false, "readWrite", "none"),
                    attribute("primary", "boolean", false, "readWrite", "none"),
                ])),
            ],
            "meta": meta(USER_SCHEMA),
        }),
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": ENTERPRISE_SCHEMA, "name": "EnterpriseUser", "description": "The user's manager",
            "attributes": [
                complex("manager", false, vec![
                    json!({
                        "name": "value", "type": "string", "multiValued": false, "required": false,
                        "caseExact": true, "mutability": "readWrite", "returned": "default",
                        "uniqueness": "none", "description": "The manager's SCIM id or externalId",
                    }),
                ]),
            ],
            "meta": meta(ENTERPRISE_SCHEMA),
        }),
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": GROUP_SCHEMA, "name": "Group", "description": "A group and the members the identity provider gave it",
            "attributes": [
                attribute("displayName", "string", true, "readWrite", "server"),
                complex("members", true, vec![
                    json!({
                        "name": "value", "type": "string", "multiValued": false, "required": false,
                        "caseExact": true, "mutability": "immutable", "returned": "default",
                        "uniqueness": "none", "description": "The member's SCIM id",
                    }),
                    json!({
                        "name": "$ref", "type": "reference", "referenceTypes": ["User"], "multiValued": false,
                        "required": false, "caseExact": true, "mutability": "immutable", "returned": "default",
                        "uniqueness": "none", "description": "The member's URI (a member may be named by it instead of value)",
                    }),
                ]),
            ],
            "meta": meta(GROUP_SCHEMA),
        }),
    ]
}

pub async fn schemas(req: HttpRequest) -> HttpResponse {
    list(schema_list(&base_url(&req)))
}

pub async fn schema(req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
    schema_list(&base_url(&req))
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(|s| scim_json(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found("schema"))
}
