//! Conditions as code: a flow's `auto_approve_if` and its steps' `required_if`, in Google's Common
//! Expression Language (CEL, the `cel` crate). An expression is checked when the flow is saved —
//! parsed, its size and nesting bounded, its variables known, and tried once on a sample context so
//! that a misspelt field or a comparison of the wrong types is refused then — and evaluated when a
//! request is made, on the read-only [`ConditionContext`]. Evaluating never fails: an error is an
//! outcome, recorded with the request.
//!
//! Cost: CEL has no loops and no recursion, and the crate has no step budget, so the expressions
//! allowed are those whose cost is bounded by their text. Values only grow by `+` (there is no
//! repetition operator), and an expression has at most [`MAX_PLUS`] of them, so no value is more
//! than 5 times the largest in the context (a form answer of 2,000 characters, the requester's
//! groups capped at [`MAX_CONTEXT_LIST`]). The only iteration is the comprehension macros: at most
//! [`MAX_COMPREHENSIONS`], none inside another, and not `map` (the one that builds a list of
//! computed values: `all`, `exists`, `exists_one` and `filter` remain). The costliest shape is
//! quadratic — a `filter` over a list of 1,000 (5 × 200 groups) with an `in` over another — about
//! a million steps of bounded work (about a second in a debug build, see the tests). `matches` compiles its pattern (linear-time engine,
//! bounded size) and may not run once per item of a comprehension. Parsing recurses per nesting
//! level, so brackets and `?:` are bounded on the text before it is parsed ([`MAX_NESTING`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, LazyLock};

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::{Context, Env, ExecutionError, Program, Value};
use chrono::{DateTime, Utc};

/// The longest expression, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 1000;
/// How deep an expression's syntax tree may be.
pub const MAX_DEPTH: usize = 32;
/// How deeply brackets (`(`, `[`, `{`) and conditionals (`?:`) may nest, counted on the text before
/// it is parsed: the parser recurses through every precedence level for each of them (about
/// 100 KiB of stack per level in a debug build), so nesting is refused before parsing.
pub const MAX_NESTING: usize = 10;
/// How many comprehension macros (`all`, `exists`, `exists_one`, `filter`) an expression may use.
pub const MAX_COMPREHENSIONS: usize = 3;
/// How deep comprehensions may nest: not one inside another.
pub const MAX_COMPREHENSION_NESTING: usize = 1;
/// How many `+` an expression may have (counted on its text, strings included).
pub const MAX_PLUS: usize = 4;
/// The most groups of the requester a condition sees (the first ones by name).
pub const MAX_CONTEXT_LIST: usize = 200;
/// The names an expression may refer to: the context's roots.
pub const VARIABLES: [&str; 4] = ["requester", "request", "flow", "now"];

/// The CEL standard library (functions and macros), built once.
static ENVIRONMENT: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// A checked CEL expression, kept with its source (flows compare and store the source).
#[derive(Clone)]
pub struct Condition {
    source: String,
    program: Arc<Program>,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Condition {}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Condition").field(&self.source).finish()
    }
}

/// What a condition sees of the requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequesterFacts {
    pub id: String,
    pub email: String,
    /// The names of the groups the requester is a member of (directly or through a grant).
    pub groups: Vec<String>,
    /// The ids of the same groups.
    pub group_ids: Vec<String>,
    /// The manager's id; empty when the requester has none.
    pub manager: String,
    pub is_admin: bool,
}

/// The read-only context a condition is evaluated on (documented in the README and the flow's
/// schema): `requester` {id, email, groups, group_ids, manager, is_admin}, `request`
/// {duration_seconds, form, starts_at}, `flow` {id, name, kind, version}, `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionContext {
    pub requester: RequesterFacts,
    /// `null` for access without a time limit.
    pub duration_seconds: Option<i64>,
    /// Every field of the flow's form: the answer, or `""` when it was not answered.
    pub form: BTreeMap<String, String>,
    /// When access would start: today, when the request is approved (its submission time here).
    pub starts_at: DateTime<Utc>,
    pub flow_id: String,
    pub flow_name: String,
    pub flow_kind: String,
    pub flow_version: i64,
    pub now: DateTime<Utc>,
}

