use semver::Version;

use super::{Constraint, Error};

/// The highest of `candidates` matching a Masterminds/semver v3 constraint.
pub fn resolve_version(constraint: &str, candidates: &[Version]) -> Result<Version, Error> {
    let parsed = Constraint::parse(constraint)?;
    candidates
        .iter()
        .filter(|v| parsed.matches(v))
        .max_by(|a, b| a.cmp_precedence(b))
        .cloned()
        .ok_or_else(|| Error::NoMatch {
            constraint: constraint.to_string(),
            available: describe_versions(candidates),
        })
}

/// What `<major>.x` resolves to, so that the caller can tell the user when the version
/// they pinned is behind the newest release of its major line (`OutdatedVersion`).
pub fn latest_for_major(candidates: &[Version], major: u64) -> Option<Version> {
    candidates
        .iter()
        .filter(|v| v.major == major && v.pre.is_empty())
        .max_by(|a, b| a.cmp_precedence(b))
        .cloned()
}

/// The `candidates` whose major.minor line `known` also has: a newer line from an
/// artifact can need build logic that this operator does not have yet.
pub fn on_known_lines(candidates: &[Version], known: &[Version]) -> Vec<Version> {
    candidates
        .iter()
        .filter(|c| known.iter().any(|k| (k.major, k.minor) == (c.major, c.minor)))
        .cloned()
        .collect()
}

