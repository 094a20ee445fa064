//! Expected texts are Terraform 1.0.3's own answers (`terraform console`).

use super::*;

fn p(s: &str) -> Number {
    Number::parse(s).unwrap()
}

fn f(v: f64) -> Number {
    Number::from_f64(v)
}

fn i(v: i64) -> Number {
    Number::from_i64(v)
}

const THIRD: &str = "0.33333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333335";

#[test]
fn literals_compute_at_512_bits_and_print_shortest() {
    assert_eq!(p("0.1").add(&p("0.2")).unwrap().to_text(), "0.3");
    assert_eq!(p("1").div(&p("3")).unwrap().to_text(), THIRD);
    assert_eq!(
        p("10").rem(&p("3.3")).unwrap().to_text(),
        "0.10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000048"
    );
    assert_eq!(
        p("1").sub(&p("0.9")).unwrap().to_text(),
        "0.10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003"
    );
    assert_eq!(p("9007199254740993").to_text(), "9007199254740993");
    assert_eq!(p("9007199254740993").add(&p("0")).unwrap().to_text(), "9007199254740993");
    assert_eq!(p("12345678901234567890").mul(&p("10")).unwrap().to_text(), "123456789012345678900");
    assert_eq!(p("-7").rem(&p("2.5")).unwrap().to_text(), "-2");
    assert_eq!(p("1").div(&p("3")).unwrap().rem(&p("1")).unwrap().to_text(), THIRD);
    assert_eq!(p("1e3").to_text(), "1000");
    assert_eq!(p("1.5e-3").to_text(), "0.0015");
    assert_eq!(p("1e-400").to_text(), format!("0.{}1", "0".repeat(399)));
    assert_eq!(p("1e30").floor().to_text(), "1000000000000000000000000000000");
    assert_eq!(p("9007199254740993.5").floor().to_text(), "9007199254740993");
}

#[test]
fn precision_travels_with_the_value() {
    // Integers from Go's int64 are 64-bit: their quotient has 20 digits.
    assert_eq!(i(3).div(&i(7)).unwrap().to_text(), "0.42857142857142857144");
    assert_eq!(i(7).div(&i(3)).unwrap().to_text(), "2.3333333333333333333");
    // float64 math is 53-bit.
    assert_eq!(f(7.0).div(&f(3.0)).unwrap().to_text(), "2.3333333333333335");
    // cty multiplies at 512 bits and keeps the bits the product needs.
    assert_eq!(f(100.0).mul(&f(0.4)).unwrap().to_text(), "40.000000000000002");
    assert_eq!(
        i(234081).mul(&f(3800189602565278082117252.0)).unwrap().format(Style::Fixed, 11),
        "889552182358082898416105422848.00000000000"
    );
    assert_eq!(f(1.0).div(&f(3.0)).unwrap().rem(&f(1.0)).unwrap().to_text(), "0.3333333333333333");
    let two70 = f(2f64.powi(70));
    assert_eq!(two70.to_text(), "1180591620717411300000");
    assert_eq!(two70.add(&p("1")).unwrap().to_text(), "1180591620717411303425");
    // parseint's integers carry their own length.
    let digits: Vec<u32> = "123456789012345678901234567890".bytes().map(|b| u32::from(b - b'0')).collect();
    let big = Number::from_digits(false, &digits, 10);
    assert_eq!(big.to_text(), "123456789012345678901234567890");
    assert_eq!(big.div(&Number::from_digits(false, &[7], 10)).unwrap().to_text(), "17636684144620811271604938270");
}

#[test]
fn zero_sign_and_infinities_follow_go() {
    assert_eq!(p("0").mul(&p("-1")).unwrap().to_text(), "-0");
    assert_eq!(p("1").div(&p("0")).unwrap().to_text(), "+Inf");
    assert!(p("0").div(&p("0")).is_none());
    assert_eq!(p("5").rem(&p("0")).unwrap().to_text(), "5");
    assert_eq!(p("-4").rem(&p("2")).unwrap().to_text(), "0");
    // Zero over a number no f64 holds, and the reverse.
    assert_eq!(p("0").div(&p("1.69")).unwrap().to_text(), "0");
    assert_eq!(p("0").rem(&p("2.94")).unwrap().to_text(), "0");
    assert_eq!(p("1.69").div(&p("0")).unwrap().to_text(), "+Inf");
}

