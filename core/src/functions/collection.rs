//! Collection functions over lists and maps: size, access, reshaping, merging and aggregates.
//! Functions declared `Shallow` in the table receive elements with their marks and move them
//! into the result untouched; those that compute an answer from elements (`contains`, `index`,
//! `alltrue`, `anytrue`) mark it sensitive when an element is, since it reveals something.

use super::args::elem_string;
use super::set::{has, same};
use super::{Args, FuncError};
use indexmap::IndexMap;
use tarn_sdk::{Number, Value};

/// Terraform's own cap on `range`; also what keeps a typo from allocating gigabytes.
const MAX_RANGE: usize = 1024;
/// A cap on results whose size multiplies (`setproduct`).
const MAX_PRODUCT: usize = 1_000_000;

fn list(items: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::List(items))
}

pub(crate) fn length(a: &Args) -> Result<Value, FuncError> {
    let n = match a.get(0) {
        Value::String(s) => super::text::graphemes(s).len(),
        Value::List(l) | Value::Set(l) => l.len(),
        Value::Map(m) => m.len(),
        _ => return Err(a.err(0, "argument must be a string, a collection type, or a structural type.")),
    };
    Ok(Value::number(n))
}

/// Argument `i` converted to a list of one element type, as Terraform converts an argument
/// declared `list(any)`: mixed primitives become strings.
pub(crate) fn unified(a: &Args, i: usize) -> Result<Vec<Value>, FuncError> {
    super::convert::unify_elements(a.list(i)?.to_vec()).map_err(|()| a.err(i, "all elements must have the same type."))
}

pub(crate) fn concat(a: &Args) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend_from_slice(a.seq(i, "all arguments must be lists or tuples; got {}.")?);
    }
    list(out)
}

/// Known as soon as an exact match is found, even beside unknown elements; unknown when an
/// unknown element might still match. Sensitive elements make the answer sensitive: it says
/// something about them.
pub(crate) fn contains(a: &Args) -> Result<Value, FuncError> {
    let (items, needle) = (a.list(0)?, a.get(1));
    let sensitive = needle.contains_sensitive() || items.iter().any(Value::contains_sensitive);
    let answer = if items.is_empty() {
        Value::Bool(false)
    } else if !needle.is_wholly_known() {
        Value::Unknown
    } else if has(items, needle) {
        Value::Bool(true)
    } else if items.iter().all(Value::is_wholly_known) {
        Value::Bool(false)
    } else {
        Value::Unknown
    };
    Ok(if sensitive { answer.sensitive() } else { answer })
}

pub(crate) fn distinct(a: &Args) -> Result<Value, FuncError> {
    let mut out: Vec<Value> = Vec::new();
    for v in &unified(a, 0)? {
        if !has(&out, v) {
            out.push(v.clone());
        }
    }
    list(out)
}

/// `element(list, index)`: the index wraps around the end of the list.
pub(crate) fn element(a: &Args) -> Result<Value, FuncError> {
    let items = a.seq(0, "cannot read elements from {}.")?;
    let index = a.int(1)?;
    if items.is_empty() {
        return Err(a.err(0, "cannot use element function with an empty list."));
    }
    if index < 0 {
        return Err(a.err(1, "cannot use element function with a negative index."));
    }
    let i = (index as usize) % items.len();
    Ok(items.get(i).cloned().unwrap_or(Value::Null))
}

/// Flattens nested lists. An unknown element might be a list, so it makes the result unknown;
/// the elements of a sensitive nested list each come out sensitive.
pub(crate) fn flatten(a: &Args) -> Result<Value, FuncError> {
    fn walk(items: &[Value], sensitive: bool, out: &mut Vec<Value>) -> bool {
        for v in items {
            match v.unmark() {
                (Value::Unknown, _) => return false,
                (Value::List(inner) | Value::Set(inner), marked) => {
                    if !walk(inner, sensitive || marked, out) {
                        return false;
                    }
                }
                _ if sensitive => out.push(v.clone().sensitive()),
                _ => out.push(v.clone()),
            }
        }
        true
    }
    let mut out = Vec::new();
    if !walk(a.list(0)?, false, &mut out) {
        return Ok(Value::Unknown);
    }
    list(out)
}

