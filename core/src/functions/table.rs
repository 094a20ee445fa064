//! The declaration of every function: name, parameters (name, type, nullability), optional and
//! variadic tails, and mark policy. Dispatch reads only this table for arity, type and mark
//! handling, so these rules are uniform. Implementations live in the family files.

use super::crypto;
use super::{Args, FuncError};
use super::{
    collection as c, convert as cv, datetime as t, encoding as e, format as fm, fs, hash as h, net, numeric as nu, set,
    string as s, yaml,
};
use tarn_sdk::Value;

/// A parameter's declared type. Primitives convert into each other as Terraform converts them;
/// bool parameters do not exist in Terraform's library outside element checks, so none here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Ty {
    Any,
    String,
    Number,
    /// `list(T)`: a set converts to the list of its elements.
    List,
    /// A list or tuple, which Terraform declares as any type and checks itself: the set
    /// reaches the function, which refuses it with Terraform's message (`Args::seq`).
    Seq,
    /// A list, tuple or set, reaching the function as given (the set functions, whose result
    /// depends on whether an argument is a set).
    Coll,
    Map,
}

impl Ty {
    pub fn describe(self) -> &'static str {
        match self {
            Ty::Any => "a value",
            Ty::String => "string",
            Ty::Number => "number",
            Ty::List => "list",
            Ty::Seq => "list or tuple",
            Ty::Coll => "list or set",
            Ty::Map => "map",
        }
    }
}

/// How dispatch treats the unknown and sensitive marks of the arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Marks {
    /// Any unknown at any depth gives an unknown result; any sensitive value at any depth makes
    /// the result sensitive, and the function sees unmarked values.
    Deep,
    /// Only top-level marks are handled by dispatch; elements reach the function marked, and
    /// it moves them into its result in place.
    Shallow,
    /// The function sees the arguments as given and handles marks itself.
    Raw,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub name: &'static str,
    pub ty: Ty,
    pub nullable: bool,
}

pub(crate) type Imp = fn(&Args) -> Result<Value, FuncError>;

pub(crate) struct Spec {
    pub name: &'static str,
    pub params: &'static [Param],
    pub optional: &'static [Param],
    pub variadic: Option<Param>,
    pub marks: Marks,
    pub imp: Imp,
}

impl Spec {
    /// The declaration of argument `i`, wherever it falls (fixed, optional or variadic).
    pub fn param(&self, i: usize) -> Option<&Param> {
        self.params.get(i).or_else(|| self.optional.get(i.checked_sub(self.params.len())?)).or(self.variadic.as_ref())
    }

    const fn shallow(mut self) -> Spec {
        self.marks = Marks::Shallow;
        self
    }

    const fn raw(mut self) -> Spec {
        self.marks = Marks::Raw;
        self
    }

    const fn opt(mut self, optional: &'static [Param]) -> Spec {
        self.optional = optional;
        self
    }
}

const fn p(name: &'static str, ty: Ty) -> Param {
    Param { name, ty, nullable: false }
}

/// A parameter that accepts null.
const fn pn(name: &'static str, ty: Ty) -> Param {
    Param { name, ty, nullable: true }
}

const fn f(name: &'static str, params: &'static [Param], imp: Imp) -> Spec {
    Spec { name, params, optional: &[], variadic: None, marks: Marks::Deep, imp }
}

const fn fv(name: &'static str, params: &'static [Param], variadic: Param, imp: Imp) -> Spec {
    Spec { name, params, optional: &[], variadic: Some(variadic), marks: Marks::Deep, imp }
}

use Ty::{Any, Coll, List, Map, Number as N, Seq, String as S};

const STR: &[Param] = &[p("str", S)];
const PATH: &[Param] = &[p("path", S)];
const LIST: &[Param] = &[p("list", List)];
const NUM: &[Param] = &[p("num", N)];
const PREFIX: &[Param] = &[p("prefix", S)];

