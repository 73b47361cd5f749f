//! The engine's own guarantees: hostile templates end quickly with a typed, one-line
//! error; the inputs reach templates as Go sees them. (Agreement with Go is
//! tests/template_diff's.)

use std::time::{Duration, Instant};

use super::{Error, MAX_DEPTH, Template, render};

fn fails_fast(text: &str, expect: &str) {
    let start = Instant::now();
    let err = render("t", text, None).expect_err(text);
    let took = start.elapsed();
    let msg = err.to_string();
    assert!(msg.contains(expect), "{text}: {msg}");
    assert!(!msg.contains('\n'), "{text}: one line: {msg}");
    assert!(msg.len() < 1200, "{text}: a short message, not {} bytes", msg.len());
    assert!(took < Duration::from_secs(20), "{text}: took {took:?}");
}

#[test]
fn output_is_capped() {
    fails_fast(
        "<< range until 100000 >><< repeat 1000 \"x\" >><< end >>",
        "output exceeds",
    );
}

#[test]
fn sizes_are_capped() {
    fails_fast("<< repeat 100000000 \"xxxxxxxx\" >>", "more than a render may output");
    fails_fast("<< until 100000000 >>", "more than the 1000000");
    fails_fast("<< seq 1 1 100000000 >>", "more than the 1000000");
    fails_fast("<< untilStep 0 1000000000000 1 >>", "more than the 1000000");
    fails_fast("<< indent 100000000 \"a\\nb\\nc\" >>", "more than a render may output");
}

#[test]
fn work_is_capped() {
    fails_fast(
        "<< range until 1000000 >><< range until 1000000 >><< end >><< end >>",
        "work budget",
    );
    fails_fast("<< range 1000000000000 >><< end >>", "work budget");
    fails_fast(
        "<< $l := list >><< range until 1000000 >><< $l = append $l . >><< end >><< len $l >>",
        "work budget",
    );
}

#[test]
fn recursion_is_capped() {
    fails_fast(
        "<< define \"r\" >><< template \"r\" . >><< end >><< template \"r\" 1 >>",
        "maximum template depth",
    );
    let parens = format!("<< {}1{} >>", "(".repeat(5000), ")".repeat(5000));
    fails_fast(&parens, &format!("more than {MAX_DEPTH} levels"));
    let ifs = format!("{}x{}", "<< if true >>".repeat(5000), "<< end >>".repeat(5000));
    fails_fast(&ifs, &format!("more than {MAX_DEPTH} levels"));
}

#[test]
fn a_map_that_contains_itself_does_not_hang() {
    let out = render(
        "t",
        "<< $d := dict >><< $_ := set $d \"self\" $d >><< len (print $d) >>",
        None,
    )
    .expect("prints");
    assert!(!out.is_empty());
    fails_fast(
        "<< $d := dict >><< $_ := set $d \"self\" $d >><< mustToJson $d >>",
        "cycle",
    );
    fails_fast(
        "<< $d := dict >><< $_ := set $d \"self\" $d >><< mustToYaml $d >>",
        "cycle",
    );
}

#[test]
fn echoed_values_are_shortened() {
    fails_fast("<< fail (repeat 100000 \"x\") >>", "bytes)");
    fails_fast("<< fail \"two\\nlines\" >>", "two\\nlines");
}

#[test]
fn errors_are_typed_and_placed() {
    let parse = Template::parse("t", "line\n<< nosuch >>").expect_err("unknown function");
    assert_eq!(
        parse,
        Error::Parse {
            template: "t".into(),
            line: 2,
            message: "function \"nosuch\" not defined".into(),
            source: None,
        }
    );
    let exec = render("t", "ab\n  << inputs.x >>", None).expect_err("missing key");
    assert_eq!(
        exec.to_string(),
        "template: t:2:5: executing \"t\" at <inputs>: map has no entry for key \"x\""
    );
}

#[test]
fn inputs_keep_go_types() {
    let inputs = serde_json::json!({"i": 3, "f": 1.0, "e": 1e3, "s": "x", "l": [1], "m": {"a": null}});
    let out = render(
        "t",
        "<< typeOf inputs.i >> << typeOf inputs.f >> << typeOf inputs.e >> << inputs.f >> << typeOf inputs.l >> << inputs.m >>",
        inputs.as_object(),
    )
    .expect("renders");
    assert_eq!(out, "int64 float64 float64 1 []interface {} map[a:<nil>]");
}

#[test]
fn a_template_that_spends_its_whole_budget_ends() {
    // Cheap steps only: each outer iteration is a few commands and a nine-element list.
    let text = "<< range until 1000000 >><< range until 9 >><< end >><< end >>";
    let start = Instant::now();
    let err = render("t", text, None).expect_err("out of budget");
    println!("spent the work budget in {:?}", start.elapsed());
    assert!(err.to_string().contains("work budget"), "{err}");
}

#[test]
fn errors_keep_their_typed_cause() {
    use super::funcs::{FuncError, dates, url};
    use super::{BudgetExceeded, LiteralError};
    let cause = |text: &str| match render("t", text, None).expect_err(text) {
        Error::Exec {
            source: Some(source), ..
        } => *source,
        other => panic!("{text}: {other:?}"),
    };
    let FuncError::Url(url::Error::Parse(parsed)) = cause("<< urlParse \":x\" >>") else {
        panic!("urlParse");
    };
    assert_eq!(parsed.reason, url::ParseReason::MissingScheme);
    assert!(matches!(
        cause("<< mustToDate \"2006\" \"x\" >>"),
        FuncError::Time(dates::TimeParseError::Mismatch { .. })
    ));
    assert!(matches!(
        cause("<< mustToDate \"2006\" \"2020\" | mustDateModify \"1x\" >>"),
        FuncError::Duration(dates::DurationError::UnknownUnit { .. })
    ));
    assert_eq!(
        cause("<< range 1000000000000 >><< end >>"),
        FuncError::Budget(BudgetExceeded)
    );
    let parse = Template::parse("t", "<< 1i >>").expect_err("imaginary");
    let source = std::error::Error::source(&parse).map(ToString::to_string);
    assert!(matches!(
        parse,
        Error::Parse {
            source: Some(LiteralError::IllegalNumber(_)),
            ..
        }
    ));
    assert_eq!(source.as_deref(), Some("illegal number syntax: \"1i\""));
}