/// The index of the first equal element; unknown when an unknown element comes first.
pub(crate) fn index(a: &Args) -> Result<Value, FuncError> {
    let (items, needle) = (a.seq(0, "argument must be a list or tuple.")?, a.get(1));
    if items.is_empty() {
        return Err(a.err(0, "cannot search an empty list."));
    }
    let sensitive = needle.contains_sensitive() || items.iter().any(Value::contains_sensitive);
    let found = if needle.is_wholly_known() {
        items.iter().enumerate().find_map(|(i, v)| match v.is_wholly_known() {
            false => Some(Value::Unknown),
            true if same(v, needle) => Some(Value::number(i)),
            true => None,
        })
    } else {
        Some(Value::Unknown)
    };
    match found {
        Some(v) => Ok(mark_if(v, sensitive)),
        None => Err(a.err(1, "the given value is not an element of the list.")),
    }
}

fn sorted_entries(m: &IndexMap<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|x, y| x.0.cmp(y.0));
    entries
}

pub(crate) fn keys(a: &Args) -> Result<Value, FuncError> {
    list(sorted_entries(a.map(0)?).into_iter().map(|(k, _)| Value::string(k.as_str())).collect())
}

pub(crate) fn values(a: &Args) -> Result<Value, FuncError> {
    list(sorted_entries(a.map(0)?).into_iter().map(|(_, v)| v.clone()).collect())
}

pub(crate) fn lookup(a: &Args) -> Result<Value, FuncError> {
    let (m, key) = (a.map(0)?, a.str(1)?);
    match m.get(key) {
        Some(v) => Ok(v.clone()),
        None if a.len() > 2 => Ok(a.get(2).clone()),
        None => Err(a.err(0, format!("the map has no element with key \"{key}\", and no default was given."))),
    }
}

/// Later maps win; null arguments are skipped, and all-null arguments give null, as in Terraform.
pub(crate) fn merge(a: &Args) -> Result<Value, FuncError> {
    if !a.all().is_empty() && a.all().iter().all(|v| matches!(v, Value::Null)) {
        return Ok(Value::Null);
    }
    let mut out = IndexMap::new();
    for (i, v) in a.all().iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Map(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            other => {
                return Err(a.err(i, format!("arguments must be maps or objects, got \"{}\".", other.type_name())));
            }
        }
    }
    Ok(Value::Map(out))
}

