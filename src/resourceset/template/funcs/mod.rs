//! The function table: Go's builtins, slim-sprig v3's hermetic text functions, `slugify`,
//! `toYaml` and `mustToYaml`, each with its Go parameter types, because Go's template
//! engine checks arguments against them (`trunc` takes an `int`, so an `int64` input is
//! refused) before the function runs.

pub mod builtins;
pub mod dates;
pub mod defaults;
pub mod dicts;
pub mod encoding;
mod layout;
pub mod lists;
pub mod numbers;
pub mod regex;
pub mod strings;
pub mod types;
pub mod url;

use std::collections::HashMap;
use std::sync::LazyLock;

use super::value::{Elem, Value};

/// A Go parameter type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `interface{}`.
    Any,
    /// `reflect.Value`: the builtins, which see values as they are.
    Reflect,
    Str,
    Int,
    Int64,
    Float,
    Bool,
    /// `map[string]interface{}`.
    MapAny,
    /// `time.Time`.
    Time,
}

impl Ty {
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Reflect => "reflect.Value",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Int64 => "int64",
            Ty::Float => "float64",
            Ty::Bool => "bool",
            Ty::MapAny => "map[string]interface {}",
            Ty::Time => "time.Time",
        }
    }

    /// Whether a value of this type may be nil (a nil literal becomes its zero value).
    pub fn can_be_nil(self) -> bool {
        matches!(self, Ty::Any | Ty::MapAny)
    }

    /// Whether a value is assignable to this type, as Go's reflection decides.
    pub fn accepts(self, v: &Value) -> bool {
        use super::value::IntKind;
        match (self, v) {
            (Ty::Any | Ty::Reflect, _) => true,
            (Ty::Str, Value::Str(_)) | (Ty::Float, Value::Float(_)) | (Ty::Bool, Value::Bool(_)) => true,
            (Ty::Int, Value::Int(_, IntKind::Int)) | (Ty::Int64, Value::Int(_, IntKind::Int64)) => true,
            (Ty::MapAny, Value::Map(m)) => m.borrow().elem == Elem::Any,
            (Ty::Time, Value::Time(_)) => true,
            _ => false,
        }
    }
}

/// A function failure, which the engine wraps in `error calling NAME: ...`; its text is
/// Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FuncError {
    /// Go's message, for the failures that have no type of their own here.
    #[error("{0}")]
    Go(String),
    #[error(transparent)]
    Budget(#[from] super::BudgetExceeded),
    #[error(transparent)]
    Url(#[from] url::Error),
    #[error(transparent)]
    Time(#[from] dates::TimeParseError),
    #[error(transparent)]
    Duration(#[from] dates::DurationError),
}

impl FuncError {
    pub fn new(message: impl Into<String>) -> FuncError {
        FuncError::Go(message.into())
    }
}

pub type FuncResult = Result<Value, FuncError>;

/// What functions may reach: the inputs, and the budget that bounds their work.
pub struct Ctx<'a> {
    pub inputs: &'a Value,
    pub budget: &'a mut super::Budget,
    /// Bit i: argument i is a nil read from a `map[string]interface {}` (Go's builtins tell
    /// that nil interface from the "no value" of a pipeline).
    pub nil_interfaces: u64,
}

impl Ctx<'_> {
    /// Refuses results larger than the render may produce, before building them.
    pub fn charge(&mut self, units: usize) -> Result<(), FuncError> {
        Ok(self.budget.charge(units)?)
    }
}

pub type Call = fn(&mut Ctx<'_>, Vec<Value>) -> FuncResult;

#[derive(Clone, Copy)]
pub struct Func {
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
    pub call: Call,
}

pub const fn f(params: &'static [Ty], call: Call) -> Func {
    Func {
        params,
        variadic: None,
        call,
    }
}

pub const fn v(params: &'static [Ty], variadic: Ty, call: Call) -> Func {
    Func {
        params,
        variadic: Some(variadic),
        call,
    }
}

static TABLE: LazyLock<HashMap<&'static str, Func>> = LazyLock::new(|| {
    let mut table = HashMap::new();
    for family in [
        builtins::FUNCS,
        strings::FUNCS,
        numbers::FUNCS,
        lists::FUNCS,
        dicts::FUNCS,
        defaults::FUNCS,
        types::FUNCS,
        encoding::FUNCS,
        regex::FUNCS,
        dates::FUNCS,
    ] {
        for (name, func) in family {
            table.insert(*name, *func);
        }
    }
    table
});

pub fn lookup(name: &str) -> Option<&'static Func> {
    TABLE.get(name)
}

/// The names of every function, for tests that walk the list.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<_> = TABLE.keys().copied().collect();
    names.sort_unstable();
    names
}

// Argument access for implementations; the engine has checked the types already.

pub fn s(args: &[Value], i: usize) -> &str {
    args.get(i).and_then(Value::as_str).unwrap_or("")
}

pub fn i(args: &[Value], i: usize) -> i64 {
    match args.get(i) {
        Some(Value::Int(n, _)) => *n,
        _ => 0,
    }
}

pub fn fl(args: &[Value], i: usize) -> f64 {
    match args.get(i) {
        Some(Value::Float(x)) => *x,
        _ => 0.0,
    }
}

/// Go's `reflect.TypeOf(x).Kind()` name for the `Cannot X on type K` messages; a nil
/// argument makes Go dereference a nil type.
pub fn kind_or_nil_panic(v: &Value) -> Result<&'static str, FuncError> {
    match v {
        Value::Nil => Err(FuncError::new(
            "runtime error: invalid memory address or nil pointer dereference",
        )),
        other => Ok(other.kind_name()),
    }
}

pub fn elems(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.items.clone()),
        _ => None,
    }
}