#[test]
fn equality_is_by_text_and_order_by_value() {
    // A float64 0.1 and a 512-bit 0.1 serialize alike (so state round-trips) but differ.
    assert_eq!(f(0.1), p("0.1"));
    assert!(!f(0.1).same_value(&p("0.1")));
    assert_eq!(p("0.1").add(&p("0.2")).unwrap(), p("0.3"));
    assert!(p("0.1").add(&p("0.2")).unwrap().same_value(&p("0.3")));
    assert_ne!(p("9007199254740993"), p("9007199254740992"));
    assert_eq!(p("9007199254740993").cmp_value(&p("9007199254740992")), Ordering::Greater);
    assert_eq!(i(3), p("3"));
    assert_eq!(f(-0.0), i(0));
    assert_eq!(f(2f64.powi(70)), p("1180591620717411300000"));
    assert!(f(2f64.powi(70)).same_value(&p("1180591620717411303424")));
}

#[test]
fn conversions_are_exact() {
    assert_eq!(p("0.1").to_f64(), 0.1);
    assert_eq!(p("1e-400").to_f64(), 0.0);
    assert_eq!(p("1e400").to_f64(), f64::INFINITY);
    assert_eq!(p("9007199254740993").to_i64(), Some(9007199254740993));
    assert_eq!(i(i64::MIN).to_i64(), Some(i64::MIN));
    assert_eq!(i(i64::MAX).to_i64(), Some(i64::MAX));
    assert_eq!(p("9223372036854775808").to_i64(), None);
    assert_eq!(p("1.5").to_i64(), None);
    assert_eq!(Number::from_u64(u64::MAX).to_u64(), Some(u64::MAX));
    assert_eq!(p("123456789012345678901234567890").to_integer_string().unwrap(), "123456789012345678901234567890");
    assert!(Number::parse("1x").is_none());
    assert!(Number::parse("").is_none());
}

#[test]
fn json_round_trips_exactly() {
    for n in [p("1").div(&p("3")).unwrap(), f(2f64.powi(70)), f(0.1), p("9007199254740993"), i(-5), p("1e-400")] {
        let j = n.to_json();
        let back = match &j {
            serde_json::Value::Number(x) => Number::from_json(x),
            other => panic!("{other}"),
        };
        assert_eq!(back, n, "{j}");
        let text = serde_json::to_string(&j).unwrap();
        assert_eq!(text, n.to_text());
    }
    // State written before numbers were exact: serde_json's f64 text.
    let old: serde_json::Value = serde_json::from_str("[0.30000000000000004, 1e20, 3, -2.5]").unwrap();
    let nums: Vec<Number> = old.as_array().unwrap().iter().map(|j| Number::from_json(j.as_number().unwrap())).collect();
    assert_eq!(nums[0], f(0.1 + 0.2));
    assert_eq!(nums[1], f(1e20));
    assert_eq!(nums[2], i(3));
    assert_eq!(nums[3], f(-2.5));
}

#[test]
fn go_formats() {
    let third = p("1").div(&p("3")).unwrap();
    assert_eq!(third.format(Style::Fixed, 6), "0.333333");
    assert_eq!(third.format(Style::Exp { upper: false }, 6), "3.333333e-01");
    assert_eq!(third.format(Style::Exp { upper: false }, 3), "3.333e-01");
    assert_eq!(p("0.1").format(Style::Fixed, 30), "0.100000000000000000000000000000");
    assert_eq!(f(0.1).format(Style::Fixed, 30), "0.100000000000000005551115123126");
}

#[test]
fn common_values_stay_inline() {
    assert_eq!(std::mem::size_of::<Number>(), 16);
    assert!(matches!(p("12345").0, Repr::Small { .. }));
    assert!(matches!(p("1.5").0, Repr::Small { .. }));
    assert!(matches!(i(3).add(&i(4)).unwrap().0, Repr::Small { .. }));
    assert!(matches!(f(0.1).0, Repr::Small { .. }));
}
