//! Conformance table: the examples of Terraform's function documentation, as data. Each row is
//! a function, its arguments as a JSON array and the expected result as JSON, or `!` followed
//! by a fragment of the expected error. One `check` drives every row and reports all failures.

use super::testutil::call;
use tarn_sdk::Value;

const EXAMPLES: &[(&str, &str, &str)] = &[
    // string
    ("chomp", r#"["hello\n"]"#, r#""hello""#),
    ("chomp", r#"["hello\r\n"]"#, r#""hello""#),
    ("endswith", r#"["hello world", "world"]"#, "true"),
    ("format", r#"["Hello, %s!", "Ander"]"#, r#""Hello, Ander!""#),
    ("format", r#"["There are %d lights", 4]"#, r#""There are 4 lights""#),
    ("format", r#"["%-10s|", "hi"]"#, r#""hi        |""#),
    (
        "formatlist",
        r#"["Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"]]"#,
        r#"["Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"]"#,
    ),
    (
        "formatlist",
        r#"["%s, %s!", "Salutations", ["Valentina", "Ander"]]"#,
        r#"["Salutations, Valentina!", "Salutations, Ander!"]"#,
    ),
    ("indent", r#"[2, "[\n  foo,\n  bar,\n]\n"]"#, r#""[\n    foo,\n    bar,\n  ]\n  ""#),
    ("join", r#"["-", ["foo", "bar", "baz"]]"#, r#""foo-bar-baz""#),
    ("join", r#"[", ", ["foo"]]"#, r#""foo""#),
    ("lower", r#"["HELLO"]"#, r#""hello""#),
    ("lower", r#"["АЛЛО!"]"#, r#""алло!""#),
    ("regex", r#"["[a-z]+", "53453453.345345aaabbbccc23454"]"#, r#""aaabbbccc""#),
    ("regex", r#"["^(\\d+)\\.(\\d+)$", "1.5"]"#, r#"["1", "5"]"#),
    ("regex", r#"["[a-z]+", "53453453.34534523454"]"#, "!did not match"),
    ("regexall", r#"["[a-z]+", "1234abcd5678efgh9"]"#, r#"["abcd", "efgh"]"#),
    ("replace", r#"["1 + 2 + 3", "+", "-"]"#, r#""1 - 2 - 3""#),
    ("replace", r#"["hello world", "/w.*d/", "everybody"]"#, r#""hello everybody""#),
    ("split", r#"[",", "foo,bar,baz"]"#, r#"["foo", "bar", "baz"]"#),
    ("split", r#"[",", "foo"]"#, r#"["foo"]"#),
    ("split", r#"[",", ""]"#, r#"[""]"#),
    ("startswith", r#"["hello world", "hello"]"#, "true"),
    ("startswith", r#"["hello world", "world"]"#, "false"),
    ("strcontains", r#"["hello world", "wor"]"#, "true"),
    ("strcontains", r#"["hello world", "wod"]"#, "false"),
    ("strrev", r#"["hello"]"#, r#""olleh""#),
    ("strrev", r#"["a ☃"]"#, r#""☃ a""#),
    ("substr", r#"["hello world", 1, 4]"#, r#""ello""#),
    ("substr", r#"["🤔🤷", 0, 1]"#, r#""🤔""#),
    ("substr", r#"["hello world", -5, -1]"#, r#""world""#),
    ("substr", r#"["hello world", 6, 10]"#, r#""world""#),
    ("title", r#"["hello world"]"#, r#""Hello World""#),
    ("trim", r#"["?!hello?!", "!?"]"#, r#""hello""#),
    ("trim", r#"["foobar", "far"]"#, r#""oob""#),
    ("trimprefix", r#"["helloworld", "hello"]"#, r#""world""#),
    ("trimsuffix", r#"["helloworld", "world"]"#, r#""hello""#),
    ("trimspace", r#"["  hello\n\n"]"#, r#""hello""#),
    ("upper", r#"["hello"]"#, r#""HELLO""#),
    ("upper", r#"["алло!"]"#, r#""АЛЛО!""#),
    // collection
    ("alltrue", r#"[["true", true]]"#, "true"),
    ("alltrue", r#"[[true, false]]"#, "false"),
    ("anytrue", r#"[["true"]]"#, "true"),
    ("anytrue", r#"[[]]"#, "false"),
    ("chunklist", r#"[["a", "b", "c", "d", "e"], 2]"#, r#"[["a", "b"], ["c", "d"], ["e"]]"#),
    ("chunklist", r#"[["a", "b", "c", "d", "e"], 1]"#, r#"[["a"], ["b"], ["c"], ["d"], ["e"]]"#),
    ("coalesce", r#"["a", "b"]"#, r#""a""#),
    ("coalesce", r#"["", "b"]"#, r#""b""#),
    ("coalesce", r#"[1, 2]"#, "1"),
    ("coalescelist", r#"[["a", "b"], ["c", "d"]]"#, r#"["a", "b"]"#),
    ("coalescelist", r#"[[], ["c", "d"]]"#, r#"["c", "d"]"#),
    ("compact", r#"[["a", "", "b", null, "c"]]"#, r#"["a", "b", "c"]"#),
    ("concat", r#"[["a", ""], ["b", "c"]]"#, r#"["a", "", "b", "c"]"#),
    ("contains", r#"[["a", "b", "c"], "a"]"#, "true"),
    ("contains", r#"[["a", "b", "c"], "d"]"#, "false"),
    ("distinct", r#"[["a", "b", "a", "c", "d", "b"]]"#, r#"["a", "b", "c", "d"]"#),
    ("element", r#"[["a", "b", "c"], 1]"#, r#""b""#),
    ("element", r#"[["a", "b", "c"], 3]"#, r#""a""#),
    ("flatten", r#"[[["a", "b"], [], ["c"]]]"#, r#"["a", "b", "c"]"#),
    ("flatten", r#"[[[["a", []], ["b"]], "c"]]"#, r#"["a", "b", "c"]"#),
    ("index", r#"[["a", "b", "c"], "b"]"#, "1"),
    ("keys", r#"[{"a": 1, "c": 2, "d": 3}]"#, r#"["a", "c", "d"]"#),
    ("length", r#"[[]]"#, "0"),
    ("length", r#"[["a", "b"]]"#, "2"),
    ("length", r#"[{"a": "b"}]"#, "1"),
    ("length", r#"["hello"]"#, "5"),
    ("length", r#"["👾🕹️"]"#, "2"),
    ("lookup", r#"[{"a": "ay", "b": "bee"}, "a", "what?"]"#, r#""ay""#),
    ("lookup", r#"[{"a": "ay", "b": "bee"}, "c", "what?"]"#, r#""what?""#),
    (
        "matchkeys",
        r#"[["i-123", "i-abc", "i-def"], ["us-west", "us-east", "us-east"], ["us-east"]]"#,
        r#"["i-abc", "i-def"]"#,
    ),
    ("merge", r#"[{"a": "b", "c": "d"}, {"e": "f", "c": "z"}]"#, r#"{"a": "b", "c": "z", "e": "f"}"#),
    ("one", r#"[[]]"#, "null"),
    ("one", r#"[["hello"]]"#, r#""hello""#),
    ("one", r#"[["hello", "goodbye"]]"#, "!either zero or one"),
    ("range", r#"[3]"#, "[0, 1, 2]"),
    ("range", r#"[1, 4]"#, "[1, 2, 3]"),
    ("range", r#"[1, 8, 2]"#, "[1, 3, 5, 7]"),
    ("range", r#"[1, 4, 0.5]"#, "[1, 1.5, 2, 2.5, 3, 3.5]"),
    ("range", r#"[4, 1]"#, "[4, 3, 2]"),
    ("range", r#"[10, 5, -2]"#, "[10, 8, 6]"),
    ("reverse", r#"[[1, 2, 3]]"#, "[3, 2, 1]"),
    ("setintersection", r#"[["a", "b"], ["b", "c"], ["b", "d"]]"#, r#"["b"]"#),
    (
        "setproduct",
        r#"[["development", "staging"], ["app1", "app2"]]"#,
        r#"[["development", "app1"], ["development", "app2"], ["staging", "app1"], ["staging", "app2"]]"#,
    ),
    ("setsubtract", r#"[["a", "b", "c"], ["a", "c"]]"#, r#"["b"]"#),
    ("setunion", r#"[["a", "b"], ["b", "c"], ["d"]]"#, r#"["a", "b", "c", "d"]"#),
    ("slice", r#"[["a", "b", "c", "d"], 1, 3]"#, r#"["b", "c"]"#),
    ("sort", r#"[["e", "d", "a", "x"]]"#, r#"["a", "d", "e", "x"]"#),
    ("sum", r#"[[10, 13, 6, 4.5]]"#, "33.5"),
    ("transpose", r#"[{"a": ["1", "2"], "b": ["2", "3"]}]"#, r#"{"1": ["a"], "2": ["a", "b"], "3": ["b"]}"#),
    ("values", r#"[{"a": 3, "c": 2, "d": 1}]"#, "[3, 2, 1]"),
    ("zipmap", r#"[["a", "b"], [1, 2]]"#, r#"{"a": 1, "b": 2}"#),
    // numeric
    ("abs", "[23]", "23"),
    ("abs", "[-12.4]", "12.4"),
    ("ceil", "[5.1]", "6"),
    ("floor", "[4.9]", "4"),
    ("log", "[50, 10]", "1.6989700043360185"),
    ("log", "[16, 2]", "4"),
    ("max", "[12, 54, 3]", "54"),
    ("min", "[12, 54, 3]", "3"),
    ("parseint", r#"["100", 10]"#, "100"),
    ("parseint", r#"["FF", 16]"#, "255"),
    ("parseint", r#"["-10", 16]"#, "-16"),
    ("parseint", r#"["zz", 36]"#, "1295"),
    ("parseint", r#"["12", 2]"#, "!cannot parse \"12\" as a base 2 integer"),
    ("pow", "[3, 2]", "9"),
    ("pow", "[4, 0]", "1"),
    ("signum", "[-13]", "-1"),
    ("signum", "[0]", "0"),
    // conversion
    ("tobool", r#"["true"]"#, "true"),
    ("tobool", r#"[null]"#, "null"),
    ("tobool", r#"["no"]"#, "!only the strings"),
    ("tolist", r#"[["a", "b", 3]]"#, r#"["a", "b", "3"]"#),
    ("tomap", r#"[{"a": "foo", "b": true}]"#, r#"{"a": "foo", "b": "true"}"#),
    ("tonumber", r#"["1"]"#, "1"),
    ("tonumber", r#"["no"]"#, "!cannot convert \"no\" to number"),
    ("toset", r#"[["c", "b", "b"]]"#, r#"["b", "c"]"#),
    ("tostring", r#"[true]"#, r#""true""#),
    ("tostring", r#"[["a"]]"#, "!cannot convert"),
    // encoding
    ("base64decode", r#"["SGVsbG8gV29ybGQ="]"#, r#""Hello World""#),
    ("base64encode", r#"["Hello World"]"#, r#""SGVsbG8gV29ybGQ=""#),
    ("base64gzip", r#"[""]"#, r#""H4sIAAAAAAAA/wMAAAAAAAAAAAA=""#),
    ("csvdecode", r#"["a,b,c\n1,2,3\n4,5,6"]"#, r#"[{"a": "1", "b": "2", "c": "3"}, {"a": "4", "b": "5", "c": "6"}]"#),
    ("jsondecode", r#"["{\"hello\": \"world\"}"]"#, r#"{"hello": "world"}"#),
    ("jsondecode", r#"["true"]"#, "true"),
    ("jsonencode", r#"[{"hello": "world"}]"#, r#""{\"hello\":\"world\"}""#),
    ("textdecodebase64", r#"["SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE"]"#, r#""Hello World""#),
    ("textencodebase64", r#"["Hello World", "UTF-16LE"]"#, r#""SABlAGwAbABvACAAVwBvAHIAbABkAA==""#),
    ("urlencode", r#"["Hello World!"]"#, r#""Hello+World%21""#),
    ("urlencode", r#"["☃"]"#, r#""%E2%98%83""#),
    ("urlencode", r#"["foo:bar@localhost?foo=bar&bar=baz"]"#, r#""foo%3Abar%40localhost%3Ffoo%3Dbar%26bar%3Dbaz""#),
    ("yamldecode", r#"["hello: world"]"#, r#"{"hello": "world"}"#),
    ("yamldecode", r#"["true"]"#, "true"),
    ("yamldecode", r#"["{a: &foo [1, 2, 3], b: *foo}"]"#, r#"{"a": [1, 2, 3], "b": [1, 2, 3]}"#),
    ("yamlencode", r#"[{"a": "b", "c": "d"}]"#, r#""\"a\": \"b\"\n\"c\": \"d\"\n""#),
    // hashing
    ("base64sha256", r#"["hello world"]"#, r#""uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=""#),
    ("md5", r#"["hello world"]"#, r#""5eb63bbbe01eeed093cb22bb8f5acdc3""#),
    ("sha1", r#"["hello world"]"#, r#""2aae6c35c94fcfb415dbe95f408b9ce91ee846ed""#),
    ("sha256", r#"["hello world"]"#, r#""b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9""#),
    ("uuidv5", r#"["dns", "www.terraform.io"]"#, r#""a5008fae-b28c-5ba5-96cd-82b4c53552d6""#),
    ("uuidv5", r#"["x500", "CN=Example,C=GB"]"#, r#""84e09961-4aa4-57f8-95b7-03edb1073253""#),
    // filesystem paths (no IO)
    ("basename", r#"["foo/bar/baz.txt"]"#, r#""baz.txt""#),
    ("dirname", r#"["foo/bar/baz.txt"]"#, r#""foo/bar""#),
    // IP network
    ("cidrhost", r#"["10.12.112.0/20", 16]"#, r#""10.12.112.16""#),
    ("cidrhost", r#"["10.12.112.0/20", 268]"#, r#""10.12.113.12""#),
    ("cidrhost", r#"["fd00:fd12:3456:7890:00a2::/72", 34]"#, r#""fd00:fd12:3456:7890::22""#),
    ("cidrnetmask", r#"["172.16.0.0/12"]"#, r#""255.240.0.0""#),
    ("cidrsubnet", r#"["172.16.0.0/12", 4, 2]"#, r#""172.18.0.0/16""#),
    ("cidrsubnet", r#"["10.1.2.0/24", 4, 15]"#, r#""10.1.2.240/28""#),
    ("cidrsubnet", r#"["fd00:fd12:3456:7890::/56", 16, 162]"#, r#""fd00:fd12:3456:7800:a200::/72""#),
    (
        "cidrsubnets",
        r#"["10.1.0.0/16", 4, 4, 8, 4]"#,
        r#"["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"]"#,
    ),
    // time
    ("formatdate", r#"["DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z"]"#, r#""02 Jan 2018 23:12 UTC""#),
    (
        "formatdate",
        r#"["EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z"]"#,
        r#""Tuesday, 02-Jan-18 23:12:01 UTC""#,
    ),
    (
        "formatdate",
        r#"["EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00"]"#,
        r#""Tue, 02 Jan 2018 23:12:01 -0800""#,
    ),
    ("formatdate", r#"["MMM DD, YYYY", "2018-01-02T23:12:01Z"]"#, r#""Jan 02, 2018""#),
    ("formatdate", r#"["HH:mmaa", "2018-01-02T23:12:01Z"]"#, r#""11:12pm""#),
    ("timeadd", r#"["2017-11-22T00:00:00Z", "10m"]"#, r#""2017-11-22T00:10:00Z""#),
    ("timecmp", r#"["2017-11-22T00:00:00Z", "2017-11-22T00:00:00Z"]"#, "0"),
    ("timecmp", r#"["2017-11-22T00:00:00Z", "2017-11-22T01:00:00Z"]"#, "-1"),
    ("timecmp", r#"["2017-11-22T01:00:00+01:00", "2017-11-22T00:00:00Z"]"#, "0"),
];

fn json(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(text).map(|j| Value::from_json(&j)).map_err(|e| format!("{text}: {e}"))
}

/// Equality, with numbers compared to within rounding: serde_json's default float parser may
/// be one unit in the last place away from Rust's.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.to_f64(), y.to_f64());
            (x - y).abs() <= 1e-12 * x.abs().max(1.0)
        }
        // The documented results are JSON, which has no sets: a set matches the array of its
        // elements.
        (Value::List(x) | Value::Set(x), Value::List(y) | Value::Set(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| close(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

/// Runs one row; `None` when it behaves as documented.
fn check(name: &str, args: &str, want: &str) -> Option<String> {
    let args = match json(args) {
        Ok(Value::List(items)) => items,
        other => return Some(format!("{name}: bad argument fixture {other:?}")),
    };
    let got = call(name, args.clone());
    match (want.strip_prefix('!'), got) {
        (Some(fragment), Err(e)) if e.message.contains(fragment) => None,
        (Some(fragment), other) => Some(format!("{name}{args:?}: want error containing {fragment:?}, got {other:?}")),
        (None, Ok(v)) if json(want).is_ok_and(|w| close(&w, &v)) => None,
        (None, other) => Some(format!("{name}{args:?}: want {want}, got {other:?}")),
    }
}

#[test]
fn terraform_documentation_examples() {
    let failures: Vec<String> = EXAMPLES.iter().filter_map(|(n, a, w)| check(n, a, w)).collect();
    assert!(failures.is_empty(), "{} of {} examples differ:\n{}", failures.len(), EXAMPLES.len(), failures.join("\n"));
}
