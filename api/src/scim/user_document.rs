//! A SCIM User as the identity provider wrote it, and the directory's fields it maps to.
//!
//! Portcullis keeps the user's `userName` and the optional attributes it declares (`name`,
//! `displayName`, `emails`, `active`) as pushed, so they read back as written, a removal included.
//! The directory's fields are derived from them (email: the primary email, else `userName` when it is
//! an email address; display name: `displayName`, else `name.formatted`, else given and family names,
//! else `userName`; active: `active`, unassigned meaning active) and stay the truth: where an admin
//! changed one since, SCIM shows the directory's value in the attribute it came from.

use portcullis_domain::directory::{DisplayName, Email, User};
use serde_json::{Map, Value, json};

use super::{ScimError, boolean};

/// The longest `userName` kept.
const MAX_USER_NAME_CHARS: usize = 255;
const NAME_PARTS: [&str; 3] = ["formatted", "givenName", "familyName"];

/// The value of `name` in `object`, matched ignoring case (SCIM attribute names are).
pub fn field<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A string attribute: absent, null, empty or blank is unassigned.
fn text(value: Option<&Value>, what: &str) -> Result<Option<String>, ScimError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::invalid_value(format!("{what} must be a string"))),
    }
}

/// The `userName` of a User document: required, at most 255 characters.
pub fn user_name(body: &Value) -> Result<String, ScimError> {
    let name = text(field(body, "userName"), "userName")?
        .map(|n| n.trim().to_owned())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    if name.chars().count() > MAX_USER_NAME_CHARS {
        return Err(ScimError::invalid_value(format!(
            "userName must be at most {MAX_USER_NAME_CHARS} characters"
        )));
    }
    Ok(name)
}

/// The optional attributes Portcullis keeps of a User document, under their canonical names, with
/// unassigned values left out and Entra ID's `"True"`/`"False"` read as booleans. When no email is
/// given and `userName` is an email address, that address becomes the work email.
pub fn attributes(body: &Value, user_name: &str) -> Result<Map<String, Value>, ScimError> {
    let mut kept = Map::new();
    match field(body, "name") {
        None | Some(Value::Null) => {}
        Some(name @ Value::Object(_)) => {
            let mut parts = Map::new();
            for part in NAME_PARTS {
                if let Some(value) = text(field(name, part), &format!("name.{part}"))? {
                    parts.insert(part.to_owned(), Value::String(value));
                }
            }
            if !parts.is_empty() {
                kept.insert("name".to_owned(), Value::Object(parts));
            }
        }
        Some(_) => return Err(ScimError::invalid_value("name must be an object")),
    }
    if let Some(display_name) = text(field(body, "displayName"), "displayName")? {
        kept.insert("displayName".to_owned(), Value::String(display_name));
    }
    match field(body, "active") {
        None | Some(Value::Null) => {}
        Some(value) => {
            let active = boolean(value)
                .ok_or_else(|| ScimError::invalid_value("active must be a boolean"))?;
            kept.insert("active".to_owned(), Value::Bool(active));
        }
    }
    let emails = match field(body, "emails") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(email).collect::<Result<_, _>>()?,
        Some(_) => return Err(ScimError::invalid_value("emails must be an array")),
    };
    let emails = if emails.is_empty() && Email::parse(user_name).is_ok() {
        vec![json!({ "value": user_name, "type": "work", "primary": true })]
    } else {
        emails
    };
    if !emails.is_empty() {
        kept.insert("emails".to_owned(), Value::Array(emails));
    }
    Ok(kept)
}

/// One element of `emails`: its `value` (required), `type` and `primary`.
fn email(item: &Value) -> Result<Value, ScimError> {
    if !item.is_object() {
        return Err(ScimError::invalid_value("each email must be an object"));
    }
    let value = text(field(item, "value"), "emails.value")?
        .ok_or_else(|| ScimError::invalid_value("each email needs a value"))?;
    let mut kept = Map::new();
    kept.insert("value".to_owned(), Value::String(value));
    if let Some(kind) = text(field(item, "type"), "emails.type")? {
        kept.insert("type".to_owned(), Value::String(kind));
    }
    match field(item, "primary") {
        None | Some(Value::Null) => {}
        Some(value) => {
            let primary = boolean(value)
                .ok_or_else(|| ScimError::invalid_value("emails.primary must be a boolean"))?;
            kept.insert("primary".to_owned(), Value::Bool(primary));
        }
    }
    Ok(Value::Object(kept))
}

/// The directory's fields the attributes map to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub email: Email,
    pub display_name: DisplayName,
    pub active: bool,
}

/// The element of `emails` that is the user's email: the primary one, else the first.
fn primary_email(attributes: &Map<String, Value>) -> Option<usize> {
    let emails = attributes.get("emails")?.as_array()?;
    let at = emails
        .iter()
        .position(|e| e.get("primary").and_then(boolean) == Some(true))
        .unwrap_or(0);
    (at < emails.len()).then_some(at)
}

