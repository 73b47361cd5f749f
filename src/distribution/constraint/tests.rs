use semver::Version;

use super::*;

fn v(text: &str) -> Version {
    Version::parse(text).expect("test version")
}

fn matches(constraint: &str, version: &str) -> bool {
    Constraint::parse(constraint)
        .unwrap_or_else(|e| panic!("{constraint:?} should parse: {e}"))
        .matches(&v(version))
}

/// (constraint, versions that match, versions that do not)
const VECTORS: &[(&str, &[&str], &[&str])] = &[
    // Exact and wildcard forms.
    ("1.2.3", &["1.2.3", "1.2.3+build.5"], &["1.2.4", "1.2.3-rc.1", "1.3.0"]),
    ("=v1.2.3", &["1.2.3"], &["1.2.2"]),
    ("1.2", &["1.2.0", "1.2.99"], &["1.3.0", "1.1.9", "1.2.5-rc.1"]),
    ("1.2.x", &["1.2.0", "1.2.99"], &["1.3.0"]),
    ("1", &["1.0.0", "1.99.0"], &["2.0.0", "0.9.0"]),
    ("1.x.5", &["1.0.0", "1.7.1"], &["2.0.0"]),
    ("*", &["0.0.0", "3.0.0"], &["3.0.0-rc.1"]),
    // Tilde.
    ("~1.2.3", &["1.2.3", "1.2.9"], &["1.2.2", "1.3.0"]),
    ("~1.2", &["1.2.0", "1.2.9"], &["1.3.0", "1.1.0"]),
    ("~1", &["1.0.0", "1.9.9"], &["2.0.0"]),
    ("~1.x", &["1.0.0", "1.9.9"], &["2.0.0"]),
    ("~>1.2", &["1.2.4"], &["1.3.0"]),
    ("~0.0.0", &["0.0.0", "5.0.0"], &[]),
    ("~0", &["0.0.0", "0.9.0"], &["1.0.0"]),
    // Caret, including the 0.y and 0.0.z rules.
    ("^1.2.3", &["1.2.3", "1.9.0"], &["1.2.2", "2.0.0"]),
    ("^1.2", &["1.2.0", "1.9.0"], &["1.1.9", "2.0.0"]),
    ("^1.x", &["1.0.0", "1.9.0"], &["2.0.0"]),
    ("^0.2.3", &["0.2.3", "0.2.9"], &["0.2.2", "0.3.0", "1.0.0"]),
    ("^0.2", &["0.2.0", "0.2.9"], &["0.3.0"]),
    ("^0.0.3", &["0.0.3"], &["0.0.4", "0.0.2", "0.1.0"]),
    ("^0.0", &["0.0.0", "0.0.9"], &["0.1.0"]),
    ("^0", &["0.0.0", "0.9.9"], &["1.0.0"]),
    ("^*", &["0.0.0", "7.1.0"], &[]),
    // Comparisons with partial versions.
    (">2.8", &["2.9.0", "3.0.0"], &["2.8.9", "2.8.0"]),
    (">2", &["3.0.0"], &["2.99.0"]),
    (">2.8.1", &["2.8.2"], &["2.8.1"]),
    (">=2.8", &["2.8.0", "3.0.0"], &["2.7.9"]),
    ("<2.8", &["2.7.9"], &["2.8.0"]),
    ("<2", &["1.9.9"], &["2.0.0"]),
    ("<=2.8", &["2.8.9", "1.0.0"], &["2.9.0"]),
    ("<=2", &["2.99.0"], &["3.0.0"]),
    ("<=2.8.1", &["2.8.1"], &["2.8.2"]),
    ("!=2.8.1", &["2.8.0", "2.8.2"], &["2.8.1"]),
    ("!=2.8", &["2.7.0", "2.9.0"], &["2.8.0", "2.8.5"]),
    ("!=2.x", &["1.0.0", "3.0.0"], &["2.5.0"]),
    // The library keeps other prereleases of a line that `!=` with two numbers excludes.
    (
        "!=2.9-rc.1",
        &["2.9.0", "2.9.1-rc.2", "2.8.0"],
        &["2.9.0-rc.1", "2.9.3-rc.1"],
    ),
    ("!=2.9 >=2.9.0-0", &["2.9.1-rc.1", "3.0.0"], &["2.9.0", "2.9.5"]),
    ("!=2-rc.1 >=0.0.0-0", &["3.0.0-rc.1", "1.0.0"], &["2.0.0", "2.5.0-rc.2"]),
    // What follows a wildcard is not read.
    ("2.x.|", &["2.0.0", "2.9.0"], &["3.0.0"]),
    ("x.xx", &["0.0.0", "9.0.0"], &[]),
    // `|` belongs to the library's version alphabet, so this is `>=2.7 || 2.8, <=2.9`.
    ("2.7||2.8 - 2.9", &["2.7.0", "3.0.0", "2.8.5"], &["2.6.0"]),
    ("=>1.2 =<1.3", &["1.2.0", "1.3.9"], &["1.4.0"]),
    // A wildcard major reads as the set of all versions, however it is spelt.
    ("<=*", &["0.0.0", "9.0.0"], &[]),
    ("<=X.X.X", &["0.0.0", "9.0.0"], &[]),
    ("^*.4", &["0.0.0", "9.0.0"], &[]),
    (">=*", &["9.0.0"], &[]),
    (">*", &[], &["0.0.0", "1.0.0"]),
    ("!=*", &[], &["0.0.0", "1.0.0"]),
    ("!=x.6.1", &[], &["0.6.1", "1.0.0"]),
    ("x - x", &["0.0.0", "9.0.0"], &[]),
    // Hyphen ranges: a partial upper bound covers its whole line.
    ("1.2 - 1.4.5", &["1.2.0", "1.4.5"], &["1.4.6", "1.1.9"]),
    ("2.3.4 - 4.5", &["2.3.4", "4.5.9"], &["4.6.0", "2.3.3"]),
    ("2.6 - 2.8", &["2.6.0", "2.8.8"], &["2.9.0"]),
    ("1 - 2", &["1.0.0", "2.9.9"], &["3.0.0"]),
    // AND and OR.
    (">=1.2, <1.4 || >=2", &["1.3.0", "2.0.0"], &["1.4.0", "1.1.0"]),
    ("1.x !=1.5.0", &["1.4.0"], &["1.5.0"]),
    // 2.9 -> 3.0 is an ordinary step up.
    ("^2.9", &["2.9.4", "2.10.0"], &["3.0.0"]),
    (">=2.9 <4", &["3.0.0", "2.9.0"], &["4.0.0"]),
];

