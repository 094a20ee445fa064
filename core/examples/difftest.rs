//! The generated differential run: random well-typed expressions over the function table,
//! evaluated by tarn and by Terraform 1.0.3 (one batch, see tests/engine/difftest/harness.rs),
//! printing the agreement rate and the first disagreements. Not part of the test suite: run it
//! with `scripts/difftest.sh [SEED] [COUNT]` (defaults: seed 21, 400 expressions). The same seed
//! gives the same expressions, so a disagreement can be replayed.

#[path = "../tests/engine/difftest/harness.rs"]
mod harness;

/// xorshift64*: small, seedable, reproducible across platforms.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Num,
    Bool,
    ListStr,
    ListNum,
    MapStr,
}

const STRS: &[&str] = &[
    r#""""#,
    r#""a""#,
    r#""Hello World""#,
    r#""straße""#,
    r#""ǆemal""#,
    r#""  pad  ""#,
    r#""yes""#,
    r#""1""#,
    r#""10.5""#,
    r#""a,b,c""#,
    r#""héllo wörld""#,
    r#""İstanbul""#,
    r#""x-y_z""#,
    r#""👍""#,
    r#""true""#,
];
const NUMS: &[&str] = &["0", "1", "2", "-3", "2.5", "0.1", "0.2", "7", "100", "9007199254740993", "1e20", "-0.5", "3"];
const SMALL: &[&str] = &["0", "1", "2", "3"];

