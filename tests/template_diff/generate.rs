//! Deterministic generated cases: templates composed from the language and the function
//! list over generated inputs, Unicode strings for slugify, strings for Adler-32.

use serde_json::{Map, Value, json};

use crate::Case;
use crate::splitmix::Rng;

const STRINGS: &[&str] = &[
    "team-a",
    "Web App",
    "",
    " padded ",
    "yes",
    "1.0",
    "0x10",
    "a: b",
    "#tag",
    "- item",
    "x\ny",
    "x\ny\n",
    "Ünïcödé",
    "日本語",
    "😀 emoji",
    "it's",
    "\"q\"",
    "a\tb",
    "null",
    "~",
    "2024-01-02",
    "12:30",
    ">=1.0.0-rc.0",
    "a/b/c.yaml",
    "Tom & Jerry @ home",
    "UPPER lower",
    "a,b,,c",
    "  ",
    "-",
    "_x_",
    "v1.2.3",
    "<b>&</b>",
    "a long sentence with many words that goes past the eighty column limit of the yaml emitter for sure",
    "a/b/../c",
    "/abs/path.tar.gz",
    "aGVsbG8=",
    "NBSWY3DP",
    "x  y",
    "tab\there",
    "1e3",
    "-0",
    "0o17",
    "true",
    "a-very-long-single-word-without-any-spaces-that-exceeds-the-eighty-columns-of-yaml-lines",
];
const CHARS: &[&str] = &[
    "a", "Z", "9", "-", "_", ".", " ", "\t", "&", "@", "/", "é", "Ä", "ß", "ø", "Ł", "ñ", "ç", "Ж", "я", "Ω", "λ",
    "中", "文", "한", "ア", "ب", "ש", "😀", "€", "£", "©", "™", "°", "½", "Ⅻ", "ﬁ", "\u{a0}", "\u{2003}", "\u{301}",
    "’", "«", "»", "!", "?", "+", "=", "*", "#", "(", ")", "[", "]", "{", "}", ":", ";", ",", "'", "\"", "\\", "|",
    "<", ">", "~", "^", "%", "$", "ı", "İ", "Ǆ", "ᾳ", "ẞ", "ǅ", "\u{fffd}", "\u{200b}", "𝔘", "ⓐ", "①",
];

fn gen_inputs(r: &mut Rng) -> Value {
    let mut m = Map::new();
    for key in ["s1", "s2"] {
        m.insert(key.into(), json!(r.pick(STRINGS)));
    }
    for key in ["n1", "n2"] {
        let n: i64 = [0, 1, 2, 3, -1, -7, 42, 1000, 65][r.below(9)];
        m.insert(key.into(), json!(n));
    }
    m.insert(
        "f1".into(),
        json!([0.5, 2.25, -1.5, 1e21, 1e-7, 3.0, 100000.0, 1234567.0][r.below(8)]),
    );
    m.insert("b1".into(), json!(r.percent(50)));
    let len = r.below(4);
    m.insert(
        "l1".into(),
        Value::Array((0..len).map(|_| json!(r.pick(STRINGS))).collect()),
    );
    m.insert("l2".into(), json!([1, "a", null, true, 2.5]));
    m.insert(
        "m1".into(),
        json!({"k": r.pick(STRINGS), "n": r.below(5), "sub": {"x": r.pick(STRINGS)}}),
    );
    m.insert("nul".into(), Value::Null);
    Value::Object(m)
}