#[test]
fn vectors() {
    for (constraint, yes, no) in VECTORS {
        for version in *yes {
            assert!(matches(constraint, version), "{constraint:?} should match {version}");
        }
        for version in *no {
            assert!(
                !matches(constraint, version),
                "{constraint:?} should not match {version}"
            );
        }
    }
}

#[test]
fn prereleases_need_a_prerelease_in_the_same_alternative() {
    assert!(!matches("2.x", "2.9.0-rc.1"));
    assert!(!matches(">=2.0.0", "3.0.0-rc.1"));
    assert!(matches(">=2.0.0-0", "3.0.0-rc.1"));
    assert!(matches(">=3.0.0-rc.1", "3.0.0-rc.2"));
    assert!(!matches(">=3.0.0-rc.2", "3.0.0-rc.1"));
    assert!(matches("3.0.0-rc.1", "3.0.0-rc.1"));
    assert!(matches("^3.0.0-0", "3.0.0-rc.1"));
    assert!(matches("^3.0.0-0", "3.1.0"));
    assert!(matches("~3.0.0-0", "3.0.0-beta"));
    // The whole alternative opts in, not only the comparator naming a prerelease.
    assert!(matches(">=3.0.0-0 <4", "3.0.0-rc.1"));
    // Only the alternative that names one.
    assert!(!matches("2.x || >=4.0.0-0", "3.0.0-rc.1"));
    assert!(matches("2.x || >=3.0.0-0", "3.0.0-rc.1"));
    // Once opted in, the lines of partial versions still hold.
    assert!(!matches("~2.8 >=2.8.0-0", "2.9.0-rc.1"));
    assert!(matches("<=2.8, >=2.8.0-0", "2.8.5-rc.1"));
}

#[test]
fn spelling_variants_parse_alike() {
    let spellings = [
        ">=2.6.0 <2.9.0",
        ">=2.6.0, <2.9.0",
        ">=2.6.0,<2.9.0",
        " >= 2.6.0 , < 2.9.0 ",
        ">=v2.6.0 <v2.9.0",
        "\t>=2.6.0\n<2.9.0",
    ];
    for s in spellings {
        for (version, expected) in [("2.6.0", true), ("2.8.8", true), ("2.9.0", false), ("2.5.1", false)] {
            assert_eq!(matches(s, version), expected, "{s:?} on {version}");
        }
    }
}

#[test]
fn display_keeps_the_text() {
    let c = Constraint::parse(" ~2.8 ").expect("parses");
    assert_eq!(c.to_string(), " ~2.8 ");
    assert_eq!(c.as_str(), " ~2.8 ");
}

