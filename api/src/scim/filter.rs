//! SCIM filters (RFC 7644 §3.4.2.2), as far as Portcullis supports them: `eq` on `id`,
//! `externalId`, `userName`, `emails.value` (or `emails`) and `displayName`, combined with `and`,
//! `or` and parentheses. Anything else is SCIM's `invalidFilter`, never a server error.

use portcullis_persistence::repo::scim::{Attribute, Filter};

/// Which resource a filter is about: groups have neither `userName` nor emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
}

/// The filters' text limit: IdPs send one short comparison.
const MAX_LEN: usize = 2_000;

pub fn parse(text: &str, resource: Resource) -> Result<Filter, String> {
    if text.len() > MAX_LEN {
        return Err(format!("a filter is at most {MAX_LEN} bytes"));
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        resource,
    };
    let filter = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(filter),
        Some(token) => Err(format!("unexpected {token:?} after a complete filter")),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a quoted value is not closed".to_owned()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('"') => value.push('"'),
                            Some('\\') => value.push('\\'),
                            Some('/') => value.push('/'),
                            Some(other) => {
                                return Err(format!("unsupported escape \\{other} in a value"));
                            }
                            None => return Err("a quoted value is not closed".to_owned()),
                        },
                        Some(c) if c.is_control() => {
                            return Err("a value may not contain control characters".to_owned());
                        }
                        Some(c) => value.push(c),
                    }
                }
                tokens.push(Token::Text(value));
            }
            c if c.is_alphanumeric() || matches!(c, '.' | ':' | '_' | '$' | '-') => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_alphanumeric() || matches!(c, '.' | ':' | '_' | '$' | '-') {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(tokens)
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    resource: Resource,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.at);
        self.at += 1;
        token
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut filter = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            filter = Filter::Or(Box::new(filter), Box::new(self.and()?));
        }
        Ok(filter)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut filter = self.term()?;
        while self.keyword("and") {
            self.at += 1;
            filter = Filter::And(Box::new(filter), Box::new(self.term()?));
        }
        Ok(filter)
    }

    fn term(&mut self) -> Result<Filter, String> {
        let resource = self.resource;
        match self.next().cloned() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a parenthesis is not closed".to_owned()),
                }
            }
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("not") => {
                Err("`not` is not supported".to_owned())
            }
            Some(Token::Word(path)) => {
                let attribute = attribute(&path, resource)?;
                let operator = match self.next() {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(format!("an operator must follow {path}")),
                };
                if operator != "eq" {
                    return Err(format!(
                        "the operator `{operator}` is not supported (only `eq`)"
                    ));
                }
                match self.next() {
                    Some(Token::Text(value)) => Ok(Filter::Eq(attribute, value.clone())),
                    _ => Err(format!("{path} eq needs a quoted value")),
                }
            }
            Some(token) => Err(format!("unexpected {token:?}")),
            None => Err("the filter ends too early".to_owned()),
        }
    }
}

fn attribute(path: &str, resource: Resource) -> Result<Attribute, String> {
    // A path may carry its schema's URN: `urn:…:User:userName`.
    let name = path.rsplit(':').next().unwrap_or(path).to_ascii_lowercase();
    match (name.as_str(), resource) {
        ("id", _) => Ok(Attribute::Id),
        ("externalid", _) => Ok(Attribute::ExternalId),
        ("displayname", _) => Ok(Attribute::DisplayName),
        ("username", Resource::User) => Ok(Attribute::UserName),
        ("emails" | "emails.value", Resource::User) => Ok(Attribute::Email),
        _ => Err(format!("filtering on `{path}` is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(attribute: Attribute, value: &str) -> Filter {
        Filter::Eq(attribute, value.to_owned())
    }

    #[test]
    fn the_filters_identity_providers_send_parse() {
        assert_eq!(
            parse(r#"userName eq "ada@example.com""#, Resource::User),
            Ok(eq(Attribute::UserName, "ada@example.com"))
        );
        assert_eq!(
            parse(
                r#"externalId eq "00u1" and emails.value eq "a@b.c""#,
                Resource::User
            ),
            Ok(Filter::And(
                Box::new(eq(Attribute::ExternalId, "00u1")),
                Box::new(eq(Attribute::Email, "a@b.c"))
            ))
        );
        assert_eq!(
            parse(
                r#"(id eq "1" or id eq "2") and displayName EQ "x""#,
                Resource::Group
            ),
            Ok(Filter::And(
                Box::new(Filter::Or(
                    Box::new(eq(Attribute::Id, "1")),
                    Box::new(eq(Attribute::Id, "2"))
                )),
                Box::new(eq(Attribute::DisplayName, "x"))
            ))
        );
        assert_eq!(
            parse(
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a\"b""#,
                Resource::User
            ),
            Ok(eq(Attribute::UserName, "a\"b"))
        );
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for text in [
            "",
            "userName",
            r#"userName sw "a""#,
            r#"userName eq 5"#,
            r#"members eq "x""#,
            r#"not (id eq "1")"#,
            r#"(id eq "1""#,
            r#"id eq "1" id eq "2""#,
            "id eq \"a\u{0}b\"",
            r#"id eq "unclosed"#,
        ] {
            assert!(
                parse(text, Resource::User).is_err(),
                "{text:?} was accepted"
            );
        }
        assert!(parse(r#"userName eq "a""#, Resource::Group).is_err());
    }
}
