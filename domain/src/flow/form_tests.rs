use super::*;

fn field(key: &str, field_type: FormFieldType) -> FormField {
    FormField {
        key: key.to_owned(),
        label: format!("The {key}"),
        field_type,
        required: true,
        pattern: None,
        choices: None,
    }
}

fn environment() -> FormField {
    FormField {
        choices: Some(vec!["staging".to_owned(), "prod".to_owned()]),
        ..field("environment", FormFieldType::Choice)
    }
}

fn parsed(fields: &[FormField]) -> Result<Form, Vec<String>> {
    let mut errors = ValidationErrors::new();
    let form = Form::parse(fields, &mut errors);
    match errors.into_result() {
        Ok(()) => Ok(form),
        Err(e) => Err(e.into_errors().into_iter().map(|e| e.field).collect()),
    }
}

fn answers(pairs: &[(&str, &str)]) -> FormAnswers {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn refused_fields(form: &Form, given: &[(&str, &str)]) -> Vec<String> {
    form.check(&answers(given))
        .unwrap_err()
        .into_errors()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn a_form_with_a_ticket_a_choice_and_a_text_is_valid() {
    let note = FormField {
        required: false,
        pattern: Some("^[a-z ]+$".to_owned()),
        ..field("note", FormFieldType::Text)
    };
    assert!(parsed(&[field("ticket", FormFieldType::Ticket), environment(), note]).is_ok());
}

#[test]
fn bad_keys_duplicates_and_misplaced_options_are_refused_field_by_field() {
    let bad_key = field("Ticket-Id", FormFieldType::Text);
    let twice = field("environment", FormFieldType::Text);
    let choice_without_choices = field("zone", FormFieldType::Choice);
    let text_with_choices = FormField {
        choices: Some(vec!["a".to_owned()]),
        ..field("note", FormFieldType::Text)
    };
    let choice_with_pattern = FormField {
        pattern: Some("x".to_owned()),
        ..environment()
    };
    let fields = parsed(&[
        bad_key,
        environment(),
        twice,
        choice_without_choices,
        text_with_choices,
    ])
    .unwrap_err();
    assert_eq!(
        fields,
        [
            "form[0].key",
            "form[2].key",
            "form[3].choices",
            "form[4].choices"
        ]
    );
    assert_eq!(
        parsed(&[choice_with_pattern]).unwrap_err(),
        ["form[0].pattern"]
    );
}

#[test]
fn invalid_and_oversized_patterns_are_refused() {
    let invalid = FormField {
        pattern: Some("([a-z".to_owned()),
        ..field("a", FormFieldType::Text)
    };
    let huge = FormField {
        pattern: Some("(((a{100}){100}){100})".to_owned()),
        ..field("b", FormFieldType::Text)
    };
    let long = FormField {
        pattern: Some("a".repeat(MAX_PATTERN_CHARS + 1)),
        ..field("c", FormFieldType::Text)
    };
    assert_eq!(
        parsed(&[invalid, huge, long]).unwrap_err(),
        ["form[0].pattern", "form[1].pattern", "form[2].pattern"]
    );
}

#[test]
fn more_than_twenty_fields_are_refused() {
    let fields: Vec<FormField> = (0..=MAX_FORM_FIELDS)
        .map(|n| field(&format!("f{n}"), FormFieldType::Text))
        .collect();
    assert_eq!(parsed(&fields).unwrap_err(), ["form"]);
}

#[test]
fn answers_are_trimmed_and_blank_optional_ones_left_out() {
    let optional = FormField {
        required: false,
        ..field("note", FormFieldType::Text)
    };
    let form = parsed(&[
        field("ticket", FormFieldType::Ticket),
        environment(),
        optional,
    ])
    .unwrap();
    let checked = form
        .check(&answers(&[
            ("ticket", " OPS-1234 "),
            ("environment", "prod"),
            ("note", "   "),
        ]))
        .unwrap();
    assert_eq!(
        checked,
        answers(&[("ticket", "OPS-1234"), ("environment", "prod")])
    );
}

#[test]
fn each_wrong_answer_is_named_by_its_key() {
    let form = parsed(&[field("ticket", FormFieldType::Ticket), environment()]).unwrap();
    assert_eq!(
        refused_fields(
            &form,
            &[
                ("ticket", "not a ticket"),
                ("environment", "dev"),
                ("extra", "x")
            ]
        ),
        ["form.extra", "form.ticket", "form.environment"]
    );
    assert_eq!(
        refused_fields(&form, &[]),
        ["form.ticket", "form.environment"]
    );
}

#[test]
fn a_field_pattern_replaces_the_default_ticket_pattern() {
    let numeric = FormField {
        pattern: Some("^INC[0-9]{7}$".to_owned()),
        ..field("incident", FormFieldType::Ticket)
    };
    let form = parsed(&[numeric]).unwrap();
    assert!(form.check(&answers(&[("incident", "INC0012345")])).is_ok());
    assert_eq!(
        refused_fields(&form, &[("incident", "OPS-1")]),
        ["form.incident"]
    );
}

#[test]
fn overlong_answers_are_refused() {
    let form = parsed(&[field("ticket", FormFieldType::Ticket)]).unwrap();
    let long = format!("OPS-{}", "1".repeat(MAX_SHORT_ANSWER_CHARS));
    assert_eq!(refused_fields(&form, &[("ticket", &long)]), ["form.ticket"]);
}
