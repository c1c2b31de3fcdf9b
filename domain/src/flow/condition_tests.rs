use chrono::TimeZone;

use super::*;

fn context() -> ConditionContext {
    let at = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
    ConditionContext {
        requester: RequesterFacts {
            id: "0193a6f2-7c1e-7b3a-9f4e-2d1c5b6a7e80".to_owned(),
            email: "rita@example.com".to_owned(),
            groups: vec!["engineering".to_owned(), "oncall".to_owned()],
            group_ids: vec!["g1".to_owned(), "g2".to_owned()],
            manager: String::new(),
            is_admin: false,
        },
        duration_seconds: Some(3600),
        form: BTreeMap::from([
            ("environment".to_owned(), "prod".to_owned()),
            ("ticket".to_owned(), String::new()),
        ]),
        starts_at: at,
        flow_id: "f".to_owned(),
        flow_name: "GitHub Admin".to_owned(),
        flow_kind: "resource_request".to_owned(),
        flow_version: 1,
        now: at,
    }
}

fn evaluate(source: &str, context: &ConditionContext) -> Result<bool, String> {
    Condition::parse(source, context)?.evaluate(context)
}

#[test]
fn the_issue_examples_evaluate_on_the_documented_context() {
    let context = context();
    let oncall = "request.duration_seconds <= 3600 && \"oncall\" in requester.groups";
    assert_eq!(evaluate(oncall, &context), Ok(true));
    assert_eq!(
        evaluate("request.form.environment == \"prod\"", &context),
        Ok(true)
    );
    let mut longer = context.clone();
    longer.duration_seconds = Some(7200);
    assert_eq!(
        Condition::parse(oncall, &context)
            .unwrap()
            .evaluate(&longer),
        Ok(false)
    );
}

#[test]
fn timestamps_flow_and_requester_fields_are_available() {
    let context = context();
    for source in [
        "now == request.starts_at",
        "flow.kind == \"resource_request\" && flow.version == 1",
        "requester.email.endsWith(\"@example.com\") && !requester.is_admin",
        "requester.manager == \"\"",
        "requester.groups.exists(g, g.startsWith(\"eng\"))",
        "now < timestamp(\"2027-01-01T00:00:00Z\")",
    ] {
        assert_eq!(evaluate(source, &context), Ok(true), "{source}");
    }
}

#[test]
fn syntax_errors_say_where() {
    let error = Condition::parse("request.duration_seconds <=", &context()).unwrap_err();
    assert!(error.contains("line 1, column"), "{error}");
}

#[test]
fn unknown_variables_are_refused_with_their_position() {
    let error = Condition::parse("requestor.is_admin", &context()).unwrap_err();
    assert!(
        error.contains("'requestor'") && error.contains("character 1"),
        "{error}"
    );
    // A comprehension's own variable is not unknown.
    assert!(Condition::parse("requester.groups.all(g, g != \"\")", &context()).is_ok());
}

#[test]
fn misspelt_fields_and_type_mismatches_are_refused_when_saved() {
    let context = context();
    for source in [
        "request.form.enviroment == \"prod\"",
        "request.duration_seconds <= \"1h\"",
        "requester.is_admin + 1 == 2",
        "request.duration_seconds",
    ] {
        assert!(Condition::parse(source, &context).is_err(), "{source}");
    }
}

#[test]
fn long_and_deeply_nested_expressions_are_refused() {
    let context = context();
    let long = format!("{}true", "true && ".repeat(MAX_EXPRESSION_CHARS / 8 + 1));
    assert!(
        Condition::parse(&long, &context)
            .unwrap_err()
            .contains("at most")
    );
    let deep = format!("{}true{}", "(".repeat(60), ")".repeat(60));
    assert!(Condition::parse(&deep, &context).is_err());
    let nested = "[1,2].all(a, [1,2].exists(b, a == b))";
    assert!(
        Condition::parse(nested, &context)
            .unwrap_err()
            .contains("inside another")
    );
    let many = "[1].all(a, a > 0) && [1].all(b, b > 0) && [1].all(c, c > 0) && [1].all(d, d > 0)";
    assert!(
        Condition::parse(many, &context)
            .unwrap_err()
            .contains("comprehensions")
    );
}

#[test]
fn the_costliest_shapes_allowed_evaluate_on_the_largest_context() {
    // The most groups a condition sees, each filtered against every one of them, on lists grown
    // by every `+` allowed.
    let mut context = context();
    context.requester.groups = (0..MAX_CONTEXT_LIST)
        .map(|n| format!("group-{n}"))
        .collect();
    let grown = format!("(requester.groups{})", " + requester.groups".repeat(2));
    let source = format!(
        "{grown}.filter(g, g in {grown}).exists(g, g == \"none\") || requester.groups.all(g, g != \"\")"
    );
    let condition = Condition::parse(&source, &context).unwrap();
    assert_eq!(condition.evaluate(&context), Ok(true));
}

#[test]
fn evaluation_errors_are_outcomes_not_failures() {
    let context = context();
    let condition = Condition::parse("requester.groups[5] == \"x\"", &context).unwrap();
    assert!(condition.evaluate(&context).is_err());
    let mut unlimited = context.clone();
    unlimited.duration_seconds = None;
    let short = Condition::parse("request.duration_seconds <= 3600", &context).unwrap();
    assert!(short.evaluate(&unlimited).is_err());
}

#[test]
fn the_deepest_nesting_allowed_is_checked_on_a_small_stack() {
    // Blocking-pool threads have 2 MiB stacks; a debug build's parser needs the most.
    let cases = [
        format!("{}true{}", "(".repeat(10), ")".repeat(10)),
        format!("{}1{} == 1", "int(".repeat(10), ")".repeat(10)),
        format!("{}1{} != 1", "{1:".repeat(10), "}".repeat(10)),
        format!("{}1 == 1", "true?1:".repeat(10)),
        format!("{}true?1:2{} == 1", "[".repeat(5), "][0]".repeat(5)),
        format!("{}1+1 == 2", "1+".repeat(450)),
        format!("{}true", "!".repeat(900)),
    ];
    for source in cases {
        let checked = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || Condition::parse(&source, &context()).is_ok())
            .unwrap()
            .join();
        assert!(checked.is_ok());
    }
    let deeper = format!("{}true{}", "(".repeat(11), ")".repeat(11));
    assert!(
        Condition::parse(&deeper, &context())
            .unwrap_err()
            .contains("nests too deeply")
    );
}