fn string_expr(r: &mut Rng, depth: usize) -> String {
    if depth > 2 || r.percent(30) {
        return r
            .pick(&[
                "inputs.s1",
                "inputs.s2",
                "inputs.m1.k",
                "inputs.m1.sub.x",
                "\"lit\"",
                "\"Ä b-c\"",
            ])
            .into();
    }
    let s = string_expr(r, depth + 1);
    let i = int_expr(r, depth + 1);
    match r.below(24) {
        0 => format!("(upper {s})"),
        1 => format!("(lower {s})"),
        2 => format!("(trunc {} {s})", r.below(6)),
        3 => format!("(printf \"%s-%d\" {s} {i})"),
        4 => format!("(slugify {s})"),
        5 => format!("(quote {s})"),
        6 => format!("(replace \"a\" \"_\" {s})"),
        7 => format!("(trim {s})"),
        8 => format!("(default \"dflt\" {s})"),
        9 => format!("(toString {i})"),
        10 => format!("({s} | title)"),
        11 => format!("(join \",\" {})", list_expr(r, depth + 1)),
        12 => format!("(b64enc {s})"),
        13 => format!("(sha256sum {s} | trunc 8)"),
        14 => format!("(toJson {})", any_expr(r, depth + 1)),
        15 => format!("(cat {s} {i})"),
        16 => format!("(nindent 2 {s})"),
        17 => format!("(toYaml {})", any_expr(r, depth + 1)),
        18 => format!("(print {i} {s})"),
        19 => format!("(substr 1 3 {s})"),
        20 => format!("(repeat 2 {s})"),
        21 => format!("(ternary {s} \"no\" {})", bool_expr(r, depth + 1)),
        22 => format!("(regexReplaceAll \"[aeiou]\" {s} \"*\")"),
        _ => format!("(adler32sum {s})"),
    }
}

fn int_expr(r: &mut Rng, depth: usize) -> String {
    if depth > 2 || r.percent(35) {
        return r
            .pick(&["inputs.n1", "inputs.n2", "1", "0", "-3", "inputs.m1.n"])
            .into();
    }
    match r.below(8) {
        0 => format!("(len {})", list_expr(r, depth + 1)),
        1 => format!("(add {} {})", int_expr(r, depth + 1), int_expr(r, depth + 1)),
        2 => format!("(int {})", any_expr(r, depth + 1)),
        3 => format!("(mul {} {})", int_expr(r, depth + 1), int_expr(r, depth + 1)),
        4 => format!("(sub {} {})", int_expr(r, depth + 1), int_expr(r, depth + 1)),
        5 => format!("(max {} {} 2)", int_expr(r, depth + 1), int_expr(r, depth + 1)),
        6 => format!("(atoi {})", string_expr(r, depth + 1)),
        _ => format!("(len {})", string_expr(r, depth + 1)),
    }
}

fn list_expr(r: &mut Rng, depth: usize) -> String {
    if depth > 2 || r.percent(35) {
        return r.pick(&["inputs.l1", "inputs.l2", "(list)", "(list 1 \"x\")"]).into();
    }
    let l = list_expr(r, depth + 1);
    match r.below(9) {
        0 => format!("(list {} {})", any_expr(r, depth + 1), any_expr(r, depth + 1)),
        1 => format!("(splitList \",\" {})", string_expr(r, depth + 1)),
        2 => format!("(append {l} {})", any_expr(r, depth + 1)),
        3 => format!("(reverse {l})"),
        4 => format!("(uniq {l})"),
        5 => format!("(sortAlpha {l})"),
        6 => format!("(until {})", r.below(4)),
        7 => format!("(compact {l})"),
        _ => format!("(rest {l})"),
    }
}

fn bool_expr(r: &mut Rng, depth: usize) -> String {
    if depth > 2 || r.percent(30) {
        return r.pick(&["inputs.b1", "true", "false", "inputs.nul"]).into();
    }
    match r.below(8) {
        0 => format!("(eq {} {})", string_expr(r, depth + 1), string_expr(r, depth + 1)),
        1 => format!("(not {})", any_expr(r, depth + 1)),
        2 => format!("(and {} {})", any_expr(r, depth + 1), any_expr(r, depth + 1)),
        3 => format!("(or {} {})", any_expr(r, depth + 1), any_expr(r, depth + 1)),
        4 => format!("(has {} {})", any_expr(r, depth + 1), list_expr(r, depth + 1)),
        5 => format!("(hasPrefix \"a\" {})", string_expr(r, depth + 1)),
        6 => format!("(empty {})", any_expr(r, depth + 1)),
        _ => format!("(lt {} {})", int_expr(r, depth + 1), int_expr(r, depth + 1)),
    }
}

