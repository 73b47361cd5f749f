//! The parser of Go's text/template, over the tokens of [`super::lexer`]: actions,
//! pipelines, control structures and `define`/`block` templates. Unknown functions fail at
//! parse time, as in Go (`function "x" not defined`).

use std::collections::BTreeMap;

use super::ast::{Arg, Command, Control, Node, Pipe};
use super::lexer::{Kind, Lexer, Token};
use super::literals::{LiteralError, number, unquote};

/// A parse failure: the line and Go's message.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
    /// The literal refused, when that is the error.
    pub source: Option<LiteralError>,
}

impl ParseError {
    fn literal(line: usize, source: LiteralError) -> ParseError {
        ParseError {
            line,
            message: source.to_string(),
            source: Some(source),
        }
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// The main template's nodes and the templates it defines.
pub struct Parsed {
    pub root: Vec<Node>,
    pub defined: BTreeMap<String, Vec<Node>>,
}

pub struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    vars: Vec<String>,
    range_depth: usize,
    /// Open parentheses and control structures: bounded, so that a hostile text cannot
    /// exhaust the stack.
    nesting: usize,
    is_function: &'a dyn Fn(&str) -> bool,
    defined: BTreeMap<String, Vec<Node>>,
}

pub fn parse(text: &str, is_function: &dyn Fn(&str) -> bool) -> Result<Parsed> {
    let mut p = Parser {
        tokens: Lexer::lex(text),
        at: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        nesting: 0,
        is_function,
        defined: BTreeMap::new(),
    };
    let root = p.parse_root()?;
    Ok(Parsed {
        root,
        defined: p.defined,
    })
}

fn is_empty_tree(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text(t) => t.trim_matches([' ', '\t', '\r', '\n']).is_empty(),
        _ => false,
    })
}

/// Go's `item.String()`, as `unexpected X` messages show a token.
fn describe(t: &Token) -> String {
    match t.kind {
        Kind::Eof => "EOF".into(),
        Kind::Error => t.text.clone(),
        Kind::Block
        | Kind::Break
        | Kind::Continue
        | Kind::Define
        | Kind::Else
        | Kind::End
        | Kind::If
        | Kind::Nil
        | Kind::Range
        | Kind::Template
        | Kind::With => format!("<{}>", t.text),
        _ if t.text.chars().count() > 10 => {
            let q = super::gofmt::go_quote(&t.text);
            // `%.10q` quotes the first ten characters.
            let head: String = t.text.chars().take(10).collect();
            let _ = q;
            format!("{}...", super::gofmt::go_quote(&head))
        }
        _ => super::gofmt::go_quote(&t.text),
    }
}

