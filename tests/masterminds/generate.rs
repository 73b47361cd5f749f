//! Deterministic constraints for the Masterminds differential: every operator with versions
//! that have a wildcard in each position, hyphen ranges, ORs and ANDs spelt every way, then
//! random compositions and random damage (garbage characters, Unicode whitespace).

use std::collections::HashSet;

use crate::splitmix::Rng;

const OPS: &[&str] = &["", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^"];
const NUMBERS: &[&str] = &["0", "1", "2", "3", "5", "6", "8", "9", "10", "02"];
const WILDCARDS: &[&str] = &["x", "X", "*"];
const PRERELEASES: &[&str] = &["rc.1", "rc.2", "0", "alpha", "beta.2", "rc", "01", "rc.01", "-x"];
const BUILDS: &[&str] = &["build.1", "meta", "01", "b-c"];
const AND: &[&str] = &[" ", ",", ", ", " , ", "  ", "\t", "\n", "\r", "\u{c}", " ,", ",,"];
const OR: &[&str] = &[" || ", "||", " ||", "|| ", "  ||  ", "|||"];
const HYPHEN: &[&str] = &[" - ", "  -  ", " -\t", "\t- ", " -", "- ", "-"];
/// Spaces Go's `\s` knows, spaces it does not, and characters no constraint has.
const NOISE: &[&str] = &[
    " ", "\t", "\u{a0}", "\u{2003}", "\u{3000}", "\u{b}", "\u{feff}", "\u{85}", "|", "-", ".", ",", "x", "v", "=", "<",
    ">", "!", "~", "^", "*", "+", "a", "é", "0", "9", "@", "_",
];

/// Versions whose wildcard sits in each position, with and without suffixes.
const SYSTEMATIC: &[&str] = &[
    "*",
    "x",
    "X",
    "x.x",
    "x.x.x",
    "X.X.X",
    "*.4",
    "x.6.1",
    "*.*.*",
    "x-rc.1",
    "v*",
    "2",
    "v2",
    "2.x",
    "2.*",
    "2.X.x",
    "2.x.5",
    "2.x.|",
    "x.|",
    "2.8",
    "2.8.x",
    "2.8.*",
    "2.8.3",
    "2.8.4",
    "2.9.x",
    "2.9.4",
    "2.9-rc.1",
    "2.9.0-rc.1",
    "2.9.0-0",
    "2.x-rc.1",
    "0",
    "0.0",
    "0.0.x",
    "0.0.1",
    "0.1",
    "0.1.x",
    "1.x",
    "3",
    "3.0",
    "3.0.0-rc.1",
    "3.0.0-0",
    "v2.8.0",
    "2.8.0+build.1",
    "2.8+meta",
    "02.8",
    "10.0.0",
];

pub fn constraints() -> Vec<String> {
    let mut out = Vec::new();
    for op in OPS {
        for version in SYSTEMATIC {
            out.push(format!("{op}{version}"));
        }
        out.push(format!("{op} 2.8"));
    }
    for lower in ["2.6", "2.x", "x", "0", "2.9.0-rc.1", "v2.7"] {
        for upper in ["2.8", "2.8.3", "x", "*.4", "3", "2.9-rc.1"] {
            out.push(format!("{lower} - {upper}"));
            out.push(format!("2.2 || {lower} - {upper}"));
            out.push(format!("2.2 ||{lower} - {upper}"));
            out.push(format!("2.2||{lower} - {upper}"));
            out.push(format!("2.x {lower} - {upper}"));
            out.push(format!(">=2.2, {lower} - {upper}"));
        }
    }
    let mut rng = Rng(0x5EED_2024_F1C5);
    while out.len() < 2_400 {
        out.push(constraint(&mut rng));
    }
    while out.len() < 3_200 {
        let base = constraint(&mut rng);
        out.push(damage(&mut rng, &base));
    }
    let mut seen = HashSet::new();
    out.retain(|c| seen.insert(c.clone()));
    out
}

fn version(rng: &mut Rng) -> String {
    let parts = 1 + rng.below(3);
    let mut text = String::new();
    if rng.percent(15) {
        text.push('v');
    }
    for i in 0..parts {
        if i > 0 {
            text.push('.');
        }
        text.push_str(if rng.percent(25) {
            rng.pick(WILDCARDS)
        } else {
            rng.pick(NUMBERS)
        });
    }
    if rng.percent(15) {
        text.push('-');
        text.push_str(rng.pick(PRERELEASES));
    }
    if rng.percent(8) {
        text.push('+');
        text.push_str(rng.pick(BUILDS));
    }
    text
}

fn comparator(rng: &mut Rng) -> String {
    let space = if rng.percent(10) { " " } else { "" };
    format!("{}{space}{}", rng.pick(OPS), version(rng))
}

fn group(rng: &mut Rng) -> String {
    let mut parts = Vec::new();
    for _ in 0..1 + rng.below(3) {
        if rng.percent(15) {
            parts.push(format!("{}{}{}", version(rng), rng.pick(HYPHEN), version(rng)));
        } else {
            parts.push(comparator(rng));
        }
    }
    let mut text = parts.remove(0);
    for part in parts {
        text.push_str(rng.pick(AND));
        text.push_str(&part);
    }
    text
}

fn constraint(rng: &mut Rng) -> String {
    let mut text = group(rng);
    for _ in 0..rng.below(3) {
        text.push_str(rng.pick(OR));
        text.push_str(&group(rng));
    }
    if rng.percent(10) {
        text = format!("{}{text}{}", rng.pick(NOISE), rng.pick(NOISE));
    }
    text
}

/// Inserts, deletes or replaces one character, or repeats a slice.
fn damage(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<String> = text.chars().map(String::from).collect();
    let at = rng.below(chars.len() + 1);
    match rng.below(4) {
        0 => chars.insert(at, rng.pick(NOISE).into()),
        1 if at < chars.len() => {
            chars.remove(at);
        }
        2 if at < chars.len() => chars[at] = rng.pick(NOISE).into(),
        _ => {
            let end = (at + 1 + rng.below(6)).min(chars.len());
            let slice: Vec<String> = chars[at..end].to_vec();
            chars.splice(at..at, slice);
        }
    }
    chars.concat()
}
