use serde_json::{Value, json};

use super::*;

fn filter(value: Value) -> Filter {
    serde_json::from_value(value).expect("filter")
}

fn compile(value: Value, slot: Slot) -> (Selection, Vec<String>) {
    Selection::compile(Some(&filter(value)), slot).expect("compiles")
}

fn set(value: Value) -> InputSet {
    value.as_object().cloned().expect("object")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_types_own_field_wins_and_the_others_are_noted() {
    let (sel, notes) = compile(json!({"includeBranch": "^feat", "includeTag": "^v"}), Slot::Branch);
    assert!(sel.admits("feat-a"));
    assert!(!sel.admits("v1"));
    assert_eq!(
        notes,
        ["spec.filter.includeTag is ignored: this type filters branch names with spec.filter.includeBranch"]
    );
    let (sel, notes) = compile(json!({"excludeTag": "rc"}), Slot::Tag);
    assert!(!sel.admits("v1-rc"));
    assert!(sel.admits("v1"));
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn without_its_own_field_upstreams_last_slot_applies_with_a_note() {
    let both = json!({"includeBranch": "^main$", "includeEnvironment": "^prod"});
    let (sel, notes) = compile(both, Slot::Tag);
    assert!(sel.admits("production"));
    assert!(!sel.admits("main"), "environment is the last set in upstream's order");
    assert_eq!(
        notes,
        ["spec.filter.includeEnvironment is applied to tags as upstream does; set spec.filter.includeTag instead"]
    );
    let (sel, notes) = compile(json!({"excludeBranch": "^dev"}), Slot::Environment);
    assert!(!sel.admits("dev-1"));
    assert_eq!(notes.len(), 1);
}

#[test]
fn bad_regexes_and_constraints_name_the_field() {
    let err = Selection::compile(Some(&filter(json!({"includeBranch": "(a"}))), Slot::Branch).unwrap_err();
    assert_eq!(err.field, "spec.filter.includeBranch");
    assert!(
        err.why.starts_with("invalid regular expression \"(a\": "),
        "{}",
        err.why
    );
    assert!(!err.why.contains('\n'), "{}", err.why);
    let err = Selection::compile(Some(&filter(json!({"excludeTag": "[z-a]"}))), Slot::Tag).unwrap_err();
    assert_eq!(err.field, "spec.filter.excludeTag");
    let err = Selection::compile(Some(&filter(json!({"semver": ">=1.0.0 <<2"}))), Slot::Tag).unwrap_err();
    assert_eq!(err.field, "spec.filter.semver");
    assert!(
        err.to_string()
            .starts_with("spec.filter.semver: invalid version constraint"),
        "{err}"
    );
    let long = "(".repeat(500);
    let err = Selection::compile(Some(&filter(json!({"includeTag": long}))), Slot::Tag).unwrap_err();
    assert!(err.why.len() < 300, "the value is shortened: {}", err.why);
}

#[test]
fn the_limit_defaults_and_is_bounded() {
    assert_eq!(Selection::compile(None, Slot::Tag).unwrap().0.limit(), DEFAULT_LIMIT);
    assert_eq!(compile(json!({"limit": 0}), Slot::Tag).0.limit(), DEFAULT_LIMIT);
    assert_eq!(compile(json!({"limit": -3}), Slot::Tag).0.limit(), DEFAULT_LIMIT);
    assert_eq!(compile(json!({"limit": 20000}), Slot::Tag).0.limit(), MAX_LIMIT);
    assert_eq!(compile(json!({"limit": 2}), Slot::Tag).0.limit(), 2);
}

#[test]
fn api_order_types_keep_the_first_admitted() {
    let (sel, _) = compile(json!({"excludeBranch": "^tmp", "limit": 2}), Slot::Branch);
    let kept = sel.first(["tmp-1", "b", "a", "c"], |n| n);
    assert_eq!(kept, ["b", "a"]);
}

#[test]
fn tags_without_semver_are_in_reverse_byte_order() {
    let (sel, _) = compile(json!({"limit": 3}), Slot::Tag);
    let kept = sel.tags(strings(&["v1.2.0", "v1.10.0", "latest", "V9", "v1.9.0"]), |n| n);
    assert_eq!(kept, ["v1.9.0", "v1.2.0", "v1.10.0"]);
}

#[test]
fn tags_with_semver_are_the_matching_versions_newest_first() {
    let (sel, _) = compile(json!({"semver": ">=1.0.0"}), Slot::Tag);
    let tags = [
        "0.9.0",
        "v1.2.0",
        "1.10.0",
        "latest",
        "v2.0.0-rc.1",
        "1.02.3",
        "1.2",
        "v1.0.0",
    ];
    let kept = sel.tags(tags, |n| n);
    assert_eq!(kept, ["1.10.0", "1.02.3", "v1.2.0", "v1.0.0"]);
    let (sel, _) = compile(
        json!({"semver": ">=1.0.0", "limit": 1, "excludeTag": "^1\\.10"}),
        Slot::Tag,
    );
    assert_eq!(sel.tags(tags, |n| n), ["1.02.3"]);
    let (sel, _) = compile(json!({"semver": ">=2.0.0-0"}), Slot::Tag);
    assert_eq!(
        sel.tags(tags, |n| n),
        ["v2.0.0-rc.1"],
        "a prerelease constraint admits prereleases"
    );
}

#[test]
fn tag_versions_follow_the_lenient_rules() {
    let v = |t: &str| tag_version(t).map(|v| v.to_string());
    assert_eq!(v("v1.2.3").as_deref(), Some("1.2.3"));
    assert_eq!(v("01.002.3").as_deref(), Some("1.2.3"));
    assert_eq!(v("1.2.3-rc.1+b.5").as_deref(), Some("1.2.3-rc.1+b.5"));
    for bad in [
        "1.2", "1.2.3.4", "vv1.2.3", "1.2.3-", "1.2.3+", "1..3", "a.b.c", "1.2.-3", " 1.2.3", "",
    ] {
        assert_eq!(v(bad), None, "{bad:?}");
    }
}

#[test]
fn labels_must_all_be_present() {
    let (sel, _) = compile(json!({"labels": ["deploy", "ok"]}), Slot::Branch);
    assert!(sel.has_labels(&strings(&["ok", "x", "deploy"])));
    assert!(!sel.has_labels(&strings(&["deploy"])));
    assert!(Selection::compile(None, Slot::Branch).unwrap().0.has_labels(&[]));
}

#[test]
fn skip_rules_match_present_or_absent_labels() {
    let rules = SkipRules::new(Some(&Skip {
        labels: strings(&["hold", "!ready"]),
    }));
    assert!(rules.skips(&strings(&["hold", "ready"])));
    assert!(rules.skips(&[]));
    assert!(!rules.skips(&strings(&["ready"])));
    assert!(!SkipRules::new(None).skips(&strings(&["hold"])));
}

#[test]
fn skipped_results_are_frozen_or_left_out() {
    let rules = SkipRules::new(Some(&Skip {
        labels: strings(&["hold"]),
    }));
    let previous = vec![set(json!({"id": "1", "sha": "old", "env": "default"}))];
    let found = vec![
        Found {
            set: set(json!({"id": "1", "sha": "new"})),
            labels: strings(&["hold"]),
        },
        Found {
            set: set(json!({"id": "2", "sha": "b"})),
            labels: strings(&["hold"]),
        },
        Found {
            set: set(json!({"id": "3", "sha": "c"})),
            labels: vec![],
        },
    ];
    let exported = freeze(found, &rules, &previous);
    assert_eq!(
        exported,
        vec![
            set(json!({"id": "1", "sha": "old", "env": "default"})),
            set(json!({"id": "3", "sha": "c"}))
        ]
    );
}