enum Stop {
    End,
    Else(usize),
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn backup(&mut self) {
        self.at -= 1;
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn err<T>(&self, line: usize, message: impl Into<String>) -> Result<T> {
        Err(ParseError {
            line,
            message: message.into(),
            source: None,
        })
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> Result<T> {
        if t.kind == Kind::Error {
            return self.err(t.line, t.text.clone());
        }
        self.err(t.line, format!("unexpected {} in {context}", describe(t)))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> Result<Token> {
        let t = self.next_non_space();
        if t.kind != kind {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn parse_root(&mut self) -> Result<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.at = self.at.saturating_sub(1);
                while self.tokens[self.at].kind != Kind::LeftDelim {
                    self.at -= 1;
                }
            }
            let line = self.peek().line;
            match self.text_or_action()? {
                Err(Stop::End) => return self.err(line, "unexpected {{end}}"),
                Err(Stop::Else(_)) => return self.err(line, "unexpected {{else}}"),
                Ok(n) => root.push(n),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> Result<()> {
        let context = "define clause";
        let (t, name) = self.template_name(context)?;
        self.expect(Kind::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, stop) = self.item_list()?;
        self.vars = saved;
        if let Stop::Else(line) = stop {
            return self.err(line, format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add_template(name, list, t.line)
    }

    fn add_template(&mut self, name: String, list: Vec<Node>, line: usize) -> Result<()> {
        match self.defined.get(&name) {
            Some(existing) if !is_empty_tree(existing) && !is_empty_tree(&list) => self.err(
                line,
                format!(
                    "template: multiple definition of template {}",
                    super::gofmt::go_quote(&name)
                ),
            ),
            Some(existing) if !is_empty_tree(existing) => Ok(()),
            _ => {
                self.defined.insert(name, list);
                Ok(())
            }
        }
    }

    fn item_list(&mut self) -> Result<(Vec<Node>, Stop)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Ok(n) => list.push(n),
                Err(stop) => return Ok((list, stop)),
            }
        }
        let line = self.peek().line;
        self.err(line, "unexpected EOF")
    }

    fn text_or_action(&mut self) -> Result<std::result::Result<Node, Stop>> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Text => Ok(Ok(Node::Text(t.text))),
            Kind::LeftDelim => self.action(),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> Result<std::result::Result<Node, Stop>> {
        let t = self.next_non_space();
        Ok(Ok(match t.kind {
            Kind::Block => self.block_control(&t)?,
            Kind::Break | Kind::Continue => self.break_control(&t)?,
            Kind::Else => return self.else_control().map(Err),
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Err(Stop::End));
            }
            Kind::If => Node::If(self.parse_control("if")?),
            Kind::Range => Node::Range(self.parse_control("range")?),
            Kind::With => Node::With(self.parse_control("with")?),
            Kind::Template => self.template_control()?,
            _ => {
                self.backup();
                Node::Action(self.pipeline("command", Kind::RightDelim)?)
            }
        }))
    }

    fn break_control(&mut self, t: &Token) -> Result<Node> {
        let word = if t.kind == Kind::Break { "break" } else { "continue" };
        let next = self.next_non_space();
        if next.kind != Kind::RightDelim {
            return self.unexpected(&next, &format!("{{{{{word}}}}}"));
        }
        if self.range_depth == 0 {
            return self.err(t.line, format!("{{{{{word}}}}} outside {{{{range}}}}"));
        }
        Ok(if t.kind == Kind::Break {
            Node::Break
        } else {
            Node::Continue
        })
    }

    fn else_control(&mut self) -> Result<Stop> {
        let peek = self.peek_non_space();
        if matches!(peek.kind, Kind::If | Kind::With) {
            return Ok(Stop::Else(peek.line));
        }
        let t = self.expect(Kind::RightDelim, "else")?;
        Ok(Stop::Else(t.line))
    }

    fn parse_control(&mut self, context: &str) -> Result<Control> {
        let vars = self.vars.len();
        self.nesting += 1;
        let result = self.parse_control_inner(context);
        self.nesting -= 1;
        self.vars.truncate(vars);
        result
    }

    fn parse_control_inner(&mut self, context: &str) -> Result<Control> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, stop) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let else_list = match stop {
            Stop::End => None,
            Stop::Else(_) => Some(self.else_branch(context)?),
        };
        Ok(Control { pipe, list, else_list })
    }

    /// `else if` and `else with` nest the next control in the else branch, which their
    /// `end` closes too.
    fn else_branch(&mut self, context: &str) -> Result<Vec<Node>> {
        if context == "if" && self.peek().kind == Kind::If {
            self.next();
            return Ok(vec![Node::If(self.parse_control("if")?)]);
        }
        if context == "with" && self.peek().kind == Kind::With {
            self.next();
            return Ok(vec![Node::With(self.parse_control("with")?)]);
        }
        let (list, stop) = self.item_list()?;
        if let Stop::Else(line) = stop {
            return self.err(line, "expected end; found {{else}}");
        }
        Ok(list)
    }

    fn template_name(&mut self, context: &str) -> Result<(Token, String)> {
        let t = self.next_non_space();
        if !matches!(t.kind, Kind::Str | Kind::RawStr) {
            return self.unexpected(&t, context);
        }
        let name = unquote(&t.text).map_err(|e| ParseError::literal(t.line, e))?;
        Ok((t, name))
    }

