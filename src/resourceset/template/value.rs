//! The values a template computes with, tagged with the Go type they stand for: functions
//! check argument types as Go's reflection does (`trunc` refuses an `int64`, `get` refuses
//! a `map[string]string`), and `typeOf`, `kindOf` and JSON output show the type.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The Go integer types that template functions produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntKind {
    Int,
    Int64,
    /// A byte, from `index` on a string.
    Uint8,
}

/// The element type of a slice or map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    Any,
    Str,
    Int,
    /// `[][]interface {}` (`chunk`).
    ListAny,
}

#[derive(Clone, Debug)]
pub struct List {
    pub items: Vec<Value>,
    pub elem: Elem,
    /// A nil slice: prints `[]`, encodes as JSON `null`.
    pub nil: bool,
}

#[derive(Clone, Debug)]
pub struct Map {
    pub entries: BTreeMap<String, Value>,
    pub elem: Elem,
    /// A nil map (the inputs of a render without input sets).
    pub nil: bool,
}

/// A Go `time.Time`: an instant and the zone it is shown in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
    pub offset: i32,
    pub zone: String,
}

#[derive(Clone, Debug)]
pub enum Value {
    /// An unset interface (Go's invalid reflect.Value).
    Nil,
    Bool(bool),
    Int(i64, IntKind),
    Float(f64),
    Str(Rc<str>),
    List(Rc<List>),
    /// Shared and mutable, as Go maps are: `set` and `unset` change every reference.
    Map(Rc<RefCell<Map>>),
    Time(Rc<Time>),
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn int(i: i64) -> Value {
        Value::Int(i, IntKind::Int)
    }

    pub fn int64(i: i64) -> Value {
        Value::Int(i, IntKind::Int64)
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::typed_list(items, Elem::Any)
    }

    pub fn typed_list(items: Vec<Value>, elem: Elem) -> Value {
        Value::List(Rc::new(List {
            items,
            elem,
            nil: false,
        }))
    }

    pub fn strings(items: impl IntoIterator<Item = String>) -> Value {
        Value::typed_list(items.into_iter().map(Value::str).collect(), Elem::Str)
    }

    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::typed_map(entries, Elem::Any)
    }

    pub fn typed_map(entries: BTreeMap<String, Value>, elem: Elem) -> Value {
        Value::Map(Rc::new(RefCell::new(Map {
            entries,
            elem,
            nil: false,
        })))
    }

    /// Go's type name, as `typeOf` prints it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_, IntKind::Int) => "int",
            Value::Int(_, IntKind::Int64) => "int64",
            Value::Int(_, IntKind::Uint8) => "uint8",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(l) => match l.elem {
                Elem::Any => "[]interface {}",
                Elem::Str => "[]string",
                Elem::Int => "[]int",
                Elem::ListAny => "[][]interface {}",
            },
            Value::Map(m) => match m.borrow().elem {
                Elem::Str => "map[string]string",
                _ => "map[string]interface {}",
            },
            Value::Time(_) => "time.Time",
        }
    }

    /// Go's reflect.Kind name, as `kindOf` prints it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Time(_) => "struct",
            // The kind of a basic type is its name.
            scalar => scalar.type_name(),
        }
    }

    /// Go's template truth: non-zero numbers, non-empty strings, slices and maps.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.borrow().entries.is_empty(),
            Value::Time(_) => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Go's `==` on two interface values of comparable types (maps and slices are not).
    pub fn go_equal(&self, other: &Value) -> Option<bool> {
        Some(match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a, ka), Value::Int(b, kb)) => ka == kb && a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Time(a), Value::Time(b)) => a == b,
            (Value::List(_), _) | (Value::Map(_), _) | (_, Value::List(_)) | (_, Value::Map(_)) => return None,
            _ => false,
        })
    }

    /// reflect.DeepEqual.
    pub fn deep_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::List(a), Value::List(b)) => {
                a.elem == b.elem
                    && a.nil == b.nil
                    && a.items.len() == b.items.len()
                    && a.items.iter().zip(&b.items).all(|(x, y)| x.deep_equal(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.elem == b.elem
                    && a.nil == b.nil
                    && a.entries.len() == b.entries.len()
                    && a.entries
                        .iter()
                        .zip(&b.entries)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.deep_equal(vb))
            }
            _ => self.go_equal(other).unwrap_or(false),
        }
    }

    /// Go's zero value test (`empty`).
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Time(_) => false,
            other => !other.truthy(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// Inputs as Go decodes them for a ResourceSet: integral JSON numbers become `int64`,
/// others `float64`, objects `map[string]interface {}`, arrays `[]interface {}`.
pub fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        // serde_json reads `1.0` and `1e3` as floats, as Go's json.Number.Int64 refuses them.
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::int64(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// JSON as Go's `json.Unmarshal` into `interface{}` reads it (`fromJson`): every number a
/// `float64`.
pub fn from_json_floats(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json_floats).collect()),
        serde_json::Value::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), from_json_floats(v))).collect()),
        other => from_json(other),
    }
}