impl ConditionContext {
    fn bind(&self) -> Context<'static, 'static> {
        let mut context = Context::with_env(Arc::clone(&ENVIRONMENT));
        let strings = |list: &[String]| -> Vec<Value> {
            list.iter()
                .take(MAX_CONTEXT_LIST)
                .map(|s| s.as_str().into())
                .collect()
        };
        let r = &self.requester;
        let requester: HashMap<&str, Value> = HashMap::from([
            ("id", r.id.as_str().into()),
            ("email", r.email.as_str().into()),
            ("groups", strings(&r.groups).into()),
            ("group_ids", strings(&r.group_ids).into()),
            ("manager", r.manager.as_str().into()),
            ("is_admin", r.is_admin.into()),
        ]);
        let form: HashMap<&str, Value> = self
            .form
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().into()))
            .collect();
        let request: HashMap<&str, Value> = HashMap::from([
            ("duration_seconds", self.duration_seconds.into()),
            ("form", form.into()),
            ("starts_at", Value::Timestamp(self.starts_at.fixed_offset())),
        ]);
        let flow: HashMap<&str, Value> = HashMap::from([
            ("id", self.flow_id.as_str().into()),
            ("name", self.flow_name.as_str().into()),
            ("kind", self.flow_kind.as_str().into()),
            ("version", self.flow_version.into()),
        ]);
        context.add_variable_from_value("requester", requester);
        context.add_variable_from_value("request", request);
        context.add_variable_from_value("flow", flow);
        context.add_variable_from_value("now", Value::Timestamp(self.now.fixed_offset()));
        context
    }
}

impl Condition {
    /// Checks `source` when a flow is saved; `sample` is a context of the shape requests will
    /// have (see [`ConditionContext`]), on which the expression is tried once. The error says what
    /// is wrong and where (`at character N`).
    pub fn parse(source: &str, sample: &ConditionContext) -> Result<Condition, String> {
        let condition = Self::compile(source)?;
        let program = &condition.program;
        let at = |id: u64| match program.source_info().offset_for(id) {
            Some((start, _)) => format!(" at character {}", start + 1),
            None => String::new(),
        };
        let mut shape = Shape::default();
        shape.visit(program.expression(), 1, 0, &mut Vec::new());
        if let Some(id) = shape.too_deep {
            return Err(format!(
                "nests too deeply{} (at most {MAX_DEPTH} levels)",
                at(id)
            ));
        }
        if shape.comprehensions > MAX_COMPREHENSIONS {
            return Err(format!(
                "uses {} comprehensions (all, exists, exists_one, map, filter); at most {MAX_COMPREHENSIONS}",
                shape.comprehensions
            ));
        }
        if let Some(id) = shape.nested_too_deep {
            return Err(format!(
                "nests a comprehension inside another{}; combine them with `in` or `&&` instead",
                at(id)
            ));
        }
        if let Some(id) = shape.matches_in_comprehension {
            return Err(format!(
                "uses matches inside a comprehension{} (its pattern would be compiled for every item)",
                at(id)
            ));
        }
        if let Some((name, id)) = shape.unknown.first() {
            return Err(format!(
                "refers to an unknown variable '{name}'{}; the variables are {}",
                at(*id),
                VARIABLES.join(", ")
            ));
        }
        // No type checker ships with the crate: one run on the sample finds the misspelt fields,
        // unknown functions and mismatched types of the branches it takes.
        match program.execute(&sample.bind()) {
            Ok(Value::Bool(_)) => Ok(condition),
            Ok(other) => Err(format!(
                "must be true or false, not a value of type {}",
                other.type_of()
            )),
            Err(error) if is_a_mistake(&error) => Err(format!("does not type-check: {error}")),
            // Data-dependent errors (an index out of range, a division by zero on the sample)
            // may not happen on a real request.
            Err(_) => Ok(condition),
        }
    }

