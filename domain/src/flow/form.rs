//! Request forms: the extra fields a flow asks its requesters to fill in (a ticket number, the
//! environment, …), validated when the flow is saved, and the answers checked against them when a
//! request is made.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::text_enum;
use crate::validation::ValidationErrors;

/// The most fields a form may have.
pub const MAX_FORM_FIELDS: usize = 20;
/// The most choices a `choice` field may offer.
pub const MAX_CHOICES: usize = 50;
/// The longest `pattern`, in characters.
pub const MAX_PATTERN_CHARS: usize = 200;
/// The longest label or choice, in characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// The longest answer to a `text` field, in characters.
pub const MAX_TEXT_ANSWER_CHARS: usize = 2000;
/// The longest answer to a `ticket` or `choice` field, in characters.
pub const MAX_SHORT_ANSWER_CHARS: usize = 200;
/// The pattern a `ticket` answer matches when the field names none: a tracker key like `OPS-1234`.
pub const DEFAULT_TICKET_PATTERN: &str = "^[A-Za-z][A-Za-z0-9_]*-[0-9]+$";
/// The compiled size a `pattern` may reach (a pattern like `(a{100}){100}` is refused, not built).
const PATTERN_SIZE_LIMIT: usize = 64 * 1024;

text_enum!(
    /// `text`: free text (one line or several); `ticket`: a ticket reference (by default like
    /// `OPS-1234`); `choice`: one of the field's `choices`.
    FormFieldType { Text => "text", Ticket => "ticket", Choice => "choice" }
);

/// One field of a flow's request form, as an admin writes it and as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "key": "environment", "label": "Environment", "type": "choice", "required": true,
    "choices": ["staging", "prod"]
})))]
pub struct FormField {
    /// The answer's name in a request's `form` and in conditions (`request.form.<key>`).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9_]{0,39}$"))]
    pub key: String,
    /// What the requester is asked.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FormFieldType,
    /// Whether a request must answer it.
    #[serde(default)]
    pub required: bool,
    /// `text` and `ticket` only: a regular expression (Rust `regex` syntax, matched anywhere unless
    /// anchored) the answer must match. A `ticket` without one must look like `OPS-1234`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub pattern: Option<String>,
    /// `choice` only: the answers offered (1 to 50, each once, without surrounding spaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 50))]
    pub choices: Option<Vec<String>>,
}

/// A validated form: its fields with their patterns compiled.
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: Vec<(FormField, Option<Regex>)>,
}

impl PartialEq for Form {
    fn eq(&self, other: &Self) -> bool {
        self.fields().eq(other.fields())
    }
}

impl Eq for Form {}

/// A request's answers to its flow's form, by key (answered fields only, trimmed).
pub type FormAnswers = BTreeMap<String, String>;

impl Form {
    /// Validates `fields` (errors under `form[i].…`).
    pub fn parse(fields: &[FormField], errors: &mut ValidationErrors) -> Form {
        if fields.len() > MAX_FORM_FIELDS {
            errors.push("form", format!("at most {MAX_FORM_FIELDS} fields"));
        }
        let mut parsed = Vec::new();
        for (index, field) in fields.iter().enumerate() {
            let at = |name: &str| format!("form[{index}].{name}");
            if !is_key(&field.key) {
                errors.push(
                    at("key"),
                    "must be a lowercase name like 'ticket_id' (a-z, 0-9, '_'; at most 40)",
                );
            } else if fields[..index].iter().any(|f| f.key == field.key) {
                errors.push(at("key"), "is listed twice");
            }
            let label_chars = field.label.trim().chars().count();
            if label_chars == 0 || field.label.chars().count() > MAX_LABEL_CHARS {
                errors.push(
                    at("label"),
                    format!("must be 1 to {MAX_LABEL_CHARS} characters"),
                );
            }
            let pattern = match (&field.pattern, field.field_type) {
                (Some(_), FormFieldType::Choice) => {
                    errors.push(at("pattern"), "a choice field takes choices, not a pattern");
                    None
                }
                (Some(pattern), _) => compile_pattern(pattern)
                    .map_err(|message| errors.push(at("pattern"), message))
                    .ok(),
                (None, FormFieldType::Ticket) => TICKET.clone(),
                (None, _) => None,
            };
            match (&field.choices, field.field_type) {
                (None, FormFieldType::Choice) => {
                    errors.push(at("choices"), "a choice field needs its choices")
                }
                (Some(choices), FormFieldType::Choice) => {
                    check_choices(&at("choices"), choices, errors)
                }
                (Some(_), _) => errors.push(at("choices"), "only choice fields take choices"),
                (None, _) => {}
            }
            parsed.push((field.clone(), pattern));
        }
        Form { fields: parsed }
    }