pub fn derive(user_name: &str, attributes: &Map<String, Value>) -> Result<Derived, ScimError> {
    let primary =
        primary_email(attributes).and_then(|at| attributes.get("emails")?.get(at)?.get("value"));
    let email = match primary {
        Some(value) => Email::parse(value.as_str().unwrap_or_default())
            .map_err(|e| ScimError::invalid_value(format!("emails: {e}")))?,
        None => Email::parse(user_name).map_err(|_| {
            ScimError::invalid_value(
                "emails is required: a person needs an email address (userName is not one)",
            )
        })?,
    };
    let name = attributes.get("name");
    let part = |p: &str| name.and_then(|n| n.get(p)).and_then(Value::as_str);
    let given_family = [part("givenName"), part("familyName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let display_name = attributes
        .get("displayName")
        .and_then(Value::as_str)
        .or(part("formatted"))
        .or(Some(given_family.as_str()).filter(|n| !n.trim().is_empty()))
        .unwrap_or(user_name);
    let display_name = DisplayName::parse(display_name)
        .map_err(|e| ScimError::invalid_value(format!("displayName: {e}")))?;
    let active = attributes
        .get("active")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Ok(Derived {
        email,
        display_name,
        active,
    })
}

/// What a user the identity provider never wrote shows: the directory's fields.
pub fn from_directory(user: &User) -> (String, Map<String, Value>) {
    let mut attributes = Map::new();
    attributes.insert(
        "name".to_owned(),
        json!({ "formatted": user.display_name.as_str() }),
    );
    attributes.insert("displayName".to_owned(), json!(user.display_name.as_str()));
    attributes.insert(
        "emails".to_owned(),
        json!([{ "value": user.email.as_str(), "type": "work", "primary": true }]),
    );
    attributes.insert("active".to_owned(), json!(user.active));
    (user.email.as_str().to_owned(), attributes)
}

/// The attributes as pushed, with the directory's value wherever it changed since.
pub fn reconciled(
    user: &User,
    user_name: &str,
    mut attributes: Map<String, Value>,
) -> Map<String, Value> {
    let derived = derive(user_name, &attributes).ok();
    if derived.as_ref().map(|d| &d.display_name) != Some(&user.display_name) {
        attributes.insert("displayName".to_owned(), json!(user.display_name.as_str()));
    }
    if derived.as_ref().map(|d| &d.email) != Some(&user.email) {
        let primary = primary_email(&attributes);
        let element =
            primary.and_then(|at| attributes.get_mut("emails")?.get_mut(at)?.as_object_mut());
        match element {
            Some(element) => {
                element.insert("value".to_owned(), json!(user.email.as_str()));
            }
            None => {
                attributes.insert(
                    "emails".to_owned(),
                    json!([{ "value": user.email.as_str(), "type": "work", "primary": true }]),
                );
            }
        }
    }
    if derived.as_ref().map(|d| d.active) != Some(user.active) {
        attributes.insert("active".to_owned(), json!(user.active));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declared_attributes_are_kept_and_booleans_read() {
        let body = json!({
            "userName": "ada", "password": "secret", "locale": "en",
            "NAME": { "givenName": "Ada", "honorificPrefix": "Lady", "familyName": "" },
            "active": "False",
            "emails": [{ "value": "ada@example.org", "primary": "True", "display": "x" }]
        });
        let kept = attributes(&body, "ada").unwrap();
        assert_eq!(
            Value::Object(kept.clone()),
            json!({
                "name": { "givenName": "Ada" },
                "active": false,
                "emails": [{ "value": "ada@example.org", "primary": true }]
            })
        );
        let derived = derive("ada", &kept).unwrap();
        assert_eq!(derived.email.as_str(), "ada@example.org");
        assert_eq!(derived.display_name.as_str(), "Ada");
        assert!(!derived.active);
    }

    #[test]
    fn a_user_name_that_is_an_email_stands_for_missing_emails() {
        let kept = attributes(&json!({ "userName": "Bo@Example.org" }), "Bo@Example.org").unwrap();
        assert_eq!(kept["emails"][0]["value"], json!("Bo@Example.org"));
        let derived = derive("Bo@Example.org", &kept).unwrap();
        assert_eq!(
            (
                derived.email.as_str(),
                derived.display_name.as_str(),
                derived.active
            ),
            ("bo@example.org", "Bo@Example.org", true)
        );
        let none = attributes(&json!({ "userName": "bo" }), "bo").unwrap();
        assert!(derive("bo", &none).is_err(), "no email at all");
    }

    fn user(email: &str, display_name: &str, active: bool) -> User {
        User {
            id: portcullis_domain::UserId::new_v7(),
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse(display_name).unwrap(),
            manager_id: None,
            is_admin: false,
            active,
            kind: portcullis_domain::directory::UserKind::Person,
            external_id: None,
            version: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_directory_shows_only_where_it_changed_since() {
        let written = attributes(
            &json!({ "name": { "givenName": "Lin" }, "emails": [{ "value": "Lin@example.org", "type": "work" }] }),
            "lin",
        )
        .unwrap();
        let same = reconciled(
            &user("lin@example.org", "Lin", true),
            "lin",
            written.clone(),
        );
        assert_eq!(
            same, written,
            "nothing changed: as written, without displayName or active"
        );
        let changed = reconciled(&user("chen@example.org", "Lin Chen", false), "lin", written);
        assert_eq!(
            Value::Object(changed),
            json!({
                "name": { "givenName": "Lin" },
                "displayName": "Lin Chen",
                "emails": [{ "value": "chen@example.org", "type": "work" }],
                "active": false
            })
        );
    }

    #[test]
    fn bad_attribute_types_are_refused() {
        for body in [
            json!({ "name": "Ada" }),
            json!({ "displayName": 5 }),
            json!({ "active": "maybe" }),
            json!({ "emails": { "value": "a@b.c" } }),
            json!({ "emails": [{ "type": "work" }] }),
        ] {
            assert!(attributes(&body, "a@b.c").is_err(), "{body}");
        }
    }
}
