//! Arguments as Go's evalArg and validateType see them: literals converted to the
//! parameter's type or refused, evaluated values checked against it.

use std::collections::BTreeMap;

use super::{At, Eval, R, State};
use crate::resourceset::template::ast::Arg;
use crate::resourceset::template::funcs::Ty;
use crate::resourceset::template::value::{Elem, Value};

impl<'t> State<'t> {
    /// Go's evalArg: literals are converted to the parameter's type (or refused), other
    /// nodes are evaluated and then checked.
    pub(super) fn eval_arg(&mut self, dot: &Value, ty: Option<Ty>, arg: &'t Arg) -> R<Eval> {
        self.at = At::Arg(arg);
        let evaluated = match arg {
            Arg::Dot(_) => Some((dot.clone(), false)),
            Arg::Field(_, idents) => Some(self.eval_field_chain(dot, (dot.clone(), false), idents, &[], None)?),
            Arg::Variable(_, idents) => Some(self.eval_variable(dot, arg, idents, std::slice::from_ref(arg), None)?),
            Arg::Pipe(p) => Some((self.eval_pipeline(dot, p)?, false)),
            Arg::Ident(_, name) => Some(self.eval_function(dot, arg, name, None, None)?),
            Arg::Chain(_, node, fields) => Some(self.eval_chain(dot, arg, node, fields, &[], None)?),
            _ => None,
        };
        let Some(ty) = ty else {
            return Ok(evaluated.unwrap_or((Value::Nil, false)));
        };
        if let Some(e) = evaluated {
            let iface = e.1;
            return Ok((self.validate(e, ty)?, iface));
        }
        self.at = At::Arg(arg);
        self.literal_arg(arg, ty).map(|v| (v, false))
    }

    pub(super) fn literal_arg(&self, arg: &Arg, ty: Ty) -> R<Value> {
        match (ty, arg) {
            (_, Arg::Nil(_)) if ty.can_be_nil() || ty == Ty::Reflect => Ok(nil_of(ty)),
            (_, Arg::Nil(_)) => Err(self.error(format!("cannot assign nil to {}", ty.go_name()))),
            (Ty::Bool, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (Ty::Bool, _) => Err(self.error(format!("expected bool; found {arg}"))),
            (Ty::Int | Ty::Int64, Arg::Number(_, n)) if n.int.is_some() => {
                let i = n.int.unwrap_or(0);
                Ok(if ty == Ty::Int { Value::int(i) } else { Value::int64(i) })
            }
            (Ty::Int | Ty::Int64, _) => Err(self.error(format!("expected integer; found {arg}"))),
            (Ty::Float, Arg::Number(_, n)) if n.float.is_some() => Ok(Value::Float(n.float.unwrap_or(0.0))),
            (Ty::Float, _) => Err(self.error(format!("expected float; found {arg}"))),
            (Ty::Str, Arg::Str(_, _, s)) => Ok(Value::str(s.as_str())),
            (Ty::Str, _) => Err(self.error(format!("expected string; found {arg}"))),
            (Ty::Any | Ty::Reflect, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (Ty::Any | Ty::Reflect, Arg::Str(_, _, s)) => Ok(Value::str(s.as_str())),
            (Ty::Any | Ty::Reflect, Arg::Number(..)) => self.ideal_constant(arg),
            _ => Err(self.error(format!("can't handle {arg} for arg of type {}", ty.go_name()))),
        }
    }

    /// Go's validateType.
    pub(super) fn validate(&self, (v, iface): Eval, ty: Ty) -> R<Value> {
        if ty.accepts(&v) {
            return Ok(v);
        }
        match v {
            Value::Nil if !iface && ty.can_be_nil() => Ok(nil_of(ty)),
            Value::Nil if !iface => Err(self.error(format!("invalid value; expected {}", ty.go_name()))),
            Value::Nil => Err(self.error(format!(
                "wrong type for value; expected {}; got interface {{}}",
                ty.go_name()
            ))),
            other => Err(self.error(format!(
                "wrong type for value; expected {}; got {}",
                ty.go_name(),
                other.type_name()
            ))),
        }
    }
}

fn nil_of(ty: Ty) -> Value {
    match ty {
        Ty::MapAny => Value::Map(std::rc::Rc::new(std::cell::RefCell::new(
            crate::resourceset::template::value::Map {
                entries: BTreeMap::new(),
                elem: Elem::Any,
                nil: true,
            },
        ))),
        _ => Value::Nil,
    }
}