const PATTERNS: &[&str] = &[
    "[a-z]+",
    "^a",
    "\\\\d+",
    "(\\\\w+)-(\\\\w+)",
    "\\\\s",
    "x*",
    "[^-]+$",
    "(?i)A",
    "\\\\bb",
    "é|日",
];
const LAYOUTS: &[(&str, &str)] = &[
    ("2006-01-02", "2021-03-04"),
    ("2006-01-02T15:04:05Z07:00", "2021-03-04T05:06:07+02:00"),
    ("2006-01-02T15:04:05Z07:00", "2021-03-04T05:06:07Z"),
    ("02 Jan 06 15:04 MST", "04 Mar 21 05:06 CET"),
    ("Monday, 02-Jan-06 15:04:05 MST", "Thursday, 04-Mar-21 05:06:07 UTC"),
    ("2006-01-02 15:04:05.000", "2021-03-04 05:06:07.891"),
    ("3:04PM", "11:59PM"),
    ("2006-01-02", "2021-02-30"),
    ("Jan _2 2006", "Mar  4 2021"),
    ("2006-01-02 -0700", "2021-03-04 -0330"),
];
const URLS: &[&str] = &[
    "https://example.com/a/b?c=d#e",
    "http://u:p@h:8080/p%20q?x=1",
    "oci://ghcr.io/org/repo:tag",
    "ssh://git@github.com/org/repo.git",
    "/just/a/path",
    "mailto:me@example.com",
    "https://[::1]:443/",
    "HTTP://Example.COM/Up?Q=1#Frag",
];

/// Expressions over the functions the other generators leave out.
fn more_expr(r: &mut Rng, depth: usize) -> String {
    let s = string_expr(r, depth + 1);
    let l = list_expr(r, depth + 1);
    let any = if depth > 2 {
        "inputs.s1".to_string()
    } else {
        any_expr(r, depth + 1)
    };
    let (layout, date) = LAYOUTS[r.below(LAYOUTS.len())];
    let verb = r.pick(&[
        "%v", "%s", "%d", "%q", "%x", "%5.1f", "%-4v|", "%t", "%e", "%g", "%05d", "%+v", "%T",
    ]);
    match r.below(26) {
        0 => format!("(printf \"{verb}\" {any})"),
        1 => "(printf \"%v %v\" inputs.f1 (mul inputs.f1 1))".into(),
        2 => format!("(round inputs.f1 {})", r.below(4)),
        3 => format!("(maxf inputs.f1 {} 0.5)", int_expr(r, depth + 1)),
        4 => format!("(get inputs.m1 {})", r.pick(&["\"k\"", "\"n\"", "\"nope\"", "\"sub\""])),
        5 => "(pick inputs.m1 \"k\" \"sub\")".into(),
        6 => "(omit inputs.m1 \"k\")".into(),
        7 => "(dig \"sub\" \"x\" \"dflt\" inputs.m1)".into(),
        8 => format!("(first {l})"),
        9 => format!("(last {l})"),
        10 => format!("(without {l} {any})"),
        11 => format!("(index {l} {})", r.below(3)),
        12 => format!("(concat {l} {})", list_expr(r, depth + 1)),
        13 => format!("(chunk 2 {l})"),
        14 => format!("(regexFindAll \"{}\" {s} -1)", r.pick(PATTERNS)),
        15 => format!("(regexReplaceAll \"{}\" {s} \"<$1>\")", r.pick(PATTERNS)),
        16 => format!(
            "(regexSplit \"{}\" {s} {})",
            r.pick(PATTERNS),
            [-1, 0, 1, 2][r.below(4)]
        ),
        17 => format!("(toDate \"{layout}\" \"{date}\")"),
        18 => format!(
            "(mustDateModify \"{}\" (toDate \"{layout}\" \"{date}\"))",
            r.pick(&["1h", "-90m", "1.5h", "36h", "0"])
        ),
        19 => format!(
            "(durationRound \"{}\")",
            r.pick(&["1h2m", "400h", "3d", "90s", "0.5s", "-1m", "100000h"])
        ),
        20 => format!("(b64dec (b64enc {s}))"),
        21 => format!("(b32dec {s})"),
        22 => format!("(urlParse \"{}\")", r.pick(URLS)),
        23 => format!("(urlJoin (urlParse \"{}\"))", r.pick(URLS)),
        24 => format!("(typeOf {any})"),
        _ => format!(
            "({} {s})",
            r.pick(&[
                "base",
                "dir",
                "clean",
                "ext",
                "isAbs",
                "toStrings",
                "splitList \"/\"",
                "sha1sum"
            ])
        ),
    }
}

