//! The lexer of Go's text/template with the delimiters `<<` `>>`: text, actions, trim
//! markers (`<<- ` and ` ->>`), comments (`<</* */>>`), and the tokens inside actions.

pub const LEFT: &str = "<<";
pub const RIGHT: &str = ">>";
const LEFT_TRIM: &str = "- ";
const RIGHT_TRIM: &str = " -";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Assign,
    Declare,
    Pipe,
    LeftParen,
    RightParen,
    Str,
    RawStr,
    CharConst,
    Number,
    Bool,
    Field,
    Variable,
    Identifier,
    Dot,
    Char,
    // Keywords.
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
    Eof,
    Error,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    /// Byte offset in the template.
    pub pos: usize,
    pub line: usize,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// `<<-` trims only when a space follows the minus: `<<-3>>` is the number -3.
fn has_left_trim(after_delim: &str) -> bool {
    after_delim
        .strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(is_space))
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

pub struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: usize,
    tokens: Vec<Token>,
    /// Whether the next text starts after a ` ->>` and loses its leading spaces.
    trim_next: bool,
}

impl<'a> Lexer<'a> {
    /// All tokens; a lexical error ends the list with an `Error` token holding the message.
    pub fn lex(input: &'a str) -> Vec<Token> {
        let mut l = Lexer {
            input,
            pos: 0,
            start: 0,
            line: 1,
            start_line: 1,
            paren_depth: 0,
            tokens: Vec::new(),
            trim_next: false,
        };
        l.run();
        l.tokens
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn emit(&mut self, kind: Kind) {
        let text = self.input[self.start..self.pos].to_string();
        self.tokens.push(Token {
            kind,
            text,
            pos: self.start,
            line: self.start_line,
        });
        self.ignore();
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn error(&mut self, msg: String) {
        self.tokens.push(Token {
            kind: Kind::Error,
            text: msg,
            pos: self.start,
            line: self.start_line,
        });
    }

    fn skip_to(&mut self, pos: usize) {
        self.line += self.input[self.pos..pos].matches('\n').count();
        self.pos = pos;
    }

    fn run(&mut self) {
        loop {
            if !self.lex_text() {
                return;
            }
            if !self.lex_action() {
                return;
            }
        }
    }

    /// Text up to the next `<<`; false at the end of input.
    fn lex_text(&mut self) -> bool {
        if self.trim_next {
            let trimmed = self.rest().len() - self.rest().trim_start_matches(is_space).len();
            self.skip_to(self.pos + trimmed);
            self.ignore();
            self.trim_next = false;
        }
        let Some(x) = self.rest().find(LEFT) else {
            self.skip_to(self.input.len());
            if self.pos > self.start {
                self.emit(Kind::Text);
            }
            self.emit(Kind::Eof);
            return false;
        };
        let delim_at = self.pos + x;
        let trims = has_left_trim(&self.input[delim_at + LEFT.len()..]);
        let text_end = if trims {
            self.input[..delim_at].trim_end_matches(is_space).len().max(self.start)
        } else {
            delim_at
        };
        self.skip_to(text_end);
        if self.pos > self.start {
            self.emit(Kind::Text);
        }
        self.skip_to(delim_at);
        self.ignore();
        true
    }

    /// From a `<<` to its `>>`; false after an error.
    fn lex_action(&mut self) -> bool {
        let trim_len = if has_left_trim(&self.rest()[LEFT.len()..]) {
            LEFT_TRIM.len()
        } else {
            0
        };
        if self.rest()[LEFT.len() + trim_len..].starts_with("/*") {
            return self.lex_comment(trim_len);
        }
        self.skip_to(self.pos + LEFT.len());
        self.emit(Kind::LeftDelim);
        self.skip_to(self.pos + trim_len);
        self.ignore();
        self.paren_depth = 0;
        self.inside_action()
    }

    fn lex_comment(&mut self, trim_len: usize) -> bool {
        self.skip_to(self.pos + LEFT.len() + trim_len + 2);
        let Some(end) = self.rest().find("*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        self.skip_to(self.pos + end + 2);
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        let len = if trim {
            RIGHT_TRIM.len() + RIGHT.len()
        } else {
            RIGHT.len()
        };
        self.skip_to(self.pos + len);
        self.ignore();
        self.trim_next = trim;
        true
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if rest.starts_with(RIGHT_TRIM) && rest[RIGHT_TRIM.len()..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn right_delim(&mut self, trim: bool) -> bool {
        if trim {
            self.skip_to(self.pos + RIGHT_TRIM.len());
            self.ignore();
        }
        self.skip_to(self.pos + RIGHT.len());
        self.emit(Kind::RightDelim);
        self.trim_next = trim;
        true
    }

    fn inside_action(&mut self) -> bool {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    return self.right_delim(trim);
                }
                self.error("unclosed left paren".into());
                return false;
            }
            let Some(c) = self.next() else {
                self.error("unclosed action".into());
                return false;
            };
            if !self.action_char(c) {
                return false;
            }
        }
    }

    fn action_char(&mut self, c: char) -> bool {
        match c {
            c if is_space(c) => return self.lex_space(),
            '=' => self.emit(Kind::Assign),
            ':' => {
                if self.next() != Some('=') {
                    self.error("expected :=".into());
                    return false;
                }
                self.emit(Kind::Declare);
            }
            '|' => self.emit(Kind::Pipe),
            '"' => return self.lex_quoted('"', Kind::Str, "unterminated quoted string"),
            '`' => return self.lex_raw(),
            '$' => return self.lex_field_or_var(Kind::Variable),
            '\'' => return self.lex_quoted('\'', Kind::CharConst, "unterminated character constant"),
            '.' => {
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.backup('.');
                    return self.lex_number();
                }
                return self.lex_field_or_var(Kind::Field);
            }
            '+' | '-' | '0'..='9' => {
                self.backup(c);
                return self.lex_number();
            }
            c if is_alnum(c) => {
                self.backup(c);
                return self.lex_identifier();
            }
            '(' => {
                self.emit(Kind::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                if self.paren_depth == 0 {
                    self.error("unexpected right paren".into());
                    return false;
                }
                self.paren_depth -= 1;
                self.emit(Kind::RightParen);
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.emit(Kind::Char),
            c => {
                self.error(format!("unrecognized character in action: {}", go_rune(c)));
                return false;
            }
        }
        true
    }

    fn lex_space(&mut self) -> bool {
        let mut spaces = 1;
        while self.peek().is_some_and(is_space) {
            self.next();
            spaces += 1;
        }
        // A space followed by `->>` is the trim marker of the closing delimiter.
        let before = self.pos - 1;
        if self.input[before..].starts_with(RIGHT_TRIM) && self.input[before + RIGHT_TRIM.len()..].starts_with(RIGHT) {
            self.backup(' ');
            if spaces == 1 {
                return true;
            }
        }
        self.emit(Kind::Space);
        true
    }

    /// A quoted string or character up to `close`; backslashes escape the next character.
    fn lex_quoted(&mut self, close: char, kind: Kind, unterminated: &str) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => return self.unterminated(unterminated),
                    Some(_) => {}
                },
                Some('\n') | None => return self.unterminated(unterminated),
                Some(c) if c == close => break,
                Some(_) => {}
            }
        }
        self.emit(kind);
        true
    }

    fn unterminated(&mut self, msg: &str) -> bool {
        self.error(msg.into());
        false
    }

    fn lex_raw(&mut self) -> bool {
        let Some(end) = self.rest().find('`') else {
            return self.unterminated("unterminated raw quoted string");
        };
        self.skip_to(self.pos + end + 1);
        self.emit(Kind::RawStr);
        true
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) => is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(') || RIGHT.starts_with(c),
        }
    }

    fn lex_field_or_var(&mut self, kind: Kind) -> bool {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return true;
        }
        if !self.alnum_word() {
            return false;
        }
        self.emit(kind);
        true
    }

    /// The letters, digits and underscores of a name, which must end at a terminator.
    fn alnum_word(&mut self) -> bool {
        while let Some(c) = self.next() {
            if !is_alnum(c) {
                self.backup(c);
                break;
            }
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            self.error(format!("bad character {}", go_rune(c)));
            return false;
        }
        true
    }

    fn lex_identifier(&mut self) -> bool {
        if !self.alnum_word() {
            return false;
        }
        let word = &self.input[self.start..self.pos];
        let kind = match word {
            "block" => Kind::Block,
            "break" => Kind::Break,
            "continue" => Kind::Continue,
            "define" => Kind::Define,
            "else" => Kind::Else,
            "end" => Kind::End,
            "if" => Kind::If,
            "nil" => Kind::Nil,
            "range" => Kind::Range,
            "template" => Kind::Template,
            "with" => Kind::With,
            "true" | "false" => Kind::Bool,
            _ => Kind::Identifier,
        };
        self.emit(kind);
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn lex_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            let text = self.input[self.start..self.pos].to_string();
            self.error(format!("bad number syntax: {}", super::gofmt::go_quote(&text)));
            return false;
        }
        self.emit(Kind::Number);
        true
    }
}

/// Go's `%#U`: `U+0041 'A'`.
pub fn go_rune(c: char) -> String {
    format!("U+{:04X} '{c}'", c as u32)
}
