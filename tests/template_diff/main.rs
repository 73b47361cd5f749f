//! The ResourceSet template engine against the real thing: every case goes through
//! `flux_operator_rs::resourceset::template` and through hack/gotemplate (Go's
//! text/template with `<<` `>>` and missingkey=error, slim-sprig v3's hermetic functions,
//! gosimple/slug, sigs.k8s.io/yaml, hash/adler32; built by hack/gotemplate.sh). Outputs
//! must be identical; errors must be errors on both sides with the same message, except
//! in the classes of difference listed in [`CLASSES`].

mod cases;
mod generate;
#[path = "../oracles/go_program.rs"]
mod go_program;
#[path = "../oracles/splitmix.rs"]
mod splitmix;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use flux_operator_rs::resourceset::template::{self, ids};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Go program's path, built (once, cached) by its script.
fn gotemplate() -> PathBuf {
    go_program::build("gotemplate.sh", "the Go template program")
}

/// A case: a template with its inputs (None: the nil inputs), or an Adler-32 input.
#[derive(Clone, Debug)]
pub enum Case {
    Template { text: String, inputs: Option<Value> },
    Adler32(String),
}

impl Case {
    pub fn t(text: impl Into<String>) -> Case {
        Case::Template {
            text: text.into(),
            inputs: None,
        }
    }

    pub fn with(text: impl Into<String>, inputs: Value) -> Case {
        Case::Template {
            text: text.into(),
            inputs: Some(inputs),
        }
    }

    fn request(&self) -> Value {
        match self {
            Case::Template { text, inputs } => json!({"template": text, "inputs": inputs}),
            Case::Adler32(s) => json!({"adler32": s}),
        }
    }

    fn describe(&self) -> String {
        match self {
            Case::Template { text, inputs } => {
                let inputs = inputs.as_ref().map_or("nil".into(), |i| i.to_string());
                let inputs = match inputs.char_indices().nth(100) {
                    Some((end, _)) => format!("{}...", &inputs[..end]),
                    None => inputs,
                };
                format!("{text:?} with {inputs}")
            }
            Case::Adler32(s) => format!("adler32 of {s:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Out(String),
    Error(String),
}

fn theirs(binary: &PathBuf, cases: &[Case]) -> Vec<Answer> {
    let mut child = Command::new(binary)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let requests: String = cases.iter().map(|c| format!("{}\n", c.request())).collect();
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()).expect("writing the cases"));
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout)
        .expect("reading the answers");
    writer.join().expect("the writer thread");
    assert!(
        child.wait().expect("waiting for the Go program").success(),
        "the Go program failed"
    );
    let answers: Vec<Answer> = stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("a JSON answer");
            match (&v["out"], &v["error"]) {
                (Value::String(o), _) => Answer::Out(o.clone()),
                (_, Value::String(e)) => Answer::Error(e.clone()),
                other => panic!("unexpected answer {other:?}"),
            }
        })
        .collect();
    assert_eq!(answers.len(), cases.len(), "one answer per case");
    answers
}

fn ours(case: &Case) -> Answer {
    match case {
        Case::Template { text, inputs } => {
            let inputs = inputs
                .as_ref()
                .map(|v| v.as_object().expect("inputs are an object").clone());
            match template::render("t", text, inputs.as_ref()) {
                Ok(out) => Answer::Out(out),
                Err(e) => Answer::Error(e.to_string()),
            }
        }
        Case::Adler32(s) => Answer::Out(ids::adler32(s.as_bytes()).to_string()),
    }
}

/// A kept difference: what identifies it, and why it is kept.
struct Class {
    name: &'static str,
    reason: &'static str,
    applies: fn(&Case, &Answer, &Answer) -> bool,
}

fn both_errors_containing(ours: &Answer, theirs: &Answer, needle: &str) -> bool {
    matches!((ours, theirs), (Answer::Error(a), Answer::Error(b)) if a.contains(needle) && b.contains(needle))
}