/// `range(limit)`, `range(start, limit)`, `range(start, limit, step)`; fractions allowed. As
/// cty, the values are computed with Terraform's numbers (`start + step + step ...`).
pub(crate) fn range(a: &Args) -> Result<Value, FuncError> {
    use std::cmp::Ordering::{Greater, Less};
    let unit = |down: bool| Number::from_i64(if down { -1 } else { 1 });
    let (start, end, step) = match a.len() {
        1 => {
            let end = a.number(0)?.clone();
            let step = unit(end.signum() < 0);
            (Number::from_i64(0), end, step)
        }
        2 => {
            let (start, end) = (a.number(0)?.clone(), a.number(1)?.clone());
            let step = unit(end.cmp_value(&start) == Less);
            (start, end, step)
        }
        _ => (a.number(0)?.clone(), a.number(1)?.clone(), a.number(2)?.clone()),
    };
    if step.is_zero() {
        return Err(a.err(2, "step must not be zero."));
    }
    let down = step.signum() < 0;
    if down && end.cmp_value(&start) == Greater {
        return Err(a.err(1, "end must be less than start when step is negative."));
    }
    if !down && end.cmp_value(&start) == Less {
        return Err(a.err(1, "end must be greater than start when step is positive."));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (down && i.cmp_value(&end) == Greater) || (!down && i.cmp_value(&end) == Less) {
        if out.len() >= MAX_RANGE {
            return Err(FuncError::call(format!(
                "More than {MAX_RANGE} values were generated; either decrease the difference between start and end or use a larger step."
            )));
        }
        let next = i.add(&step).ok_or_else(|| FuncError::call("The range is not finite."))?;
        out.push(Value::Number(i));
        i = next;
    }
    list(out)
}

pub(crate) fn reverse(a: &Args) -> Result<Value, FuncError> {
    list(a.list(0)?.iter().rev().cloned().collect())
}

pub(crate) fn slice(a: &Args) -> Result<Value, FuncError> {
    let items = a.seq(
        0,
        "cannot slice a set, because its elements do not have indices; explicitly convert to a list if the \
         ordering of the result is not important.",
    )?;
    let (start, end) = (a.int(1)?, a.int(2)?);
    if start < 0 {
        return Err(a.err(1, "start index must not be less than zero."));
    }
    if start > items.len() as i64 {
        return Err(a.err(1, "start index must not be greater than the length of the list."));
    }
    if end < 0 {
        return Err(a.err(2, "end index must not be less than zero."));
    }
    if end > items.len() as i64 {
        return Err(a.err(2, "end index must not be greater than the length of the list."));
    }
    if start > end {
        return Err(a.err(1, "start index must not be greater than end index."));
    }
    list(items.get(start as usize..end as usize).unwrap_or(&[]).to_vec())
}

/// Sorts lexicographically; numbers are sorted as their string forms, as in Terraform.
pub(crate) fn sort(a: &Args) -> Result<Value, FuncError> {
    let mut items = a.str_list(0)?;
    items.sort();
    list(items.into_iter().map(Value::String).collect())
}

pub(crate) fn zipmap(a: &Args) -> Result<Value, FuncError> {
    let (keys, vals) = (a.list(0)?, a.seq(1, "values argument must be a list or tuple value.")?);
    if keys.len() != vals.len() {
        return Err(
            a.err(1, format!("number of keys ({}) does not match number of values ({}).", keys.len(), vals.len()))
        );
    }
    let mut out = IndexMap::new();
    let mut sensitive = false;
    for (i, (k, v)) in keys.iter().zip(vals).enumerate() {
        if !k.is_wholly_known() {
            return Ok(Value::Unknown);
        }
        sensitive |= k.contains_sensitive();
        let k = elem_string(k).map_err(|why| a.err(0, format!("element {i} {why}")))?;
        out.insert(k, v.clone());
    }
    let m = Value::Map(out);
    Ok(if sensitive { m.sensitive() } else { m })
}

/// The first argument that is neither null nor an empty string. Marks are handled here (the
/// table declares it raw): an unknown before the first usable value makes the result unknown.
pub(crate) fn coalesce(a: &Args) -> Result<Value, FuncError> {
    let sensitive = a.all().iter().any(Value::is_sensitive);
    let mark = |v: Value| if sensitive { v.sensitive() } else { v };
    let args: Vec<&Value> = a.all().iter().map(|v| v.unmark().0).collect();
    // Mixed primitive types unify to string, as Terraform's type unification does.
    let kinds: Vec<&str> = args.iter().filter(|v| !v.is_null() && !v.is_unknown()).map(|v| v.type_name()).collect();
    let primitive = |k: &&str| matches!(*k, "string" | "number" | "bool");
    if kinds.iter().any(primitive) && !kinds.iter().all(primitive) {
        return Err(FuncError::call("All arguments must have the same type."));
    }
    let to_string = kinds.contains(&"string") && kinds.iter().any(|k| *k == "number" || *k == "bool");
    for v in args {
        match v {
            Value::Unknown => return Ok(mark(Value::Unknown)),
            Value::Null => continue,
            Value::String(s) if s.is_empty() => continue,
            Value::Number(_) | Value::Bool(_) if to_string => {
                return Ok(mark(Value::String(elem_string(v).unwrap_or_default())));
            }
            v => return Ok(mark(v.clone())),
        }
    }
    Err(FuncError::call("No non-null, non-empty-string arguments were given."))
}

pub(crate) fn coalescelist(a: &Args) -> Result<Value, FuncError> {
    for (i, v) in a.all().iter().enumerate() {
        match v {
            Value::Null => continue,
            Value::List(items) if items.is_empty() => continue,
            Value::List(_) => return Ok(v.clone()),
            Value::Set(_) => return Err(FuncError::call("coalescelist arguments must be lists or tuples.")),
            Value::Unknown => return Ok(Value::Unknown),
            other => return Err(a.err(i, format!("a list is required, got \"{}\".", other.type_name()))),
        }
    }
    Err(FuncError::call("No non-null, non-empty list arguments were given."))
}

pub(crate) fn compact(a: &Args) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for (i, v) in a.list(0)?.iter().enumerate() {
        if v.is_null() {
            continue;
        }
        let s = elem_string(v).map_err(|why| a.err(0, format!("element {i} {why}")))?;
        if !s.is_empty() {
            out.push(Value::String(s));
        }
    }
    list(out)
}

