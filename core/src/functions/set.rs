//! Sets: `Value::Set` holds its elements sorted and de-duplicated. This file owns the one total
//! order over values (numbers numerically, strings lexicographically), equality ignoring
//! sensitive marks, the one constructor of a set ([`set_of`]) and the set functions. Nothing
//! else may define its own value ordering.

use super::{Args, FuncError};
use std::cmp::Ordering;
use tarn_sdk::Value;

fn rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::List(_) => 3,
        Value::Set(_) => 4,
        Value::Map(_) => 5,
        Value::Null => 6,
        Value::Unknown => 7,
        Value::Sensitive(inner) => rank(inner),
    }
}

/// A total order over values, looking through sensitive marks.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    let (a, b) = (a.unmark().0, b.unmark().0);
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.cmp_value(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = compare(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Map(x), Value::Map(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for ((kx, vx), (ky, vy)) in xs.iter().zip(&ys) {
                let o = kx.cmp(ky).then_with(|| compare(vx, vy));
                if o != Ordering::Equal {
                    return o;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Equality ignoring sensitive marks at any depth, and map key order.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    compare(a, b) == Ordering::Equal && a.is_wholly_known() && b.is_wholly_known()
}

/// Sorts and de-duplicates. Unknown elements cannot be compared, so each is kept, at the end.
pub(crate) fn canonical(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by(compare);
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for v in items {
        if v.is_wholly_known() && out.last().is_some_and(|last| same(last, &v)) {
            continue;
        }
        out.push(v);
    }
    out
}

/// A set of `items`: the only way a `Value::Set` is built, so its elements are always in
/// [`canonical`] order. The caller has unified the element types.
pub(crate) fn set_of(items: Vec<Value>) -> Value {
    Value::Set(canonical(items))
}

/// True if `v` is an element of `items`.
pub(crate) fn has(items: &[Value], v: &Value) -> bool {
    items.iter().any(|x| same(x, v))
}

pub(crate) fn setunion(a: &Args) -> Result<Value, FuncError> {
    let mut all = Vec::new();
    for i in 0..a.len() {
        all.extend_from_slice(a.list(i)?);
    }
    // The sets are unified to one element type (as cty does) before the union.
    let all = super::convert::unify_elements(all).map_err(|()| a.err(0, "all elements must have the same type."))?;
    Ok(set_of(all))
}

/// Every argument as a set of one common element type: cty unifies the sets' element types
/// before comparing (so `1` and `"1"` are the same element).
fn unified_sets(a: &Args) -> Result<Vec<Vec<Value>>, FuncError> {
    let mut all = Vec::new();
    let mut lens = Vec::new();
    for i in 0..a.len() {
        let l = a.list(i)?;
        lens.push(l.len());
        all.extend_from_slice(l);
    }
    let mut all = super::convert::unify_elements(all)
        .map_err(|()| a.err(0, "all elements must have the same type."))?
        .into_iter();
    Ok(lens.into_iter().map(|n| all.by_ref().take(n).collect()).collect())
}

pub(crate) fn setintersection(a: &Args) -> Result<Value, FuncError> {
    let sets = unified_sets(a)?;
    let (first, others) = sets.split_first().map(|(f, o)| (f.clone(), o.to_vec())).unwrap_or_default();
    let keep = first.iter().filter(|v| others.iter().all(|o| has(o, v))).cloned().collect();
    Ok(set_of(keep))
}

pub(crate) fn setsubtract(a: &Args) -> Result<Value, FuncError> {
    let sets = unified_sets(a)?;
    let (x, y) = (&sets[0], &sets[1]);
    Ok(set_of(x.iter().filter(|v| !has(y, v)).cloned().collect()))
}

/// Every combination of one element from each argument, the last argument varying fastest: a
/// set when any argument is a set (as in Terraform), else a list.
pub(crate) fn setproduct(a: &Args) -> Result<Value, FuncError> {
    let any_set = a.all().iter().any(|v| matches!(v.unmark().0, Value::Set(_)));
    let mut sets = Vec::new();
    let mut size: usize = 1;
    for i in 0..a.len() {
        let s = a.list(i)?;
        size = size.saturating_mul(s.len());
        sets.push(s);
    }
    super::collection::check_product(size)?;
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for s in sets {
        rows = rows
            .into_iter()
            .flat_map(|row| {
                s.iter().map(move |v| {
                    let mut r = row.clone();
                    r.push(v.clone());
                    r
                })
            })
            .collect();
    }
    let rows = rows.into_iter().map(Value::List).collect();
    Ok(if any_set { set_of(rows) } else { Value::List(rows) })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn canonical_sorts_and_dedups() {
        assert_eq!(canonical(vec![s("b"), s("a"), s("b")]), vec![s("a"), s("b")]);
        assert_eq!(canonical(vec![n(10.0), n(2.0), n(10.0)]), vec![n(2.0), n(10.0)]);
        assert_eq!(
            canonical(vec![Value::Unknown, s("a"), Value::Unknown]),
            vec![s("a"), Value::Unknown, Value::Unknown]
        );
        assert_eq!(canonical(vec![s("a").sensitive(), s("a")]).len(), 1);
    }

    #[test]
    fn maps_compare_regardless_of_key_order() {
        let a = m(vec![("x", n(1.0)), ("y", n(2.0))]);
        let b = m(vec![("y", n(2.0)), ("x", n(1.0))]);
        assert!(same(&a, &b));
    }

    #[test]
    fn set_functions() {
        assert_eq!(ok("setunion", vec![sl(&["b", "a"]), sl(&["c", "a"])]), ss(&["a", "b", "c"]));
        assert_eq!(ok("setintersection", vec![sl(&["a", "b"]), sl(&["b", "c"]), sl(&["b", "d"])]), ss(&["b"]));
        assert_eq!(ok("setsubtract", vec![sl(&["a", "b", "c"]), sl(&["a", "c"])]), ss(&["b"]));
        assert_eq!(ok("setunion", vec![ss(&["b"]), sl(&["a"])]), ss(&["a", "b"]));
        // A product of lists is a list; with any set among them, a set.
        assert_eq!(
            ok("setproduct", vec![sl(&["b", "a"]), ss(&["x"])]),
            Value::Set(vec![sl(&["a", "x"]), sl(&["b", "x"])])
        );
        assert_eq!(
            ok("setproduct", vec![sl(&["dev", "prod"]), sl(&["a", "b"])]),
            l(vec![sl(&["dev", "a"]), sl(&["dev", "b"]), sl(&["prod", "a"]), sl(&["prod", "b"])])
        );
        assert_eq!(ok("setproduct", vec![sl(&["a"]), sl(&[])]), l(vec![]));
        assert!(err("setproduct", vec![sl(&["a"])]).contains("takes at least 2 arguments, but 1 was given"));
        let big: Vec<Value> = (0..1000).map(|i| n(i as f64)).collect();
        assert!(err("setproduct", vec![l(big.clone()), l(big.clone()), l(big)]).contains("more than 1000000"));
    }
}