/// (constraint, a piece of text the message must contain)
const INVALID: &[(&str, &str)] = &[
    ("2.8.x.y", "\"2.8.x.y\" has 4 dot-separated parts"),
    ("2.8.0.1", "at most 3"),
    (">>2", "\">2\" is not a version"),
    ("latest", "\"latest\" is not a version"),
    ("", "empty"),
    ("   ", "empty"),
    ("2.8 ||", "alternative 2 of 2"),
    ("|| 2.8", "alternative 1 of 2"),
    ("2.7 |||| 2.9", "alternative 2 of 3"),
    ("2.7 | 2.9", "\"|\" is not a version"),
    ("2.8,", "ends with a comma"),
    ("2.8, ,2.9", "expected a version"),
    (">=", "\">=\" is not followed by a version"),
    (">= ", "\">=\" is not followed by a version"),
    ("2.6 -", "no upper bound"),
    ("2.6 - ", "no upper bound"),
    (">=2.6 - 2.8", "take no operator"),
    ("2.6 - >=2.8", "take no operator"),
    // The library's own refusals, which upstream users meet too.
    ("2.7 ||2.8 - 2.9", "a hyphen range"),
    ("2.x 2.6 - 2.8", "must start its \"||\" alternative"),
    (
        "2.8\u{a0}",
        "'\\u{a0}' (U+00A0), which a constraint cannot contain; only ASCII spaces",
    ),
    ("2.8\u{b}2.9", "(U+000B)"),
    ("2.8 @", "'@' (U+0040)"),
    ("2.7 | 2.9", "\"|\" is not a version"),
    ("2|3", "\"2|3\" is not a version"),
    ("2.8.0-rc.01", "invalid prerelease \"rc.01\""),
    ("2.8-", "invalid prerelease \"\""),
    ("2.8.0-01", "invalid prerelease \"01\""),
    ("2.8.0+", "invalid build metadata"),
    ("v", "\"v\" is not a version"),
    ("2..8", "\"\" is neither a number"),
    ("2.8.", "\"\" is neither a number"),
    ("2.y", "\"y\" is neither a number"),
    ("V2.8", "\"V2.8\" is not a version"),
    ("99999999999999999999", "too large"),
];

#[test]
fn invalid_constraints_name_the_culprit() {
    for (constraint, expected) in INVALID {
        let err = Constraint::parse(constraint).expect_err(constraint);
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "spec.distribution.version: invalid version constraint {constraint:?}: "
            )),
            "{message}"
        );
        assert!(
            message.contains(expected),
            "{constraint:?}: {message:?} lacks {expected:?}"
        );
        assert_eq!(err.reason(), "BuildFailed");
    }
}

#[test]
fn overlong_constraints_are_refused() {
    let long = "2.x || ".repeat(100);
    assert!(Constraint::parse(&long).is_err());
    let many = vec!["2.x"; 40].join("||");
    let err = Constraint::parse(&many).expect_err("too many alternatives");
    assert!(err.to_string().contains("more than 32 alternatives"));
}

mod properties {
    use std::time::{Duration, Instant};

    use proptest::prelude::*;

    use super::*;

    /// Constraint syntax, numbers, wildcards, and characters no constraint has.
    fn noise() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "1",
            "2",
            "9",
            "0",
            "18446744073709551616",
            ".",
            "x",
            "X",
            "*",
            "v",
            "-",
            "+",
            "rc",
            "|",
            "||",
            ",",
            " ",
            "\t",
            "\n",
            "\u{a0}",
            "\u{3000}",
            "=",
            "!=",
            ">",
            "<",
            "~",
            "^",
            "~>",
            "=>",
            "a",
            "é",
            "\u{0}",
            " - ",
        ]);
        prop::collection::vec(pieces, 0..80).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_text_never_panics_and_is_cheap(text in noise(), any_text in ".{0,600}") {
            let versions = [v("0.0.0"), v("2.9.4"), v("3.0.0-rc.1"), v("18446744073709551615.0.0")];
            // The grammar's regular expressions compile on first use: not part of a parse.
            let _ = Constraint::parse("2.x");
            for text in [&text, &any_text] {
                let started = Instant::now();
                match Constraint::parse(text) {
                    Ok(c) => {
                        for version in &versions {
                            c.matches(version);
                        }
                    }
                    Err(e) => prop_assert!(e.to_string().len() < 1024, "{e}"),
                }
                // A bound against blow-ups (backtracking, quadratic splitting), with room for
                // a debug build on a loaded 2-core machine: a parse takes well under 10 ms.
                prop_assert!(started.elapsed() < Duration::from_secs(2), "{text:?}: {:?}", started.elapsed());
            }
        }
    }
}
