//! Kubernetes label selectors (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`,
//! `a<1`, comma = AND), parsed and matched the way apimachinery's `labels.Parse` does, since
//! kustomize hands `labelSelector` and `annotationSelector` to it.

use std::collections::BTreeMap;

/// Why a selector does not parse, in apimachinery's words.
#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    /// A run of operator characters that is no operator (`=!`).
    #[error("error expected: keyword found '{found}'")]
    UnknownOperator { found: String },
    #[error("found '{found}', expected: {expected}")]
    Unexpected { found: String, expected: &'static str },
    #[error("unable to parse requirement: {source}")]
    Requirement {
        #[source]
        source: RequirementError,
    },
}

/// Why one requirement (`key`, `!key`, `key op value(s)`) does not parse.
#[derive(Debug, thiserror::Error)]
pub enum RequirementError {
    #[error("found '{found}', expected: {expected}")]
    Unexpected { found: String, expected: &'static str },
    /// The same as `Unexpected`, but apimachinery's message has no comma here.
    #[error("found '{found}' expected: '('")]
    NoOpeningParenthesis { found: String },
    #[error(
        "invalid label key {key:?}: a key is an optional DNS subdomain prefix and '/', then a name of at most 63 \
         alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character"
    )]
    InvalidKey { key: String },
    #[error(
        "invalid label value {value:?} at key {key:?}: a value is empty or at most 63 alphanumeric \
         characters, '-', '_' or '.', starting and ending with an alphanumeric character"
    )]
    InvalidValue { key: String, value: String },
    #[error("invalid value {value:?}: for 'Gt', 'Lt' operators, the value must be an integer")]
    NotAnInteger { value: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A parsed selector; every requirement must hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Selector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    End,
    ClosedPar,
    Comma,
    Not,
    DoubleEquals,
    Equals,
    GreaterThan,
    LessThan,
    NotEquals,
    OpenPar,
    In,
    NotIn,
    Identifier(String),
    /// Operator characters that form no operator.
    Error(String),
}

impl Token {
    fn literal(&self) -> &str {
        match self {
            Token::End => "",
            Token::ClosedPar => ")",
            Token::Comma => ",",
            Token::Not => "!",
            Token::DoubleEquals => "==",
            Token::Equals => "=",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::NotEquals => "!=",
            Token::OpenPar => "(",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::Identifier(s) | Token::Error(s) => s,
        }
    }