const CLASSES: &[Class] = &[
    Class {
        name: "regular expression syntax errors",
        reason: "both refuse the pattern; the reason after `error parsing regexp:` is the regex crate's wording",
        applies: |_, o, t| both_errors_containing(o, t, "error parsing regexp"),
    },
    Class {
        name: "number verbs on a time",
        reason: "printf's %d, %f... of a time.Time print Go's private struct fields and a pointer address, \
                 which nothing can reproduce; here Go's `%!f(type=value)` form",
        applies: |_, o, t| matches!((o, t), (Answer::Out(o), Answer::Out(t)) if o.contains("(time.Time=") && t.contains("*time.Location")),
    },
    Class {
        name: "template recursion limit",
        reason: "100 nested `template` calls here (the operator's threads have fixed stacks), 100000 in Go",
        applies: |_, o, t| both_errors_containing(o, t, "exceeded maximum template depth"),
    },
    Class {
        name: "strings cut inside a character",
        reason: "`substr`/`trunc` cut bytes: Go keeps a broken UTF-8 sequence (printed, it becomes one U+FFFD \
                 per byte), here each stray byte is a U+FFFD already, so `len`, `quote` (`\\x84`), hashes and \
                 encodings of such a string differ",
        applies: |c, o, t| {
            let Case::Template { text, inputs } = c else {
                return false;
            };
            let non_ascii = inputs.as_ref().is_some_and(|i| !i.to_string().is_ascii()) || !text.is_ascii();
            (text.contains("substr") || text.contains("trunc"))
                && non_ascii
                && matches!((o, t), (Answer::Out(_), Answer::Out(_)))
        },
    },
];

#[test]
fn templates_match_go() {
    let binary = gotemplate();
    let mut all = cases::functions();
    let functions = all.len();
    all.extend(cases::language());
    let language = all.len() - functions;
    let generated = std::env::var("TEMPLATE_DIFF_TEMPLATES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    all.extend(generate::templates(generated));
    all.extend(generate::yaml_docs(300));
    all.extend(generate::slugs(300));
    all.extend(generate::adler(100));
    let expected = theirs(&binary, &all);
    let mut same = 0;
    let mut same_error_message = 0;
    let mut errors = 0;
    let mut per_class = vec![Vec::new(); CLASSES.len()];
    let mut unexplained = Vec::new();
    for (case, theirs) in all.iter().zip(&expected) {
        let ours = ours(case);
        if let Answer::Error(_) = theirs {
            errors += 1;
        }
        if &ours == theirs {
            same += 1;
            if let Answer::Error(_) = theirs {
                same_error_message += 1;
            }
            continue;
        }
        let line = format!("{}:\n    ours {ours:?}\n    Go   {theirs:?}", case.describe());
        match CLASSES.iter().position(|class| (class.applies)(case, &ours, theirs)) {
            Some(i) => per_class[i].push(line),
            None => unexplained.push(line),
        }
    }
    println!(
        "{} cases ({functions} function cases, {language} language cases, the rest generated): {same} identical, \
         {errors} errors in Go ({same_error_message} with the same message here)",
        all.len()
    );
    for (class, lines) in CLASSES.iter().zip(&per_class) {
        println!("  allowed class \"{}\" ({}): {}", class.name, class.reason, lines.len());
        for line in lines.iter().take(2) {
            println!("    e.g. {line}");
        }
    }
    println!("  unexplained: {}", unexplained.len());
    let shown: usize = std::env::var("TEMPLATE_DIFF_SHOW")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    assert!(
        unexplained.is_empty(),
        "{} differences from Go outside the allowed classes:\n{}",
        unexplained.len(),
        unexplained.iter().take(shown).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The transliteration table slugify carries is the Go library's.
#[test]
fn unidecode_table_matches_go() {
    let binary = gotemplate();
    let out = Command::new(&binary)
        .arg("unidecode-table")
        .output()
        .expect("running the Go program");
    assert!(out.status.success());
    let unpack = |bytes: &[u8]| {
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(bytes)
            .read_to_end(&mut raw)
            .expect("a zlib stream");
        raw
    };
    let carried = std::fs::read(root().join("src/resourceset/template/unidecode.zlib")).expect("the carried table");
    assert!(
        unpack(&carried) == unpack(&out.stdout),
        "src/resourceset/template/unidecode.zlib differs from gosimple/unidecode: regenerate it with `$(hack/gotemplate.sh) unidecode-table`"
    );
}

/// `randInt` and `ago` read randomness and the clock: only their shape is compared.
#[test]
fn non_deterministic_functions_have_the_right_shape() {
    for _ in 0..50 {
        let out = template::render("t", "<< randInt 3 7 >>", None).expect("randInt renders");
        let n: i64 = out.parse().expect("an integer");
        assert!((3..7).contains(&n), "{n}");
    }
    let ago = template::render("t", "<< ago (toDate \"2006-01-02\" \"2020-01-02\") >>", None).expect("ago renders");
    assert!(ago.ends_with('s') && ago.contains('h'), "{ago}");
    let err = template::render("t", "<< randInt 3 3 >>", None).expect_err("an empty range");
    assert!(err.to_string().contains("invalid argument to Intn"), "{err}");
}