    /// Parses a stored expression (checked when it was saved) without trying it.
    pub fn restore(source: &str) -> Result<Condition, String> {
        Self::compile(source)
    }

    fn compile(source: &str) -> Result<Condition, String> {
        if source.chars().count() > MAX_EXPRESSION_CHARS {
            return Err(format!("must be at most {MAX_EXPRESSION_CHARS} characters"));
        }
        if source.trim().is_empty() {
            return Err("must be an expression".to_owned());
        }
        check_nesting(source)?;
        check_growth(source)?;
        let program =
            ENVIRONMENT
                .compile(source)
                .map_err(|errors| match errors.errors.first() {
                    Some(e) => format!(
                        "is not valid CEL at line {}, column {}: {}",
                        e.pos.0,
                        e.pos.1 + 1,
                        e.msg
                    ),
                    None => "is not valid CEL".to_owned(),
                })?;
        Ok(Condition {
            source: source.to_owned(),
            program: Arc::new(program),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the condition: `Ok(true/false)`, or why it could not be (a value of another type,
    /// a missing key, …), which callers treat as their safe default and record.
    pub fn evaluate(&self, context: &ConditionContext) -> Result<bool, String> {
        match self.program.execute(&context.bind()) {
            Ok(Value::Bool(value)) => Ok(value),
            Ok(other) => Err(format!(
                "evaluated to a {}, not true or false",
                other.type_of()
            )),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// Refuses text whose brackets and conditionals nest deeper than [`MAX_NESTING`]. Counted on every
/// character, string literals included (a string full of brackets is refused too: the scan stays
/// simple and errs on the safe side).
fn check_nesting(source: &str) -> Result<(), String> {
    let (mut depth, mut deepest, mut conditionals) = (0usize, 0usize, 0usize);
    for (index, c) in source.chars().enumerate() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '?' => conditionals += 1,
            _ => continue,
        }
        deepest = deepest.max(depth);
        if deepest + conditionals > MAX_NESTING {
            return Err(format!(
                "nests too deeply at character {} (brackets and conditionals at most {MAX_NESTING} levels)",
                index + 1
            ));
        }
    }
    Ok(())
}

/// Refuses `map` (the comprehension that builds a list of computed values) and more than
/// [`MAX_PLUS`] `+`, on the text (strings included: a simple scan that errs on the safe side).
fn check_growth(source: &str) -> Result<(), String> {
    if source.chars().filter(|c| *c == '+').count() > MAX_PLUS {
        return Err(format!(
            "has more than {MAX_PLUS} '+' (values only grow by concatenation, so it is bounded)"
        ));
    }
    let bytes = source.as_bytes();
    let mapped = source.match_indices("map").any(|(at, _)| {
        let before = source[..at].trim_end();
        let after = source[at + 3..].trim_start();
        let word_starts =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        word_starts && before.ends_with('.') && after.starts_with('(')
    });
    if mapped {
        return Err(
            "uses the map macro, which is not allowed (use all, exists, exists_one or filter)"
                .to_owned(),
        );
    }
    Ok(())
}

/// Errors that say the expression is wrong, whatever the data (as opposed to data-dependent ones).
fn is_a_mistake(error: &ExecutionError) -> bool {
    matches!(
        error,
        ExecutionError::NoSuchKey(_)
            | ExecutionError::UndeclaredReference(_)
            | ExecutionError::NoSuchOverload(_)
            | ExecutionError::UnexpectedType { .. }
            | ExecutionError::UnsupportedBinaryOperator(..)
            | ExecutionError::InvalidArgumentCount { .. }
            | ExecutionError::NotSupportedAsMethod { .. }
            | ExecutionError::ValuesNotComparable(..)
            | ExecutionError::UnsupportedTargetType { .. }
    )
}

/// What the walk of an expression's tree found.
#[derive(Default)]
struct Shape {
    comprehensions: usize,
    too_deep: Option<u64>,
    nested_too_deep: Option<u64>,
    matches_in_comprehension: Option<u64>,
    /// Free identifiers that are not context roots, with where they are.
    unknown: Vec<(String, u64)>,
}

impl Shape {
    fn visit(&mut self, node: &IdedExpr, depth: usize, nesting: usize, bound: &mut Vec<String>) {
        if depth > MAX_DEPTH {
            self.too_deep.get_or_insert(node.id);
            return;
        }
        let next = depth + 1;
        match &node.expr {
            Expr::Unspecified | Expr::Literal(_) => {}
            Expr::Ident(name) => {
                if !bound.contains(name) && !VARIABLES.contains(&name.as_str()) {
                    self.unknown.push((name.clone(), node.id));
                }
            }
            Expr::Select(select) => self.visit(&select.operand, next, nesting, bound),
            Expr::Call(call) => {
                if call.func_name == "matches" && nesting > 0 {
                    self.matches_in_comprehension.get_or_insert(node.id);
                }
                if let Some(target) = &call.target {
                    self.visit(target, next, nesting, bound);
                }
                for arg in &call.args {
                    self.visit(arg, next, nesting, bound);
                }
            }
            Expr::List(list) => {
                for element in &list.elements {
                    self.visit(element, next, nesting, bound);
                }
            }
            Expr::Map(map) => self.visit_entries(&map.entries, next, nesting, bound),
            Expr::Struct(object) => self.visit_entries(&object.entries, next, nesting, bound),
            Expr::Comprehension(comprehension) => {
                self.comprehensions += 1;
                if nesting + 1 > MAX_COMPREHENSION_NESTING {
                    self.nested_too_deep.get_or_insert(node.id);
                }
                self.visit(&comprehension.iter_range, next, nesting, bound);
                self.visit(&comprehension.accu_init, next, nesting, bound);
                let before = bound.len();
                bound.push(comprehension.iter_var.clone());
                bound.extend(comprehension.iter_var2.clone());
                bound.push(comprehension.accu_var.clone());
                for part in [
                    &comprehension.loop_cond,
                    &comprehension.loop_step,
                    &comprehension.result,
                ] {
                    self.visit(part, next, nesting + 1, bound);
                }
                bound.truncate(before);
            }
        }
    }

    fn visit_entries(
        &mut self,
        entries: &[cel::common::ast::IdedEntryExpr],
        depth: usize,
        nesting: usize,
        bound: &mut Vec<String>,
    ) {
        for entry in entries {
            match &entry.expr {
                EntryExpr::StructField(field) => self.visit(&field.value, depth, nesting, bound),
                EntryExpr::MapEntry(pair) => {
                    self.visit(&pair.key, depth, nesting, bound);
                    self.visit(&pair.value, depth, nesting, bound);
                }
            }
        }
    }
}

/// How a condition came out for one request, as recorded in its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionOutcome {
    /// The member the condition is: `auto_approve_if` or `approvers[i].required_if`.
    pub member: String,
    /// The approver spec's position for `required_if`.
    pub step: Option<usize>,
    pub expression: String,
    /// `Err`: it could not be evaluated (then `auto_approve_if` does not approve and the step is
    /// required: the safe side).
    pub result: Result<bool, String>,
}

impl ConditionOutcome {
    /// What the outcome did: `auto_approved`, `not_auto_approved`, `step_required` or
    /// `step_left_out`.
    pub fn effect(&self) -> &'static str {
        match (self.step, &self.result) {
            (None, Ok(true)) => "auto_approved",
            (None, _) => "not_auto_approved",
            (Some(_), Ok(false)) => "step_left_out",
            (Some(_), _) => "step_required",
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut data = serde_json::json!({
            "member": self.member,
            "expression": self.expression,
            "effect": self.effect(),
        });
        match &self.result {
            Ok(value) => data["result"] = (*value).into(),
            Err(error) => {
                data["result"] = serde_json::Value::Null;
                data["error"] = error.as_str().into();
            }
        }
        data
    }
}

#[cfg(test)]
#[path = "condition_tests.rs"]
mod tests;