fn any_expr(r: &mut Rng, depth: usize) -> String {
    match r.below(9) {
        0 | 1 => string_expr(r, depth),
        2 => int_expr(r, depth),
        3 => list_expr(r, depth),
        4 => bool_expr(r, depth),
        7 | 8 if depth < 3 => more_expr(r, depth),
        5 => r
            .pick(&["inputs.m1", "inputs.f1", "inputs.nul", "inputs", "inputs.missing"])
            .into(),
        _ => r
            .pick(&[
                "1.5",
                "nil",
                "(dict \"a\" inputs.s1)",
                "(fromJson \"{\\\"x\\\":[1,2]}\")",
            ])
            .into(),
    }
}

fn action(r: &mut Rng, depth: usize) -> String {
    let (l, rt) = if r.percent(20) {
        ("<<- ", " ->>")
    } else {
        ("<< ", " >>")
    };
    match r.below(9) {
        0 if depth < 2 => format!(
            "{l}if {}{rt}{}<< else >>{}<< end >>",
            bool_expr(r, 1),
            body(r, depth + 1),
            body(r, depth + 1)
        ),
        1 if depth < 2 => {
            format!(
                "<< range $i, $v := {} >>[<< $i >>:<< $v >>]{}<< else >>none<< end >>",
                list_expr(r, 1),
                body(r, depth + 1)
            )
        }
        2 if depth < 2 => format!("<< with {} >><< . >>{}<< end >>", any_expr(r, 1), body(r, depth + 1)),
        3 => format!("<< $x := {} >><< $x >>", any_expr(r, 1)),
        4 => format!(
            "{l}{} | {}{rt}",
            any_expr(r, 1),
            r.pick(&["toString", "quote", "len", "toJson", "upper", "typeOf", "kindOf"])
        ),
        _ => format!("{l}{}{rt}", any_expr(r, 0)),
    }
}

fn body(r: &mut Rng, depth: usize) -> String {
    let mut out = String::new();
    for _ in 0..1 + r.below(3) {
        out.push_str(r.pick(&["", " ", "\n", "text ", "\n  - ", ": "]));
        out.push_str(&action(r, depth));
    }
    out
}

