//! The ResourceSet template engine (SPEC-resourceset §11.5): Go's `text/template` with the
//! delimiters `<<` `>>`, the trim markers `<<- ` and ` ->>`, `missingkey=error`, a nil dot,
//! and the zero-argument function `inputs` that returns the current input set.
//!
//! Semantics, as Go's: actions print with `fmt`'s `%v` (`true`, integers in decimal,
//! floats in the shortest form with an exponent from 1e21... as `%v` does, `map[k:v]`,
//! `[a b]`, and `<no value>` for nil); pipelines pass the previous result as the last
//! argument; `$x :=` declares and `$x =` assigns; `if`/`else if`/`else`, `with`/`else`,
//! `range` over slices, maps (sorted keys), and integers with `$i, $v`, `else`, `break`,
//! `continue`; `define`/`template`/`block`; comments; parenthesised pipelines; field chains
//! on maps (`inputs.app.version`); no methods. Unknown functions fail at parse time.
//! Functions are Go's builtins and slim-sprig v3's hermetic text set plus `slugify`,
//! `toYaml` and `mustToYaml` ([`funcs`]); their arguments are checked against their Go
//! parameter types as Go's reflection does. Values keep their Go type ([`value`]).
//!
//! Why not the `gtmpl` crate: it hardcodes the `{{ }}` delimiters, has neither
//! `break`/`continue` nor `missingkey=error`, and is passively maintained; every ResourceSet
//! template would need patches to its lexer and executor.
//!
//! Bounded cost: a template is user input. A render stops with an error past 16 MiB of
//! output, past a work budget (every command, loop iteration and element of a built value
//! counts), past 100 nested `template` calls (and refuses texts nesting
//! parentheses or control structures deeper than that), and functions refuse lists and strings past
//! the output size. Errors are one line, in Go's form
//! (`template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE`), with long echoed values
//! shortened.
//!
//! tests/template_diff compares this engine with the Go libraries on every function and a
//! few hundred generated templates.

mod ast;
mod exec;
pub mod funcs;
pub mod gofmt;
pub mod ids;
mod lexer;
mod literals;
mod parse;
pub mod slugify;
mod unidecode;
pub mod value;
pub mod yaml;
mod yaml_emit;

use std::collections::BTreeMap;

pub use literals::LiteralError;
pub use value::Value;

/// Largest output of one render, and largest string or list a function may build.
pub const MAX_OUTPUT: usize = 16 << 20;
/// Largest number of nested `template` calls, and of nested parentheses and control
/// structures in the text (Go allows 100000 calls on its growable stacks; the operator's
/// threads have 2 MiB).
pub const MAX_DEPTH: usize = 100;
/// Work units of one render: commands, loop iterations, elements of built values.
pub const MAX_WORK: u64 = 10_000_000;
/// Longest error message; the rest is cut (messages echo user values).
const MAX_MESSAGE: usize = 512;

/// A template failure, in Go's wording. `message` is shortened to one line of at most 512
/// characters; a `source` is the whole failure the message tells of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("template: {template}:{line}: {message}")]
    Parse {
        template: String,
        line: usize,
        message: String,
        /// A number or quoted string the parser refused.
        #[source]
        source: Option<LiteralError>,
    },
    #[error("template: {location}: executing {executing} at <{context}>: {message}")]
    Exec {
        location: String,
        executing: String,
        context: String,
        message: String,
        /// The failure of a function call, or the spent work budget (boxed: it is rare, and
        /// a time's parse error is large).
        #[source]
        source: Option<Box<funcs::FuncError>>,
    },
}

/// A render past its work budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("template exceeds its work budget ({MAX_WORK} steps)")]
pub struct BudgetExceeded;

/// The work a render may still do.
#[derive(Debug)]
pub struct Budget {
    work: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { work: MAX_WORK }
    }
}

impl Budget {
    /// Takes `units` of work, or fails (and spends the rest) when there is not that much.
    pub fn charge(&mut self, units: usize) -> Result<(), BudgetExceeded> {
        let units = units as u64;
        if units > self.work {
            self.work = 0;
            return Err(BudgetExceeded);
        }
        self.work -= units;
        Ok(())
    }
}

pub(crate) fn shorten_message(message: String) -> String {
    let one_line = if message.contains('\n') {
        message.replace('\n', "\\n")
    } else {
        message
    };
    match one_line.char_indices().nth(MAX_MESSAGE) {
        Some((end, _)) => format!("{}... ({} bytes)", &one_line[..end], one_line.len()),
        None => one_line,
    }
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    root: Vec<ast::Node>,
    defined: BTreeMap<String, Vec<ast::Node>>,
}

impl Template {
    pub fn parse(name: &str, text: &str) -> Result<Template, Error> {
        let is_function = |f: &str| f == "inputs" || funcs::lookup(f).is_some();
        let parsed = parse::parse(text, &is_function).map_err(|e| Error::Parse {
            template: name.to_string(),
            line: e.line,
            message: shorten_message(e.message),
            source: e.source,
        })?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            root: parsed.root,
            defined: parsed.defined,
        })
    }

    /// Renders with the input set (`None`: the nil inputs of a set without input sets).
    pub fn render(&self, inputs: Option<&serde_json::Map<String, serde_json::Value>>) -> Result<String, Error> {
        let inputs = match inputs {
            Some(map) => value::from_json(&serde_json::Value::Object(map.clone())),
            None => Value::Map(std::rc::Rc::new(std::cell::RefCell::new(value::Map {
                entries: BTreeMap::new(),
                elem: value::Elem::Any,
                nil: true,
            }))),
        };
        let mut state = exec::State::new(self, inputs);
        state.walk_list(&Value::Nil, &self.root)?;
        Ok(state.out)
    }
}

/// Parses and renders in one step.
pub fn render(
    name: &str,
    text: &str,
    inputs: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<String, Error> {
    Template::parse(name, text)?.render(inputs)
}

#[cfg(test)]
mod tests;