pub(crate) fn chunklist(a: &Args) -> Result<Value, FuncError> {
    let items = &unified(a, 0)?;
    let size = a.int(1)?;
    if items.is_empty() {
        return list(Vec::new());
    }
    if size < 0 {
        return Err(a.err(1, "the size argument must be positive."));
    }
    if size == 0 {
        return list(vec![Value::List(items.to_vec())]);
    }
    list(items.chunks(size as usize).map(|c| Value::List(c.to_vec())).collect())
}

pub(crate) fn transpose(a: &Args) -> Result<Value, FuncError> {
    let mut out: IndexMap<String, Vec<Value>> = IndexMap::new();
    for (k, v) in sorted_entries(a.map(0)?) {
        let Some(items) = v.as_list() else {
            return Err(a.err(0, format!("the value of key \"{k}\" must be a list of strings.")));
        };
        for (i, item) in items.iter().enumerate() {
            let item = elem_string(item).map_err(|why| a.err(0, format!("element {i} of key \"{k}\" {why}")))?;
            out.entry(item).or_default().push(Value::string(k.as_str()));
        }
    }
    out.sort_keys();
    Ok(Value::Map(out.into_iter().map(|(k, v)| (k, Value::List(v))).collect()))
}

pub(crate) fn one(a: &Args) -> Result<Value, FuncError> {
    match a.list(0)? {
        [] => Ok(Value::Null),
        [v] => Ok(v.clone()),
        _ => Err(a.err(0, "must be a list, set, or tuple value with either zero or one elements.")),
    }
}

/// One element of `alltrue`/`anytrue`'s list: `None` when unknown, and null as false.
fn bool_elem(a: &Args, i: usize, v: &Value) -> Result<Option<bool>, FuncError> {
    match v.unmark().0 {
        Value::Unknown => Ok(None),
        Value::Null => Ok(Some(false)),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s == "true" => Ok(Some(true)),
        Value::String(s) if s == "false" => Ok(Some(false)),
        Value::List(_) | Value::Set(_) | Value::Map(_) if !v.is_wholly_known() => Ok(None),
        _ => Err(a.err(0, format!("element {i} must be a bool."))),
    }
}

fn mark_if(v: Value, sensitive: bool) -> Value {
    if sensitive { v.sensitive() } else { v }
}

/// True when every element is true; the first false decides, an unknown before it makes the
/// answer unknown, and null counts as false, as in Terraform.
pub(crate) fn alltrue(a: &Args) -> Result<Value, FuncError> {
    let items = a.list(0)?;
    let sensitive = items.iter().any(Value::contains_sensitive);
    for (i, v) in items.iter().enumerate() {
        match bool_elem(a, i, v)? {
            None => return Ok(mark_if(Value::Unknown, sensitive)),
            Some(false) => return Ok(mark_if(Value::Bool(false), sensitive)),
            Some(true) => {}
        }
    }
    Ok(mark_if(Value::Bool(true), sensitive))
}

/// True when any element is true, even beside unknown ones; otherwise unknown if any element
/// is unknown.
pub(crate) fn anytrue(a: &Args) -> Result<Value, FuncError> {
    let items = a.list(0)?;
    let sensitive = items.iter().any(Value::contains_sensitive);
    let mut unknown = false;
    for (i, v) in items.iter().enumerate() {
        match bool_elem(a, i, v)? {
            None => unknown = true,
            Some(true) => return Ok(mark_if(Value::Bool(true), sensitive)),
            Some(false) => {}
        }
    }
    Ok(mark_if(if unknown { Value::Unknown } else { Value::Bool(false) }, sensitive))
}