pub(crate) static TABLE: &[Spec] = &[
    // string
    fv("format", &[p("format", S)], pn("args", Any), fm::format),
    fv("formatlist", &[p("format", S)], pn("args", Any), fm::formatlist).shallow(),
    fv("join", &[p("separator", S)], p("lists", List), s::join),
    f("split", &[p("separator", S), p("str", S)], s::split),
    f("lower", STR, s::lower),
    f("upper", STR, s::upper),
    f("title", STR, s::title),
    f("trim", &[p("str", S), p("cutset", S)], s::trim),
    f("trimspace", STR, s::trimspace),
    f("trimprefix", &[p("str", S), p("prefix", S)], s::trimprefix),
    f("trimsuffix", &[p("str", S), p("suffix", S)], s::trimsuffix),
    f("replace", &[p("str", S), p("substr", S), p("replace", S)], s::replace),
    f("substr", &[p("str", S), p("offset", N), p("length", N)], s::substr),
    f("strrev", STR, s::strrev),
    f("chomp", STR, s::chomp),
    f("indent", &[p("spaces", N), p("str", S)], s::indent),
    f("startswith", &[p("str", S), p("prefix", S)], s::startswith),
    f("endswith", &[p("str", S), p("suffix", S)], s::endswith),
    f("strcontains", &[p("str", S), p("substr", S)], s::strcontains),
    f("regex", &[p("pattern", S), p("string", S)], s::regex),
    f("regexall", &[p("pattern", S), p("string", S)], s::regexall),
    // collection
    f("length", &[p("value", Any)], c::length).shallow(),
    fv("concat", &[], p("seqs", Seq), c::concat).shallow(),
    f("contains", &[p("list", List), pn("value", Any)], c::contains).shallow(),
    f("distinct", LIST, c::distinct),
    f("element", &[p("list", Seq), p("index", N)], c::element).shallow(),
    f("flatten", LIST, c::flatten).shallow(),
    f("index", &[p("list", Seq), pn("value", Any)], c::index).shallow(),
    f("keys", &[p("inputMap", Map)], c::keys).shallow(),
    f("values", &[p("mapping", Map)], c::values).shallow(),
    f("lookup", &[p("inputMap", Map), p("key", S)], c::lookup).shallow().opt(&[pn("default", Any)]),
    fv("merge", &[], pn("maps", Any), c::merge).shallow(),
    f("range", &[p("params", N)], c::range).opt(&[p("params", N), p("params", N)]),
    f("reverse", LIST, c::reverse).shallow(),
    f("slice", &[p("list", Seq), p("start_index", N), p("end_index", N)], c::slice).shallow(),
    f("sort", LIST, c::sort),
    f("zipmap", &[p("keys", List), p("values", Seq)], c::zipmap).shallow(),
    fv("coalesce", &[pn("vals", Any)], pn("vals", Any), c::coalesce).raw(),
    fv("coalescelist", &[pn("vals", Any)], pn("vals", Any), c::coalescelist).shallow(),
    f("compact", LIST, c::compact),
    f("chunklist", &[p("list", List), p("size", N)], c::chunklist).shallow(),
    fv("setunion", &[p("first_set", Coll)], p("other_sets", Coll), set::setunion),
    fv("setintersection", &[p("first_set", Coll)], p("other_sets", Coll), set::setintersection),
    f("setsubtract", &[p("a", Coll), p("b", Coll)], set::setsubtract),
    fv("setproduct", &[p("sets", Coll), p("sets", Coll)], p("sets", Coll), set::setproduct),
    f("transpose", &[p("values", Map)], c::transpose),
    f("one", LIST, c::one).shallow(),
    f("alltrue", LIST, c::alltrue).shallow(),
    f("anytrue", LIST, c::anytrue).shallow(),
    f("sum", LIST, c::sum),
    f("matchkeys", &[p("values", List), p("keys", List), p("searchset", List)], c::matchkeys),
    // numeric
    f("abs", NUM, nu::abs),
    f("ceil", NUM, nu::ceil),
    f("floor", NUM, nu::floor),
    fv("max", &[p("numbers", N)], p("numbers", N), nu::max),
    fv("min", &[p("numbers", N)], p("numbers", N), nu::min),
    f("pow", &[p("num", N), p("power", N)], nu::pow),
    f("log", &[p("num", N), p("base", N)], nu::log),
    f("signum", NUM, nu::signum),
    f("parseint", &[p("number", S), p("base", N)], nu::parseint),
    // type conversion and marks
    f("tostring", &[pn("v", Any)], cv::tostring),
    f("tonumber", &[pn("v", Any)], cv::tonumber),
    f("tobool", &[pn("v", Any)], cv::tobool),
    f("tolist", &[pn("v", Any)], cv::tolist).shallow(),
    f("toset", &[pn("v", Any)], cv::toset).shallow(),
    f("tomap", &[pn("v", Any)], cv::tomap).shallow(),
    f("sensitive", &[pn("value", Any)], cv::sensitive).raw(),
    f("nonsensitive", &[pn("value", Any)], cv::nonsensitive).raw(),
    f("issensitive", &[pn("value", Any)], cv::issensitive).raw(),
    // encoding
    f("jsonencode", &[pn("val", Any)], e::jsonencode),
    f("jsondecode", STR, e::jsondecode),
    f("yamlencode", &[pn("value", Any)], e::yamlencode),
    f("yamldecode", &[p("src", S)], yaml::yamldecode),
    f("base64encode", STR, e::base64encode),
    f("base64gzip", STR, e::base64gzip),
    f("base64decode", STR, e::base64decode),
    f("urlencode", STR, e::urlencode),
    f("urldecode", STR, e::urldecode),
    f("csvdecode", STR, e::csvdecode),
    f("textencodebase64", &[p("string", S), p("encoding", S)], e::textencodebase64),
    f("textdecodebase64", &[p("source", S), p("encoding", S)], e::textdecodebase64),
    // hashing
    f("md5", STR, h::md5),
    f("sha1", STR, h::sha1),
    f("sha256", STR, h::sha256),
    f("sha512", STR, h::sha512),
    f("base64sha256", STR, h::base64sha256),
    f("base64sha512", STR, h::base64sha512),
    f("uuid", &[], h::uuid),
    f("uuidv5", &[p("namespace", S), p("name", S)], h::uuidv5),
    fv("bcrypt", STR, p("cost", N), crypto::bcrypt),
    f("rsadecrypt", &[p("ciphertext", S), p("privatekey", S)], crypto::rsadecrypt),
    // filesystem
    f("file", PATH, fs::file),
    f("fileexists", PATH, fs::fileexists),
    f("filebase64", PATH, fs::filebase64),
    f("filemd5", PATH, fs::filemd5),
    f("filesha1", PATH, fs::filesha1),
    f("filesha256", PATH, fs::filesha256),
    f("filesha512", PATH, fs::filesha512),
    f("filebase64sha256", PATH, fs::filebase64sha256),
    f("filebase64sha512", PATH, fs::filebase64sha512),
    f("fileset", &[p("path", S), p("pattern", S)], fs::fileset),
    f("dirname", PATH, fs::dirname),
    f("basename", PATH, fs::basename),
    f("abspath", PATH, fs::abspath),
    f("pathexpand", PATH, fs::pathexpand),
    // IP network
    f("cidrhost", &[p("prefix", S), p("hostnum", N)], net::cidrhost),
    f("cidrnetmask", PREFIX, net::cidrnetmask),
    f("cidrsubnet", &[p("prefix", S), p("newbits", N), p("netnum", N)], net::cidrsubnet),
    fv("cidrsubnets", PREFIX, p("newbits", N), net::cidrsubnets),
    f("cidrcontains", &[p("containing_prefix", S), p("contained_ip_or_prefix", S)], net::cidrcontains),
    // time
    f("timestamp", &[], t::timestamp),
    f("formatdate", &[p("format", S), p("time", S)], t::formatdate),
    f("timeadd", &[p("timestamp", S), p("duration", S)], t::timeadd),
    f("timecmp", &[p("timestamp_a", S), p("timestamp_b", S)], t::timecmp),
];

pub(crate) fn lookup(name: &str) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.name == name)
}
