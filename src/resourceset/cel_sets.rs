//! CEL's sets extension, which the spec lists for `readyExpr` and the `cel` crate lacks:
//! `sets.contains(a, b)` (every element of `b` is in `a`), `sets.equivalent(a, b)` (each
//! contains the other) and `sets.intersects(a, b)` (some element is in both). Lists are
//! sets here: order and duplicates do not matter, and elements compare with CEL's `==`
//! (so `1`, `1u` and `1.0` are one element), as cel-go's `ext.Sets()` documents.

use cel::common::traits::Iterable;
use cel::common::types::{CelBool, LIST_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    let lists = || vec![LIST_TYPE, LIST_TYPE];
    env.add_overload("sets.contains", "list_sets_contains_list", lists(), contains)?;
    env.add_overload("sets.equivalent", "list_sets_equivalent_list", lists(), equivalent)?;
    env.add_overload("sets.intersects", "list_sets_intersects_list", lists(), intersects)?;
    Ok(())
}

fn contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = pair(&args)?;
    Ok(boolean(is_subset(&b, &a)))
}

fn equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = pair(&args)?;
    Ok(boolean(is_subset(&a, &b) && is_subset(&b, &a)))
}

fn intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = pair(&args)?;
    Ok(boolean(a.iter().any(|x| b.iter().any(|y| x.equals(*y)))))
}

/// Whether every element of `part` is in `whole`.
fn is_subset(part: &[&dyn Val], whole: &[&dyn Val]) -> bool {
    part.iter().all(|x| whole.iter().any(|y| x.equals(*y)))
}

type Elements<'a, 'v> = Vec<&'a (dyn Val + 'v)>;

/// The elements of both list arguments.
fn pair<'a, 'v>(args: &'a [CowVal<'_, 'v>]) -> Result<(Elements<'a, 'v>, Elements<'a, 'v>), ExecutionError> {
    let [a, b] = args else {
        return Err(ExecutionError::invalid_argument_count(2, args.len()));
    };
    Ok((elements(a.as_ref())?, elements(b.as_ref())?))
}

fn elements<'a, 'v>(list: &'a (dyn Val + 'v)) -> Result<Elements<'a, 'v>, ExecutionError> {
    let iterable: &dyn Iterable = list.as_iterable().ok_or_else(|| ExecutionError::UnexpectedType {
        got: list.get_type().name().to_owned(),
        want: "list".to_owned(),
    })?;
    let mut items = iterable.iter();
    let mut out = Vec::new();
    while let Some(item) = items.next() {
        out.push(item);
    }
    Ok(out)
}

fn boolean<'b, 'v>(value: bool) -> CowVal<'b, 'v> {
    CowVal::owned(CelBool::from(value))
}