fn expr(r: &mut Rng, ty: Ty, depth: usize) -> String {
    let leaf = depth == 0 || r.below(4) == 0;
    match ty {
        Ty::Str if leaf => r.pick(STRS).to_string(),
        Ty::Num if leaf => r.pick(NUMS).to_string(),
        Ty::Bool if leaf => r.pick(&["true", "false"]).to_string(),
        Ty::ListStr if leaf => format!("[{}, {}]", r.pick(STRS), r.pick(STRS)),
        Ty::ListNum if leaf => format!("[{}, {}, {}]", r.pick(NUMS), r.pick(NUMS), r.pick(NUMS)),
        Ty::MapStr if leaf => format!("{{a = {}, b = {}}}", r.pick(STRS), r.pick(STRS)),
        _ => {
            let d = depth - 1;
            let choice = r.below(16);
            let mut g = |t: Ty| expr(r, t, d);
            match ty {
                Ty::Str => match choice % 16 {
                    0 => format!("upper({})", g(Ty::Str)),
                    1 => format!("lower({})", g(Ty::Str)),
                    2 => format!("title({})", g(Ty::Str)),
                    3 => format!("join(\"-\", {})", g(Ty::ListStr)),
                    4 => format!("format(\"%s=%v\", {}, {})", g(Ty::Str), g(Ty::Num)),
                    5 => format!("replace({}, \"a\", {})", g(Ty::Str), g(Ty::Str)),
                    6 => format!("substr({}, {}, {})", g(Ty::Str), r_small(d), r_small(d + 1)),
                    7 => format!("tostring({})", g(Ty::Num)),
                    8 => format!("strrev({})", g(Ty::Str)),
                    9 => format!("trimspace({})", g(Ty::Str)),
                    10 => format!("\"${{{}}}/${{{}}}\"", g(Ty::Str), g(Ty::Num)),
                    11 => format!("jsonencode({})", g(Ty::ListNum)),
                    12 => format!("element({}, {})", g(Ty::ListStr), r_small(d)),
                    13 => format!("lookup({}, \"a\", {})", g(Ty::MapStr), g(Ty::Str)),
                    14 => format!("coalesce({}, {})", g(Ty::Str), g(Ty::Str)),
                    _ => format!("base64encode({})", g(Ty::Str)),
                },
                Ty::Num => match choice % 12 {
                    0 => format!("abs({})", g(Ty::Num)),
                    1 => format!("ceil({})", g(Ty::Num)),
                    2 => format!("floor({})", g(Ty::Num)),
                    3 => format!("max({}, {})", g(Ty::Num), g(Ty::Num)),
                    4 => format!("min({}, {})", g(Ty::Num), g(Ty::Num)),
                    5 => format!("length({})", g(Ty::ListStr)),
                    6 => format!("length({})", g(Ty::Str)),
                    7 => format!("{} + {}", g(Ty::Num), g(Ty::Num)),
                    8 => format!("{} * {}", g(Ty::Num), g(Ty::Num)),
                    9 => format!("({} - {})", g(Ty::Num), g(Ty::Num)),
                    10 => format!("sum({})", g(Ty::ListNum)),
                    _ => format!("signum({})", g(Ty::Num)),
                },
                Ty::Bool => match choice % 6 {
                    0 => format!("contains({}, {})", g(Ty::ListStr), g(Ty::Str)),
                    1 => format!("{} < {}", g(Ty::Num), g(Ty::Num)),
                    2 => format!("{} == {}", g(Ty::Str), g(Ty::Str)),
                    3 => format!("alltrue([{}, {}])", g(Ty::Bool), g(Ty::Bool)),
                    4 => format!("!{}", g(Ty::Bool)),
                    _ => format!("can(tonumber({}))", g(Ty::Str)),
                },
                Ty::ListStr => match choice % 12 {
                    0 => format!("split(\",\", {})", g(Ty::Str)),
                    1 => format!("distinct({})", g(Ty::ListStr)),
                    2 => format!("sort({})", g(Ty::ListStr)),
                    3 => format!("reverse({})", g(Ty::ListStr)),
                    4 => format!("concat({}, {})", g(Ty::ListStr), g(Ty::ListStr)),
                    5 => format!("compact({})", g(Ty::ListStr)),
                    6 => format!("keys({})", g(Ty::MapStr)),
                    7 => format!("formatlist(\"%s!\", {})", g(Ty::ListStr)),
                    8 => format!("distinct([{}, {}])", g(Ty::Str), g(Ty::Num)),
                    9 => format!("setunion({}, {})", g(Ty::ListStr), g(Ty::ListNum)),
                    10 => format!("tolist([{}, {}])", g(Ty::Num), g(Ty::Str)),
                    _ => format!("flatten([{}, {}])", g(Ty::ListStr), g(Ty::ListStr)),
                },
                Ty::ListNum => match choice % 5 {
                    0 => format!("range({})", r_small(d)),
                    1 => format!("[{}, {}]", g(Ty::Num), g(Ty::Num)),
                    2 => format!("reverse({})", g(Ty::ListNum)),
                    3 => format!("distinct({})", g(Ty::ListNum)),
                    _ => format!("slice({}, 0, 1)", g(Ty::ListNum)),
                },
                Ty::MapStr => match choice % 3 {
                    0 => format!("merge({}, {})", g(Ty::MapStr), g(Ty::MapStr)),
                    1 => format!("zipmap([\"a\", \"b\"], {})", g(Ty::ListStr)),
                    _ => format!("{{a = {}, b = {}}}", g(Ty::Str), g(Ty::Str)),
                },
            }
        }
    }
}

fn r_small(d: usize) -> &'static str {
    SMALL[d % SMALL.len()]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(21);
    let count: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(400);
    let mut r = Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let tys = [Ty::Str, Ty::Num, Ty::Bool, Ty::ListStr, Ty::ListNum, Ty::MapStr];
    let cases: Vec<harness::Case> = (0..count)
        .map(|i| {
            let ty = tys[r.below(tys.len())];
            harness::Case { src: expr(&mut r, ty, 3), line: i + 1, differs: None }
        })
        .collect();
    let peer = harness::Peer::new(None);
    let srcs: Vec<String> = cases.iter().map(|c| c.src.clone()).collect();
    let tf = peer.eval_all(&srcs);
    let rep = harness::compare(&cases, peer.dir.path(), &tf);
    println!(
        "seed {seed}: {}/{} generated expressions agree with Terraform 1.0.3 ({:.1}%)",
        rep.agree,
        rep.total,
        100.0 * rep.agree as f64 / rep.total.max(1) as f64
    );
    for d in rep.unexpected.iter().take(15) {
        println!("{}", d.replacen("line", "case", 1));
    }
}
