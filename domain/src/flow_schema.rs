//! OpenAPI schemas of the flow drafts, written by hand because their Rust shape (one struct with
//! optional fields, validated as a whole by `ApprovalFlow::new`) is looser than the contract: an
//! approver spec is one of four shapes told apart by `type`, and a display is a logo or a colour.
//! Generated clients get a tagged union instead of a bag of optional fields.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, Discriminator, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::flow::{ApproverDraft, DisplayDraft};

const APPROVER_VARIANTS: [(&str, &str); 4] = [
    ("administrator", "AdministratorApprover"),
    ("requester_manager", "RequesterManagerApprover"),
    ("resource_owner", "ResourceOwnerApprover"),
    ("user_group", "UserGroupApprover"),
];

/// A closed object whose `type` is the one given value.
fn tagged(tag: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some(description))
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([tag])),
        )
        .required("type")
        .property(
            "required_if",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(crate::flow::MAX_EXPRESSION_CHARS))
                .description(Some(
                    "Manual flows: a CEL condition (see the flow's `auto_approve_if` for its context); \
                     when it is false for a request, this step is left out of it. An expression that \
                     cannot be evaluated keeps the step. At least one spec must have none.",
                )),
        )
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

fn approver_variant(tag: &str) -> Schema {
    let user_ids = ArrayBuilder::new().items(Ref::from_schema_name("UserId"));
    let object = match tag {
        "administrator" => tagged(tag, "Administrators approve: any active admin, or only `admin_ids`.")
            .property(
                "admin_ids",
                user_ids.description(Some("Only these admins (default: any admin).")),
            )
            .examples([serde_json::json!({ "type": "administrator" })]),
        "requester_manager" => tagged(tag, "The requester's manager approves.")
            .examples([serde_json::json!({ "type": "requester_manager" })]),
        "resource_owner" => tagged(tag, "Any one of the flow's owners (`owner_ids`) approves.")
            .examples([serde_json::json!({ "type": "resource_owner" })]),
        _ => tagged(tag, "Members of a group approve: any one, or every one with `require_all`.")
            .property("group_id", Ref::from_schema_name("GroupId"))
            .required("group_id")
            .property(
                "require_all",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .default(Some(serde_json::json!(false)))
                    .description(Some("Every member must approve.")),
            )
            .examples([serde_json::json!({
                "type": "user_group", "group_id": "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e81", "require_all": true
            })]),
    };
    object.into()
}

impl PartialSchema for ApproverDraft {
    fn schema() -> RefOr<Schema> {
        let mut discriminator = Discriminator::new("type");
        let mut one_of = OneOfBuilder::new().description(Some(
            "One approver spec: `type` plus the fields that type takes.",
        ));
        for (tag, name) in APPROVER_VARIANTS {
            discriminator
                .mapping
                .insert(tag.to_owned(), format!("#/components/schemas/{name}"));
            one_of = one_of.item(Ref::from_schema_name(name));
        }
        Schema::OneOf(one_of.discriminator(Some(discriminator)).build()).into()
    }
}

impl ToSchema for ApproverDraft {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ApproverDraft")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        for (tag, name) in APPROVER_VARIANTS {
            schemas.push((name.to_owned(), approver_variant(tag).into()));
        }
    }
}

impl PartialSchema for DisplayDraft {
    fn schema() -> RefOr<Schema> {
        let logo = ObjectBuilder::new()
            .title(Some("LogoDisplay"))
            .property(
                "logo",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[a-z0-9][a-z0-9._-]{0,63}$"))
                    .description(Some("A logo identifier, e.g. `github`.")),
            )
            .required("logo")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let color = ObjectBuilder::new()
            .title(Some("ColorDisplay"))
            .property(
                "color",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^#[0-9a-fA-F]{6}$"))
                    .description(Some("A colour, `#rrggbb`.")),
            )
            .required("color")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        Schema::OneOf(
            OneOfBuilder::new()
                .description(Some(
                    "What the flow's display shows: `{ \"logo\": \"github\" }` or `{ \"color\": \"#24292f\" }`.",
                ))
                .item(logo)
                .item(color)
                .examples([serde_json::json!({ "color": "#24292f" })])
                .build(),
        )
        .into()
    }
}

impl ToSchema for DisplayDraft {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DisplayDraft")
    }
}