/// `TEMPLATE_DIFF_SEED` explores other seeds; the default ones are what CI runs.
fn seed(default: u64) -> u64 {
    std::env::var("TEMPLATE_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(default, |s| s ^ default)
}

pub fn templates(n: usize) -> Vec<Case> {
    let mut r = Rng(seed(0x5EED_7E3A));
    (0..n)
        .map(|_| {
            let inputs = gen_inputs(&mut r);
            let text = body(&mut r, 0);
            if r.percent(5) {
                Case::t(text)
            } else {
                Case::with(text, inputs)
            }
        })
        .collect()
}

pub fn slugs(n: usize) -> Vec<Case> {
    let mut r = Rng(seed(0x5106));
    (0..n)
        .map(|k| {
            let len = if k % 10 == 0 { 60 + r.below(40) } else { r.below(20) };
            let s: String = (0..len).map(|_| r.pick(CHARS)).collect();
            Case::with("<< slugify inputs.s >>", json!({ "s": s }))
        })
        .collect()
}

pub fn adler(n: usize) -> Vec<Case> {
    let mut r = Rng(0xAD1E);
    let mut out: Vec<Case> = ["apps=1/git_tags=0", "", "a", "apps=0", "x=10/y=2/z=300"]
        .iter()
        .map(|s| Case::Adler32(s.to_string()))
        .collect();
    out.push(Case::Adler32("z".repeat(6000)));
    out.push(Case::Adler32("\u{ff}".repeat(4000)));
    out.extend((0..n).map(|_| {
        let parts = 1 + r.below(3);
        let id: Vec<String> = (0..parts)
            .map(|_| {
                format!(
                    "{}={}",
                    r.pick(&["apps", "git_tags", "tenants", "clusters", "a_b"]),
                    r.below(20)
                )
            })
            .collect();
        Case::Adler32(id.join("/"))
    }));
    out
}

const YAML_STRINGS: &[&str] = &[
    "plain",
    "",
    " lead",
    "trail ",
    "a: b",
    "a #b",
    "#c",
    "- x",
    "? q",
    ": c",
    "[x]",
    "{y}",
    "&a",
    "*b",
    "!t",
    "|p",
    ">f",
    "'s'",
    "\"d\"",
    "%p",
    "@a",
    "`b",
    "yes",
    "No",
    "ON",
    "~",
    "null",
    "1",
    "-1.5",
    "0x1f",
    "0o17",
    "1_000",
    "1e3",
    ".5",
    ".inf",
    "12:30:45",
    "2001-12-14",
    "2001-12-14 21:59:43.10",
    "<<",
    "multi\nline",
    "multi\nline\n",
    "\nlead break",
    "trail break\n\n",
    "tab\tin",
    "é日😀",
    "nel\u{85}x",
    "ls\u{2028}x",
    "bom\u{feff}",
    "bell\u{7}",
    "  two  spaces  ",
    "word word word word word word word word word word word word word word word word word word word word",
    "unbreakable-word-that-is-much-longer-than-the-eighty-column-limit-of-the-go-yaml-v2-emitter-xxxxxxxx",
];

fn yaml_value(r: &mut Rng, depth: usize) -> Value {
    match r.below(if depth > 2 { 5 } else { 8 }) {
        0 | 1 => json!(r.pick(YAML_STRINGS)),
        2 => json!([0, 1, -7, 1000000, 9_007_199_254_740_993_i64][r.below(5)]),
        3 => json!([0.5, -2.25, 1e21, 1e-7, 100.0, 3.0e10][r.below(6)]),
        4 => [Value::Null, json!(true), json!(false)][r.below(3)].clone(),
        5 | 6 => {
            let mut m = Map::new();
            for _ in 0..r.below(4) {
                m.insert(r.pick(YAML_STRINGS).to_string(), yaml_value(r, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Array((0..r.below(4)).map(|_| yaml_value(r, depth + 1)).collect()),
    }
}

/// Documents for `toYaml`: the strings go-yaml quotes, folds or writes as blocks, nested.
pub fn yaml_docs(n: usize) -> Vec<Case> {
    let mut r = Rng(seed(0x7A41));
    (0..n)
        .map(|_| {
            let doc = yaml_value(&mut r, 0);
            let text = *[
                "<< toYaml inputs.doc >>",
                "x:\n  << toYaml inputs.doc | nindent 2 >>",
                "<< mustToYaml (list inputs.doc) >>",
            ]
            .get(r.below(3))
            .unwrap_or(&"");
            Case::with(text, json!({ "doc": doc }))
        })
        .collect()
}
