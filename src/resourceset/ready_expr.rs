//! `dependsOn[].readyExpr` (SPEC-resourceset §11.6 steps 3-4): a CEL expression over a
//! dependency's top-level fields (`metadata`, `spec`, `status`, `data`, ...), with CEL's
//! standard library and the strings, encoders, lists and math extensions.
//!
//! A tenant writes these, so their cost is bounded before anything runs: at most
//! [`MAX_LEN`] bytes, no comprehension (`all`, `exists`, `map`, `filter`) inside another,
//! and parsing and evaluation on a thread of their own with a large stack (the parser
//! recurses per nesting level) and a deadline ([`EVAL_DEADLINE`]): an evaluation that
//! overruns it means "not ready", like any other runtime error.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use cel::common::ast::{EntryExpr, Expr};
use cel::{Context, Env, IdedExpr, Program};
use serde_json::Value;

/// The longest expression accepted; real ones are a line.
pub const MAX_LEN: usize = 1024;
/// How long one evaluation may take.
pub const EVAL_DEADLINE: Duration = Duration::from_secs(1);
/// The stack of the thread that parses and evaluates: the recursion of an expression of
/// [`MAX_LEN`] bytes fits, unoptimised builds included.
const STACK: usize = 32 << 20;

/// Why an expression cannot be used; shown after `dependsOn[i].readyExpr: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("expression is {0} bytes long, the limit is {MAX_LEN}")]
    TooLong(usize),
    #[error("a comprehension (all, exists, exists_one, map, filter) inside another is not allowed")]
    NestedComprehension,
    #[error("{0}")]
    Parse(String),
}

/// Why an evaluation did not say "ready"; the dependency is not ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("evaluation failed: {0}")]
    Failed(String),
    #[error("evaluated to {0}, not a bool")]
    NotBool(String),
    #[error("evaluation took longer than {EVAL_DEADLINE:?}")]
    Deadline,
}

/// A parsed expression.
#[derive(Clone)]
pub struct ReadyExpr {
    program: Arc<Program>,
    env: Arc<Env>,
}

impl std::fmt::Debug for ReadyExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadyExpr")
    }
}

fn environment() -> Result<Env, ExprError> {
    let mut env = Env::stdlib();
    let extensions = [
        cel::extensions::strings,
        cel::extensions::encoders,
        cel::extensions::lists,
        cel::extensions::math,
        super::cel_sets::extension,
    ];
    for extension in extensions {
        env.add_extension(extension)
            .map_err(|e| ExprError::Parse(format!("CEL environment: {e}")))?;
    }
    Ok(env)
}

/// Parses `source` within the bounds of this module.
pub fn compile(source: &str) -> Result<ReadyExpr, ExprError> {
    if source.len() > MAX_LEN {
        return Err(ExprError::TooLong(source.len()));
    }
    let source = source.to_owned();
    let parsed = on_big_stack(move || {
        let env = environment()?;
        let program = env
            .compile(&source)
            .map_err(|e| ExprError::Parse(first_line(&e.to_string())))?;
        if comprehension_depth(program.expression()) > 1 {
            return Err(ExprError::NestedComprehension);
        }
        Ok(ReadyExpr {
            program: Arc::new(program),
            env: Arc::new(env),
        })
    });
    parsed.unwrap_or_else(|| Err(ExprError::Parse("the parser failed".into())))
}

impl ReadyExpr {
    /// Whether `object` is ready by this expression, within [`EVAL_DEADLINE`].
    pub fn evaluate(&self, object: &Value) -> Result<bool, EvalError> {
        let (expr, object) = (self.clone(), object.clone());
        let (tx, rx) = mpsc::channel();
        // Not joined: past the deadline the thread is left to finish on its own.
        let spawned = spawn_big(move || {
            // The receiver is gone after the deadline; the answer is then not needed.
            let _ = tx.send(expr.run(&object));
        });
        if let Err(e) = spawned {
            return Err(EvalError::Failed(format!("cannot start the evaluation: {e}")));
        }
        match rx.recv_timeout(EVAL_DEADLINE) {
            Ok(answer) => answer,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(EvalError::Deadline),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(EvalError::Failed("the evaluation failed".into())),
        }
    }

    fn run(&self, object: &Value) -> Result<bool, EvalError> {
        let mut context = Context::with_env(self.env.clone());
        for (key, value) in object.as_object().into_iter().flatten() {
            context
                .add_variable(key.as_str(), value)
                .map_err(|e| EvalError::Failed(e.to_string()))?;
        }
        match self.program.execute(&context) {
            Ok(cel::Value::Bool(ready)) => Ok(ready),
            Ok(other) => Err(EvalError::NotBool(format!("{other:?}"))),
            Err(e) => Err(EvalError::Failed(e.to_string())),
        }
    }
}

/// `work` on a thread with [`STACK`]; None when the thread could not start or died.
fn on_big_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    spawn_big(work).ok()?.join().ok()
}

/// Starts `work` on a `ready-expr` thread with [`STACK`].
fn spawn_big<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> std::io::Result<JoinHandle<T>> {
    std::thread::Builder::new()
        .name("ready-expr".into())
        .stack_size(STACK)
        .spawn(work)
}

/// The parser's messages repeat the whole grammar's expectations; the first line is enough.
fn first_line(message: &str) -> String {
    crate::text::shorten(message.lines().next().unwrap_or_default()).into_owned()
}

/// How deeply comprehensions nest in `expr` (0: none).
fn comprehension_depth(expr: &IdedExpr) -> usize {
    let children: Vec<&IdedExpr> = match &expr.expr {
        Expr::Call(call) => call.target.iter().map(|t| t.as_ref()).chain(call.args.iter()).collect(),
        Expr::Comprehension(c) => {
            let inner = [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result];
            return 1 + inner.into_iter().map(comprehension_depth).max().unwrap_or(0);
        }
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => map.entries.iter().flat_map(entry_children).collect(),
        Expr::Select(select) => vec![select.operand.as_ref()],
        Expr::Struct(st) => st.entries.iter().flat_map(entry_children).collect(),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => Vec::new(),
    };
    children.into_iter().map(comprehension_depth).max().unwrap_or(0)
}

fn entry_children(entry: &cel::common::ast::IdedEntryExpr) -> Vec<&IdedExpr> {
    match &entry.expr {
        EntryExpr::StructField(field) => vec![&field.value],
        EntryExpr::MapEntry(map) => vec![&map.key, &map.value],
    }
}

#[cfg(test)]
#[path = "ready_expr_tests.rs"]
mod tests;