    pub fn fields(&self) -> impl Iterator<Item = &FormField> {
        self.fields.iter().map(|(field, _)| field)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Checks a request's answers: every key is a field of the form, required fields are answered,
    /// choices are offered ones, patterns match. Answers are trimmed; blank optional ones are left
    /// out. Errors name `form.<key>`.
    pub fn check(&self, answers: &FormAnswers) -> Result<FormAnswers, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for key in answers.keys() {
            if !self.fields.iter().any(|(f, _)| &f.key == key) {
                errors.push(format!("form.{key}"), "is not a field of this flow's form");
            }
        }
        let mut checked = FormAnswers::new();
        for (field, pattern) in &self.fields {
            let at = format!("form.{}", field.key);
            let raw = answers.get(&field.key).map(String::as_str).unwrap_or("");
            let answer = raw.trim();
            let longest = match field.field_type {
                FormFieldType::Text => MAX_TEXT_ANSWER_CHARS,
                _ => MAX_SHORT_ANSWER_CHARS,
            };
            if raw.chars().count() > longest {
                errors.push(at, format!("must be at most {longest} characters"));
                continue;
            }
            if answer.is_empty() {
                if field.required {
                    errors.push(at, format!("is required: {}", field.label));
                }
                continue;
            }
            if field.field_type == FormFieldType::Choice
                && !field
                    .choices
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|choice| choice == answer))
            {
                errors.push(
                    at,
                    format!(
                        "must be one of {:?}",
                        field.choices.clone().unwrap_or_default()
                    ),
                );
                continue;
            }
            if let Some(pattern) = pattern
                && !pattern.is_match(answer)
            {
                errors.push(at, format!("must match the pattern {}", pattern.as_str()));
                continue;
            }
            checked.insert(field.key.clone(), answer.to_owned());
        }
        errors.into_result()?;
        Ok(checked)
    }
}

/// The default `ticket` pattern, compiled once.
static TICKET: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile_pattern(DEFAULT_TICKET_PATTERN).ok());

/// Whether `key` is a field key, `^[a-z][a-z0-9_]{0,39}$` (it is also its name in conditions:
/// `request.form.<key>`); checked by hand, as forms are validated on every flow read.
fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 40
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!("must be at most {MAX_PATTERN_CHARS} characters"));
    }
    RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                "is too large once compiled; simplify its repetitions".to_owned()
            }
            other => format!(
                "is not a valid regular expression: {}",
                last_line(&other.to_string())
            ),
        })
}

/// The regex crate's message ends with what is wrong (after the pattern and a caret under it).
fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_owned()
}

fn check_choices(at: &str, choices: &[String], errors: &mut ValidationErrors) {
    if choices.is_empty() || choices.len() > MAX_CHOICES {
        errors.push(at, format!("must offer 1 to {MAX_CHOICES} choices"));
    }
    for (index, choice) in choices.iter().enumerate() {
        let trimmed = choice.trim();
        if trimmed.is_empty()
            || trimmed != choice
            || choice.chars().count() > MAX_SHORT_ANSWER_CHARS
        {
            errors.push(
                format!("{at}[{index}]"),
                format!(
                    "must be 1 to {MAX_SHORT_ANSWER_CHARS} characters, without surrounding spaces"
                ),
            );
        } else if choices[..index].contains(choice) {
            errors.push(format!("{at}[{index}]"), "is listed twice");
        }
    }
}

#[cfg(test)]
#[path = "form_tests.rs"]
mod tests;