/// `sum` as Terraform 1.0.3 computes it: the first element is the starting total and must
/// already be a number (a string there fails the call, as Terraform's addition panics on it);
/// later elements are converted to numbers; a null anywhere is refused.
pub(crate) fn sum(a: &Args) -> Result<Value, FuncError> {
    let items = a.list(0)?;
    let not_numbers = || a.err(0, "argument must be list, set, or tuple of number values.");
    let Some((first, rest)) = items.split_first() else {
        return Err(a.err(0, "cannot sum an empty list."));
    };
    let mut total = match first {
        Value::Number(n) => n.clone(),
        Value::Null => return Err(not_numbers()),
        other => {
            return Err(FuncError::call(format!("type mismatch: want number but value 0 is {}.", other.type_name())));
        }
    };
    for v in rest {
        let n = match v {
            Value::Number(n) => n.clone(),
            Value::String(s) => super::convert::parse_number(s).ok_or_else(not_numbers)?,
            _ => return Err(not_numbers()),
        };
        total = total.add(&n).ok_or_else(|| FuncError::call("can't compute sum of opposing infinities"))?;
    }
    Ok(Value::Number(total))
}

pub(crate) fn matchkeys(a: &Args) -> Result<Value, FuncError> {
    let (vals, keys, search) = (a.list(0)?, a.list(1)?, a.list(2)?);
    if vals.len() != keys.len() {
        return Err(a.err(1, "the length of keys and values must be equal."));
    }
    list(vals.iter().zip(keys).filter(|(_, k)| has(search, k)).map(|(v, _)| v.clone()).collect())
}