/// Lists versions in one line for an error message: runs of consecutive patches
/// collapse to `vA..vB`, so a gap such as the missing v2.8.4 stays visible.
fn describe_versions(versions: &[Version]) -> String {
    let mut sorted = versions.to_vec();
    sorted.sort_by(|a, b| a.cmp_precedence(b));
    sorted.dedup_by(|a, b| a.cmp_precedence(b).is_eq());
    let mut runs: Vec<(&Version, &Version)> = Vec::new();
    for version in &sorted {
        match runs.last_mut() {
            Some((_, end)) if follows(end, version) => *end = version,
            _ => runs.push((version, version)),
        }
    }
    if runs.is_empty() {
        return "none".into();
    }
    runs.iter()
        .map(|(start, end)| {
            if start == end {
                format!("v{start}")
            } else {
                format!("v{start}..v{end}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn follows(previous: &Version, next: &Version) -> bool {
    previous.pre.is_empty()
        && next.pre.is_empty()
        && (previous.major, previous.minor) == (next.major, next.minor)
        && previous.patch.checked_add(1) == Some(next.patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::{Distribution, test_data_root};

    fn v(text: &str) -> Version {
        Version::parse(text).expect("test version")
    }

    fn real_versions() -> Vec<Version> {
        Distribution::open(&test_data_root())
            .expect("the shared distribution opens")
            .versions()
            .to_vec()
    }

    /// (constraint, resolved version or None when nothing matches), over v2.2.3 … v2.9.4.
    const REAL: &[(&str, Option<&str>)] = &[
        // Wildcards and partial versions.
        ("2.x", Some("2.9.4")),
        ("2.X", Some("2.9.4")),
        ("2.*", Some("2.9.4")),
        ("2.x.x", Some("2.9.4")),
        ("*", Some("2.9.4")),
        ("x", Some("2.9.4")),
        ("2", Some("2.9.4")),
        ("v2", Some("2.9.4")),
        ("v2.x", Some("2.9.4")),
        ("2.8", Some("2.8.8")),
        ("2.8.x", Some("2.8.8")),
        ("v2.8.x", Some("2.8.8")),
        ("2.8.*", Some("2.8.8")),
        ("=2.8", Some("2.8.8")),
        ("2.2", Some("2.2.3")),
        ("3.x", None),
        ("1.x", None),
        // Exact versions: with or without v, never a Cargo-style caret.
        ("2.8.0", Some("2.8.0")),
        ("v2.8.0", Some("2.8.0")),
        ("=2.8.0", Some("2.8.0")),
        ("=v2.8.0", Some("2.8.0")),
        ("  v2.8.0\t", Some("2.8.0")),
        ("2.8.0+build.7", Some("2.8.0")),
        ("2.8.4", None),
        ("2.2.0", None),
        ("2.9.5", None),
        // Tilde.
        ("~2.8", Some("2.8.8")),
        ("~2.8.1", Some("2.8.8")),
        ("~2.8.x", Some("2.8.8")),
        ("~>2.7", Some("2.7.5")),
        ("~2", Some("2.9.4")),
        ("~2.2.0", Some("2.2.3")),
        ("~2.10", None),
        // Caret.
        ("^2.6", Some("2.9.4")),
        ("^2", Some("2.9.4")),
        ("^2.8.5", Some("2.9.4")),
        ("^v2.3.0", Some("2.9.4")),
        ("^3", None),
        // Comparisons, with AND by space or comma.
        (">=2.6.0 <2.9.0", Some("2.8.8")),
        (">=2.6.0, <2.9.0", Some("2.8.8")),
        (">= 2.6.0 , < 2.9.0", Some("2.8.8")),
        (">=2.6.0,<2.9.0", Some("2.8.8")),
        ("<2.5", Some("2.4.0")),
        ("<2.5.1", Some("2.5.0")),
        ("<=2.5", Some("2.5.1")),
        ("<=2.8.3", Some("2.8.3")),
        ("<=2.8.4", Some("2.8.3")),
        ("=<2.6", Some("2.6.4")),
        (">2.8", Some("2.9.4")),
        (">2.8 <2.9.3", Some("2.9.2")),
        (">2.5 <2.7", Some("2.6.4")),
        (">2", None),
        (">=2.9.4", Some("2.9.4")),
        ("=>2.9.4", Some("2.9.4")),
        (">2.9.4", None),
        ("<2.2.3", None),
        ("!=2.9.4", Some("2.9.3")),
        ("!=2.9", Some("2.8.8")),
        ("!=2.9.x", Some("2.8.8")),
        ("2.x !=2.9.4 !=2.9.3", Some("2.9.2")),
        ("2.x, !=2.9.x, !=2.8.8", Some("2.8.7")),
        // Hyphen ranges.
        ("2.6 - 2.8", Some("2.8.8")),
        ("2.6.0 - 2.8.2", Some("2.8.2")),
        ("v2.6 - v2.7", Some("2.7.5")),
        ("2 - 2.3", Some("2.3.0")),
        ("2.8.5 - 2.8.4", None),
        // OR.
        ("2.7.x || 2.9.x", Some("2.9.4")),
        ("2.7.x||2.8.x", Some("2.8.8")),
        ("<2.3 || >=2.9.3 <2.9.4", Some("2.9.3")),
        ("3.x || 2.5", Some("2.5.1")),
        ("2.8.4 || 2.8.3", Some("2.8.3")),
    ];

    #[test]
    fn constraint_vectors_over_the_real_releases() {
        let versions = real_versions();
        for (constraint, expected) in REAL {
            let got = resolve_version(constraint, &versions);
            match expected {
                Some(expected) => assert_eq!(
                    got.as_ref().ok(),
                    Some(&v(expected)),
                    "{constraint:?} should resolve to v{expected}, got {got:?}"
                ),
                None => assert!(
                    matches!(got, Err(Error::NoMatch { .. })),
                    "{constraint:?} should match nothing, got {got:?}"
                ),
            }
        }
    }

    #[test]
    fn no_match_names_the_constraint_and_lists_versions_compactly() {
        let err = resolve_version("3.x", &real_versions()).expect_err("no 3.x");
        assert_eq!(
            err.to_string(),
            "spec.distribution.version: no Flux version matches \"3.x\"; available: v2.2.3, v2.3.0, v2.4.0, \
             v2.5.0..v2.5.1, v2.6.0..v2.6.4, v2.7.0..v2.7.5, v2.8.0..v2.8.3, v2.8.5..v2.8.8, v2.9.0..v2.9.4"
        );
        assert_eq!(err.reason(), "BuildFailed");
        let err = resolve_version("2.x", &[]).expect_err("no candidates");
        assert!(err.to_string().ends_with("available: none"), "{err}");
    }

    #[test]
    fn invalid_constraints_are_reported_before_matching() {
        for constraint in ["2.8.x.y", ">>2", "latest", "", "2.8 ||"] {
            let err = resolve_version(constraint, &real_versions()).expect_err(constraint);
            assert!(matches!(err, Error::InvalidConstraint { .. }), "{constraint:?}: {err}");
            assert!(err.to_string().contains(&format!("{constraint:?}")), "{err}");
            assert!(err.to_string().contains("spec.distribution.version"), "{err}");
        }
    }

    #[test]
    fn synthetic_candidates() {
        let candidates = [v("2.9.3"), v("2.9.4"), v("3.0.0-rc.1"), v("3.0.0"), v("3.1.0-rc.1")];
        let cases = [
            ("*", "3.0.0"),
            ("2.x", "2.9.4"),
            ("3.x", "3.0.0"),
            (">=3.0.0-0", "3.1.0-rc.1"),
            ("3.0.0-rc.1", "3.0.0-rc.1"),
            ("~3.0.0-0", "3.0.0"),
            ("<3.0.0-rc.2", "3.0.0-rc.1"),
            ("<3", "2.9.4"),
            (">2.9", "3.0.0"),
            ("^2.9.3", "2.9.4"),
            ("2.9 - 3.0", "3.0.0"),
        ];
        for (constraint, expected) in cases {
            assert_eq!(
                resolve_version(constraint, &candidates).ok(),
                Some(v(expected)),
                "{constraint:?}"
            );
        }
        // Unsorted candidates and build metadata.
        let unsorted = [v("1.2.0"), v("1.10.0"), v("1.9.0+meta")];
        assert_eq!(resolve_version("1.x", &unsorted).ok(), Some(v("1.10.0")));
        assert_eq!(resolve_version("1.9.0", &unsorted).ok(), Some(v("1.9.0+meta")));
    }

    #[test]
    fn latest_for_major_is_what_major_x_gives() {
        let versions = real_versions();
        assert_eq!(latest_for_major(&versions, 2), Some(v("2.9.4")));
        assert_eq!(latest_for_major(&versions, 3), None);
        let with_pre = [v("2.9.4"), v("3.0.0-rc.1"), v("3.0.0-rc.2")];
        assert_eq!(latest_for_major(&with_pre, 3), None);
        for major in [2, 3] {
            assert_eq!(
                latest_for_major(&with_pre, major),
                resolve_version(&format!("{major}.x"), &with_pre).ok()
            );
        }
    }

    #[test]
    fn on_known_lines_keeps_only_lines_the_operator_knows() {
        let known = real_versions();
        let artifact = [v("2.9.5"), v("2.10.0"), v("3.0.0"), v("2.2.4")];
        assert_eq!(on_known_lines(&artifact, &known), [v("2.9.5"), v("2.2.4")]);
    }

    #[test]
    fn describe_versions_collapses_runs_only() {
        let versions = [
            v("1.0.1"),
            v("1.0.0"),
            v("1.0.0"),
            v("1.0.3"),
            v("1.1.0-rc.1"),
            v("1.1.0"),
        ];
        assert_eq!(
            describe_versions(&versions),
            "v1.0.0..v1.0.1, v1.0.3, v1.1.0-rc.1, v1.1.0"
        );
    }
}
