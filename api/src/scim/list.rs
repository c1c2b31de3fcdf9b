//! The parameters of SCIM lists and gets (`filter`, `startIndex`, `count`, `attributes`,
//! `excludedAttributes`, in a query or a `.search` body) and the list answer.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    DEFAULT_COUNT, ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, MAX_COUNT, ScimError, USER_SCHEMA,
    filter, scim_json,
};

/// `filter`, `startIndex`, `count`, `attributes` and `excludedAttributes` of a list or a get
/// (RFC 7644 §3.4.2, §3.9).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    excluded_attributes: Option<String>,
    attributes: Option<String>,
}

impl ListParams {
    /// The same parameters from a `POST …/.search` body (RFC 7644 §3.4.3), where the attribute
    /// lists are arrays and the numbers numbers.
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_owned).ok_or_else(|| {
                            ScimError::invalid_value(format!("{name} must list strings"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|names| Some(names.join(","))),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{name} has the wrong type"
                ))),
            }
        };
        Ok(Self {
            filter: text("filter")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            excluded_attributes: text("excludedAttributes")?,
            attributes: text("attributes")?,
        })
    }

    /// Keeps the attributes asked for (`attributes`), or drops those left out
    /// (`excludedAttributes`); `id` and `schemas` always stay. Names are matched ignoring case,
    /// by their first segment (`name.givenName` keeps `name`), or as a schema URN prefix.
    pub fn project(&self, mut resource: Value) -> Value {
        let names = |raw: &Option<String>| -> Option<Vec<String>> {
            raw.as_deref().map(|v| {
                v.split(',')
                    .map(|n| n.trim())
                    .filter(|n| !n.is_empty())
                    .map(|n| {
                        let n = n.to_ascii_lowercase();
                        // `urn:…:User:userName` names `userName`; a bare extension URN names itself.
                        let ext = ENTERPRISE_SCHEMA.to_ascii_lowercase();
                        if n.starts_with(&ext) && n.len() > ext.len() {
                            ext
                        } else if let Some(rest) =
                            [USER_SCHEMA, GROUP_SCHEMA].iter().find_map(|core| {
                                n.strip_prefix(&format!("{}:", core.to_ascii_lowercase()))
                            })
                        {
                            rest.split('.').next().unwrap_or(rest).to_owned()
                        } else if n.starts_with("urn:") {
                            n
                        } else {
                            n.split('.').next().unwrap_or(&n).to_owned()
                        }
                    })
                    .collect()
            })
        };
        let Some(fields) = resource.as_object_mut() else {
            return resource;
        };
        let always = |key: &str| key == "id" || key == "schemas";
        if let Some(wanted) = names(&self.attributes).filter(|w| !w.is_empty()) {
            fields.retain(|key, _| always(key) || wanted.contains(&key.to_ascii_lowercase()));
        } else if let Some(excluded) = names(&self.excluded_attributes) {
            fields.retain(|key, _| always(key) || !excluded.contains(&key.to_ascii_lowercase()));
        }
        resource
    }
}

impl ListParams {
    /// The 0-based offset and the page size.
    pub fn window(&self) -> Result<(i64, i64), ScimError> {
        let number = |name: &str, raw: &Option<String>| -> Result<Option<i64>, ScimError> {
            raw.as_deref()
                .map(|v| {
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer")))
                })
                .transpose()
        };
        // Both are lenient by the RFC: below 1 means 1, a negative count means 0.
        let start = number("startIndex", &self.start_index)?.unwrap_or(1).max(1);
        let count = number("count", &self.count)?
            .unwrap_or(DEFAULT_COUNT)
            .clamp(0, MAX_COUNT);
        Ok((start - 1, count))
    }

    pub fn filter(
        &self,
        resource: filter::Resource,
    ) -> Result<Option<portcullis_persistence::repo::scim::Filter>, ScimError> {
        self.filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| {
                filter::parse(f, resource).map_err(|reason| {
                    ScimError::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), reason)
                })
            })
            .transpose()
    }

    /// Whether `members` is left out (`excludedAttributes=members`, or `attributes` without it).
    pub fn without_members(&self) -> bool {
        let names = |raw: &Option<String>| {
            raw.as_deref().map(|v| {
                v.split(',')
                    .map(|n| n.trim().to_ascii_lowercase())
                    .collect::<Vec<_>>()
            })
        };
        let excluded =
            names(&self.excluded_attributes).is_some_and(|n| n.iter().any(|n| n == "members"));
        let listed = names(&self.attributes).is_some_and(|n| !n.iter().any(|n| n == "members"));
        excluded || listed
    }
}

/// A list answer (RFC 7644 §3.4.2).
pub fn list_response(total: i64, offset: i64, resources: Vec<Value>) -> HttpResponse {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": offset + 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}