/// Checks a set-product size before building it.
pub(crate) fn check_product(size: usize) -> Result<(), FuncError> {
    if size > MAX_PRODUCT {
        return Err(FuncError::call(format!("The product would have more than {MAX_PRODUCT} elements.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use tarn_sdk::Value;

    /// Terraform's list-or-tuple functions refuse a set (messages as Terraform 1.0.3 gives them);
    /// its `list(T)` parameters take one as the list of its elements.
    #[test]
    fn sets_where_lists_are_required() {
        let set = ss(&["a", "b"]);
        assert_eq!(
            err("element", vec![set.clone(), n(1.0)]),
            "Invalid value for \"list\" parameter: cannot read elements from set of string."
        );
        assert_eq!(
            err("concat", vec![set.clone(), sl(&["c"])]),
            "Invalid value for \"seqs\" parameter: all arguments must be lists or tuples; got set of string."
        );
        assert!(err("index", vec![set.clone(), s("a")]).contains("argument must be a list or tuple."));
        assert!(err("slice", vec![set.clone(), n(0.0), n(1.0)]).contains("cannot slice a set"));
        assert!(err("zipmap", vec![sl(&["x", "y"]), set.clone()]).contains("values argument must be a list or tuple"));
        assert_eq!(err("coalescelist", vec![set.clone()]), "coalescelist arguments must be lists or tuples.");
        assert_eq!(ok("zipmap", vec![set.clone(), sl(&["x", "y"])]), m(vec![("a", s("x")), ("b", s("y"))]));
        assert_eq!(ok("length", vec![set.clone()]), n(2.0));
        assert_eq!(ok("contains", vec![set.clone(), s("b")]), b(true));
        assert_eq!(ok("reverse", vec![set.clone()]), sl(&["b", "a"]));
        assert_eq!(ok("sort", vec![ss(&["b", "a"])]), sl(&["a", "b"]));
        assert_eq!(ok("distinct", vec![set.clone()]), sl(&["a", "b"]));
        assert_eq!(ok("flatten", vec![l(vec![set.clone(), sl(&["c"])])]), sl(&["a", "b", "c"]));
        assert_eq!(ok("join", vec![s(","), set.clone()]), s("a,b"));
        assert_eq!(ok("one", vec![ss(&["a"])]), s("a"));
        assert_eq!(ok("compact", vec![ss(&["", "a"])]), sl(&["a"]));
    }

    #[test]
    fn length_counts_chars_and_elements() {
        assert_eq!(ok("length", vec![s("héllo")]), n(5.0));
        assert_eq!(ok("length", vec![s("e\u{301}👍🏽")]), n(2.0));
        assert_eq!(ok("length", vec![sl(&["a", "b"])]), n(2.0));
        assert_eq!(ok("length", vec![m(vec![("a", n(1.0))])]), n(1.0));
        assert_eq!(
            err("length", vec![n(5.0)]),
            "Invalid value for \"value\" parameter: argument must be a string, a collection type, or a structural type."
        );
    }

    #[test]
    fn concat_contains_distinct() {
        assert_eq!(ok("concat", vec![sl(&["a"]), sl(&["b", "c"])]), sl(&["a", "b", "c"]));
        assert_eq!(ok("concat", vec![]), l(vec![]));
        assert_eq!(ok("contains", vec![sl(&["a", "b"]), s("b")]), b(true));
        assert_eq!(ok("contains", vec![sl(&["a", "b"]), s("c")]), b(false));
        let u = Value::Unknown;
        assert_eq!(ok("contains", vec![l(vec![s("a"), u.clone()]), s("a")]), b(true));
        assert_eq!(ok("contains", vec![l(vec![s("a"), u.clone()]), s("z")]), u.clone());
        assert_eq!(ok("contains", vec![sl(&["a"]), u]), Value::Unknown);
        assert_eq!(ok("contains", vec![l(vec![s("a").sensitive()]), s("a")]), b(true).sensitive());
        assert_eq!(ok("distinct", vec![sl(&["b", "a", "b", "c", "a"])]), sl(&["b", "a", "c"]));
    }

    #[test]
    fn element_wraps() {
        assert_eq!(ok("element", vec![sl(&["a", "b", "c"]), n(1.0)]), s("b"));
        assert_eq!(ok("element", vec![sl(&["a", "b", "c"]), n(3.0)]), s("a"));
        assert_eq!(ok("element", vec![l(vec![Value::Unknown, s("b")]), n(1.0)]), s("b"));
        assert!(err("element", vec![sl(&[]), n(0.0)]).contains("empty list"));
        assert!(err("element", vec![sl(&["a"]), n(-1.0)]).contains("negative index"));
    }

    #[test]
    fn flatten_index_keys_values() {
        assert_eq!(
            ok("flatten", vec![l(vec![sl(&["a", "b"]), l(vec![]), l(vec![sl(&["c"])]), s("d")])]),
            sl(&["a", "b", "c", "d"])
        );
        assert_eq!(
            ok("flatten", vec![l(vec![l(vec![m(vec![("x", Value::Unknown)])])])]),
            l(vec![m(vec![("x", Value::Unknown)])])
        );
        assert_eq!(ok("flatten", vec![l(vec![sl(&["a"]), Value::Unknown])]), Value::Unknown);
        assert_eq!(
            ok("flatten", vec![l(vec![sl(&["a", "b"]).sensitive(), sl(&["c"])])]),
            l(vec![s("a").sensitive(), s("b").sensitive(), s("c")])
        );
        assert_eq!(ok("index", vec![sl(&["a", "b", "c"]), s("b")]), n(1.0));
        assert!(err("index", vec![sl(&["a"]), s("z")]).contains("not an element"));
        assert!(err("index", vec![sl(&[]), s("z")]).contains("cannot search an empty list"));
        assert_eq!(ok("index", vec![l(vec![s("a"), Value::Unknown]), s("a")]), n(0.0));
        assert_eq!(ok("index", vec![l(vec![Value::Unknown, s("a")]), s("a")]), Value::Unknown);
        let mp = m(vec![("b", n(2.0)), ("a", n(1.0)), ("c", n(3.0))]);
        assert_eq!(ok("keys", vec![mp.clone()]), sl(&["a", "b", "c"]));
        assert_eq!(ok("values", vec![mp]), l(vec![n(1.0), n(2.0), n(3.0)]));
    }

    #[test]
    fn lookup_with_and_without_default() {
        let mp = m(vec![("a", s("ay")), ("b", s("bee"))]);
        assert_eq!(ok("lookup", vec![mp.clone(), s("a")]), s("ay"));
        assert_eq!(ok("lookup", vec![mp.clone(), s("c"), s("what?")]), s("what?"));
        assert_eq!(
            err("lookup", vec![mp.clone(), s("c")]),
            "Invalid value for \"inputMap\" parameter: the map has no element with key \"c\", and no default was given."
        );
        assert!(err("lookup", vec![mp, s("a"), s("x"), s("y")]).contains("takes 2 or 3 arguments, but 4 were given"));
    }

    #[test]
    fn merge_later_wins_and_skips_null() {
        assert_eq!(
            ok("merge", vec![m(vec![("a", n(1.0)), ("b", n(2.0))]), Value::Null, m(vec![("b", n(3.0))])]),
            m(vec![("a", n(1.0)), ("b", n(3.0))])
        );
        assert_eq!(ok("merge", vec![]), m(vec![]));
        assert_eq!(ok("merge", vec![Value::Null, Value::Null]), Value::Null);
        // A plain error in Terraform 1.0.3, reported at the call (difftest corpus: `merge([1])`).
        let e = call("merge", vec![m(vec![]), sl(&[])]).unwrap_err();
        assert_eq!(e.arg, None);
        assert!(e.message.contains("must be maps or objects, got \"list\""));
    }

    #[test]
    fn range_forms() {
        assert_eq!(ok("range", vec![n(3.0)]), l(vec![n(0.0), n(1.0), n(2.0)]));
        assert_eq!(ok("range", vec![n(1.0), n(4.0)]), l(vec![n(1.0), n(2.0), n(3.0)]));
        assert_eq!(ok("range", vec![n(4.0), n(1.0)]), l(vec![n(4.0), n(3.0), n(2.0)]));
        assert_eq!(ok("range", vec![n(0.0), n(1.0), n(0.25)]), l(vec![n(0.0), n(0.25), n(0.5), n(0.75)]));
        assert_eq!(ok("range", vec![n(1.0), n(1.0)]), l(vec![]));
        assert_eq!(
            err("range", vec![n(1.0), n(4.0), n(-1.0)]),
            "Invalid value for \"params\" parameter: end must be less than start when step is negative."
        );
        assert!(err("range", vec![n(4.0), n(1.0), n(1.0)]).contains("end must be greater than start"));
        assert_eq!(ok("range", vec![n(-2.0)]), l(vec![n(0.0), n(-1.0)]));
        assert!(err("range", vec![n(0.0), n(1.0), n(0.0)]).contains("step must not be zero"));
        assert!(err("range", vec![n(1e12)]).contains("More than 1024 values"));
        assert!(err("range", vec![]).contains("takes 1 to 3 arguments"));
    }

    #[test]
    fn reverse_slice_sort() {
        assert_eq!(ok("reverse", vec![sl(&["a", "b"])]), sl(&["b", "a"]));
        assert_eq!(ok("slice", vec![sl(&["a", "b", "c", "d"]), n(1.0), n(3.0)]), sl(&["b", "c"]));
        assert_eq!(ok("slice", vec![sl(&["a"]), n(1.0), n(1.0)]), sl(&[]));
        assert!(
            err("slice", vec![sl(&["a"]), n(0.0), n(2.0)]).contains("end index must not be greater than the length")
        );
        assert!(
            err("slice", vec![sl(&["a"]), n(1.0), n(0.0)]).contains("start index must not be greater than end index")
        );
        assert!(err("slice", vec![sl(&["a"]), n(-1.0), n(0.0)]).contains("less than zero"));
        assert!(
            err("slice", vec![sl(&["a"]), n(2.0), n(1.0)]).contains("start index must not be greater than the length")
        );
        assert!(err("slice", vec![sl(&["a"]), n(0.0), n(-1.0)]).contains("end index must not be less than zero"));
        assert_eq!(ok("sort", vec![sl(&["e", "d", "a", "x"])]), sl(&["a", "d", "e", "x"]));
        assert_eq!(ok("sort", vec![l(vec![n(3.0), n(10.0), n(1.0)])]), sl(&["1", "10", "3"]));
    }

    #[test]
    fn zipmap_pairs() {
        assert_eq!(
            ok("zipmap", vec![sl(&["a", "b"]), l(vec![n(1.0), Value::Unknown])]),
            m(vec![("a", n(1.0)), ("b", Value::Unknown)])
        );
        assert_eq!(ok("zipmap", vec![l(vec![Value::Unknown]), sl(&["x"])]), Value::Unknown);
        assert!(
            err("zipmap", vec![sl(&["a"]), sl(&[])]).contains("number of keys (1) does not match number of values (0)")
        );
    }

    #[test]
    fn coalesce_rules() {
        assert_eq!(ok("coalesce", vec![s(""), Value::Null, s("b"), s("c")]), s("b"));
        assert_eq!(ok("coalesce", vec![n(1.0), n(2.0)]), n(1.0));
        assert_eq!(ok("coalesce", vec![n(1.0), s("a")]), s("1"));
        assert_eq!(ok("coalesce", vec![s("a"), Value::Unknown]), s("a"));
        assert_eq!(ok("coalesce", vec![Value::Null, Value::Unknown, s("a")]), Value::Unknown);
        assert_eq!(ok("coalesce", vec![s("a"), s("b").sensitive()]), s("a").sensitive());
        assert_eq!(err("coalesce", vec![s(""), Value::Null]), "No non-null, non-empty-string arguments were given.");
        assert_eq!(err("coalesce", vec![s("a"), sl(&["b"])]), "All arguments must have the same type.");
        assert_eq!(ok("coalescelist", vec![sl(&[]), sl(&["c", "d"])]), sl(&["c", "d"]));
        assert!(err("coalescelist", vec![sl(&[])]).contains("No non-null"));
    }

    #[test]
    fn compact_chunklist_transpose_one() {
        assert_eq!(ok("compact", vec![l(vec![s("a"), s(""), Value::Null, s("b")])]), sl(&["a", "b"]));
        assert_eq!(ok("compact", vec![l(vec![s("a"), Value::Unknown])]), Value::Unknown);
        assert_eq!(ok("chunklist", vec![sl(&["a", "b", "c"]), n(2.0)]), l(vec![sl(&["a", "b"]), sl(&["c"])]));
        assert_eq!(ok("chunklist", vec![sl(&["a"]), n(0.0)]), l(vec![sl(&["a"])]));
        assert_eq!(ok("chunklist", vec![sl(&[]), n(0.0)]), l(vec![]));
        assert!(err("chunklist", vec![sl(&["a"]), n(-1.0)]).contains("must be positive"));
        assert_eq!(
            ok("transpose", vec![m(vec![("a", sl(&["1", "2"])), ("b", sl(&["2", "3"]))])]),
            m(vec![("1", sl(&["a"])), ("2", sl(&["a", "b"])), ("3", sl(&["b"]))])
        );
        assert_eq!(ok("one", vec![sl(&[])]), Value::Null);
        assert_eq!(ok("one", vec![sl(&["x"])]), s("x"));
        assert!(err("one", vec![sl(&["x", "y"])]).contains("either zero or one"));
    }

    #[test]
    fn aggregates() {
        assert_eq!(ok("alltrue", vec![l(vec![b(true), s("true")])]), b(true));
        assert_eq!(ok("alltrue", vec![l(vec![])]), b(true));
        assert_eq!(ok("anytrue", vec![l(vec![])]), b(false));
        assert_eq!(ok("anytrue", vec![l(vec![b(false), b(true)])]), b(true));
        assert!(err("alltrue", vec![l(vec![n(1.0)])]).contains("element 0 must be a bool"));
        let u = Value::Unknown;
        assert_eq!(ok("alltrue", vec![l(vec![b(false), u.clone()])]), b(false));
        assert_eq!(ok("alltrue", vec![l(vec![u.clone(), b(false)])]), u.clone());
        assert_eq!(ok("alltrue", vec![l(vec![b(true), Value::Null])]), b(false));
        assert_eq!(ok("anytrue", vec![l(vec![u.clone(), b(true)])]), b(true));
        assert_eq!(ok("anytrue", vec![l(vec![u.clone(), b(false)])]), u);
        assert_eq!(ok("anytrue", vec![l(vec![b(true).sensitive()])]), b(true).sensitive());
        assert_eq!(ok("sum", vec![l(vec![n(1.0), n(2.5), s("3")])]), n(6.5));
        assert!(err("sum", vec![l(vec![])]).contains("cannot sum an empty list"));
        assert_eq!(
            ok("matchkeys", vec![sl(&["i-1", "i-2", "i-3"]), sl(&["us-a", "us-b", "us-a"]), sl(&["us-a"])]),
            sl(&["i-1", "i-3"])
        );
        assert!(err("matchkeys", vec![sl(&["a"]), sl(&[]), sl(&[])]).contains("must be equal"));
    }
}