    fn template_control(&mut self) -> Result<Node> {
        let context = "template clause";
        let (t, name) = self.template_name(context)?;
        let pipe = if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            Some(self.pipeline(context, Kind::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template { pos: t.pos, name, pipe })
    }

    fn block_control(&mut self, _t: &Token) -> Result<Node> {
        let context = "block clause";
        let (t, name) = self.template_name(context)?;
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, stop) = self.item_list()?;
        self.vars = saved;
        if let Stop::Else(line) = stop {
            return self.err(line, format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add_template(name.clone(), list, t.line)?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> Result<Pipe> {
        self.nesting += 1;
        let result = self.pipeline_inner(context, end);
        self.nesting -= 1;
        result
    }

    fn pipeline_inner(&mut self, context: &str, end: Kind) -> Result<Pipe> {
        let start = self.peek_non_space();
        if self.nesting > super::MAX_DEPTH {
            return self.err(
                start.line,
                format!("template nests more than {} levels deep", super::MAX_DEPTH),
            );
        }
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                self.check_pipeline(&pipe, context, t.line)?;
                return Ok(pipe);
            }
            match t.kind {
                Kind::Bool
                | Kind::CharConst
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawStr
                | Kind::Str
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> Result<()> {
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                return Ok(());
            }
            let before = self.at;
            self.next_non_space();
            let after_var = self.peek().clone();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.text.clone());
                    self.vars.push(v.text);
                    return Ok(());
                }
                Kind::Char if next.text == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.text.clone());
                    self.vars.push(v.text);
                    if context == "range" && pipe.decl.len() < 2 {
                        let k = self.peek_non_space().kind;
                        if matches!(k, Kind::Variable | Kind::RightDelim | Kind::RightParen) {
                            continue;
                        }
                        return self.err(next.line, "range can only initialize variables");
                    }
                    return self.err(next.line, format!("too many declarations in {context}"));
                }
                _ => {
                    let _ = after_var;
                    self.at = before;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, line: usize) -> Result<()> {
        if pipe.cmds.is_empty() {
            return self.err(line, format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..)
            ) {
                return self.err(line, format!("non executable command in pipeline stage {}", i + 1));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command { pos, args: Vec::new() };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            let line = self.peek().line;
            return self.err(line, "empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(node) = self.term()? else { return Ok(None) };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let line = self.peek().line;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(self.next().text[1..].to_string());
        }
        Ok(Some(match node {
            // Go places a merged chain at its first added field.
            Arg::Field(_, mut idents) => {
                idents.extend(fields);
                Arg::Field(pos, idents)
            }
            Arg::Variable(_, mut idents) => {
                idents.extend(fields);
                Arg::Variable(pos, idents)
            }
            Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.err(
                    line,
                    format!("unexpected . after term {}", super::gofmt::go_quote(&node.to_string())),
                );
            }
            other => Arg::Chain(pos, Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let t = self.next_non_space();
        let fail = |e| ParseError::literal(t.line, e);
        Ok(Some(match t.kind {
            Kind::Identifier => {
                if !(self.is_function)(&t.text) {
                    return self.err(
                        t.line,
                        format!("function {} not defined", super::gofmt::go_quote(&t.text)),
                    );
                }
                Arg::Ident(t.pos, t.text)
            }
            Kind::Dot => Arg::Dot(t.pos),
            Kind::Nil => Arg::Nil(t.pos),
            Kind::Variable => {
                if !self.vars.contains(&t.text) {
                    return self.err(
                        t.line,
                        format!("undefined variable {}", super::gofmt::go_quote(&t.text)),
                    );
                }
                Arg::Variable(t.pos, vec![t.text])
            }
            Kind::Field => Arg::Field(t.pos, vec![t.text[1..].to_string()]),
            Kind::Bool => Arg::Bool(t.pos, t.text == "true"),
            Kind::Number | Kind::CharConst => Arg::Number(t.pos, number(&t.text, t.kind).map_err(fail)?),
            Kind::LeftParen => Arg::Pipe(Box::new(self.pipeline("parenthesized pipeline", Kind::RightParen)?)),
            Kind::Str | Kind::RawStr => {
                let value = unquote(&t.text).map_err(fail)?;
                Arg::Str(t.pos, t.text, value)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
