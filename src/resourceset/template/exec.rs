//! The executor: walks the parse tree with Go's text/template semantics (dot, variables
//! and their scopes, `missingkey=error`, truth, range over slices, maps and integers,
//! break/continue, `template` calls) and Go's error messages and positions.

use super::ast::{Arg, Command, Control, Node, Pipe, template_string};
use super::funcs::{self, Ctx, FuncError, Ty};
use super::gofmt;
use super::value::{Elem, Value};
use super::{Budget, Error, Template};

mod args;

type R<T> = Result<T, Error>;

pub(crate) enum Flow {
    Normal,
    Break,
    Continue,
}

/// What an error message points at.
#[derive(Clone, Copy)]
enum At<'t> {
    Start,
    Arg(&'t Arg),
    Cmd(&'t Command),
    Pipe(&'t Pipe),
    Template(usize, &'t str, &'t Option<Pipe>),
}

pub(crate) struct State<'t> {
    tmpl: &'t Template,
    name: &'t str,
    vars: Vec<(String, Value)>,
    pub out: String,
    depth: usize,
    at: At<'t>,
    pub budget: Budget,
    inputs: Value,
}

/// A value and whether it came out of a `map[string]interface{}` (Go then calls its type
/// `interface {}` in messages, and a nil there is an interface, not "no value").
type Eval = (Value, bool);

impl<'t> State<'t> {
    pub(crate) fn new(tmpl: &'t Template, inputs: Value) -> State<'t> {
        State {
            tmpl,
            name: &tmpl.name,
            vars: vec![("$".into(), Value::Nil)],
            out: String::new(),
            depth: 0,
            at: At::Start,
            budget: Budget::default(),
            inputs,
        }
    }

    fn error(&self, message: impl Into<String>) -> Error {
        self.error_from(message, None)
    }

    /// The error at the current node, with the typed failure its message tells of.
    fn error_from(&self, message: impl Into<String>, source: Option<FuncError>) -> Error {
        let (pos, context) = match self.at {
            At::Start => (0, String::new()),
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Template(pos, name, pipe) => (pos, template_string(name, pipe)),
        };
        let context = super::shorten_message(context);
        let text = &self.tmpl.text[..pos.min(self.tmpl.text.len())];
        let line = 1 + text.matches('\n').count();
        let col = text.len() - text.rfind('\n').map_or(0, |i| i + 1);
        Error::Exec {
            location: format!("{}:{line}:{col}", self.tmpl.name),
            executing: gofmt::go_quote(self.name),
            context,
            message: super::shorten_message(message.into()),
            source: source.map(Box::new),
        }
    }

    fn work(&mut self, units: usize) -> R<()> {
        self.budget
            .charge(units)
            .map_err(|e| self.error_from(e.to_string(), Some(e.into())))
    }

    pub(crate) fn walk_list(&mut self, dot: &Value, nodes: &'t [Node]) -> R<Flow> {
        for node in nodes {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> R<Flow> {
        match node {
            Node::Text(t) => self.write(t)?,
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print(&v)?;
                }
            }
            Node::If(c) => return self.walk_if_or_with(dot, c, false),
            Node::With(c) => return self.walk_if_or_with(dot, c, true),
            Node::Range(c) => return self.walk_range(dot, c),
            Node::Template { pos, name, pipe } => self.walk_template(dot, *pos, name, pipe)?,
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > super::MAX_OUTPUT {
            return Err(self.error(format!("output exceeds {} bytes", super::MAX_OUTPUT)));
        }
        self.work(s.len() / 64 + 1)?;
        self.out.push_str(s);
        Ok(())
    }

    fn print(&mut self, v: &Value) -> R<()> {
        match v {
            Value::Nil => self.write("<no value>"),
            other => {
                let s = gofmt::to_v(other);
                self.write(&s)
            }
        }
    }

    fn walk_if_or_with(&mut self, dot: &Value, c: &'t Control, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let result = (|| {
            let v = self.eval_pipeline(dot, &c.pipe)?;
            if v.truthy() {
                let inner = if with { v } else { dot.clone() };
                self.walk_list(&inner, &c.list)
            } else if let Some(else_list) = &c.else_list {
                self.walk_list(dot, else_list)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        result
    }

    fn walk_range(&mut self, dot: &Value, c: &'t Control) -> R<Flow> {
        let mark = self.vars.len();
        let result = self.walk_range_inner(dot, c);
        self.vars.truncate(mark);
        // A break or continue of the body ends here; one in the else branch belongs to an
        // enclosing range.
        result
    }

    fn walk_range_inner(&mut self, dot: &Value, c: &'t Control) -> R<Flow> {
        let v = self.eval_pipeline(dot, &c.pipe)?;
        let items: Vec<(Value, Value)> = match &v {
            Value::List(l) => l
                .items
                .iter()
                .enumerate()
                .map(|(i, e)| (Value::int(i as i64), e.clone()))
                .collect(),
            Value::Map(m) => m
                .borrow()
                .entries
                .iter()
                .map(|(k, e)| (Value::str(k.as_str()), e.clone()))
                .collect(),
            Value::Nil => Vec::new(),
            Value::Int(n, kind) => {
                if c.pipe.decl.len() > 1 {
                    return Err(self.error(format!("can't use {n} to iterate over more than one variable")));
                }
                self.work(usize::try_from(*n).unwrap_or(0))?;
                (0..*n).map(|i| (Value::Int(i, *kind), Value::Int(i, *kind))).collect()
            }
            other => return Err(self.error(format!("range can't iterate over {}", gofmt::to_v(other)))),
        };
        if items.is_empty() {
            if let Some(else_list) = &c.else_list {
                return self.walk_list(dot, else_list);
            }
            return Ok(Flow::Normal);
        }
        let mark = self.vars.len();
        for (index, elem) in items {
            self.work(1)?;
            self.set_range_vars(&c.pipe, index, elem.clone())?;
            let flow = self.walk_list(&elem, &c.list);
            self.vars.truncate(mark);
            if let Flow::Break = flow? {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    fn set_range_vars(&mut self, pipe: &Pipe, index: Value, elem: Value) -> R<()> {
        match (pipe.decl.len(), pipe.is_assign) {
            (0, _) => {}
            (1, true) => self.set_var(&pipe.decl[0], elem)?,
            (1, false) => self.set_top_var(1, elem),
            (_, true) => {
                self.set_var(&pipe.decl[0], index)?;
                self.set_var(&pipe.decl[1], elem)?;
            }
            (_, false) => {
                self.set_top_var(1, elem);
                self.set_top_var(2, index);
            }
        }
        Ok(())
    }

    fn set_top_var(&mut self, n: usize, v: Value) {
        let len = self.vars.len();
        self.vars[len - n].1 = v;
    }

    fn set_var(&mut self, name: &str, v: Value) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err(self.error(format!("undefined variable: {name}"))),
        }
    }

    fn walk_template(&mut self, dot: &Value, pos: usize, name: &'t str, pipe: &'t Option<Pipe>) -> R<()> {
        self.at = At::Template(pos, name, pipe);
        let Some(body) = self.tmpl.defined.get(name) else {
            return Err(self.error(format!("template {} not defined", gofmt::go_quote(name))));
        };
        if self.depth >= super::MAX_DEPTH {
            return Err(self.error(format!("exceeded maximum template depth ({})", super::MAX_DEPTH)));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, name);
        self.depth += 1;
        let result = self.walk_list(&new_dot, body);
        self.depth -= 1;
        self.vars = saved_vars;
        self.name = saved_name;
        result.map(|_| ())
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> R<Value> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Eval> = None;
        for cmd in &pipe.cmds {
            // Go unwraps an interface between commands: a nil from a map is then "no value".
            let (v, _) = self.eval_command(dot, cmd, value)?;
            value = Some((v, false));
        }
        let value = value.map(|(v, _)| v).unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Eval>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.error(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'t Command, fin: Option<Eval>) -> R<Eval> {
        self.work(1)?;
        let first = &cmd.args[0];
        match first {
            Arg::Field(_, idents) => {
                self.at = At::Arg(first);
                self.eval_field_chain(dot, (dot.clone(), false), idents, &cmd.args, fin)
            }
            Arg::Chain(_, node, fields) => self.eval_chain(dot, first, node, fields, &cmd.args, fin),
            Arg::Ident(_, name) => self.eval_function(dot, first, name, Some(cmd), fin),
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                Ok((self.eval_pipeline(dot, p)?, false))
            }
            Arg::Variable(_, idents) => self.eval_variable(dot, first, idents, &cmd.args, fin),
            _ => {
                self.at = At::Arg(first);
                self.not_a_function(&cmd.args, &fin)?;
                match first {
                    Arg::Bool(_, b) => Ok((Value::Bool(*b), false)),
                    Arg::Dot(_) => Ok((dot.clone(), false)),
                    Arg::Nil(_) => Err(self.error("nil is not a command")),
                    Arg::Number(..) => Ok((self.ideal_constant(first)?, false)),
                    Arg::Str(_, _, s) => Ok((Value::str(s.as_str()), false)),
                    _ => Err(self.error(format!(
                        "can't evaluate command {}",
                        gofmt::go_quote(&first.to_string())
                    ))),
                }
            }
        }
    }

    fn ideal_constant(&self, arg: &Arg) -> R<Value> {
        let Arg::Number(_, n) = arg else { return Ok(Value::Nil) };
        if n.is_float_const {
            return Ok(Value::Float(n.float.unwrap_or(0.0)));
        }
        match n.int {
            Some(i) => Ok(Value::int(i)),
            None => Err(self.error(format!("{} overflows int", n.text))),
        }
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'t Arg,
        node: &'t Arg,
        fields: &'t [String],
        args: &'t [Arg],
        fin: Option<Eval>,
    ) -> R<Eval> {
        self.at = At::Arg(chain);
        if let Arg::Nil(_) = node {
            return Err(self.error(format!("indirection through explicit nil in {chain}")));
        }
        let receiver = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, receiver, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        node: &'t Arg,
        idents: &'t [String],
        args: &'t [Arg],
        fin: Option<Eval>,
    ) -> R<Eval> {
        self.at = At::Arg(node);
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok((value, false));
        }
        self.eval_field_chain(dot, (value, false), &idents[1..], args, fin)
    }

    fn var_value(&self, name: &str) -> R<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.error(format!("undefined variable: {name}"))),
        }
    }

    fn eval_field_chain(
        &mut self,
        _dot: &Value,
        mut receiver: Eval,
        idents: &[String],
        args: &[Arg],
        fin: Option<Eval>,
    ) -> R<Eval> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(ident, receiver, false)?;
        }
        let has_args = args.len() > 1 || fin.is_some();
        self.eval_field(&idents[n - 1], receiver, has_args)
    }

    fn eval_field(&mut self, name: &str, receiver: Eval, has_args: bool) -> R<Eval> {
        let (v, iface) = receiver;
        match v {
            Value::Nil if iface => Err(self.error(format!("nil pointer evaluating interface {{}}.{name}"))),
            Value::Nil => Err(self.error(format!("nil data; no entry for key {}", gofmt::go_quote(name)))),
            Value::Map(m) => {
                if has_args {
                    return Err(self.error(format!("{name} is not a method but has arguments")));
                }
                let m = m.borrow();
                match m.entries.get(name) {
                    Some(found) => Ok((found.clone(), m.elem == Elem::Any)),
                    None => Err(self.error(format!("map has no entry for key {}", gofmt::go_quote(name)))),
                }
            }
            other => {
                let typ = if iface { "interface {}" } else { other.type_name() };
                Err(self.error(format!("can't evaluate field {name} in type {typ}")))
            }
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        node: &'t Arg,
        name: &str,
        cmd: Option<&'t Command>,
        fin: Option<Eval>,
    ) -> R<Eval> {
        self.at = At::Arg(node);
        if name == "inputs" {
            let args = cmd.map_or(0, |c| c.args.len() - 1) + usize::from(fin.is_some());
            if args != 0 {
                return Err(self.error(format!("wrong number of args for inputs: want 0 got {args}")));
            }
            return Ok((self.inputs.clone(), false));
        }
        let Some(func) = funcs::lookup(name) else {
            return Err(self.error(format!("{} is not a defined function", gofmt::go_quote(name))));
        };
        let args: &'t [Arg] = cmd.map_or(&[], |c| &c.args[1..]);
        if matches!(name, "and" | "or") {
            return self.eval_and_or(dot, name, args, fin);
        }
        let (argv, nil_interfaces) = self.eval_args(dot, name, func, args, fin)?;
        if name == "call"
            && let (Some(first), Some(v)) = (args.first(), argv.first())
            && !matches!(v, Value::Nil)
        {
            // Go names the callee as written.
            self.at_call(cmd, node);
            return Err(self.error(format!(
                "error calling call: non-function {first} of type {}",
                v.type_name()
            )));
        }
        let mut ctx = Ctx {
            inputs: &self.inputs,
            budget: &mut self.budget,
            nil_interfaces,
        };
        match (func.call)(&mut ctx, argv) {
            Ok(v) => {
                self.work(shallow_size(&v))?;
                Ok((v, false))
            }
            Err(e) => {
                self.at_call(cmd, node);
                Err(self.error_from(format!("error calling {name}: {e}"), Some(e)))
            }
        }
    }

    /// Go reports a failed call at its command, or at the bare identifier.
    fn at_call(&mut self, cmd: Option<&'t Command>, node: &'t Arg) {
        self.at = match cmd {
            Some(c) => At::Cmd(c),
            None => At::Arg(node),
        };
    }

    fn eval_args(
        &mut self,
        dot: &Value,
        name: &str,
        func: &funcs::Func,
        args: &'t [Arg],
        fin: Option<Eval>,
    ) -> R<(Vec<Value>, u64)> {
        let num_in = args.len() + usize::from(fin.is_some());
        let fixed = func.params.len();
        match func.variadic {
            Some(_) if num_in < fixed => {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want at least {fixed} got {}",
                    args.len()
                )));
            }
            None if num_in != fixed => {
                return Err(self.error(format!("wrong number of args for {name}: want {fixed} got {num_in}")));
            }
            _ => {}
        }
        let param = |i: usize| func.params.get(i).copied().or(func.variadic).unwrap_or(Ty::Any);
        let mut argv = Vec::with_capacity(num_in);
        let mut nil_interfaces = 0u64;
        for (i, arg) in args.iter().enumerate() {
            let (v, iface) = self.eval_arg(dot, Some(param(i)), arg)?;
            if iface && matches!(v, Value::Nil) && i < 64 {
                nil_interfaces |= 1 << i;
            }
            argv.push(v);
        }
        if let Some(f) = fin {
            argv.push(self.validate(f, param(num_in - 1))?);
        }
        Ok((argv, nil_interfaces))
    }

    fn eval_and_or(&mut self, dot: &Value, name: &str, args: &'t [Arg], fin: Option<Eval>) -> R<Eval> {
        if args.is_empty() && fin.is_none() {
            return Err(self.error(format!("wrong number of args for {name}: want at least 1 got 0")));
        }
        let mut last = Value::Nil;
        for arg in args {
            let (v, _) = self.eval_arg(dot, Some(Ty::Reflect), arg)?;
            if v.truthy() == (name == "or") {
                return Ok((v, false));
            }
            last = v;
        }
        if let Some((v, _)) = fin {
            last = v;
        }
        Ok((last, false))
    }
}

/// The work a function result stands for: its length, so that loops building big values
/// run out of budget.
fn shallow_size(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len() / 16 + 1,
        Value::List(l) => l.items.len() + 1,
        Value::Map(m) => m.borrow().entries.len() + 1,
        _ => 1,
    }
}