    /// In value position the keywords `in` and `notin` are plain identifiers (`a in (in)`).
    fn into_value(self) -> Token {
        match self {
            Token::In => Token::Identifier("in".to_string()),
            Token::NotIn => Token::Identifier("notin".to_string()),
            t => t,
        }
    }
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn symbol(s: &[u8]) -> Option<Token> {
    Some(match s {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::Not,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn lex(input: &str) -> Vec<Token> {
    let bytes = input.as_bytes();
    let mut pos = 0;
    let mut tokens = Vec::new();
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        if pos >= bytes.len() {
            tokens.push(Token::End);
            return tokens;
        }
        if is_special(bytes[pos]) {
            // Longest run of special characters that still forms a known operator.
            let start = pos;
            let mut last: Option<(Token, usize)> = None;
            while pos < bytes.len() && is_special(bytes[pos]) {
                match symbol(&bytes[start..=pos]) {
                    Some(t) => last = Some((t, pos + 1)),
                    None if last.is_some() => break,
                    None => {}
                }
                pos += 1;
            }
            match last {
                Some((t, end)) => {
                    pos = end;
                    tokens.push(t);
                }
                None => {
                    let found = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
                    tokens.push(Token::Error(found));
                }
            }
        } else {
            let start = pos;
            while pos < bytes.len() && !is_special(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            let word = &input[start..pos];
            tokens.push(match word {
                "in" => Token::In,
                "notin" => Token::NotIn,
                w => Token::Identifier(w.to_string()),
            });
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn lookahead(&self) -> Token {
        self.tokens
            .get(self.position)
            .cloned()
            .unwrap_or(Token::End)
            .into_value()
    }

    fn consume(&mut self) -> Token {
        let t = self.lookahead();
        self.position += 1;
        t
    }

    fn consume_operator(&mut self) -> Token {
        let t = self.tokens.get(self.position).cloned().unwrap_or(Token::End);
        self.position += 1;
        t
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            match self.lookahead() {
                Token::Identifier(_) | Token::Not => {
                    let r = self
                        .parse_requirement()
                        .map_err(|source| SelectorError::Requirement { source })?;
                    requirements.push(r);
                    match self.consume() {
                        Token::End => return Ok(requirements),
                        Token::Comma => {
                            let next = self.lookahead();
                            if !matches!(next, Token::Identifier(_) | Token::Not) {
                                return Err(SelectorError::Unexpected {
                                    found: next.literal().to_string(),
                                    expected: "identifier after ','",
                                });
                            }
                        }
                        t => {
                            return Err(SelectorError::Unexpected {
                                found: t.literal().to_string(),
                                expected: "',' or 'end of string'",
                            });
                        }
                    }
                }
                Token::End => return Ok(requirements),
                t => {
                    return Err(SelectorError::Unexpected {
                        found: t.literal().to_string(),
                        expected: "!, identifier, or 'end of string'",
                    });
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, RequirementError> {
        let mut token = self.consume();
        let negated = token == Token::Not;
        if negated {
            token = self.consume();
        }
        let Token::Identifier(key) = token else {
            return Err(unexpected(&token, "identifier"));
        };
        validate_key(&key)?;
        if matches!(self.lookahead(), Token::End | Token::Comma) {
            let op = if negated { Op::DoesNotExist } else { Op::Exists };
            return Ok(Requirement {
                key,
                op,
                values: Vec::new(),
            });
        }
        if negated {
            // apimachinery goes on parsing `!a=b` as a binary requirement and then rejects the
            // stray operator; rejecting here gives the same outcome.
            return Err(unexpected(&self.lookahead(), "',' or 'end of string'"));
        }
        let (op, values) = match self.consume_operator() {
            Token::In => (Op::In, self.parse_values()?),
            Token::NotIn => (Op::NotIn, self.parse_values()?),
            Token::Equals | Token::DoubleEquals => (Op::In, self.parse_exact_value()?),
            Token::NotEquals => (Op::NotIn, self.parse_exact_value()?),
            Token::GreaterThan => (Op::GreaterThan, self.parse_exact_value()?),
            Token::LessThan => (Op::LessThan, self.parse_exact_value()?),
            t => return Err(unexpected(&t, "=, !=, ==, in, notin, >, <")),
        };
        if matches!(op, Op::GreaterThan | Op::LessThan) {
            for v in &values {
                if v.parse::<i64>().is_err() {
                    return Err(RequirementError::NotAnInteger { value: v.clone() });
                }
            }
        }
        for v in &values {
            validate_value(&key, v)?;
        }
        Ok(Requirement { key, op, values })
    }

    fn parse_values(&mut self) -> Result<Vec<String>, RequirementError> {
        let t = self.consume();
        if t != Token::OpenPar {
            return Err(RequirementError::NoOpeningParenthesis {
                found: t.literal().to_string(),
            });
        }
        match self.lookahead() {
            Token::Identifier(_) | Token::Comma => {
                let values = self.parse_identifiers()?;
                let t = self.consume();
                if t != Token::ClosedPar {
                    return Err(unexpected(&t, "')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume();
                Ok(vec![String::new()])
            }
            t => Err(unexpected(&t, "',', ')' or identifier")),
        }
    }

    fn parse_identifiers(&mut self) -> Result<Vec<String>, RequirementError> {
        let mut values: Vec<String> = Vec::new();
        let insert = |values: &mut Vec<String>, v: String| {
            if !values.contains(&v) {
                values.push(v);
            }
        };
        loop {
            match self.consume() {
                Token::Identifier(v) => {
                    insert(&mut values, v);
                    match self.lookahead() {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values),
                        t => return Err(unexpected(&t, "',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        insert(&mut values, String::new());
                    }
                    match self.lookahead() {
                        Token::ClosedPar => {
                            insert(&mut values, String::new());
                            return Ok(values);
                        }
                        Token::Comma => insert(&mut values, String::new()),
                        _ => {}
                    }
                }
                t => return Err(unexpected(&t, "',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, RequirementError> {
        if matches!(self.lookahead(), Token::End | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        match self.consume() {
            Token::Identifier(v) => Ok(vec![v]),
            t => Err(unexpected(&t, "identifier")),
        }
    }
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && !s.is_empty()
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
                && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn unexpected(found: &Token, expected: &'static str) -> RequirementError {
    RequirementError::Unexpected {
        found: found.literal().to_string(),
        expected,
    }
}

fn validate_key(key: &str) -> Result<(), RequirementError> {
    let valid = match key.split_once('/') {
        None => is_label_name(key),
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name(name),
    };
    if valid {
        Ok(())
    } else {
        Err(RequirementError::InvalidKey { key: key.to_string() })
    }
}

fn validate_value(key: &str, value: &str) -> Result<(), RequirementError> {
    if value.is_empty() || is_label_name(value) {
        Ok(())
    } else {
        Err(RequirementError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
        })
    }
}

impl Selector {
    pub(crate) fn parse(input: &str) -> Result<Selector, SelectorError> {
        let tokens = lex(input);
        if let Some(Token::Error(found)) = tokens.iter().find(|t| matches!(t, Token::Error(_))) {
            // The parser would stop on the error token with a less helpful message.
            return Err(SelectorError::UnknownOperator { found: found.clone() });
        }
        let requirements = Parser { tokens, position: 0 }.parse()?;
        Ok(Selector { requirements })
    }

    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.get(&r.key);
            match r.op {
                Op::In => value.is_some_and(|v| r.values.contains(v)),
                Op::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
                Op::GreaterThan | Op::LessThan => {
                    let (Some(Ok(have)), Some(Ok(want))) = (
                        value.map(|v| v.parse::<i64>()),
                        r.values.first().map(|v| v.parse::<i64>()),
                    ) else {
                        return false;
                    };
                    if r.op == Op::GreaterThan {
                        have > want
                    } else {
                        have < want
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
        Selector::parse(selector)
            .expect("valid selector")
            .matches(&labels(pairs))
    }

    #[test]
    fn equality_and_inequality() {
        assert!(matches("app=web", &[("app", "web")]));
        assert!(matches("app==web", &[("app", "web")]));
        assert!(!matches("app=web", &[("app", "db")]));
        assert!(!matches("app=web", &[]));
        assert!(matches("app!=web", &[("app", "db")]));
        assert!(matches("app!=web", &[]), "a missing label is not equal");
        assert!(!matches("app!=web", &[("app", "web")]));
        assert!(matches("app=", &[("app", "")]));
        assert!(!matches("app=", &[("app", "x")]));
    }

    #[test]
    fn set_based() {
        assert!(matches("tier in (a, b)", &[("tier", "b")]));
        assert!(!matches("tier in (a,b)", &[("tier", "c")]));
        assert!(!matches("tier in (a,b)", &[]));
        assert!(matches("tier notin (a,b)", &[("tier", "c")]));
        assert!(matches("tier notin (a,b)", &[]));
        assert!(matches("tier in ()", &[("tier", "")]));
        assert!(matches("tier in (a,)", &[("tier", "")]));
        assert!(matches("x in (in, notin)", &[("x", "notin")]));
    }

    #[test]
    fn existence_and_conjunction() {
        assert!(matches("app", &[("app", "x")]));
        assert!(!matches("app", &[]));
        assert!(matches("!app", &[]));
        assert!(!matches("!app", &[("app", "")]));
        assert!(matches("app=web, tier", &[("app", "web"), ("tier", "x")]));
        assert!(!matches("app=web,tier", &[("app", "web")]));
        assert!(matches("", &[]), "the empty selector selects everything");
        assert!(matches("example.com/part-of=flux", &[("example.com/part-of", "flux")]));
    }

    #[test]
    fn numeric_comparisons() {
        assert!(matches("n>1", &[("n", "2")]));
        assert!(!matches("n>1", &[("n", "1")]));
        assert!(matches("n<1", &[("n", "-3")]));
        assert!(!matches("n>1", &[("n", "x")]));
        assert!(!matches("n>1", &[]));
    }

    #[test]
    fn bad_selectors_are_rejected() {
        for bad in [
            "a in b",
            "=a",
            "app=a/b",
            "a b",
            "app,,tier",
            "app,",
            "a in (x",
            "-a=b",
            "a=b=c",
            "n>x",
            "a/b/c=d",
            "UPPER.example.com/x=y",
            "!a=b",
            "a =! b",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn error_names_the_problem() {
        let e = Selector::parse("a in b").expect_err("invalid");
        assert!(e.to_string().contains("expected: '('"), "{e}");
        let e = Selector::parse("app=a/b").expect_err("invalid");
        assert!(e.to_string().contains("invalid label value \"a/b\""), "{e}");
    }
}
