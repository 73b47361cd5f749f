use semver::Version;

use super::Error;

/// Refuses a move to a lower (major, minor) than what was last applied: controllers
/// and CRDs of an older minor cannot read what a newer one stored. The pair is compared
/// as a whole, unlike upstream, which compares minors alone and so would refuse 2.9 -> 3.0.
/// Patch downgrades stay allowed: they are how a bad patch release is backed out.
pub fn check_upgrade(last_applied: &Version, next: &Version) -> Result<(), Error> {
    if (next.major, next.minor) < (last_applied.major, last_applied.minor) {
        return Err(Error::Downgrade {
            from: last_applied.clone(),
            to: next.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(from: &str, to: &str) -> Result<(), Error> {
        check_upgrade(&Version::parse(from).expect("from"), &Version::parse(to).expect("to"))
    }

    #[test]
    fn upgrades_and_patch_downgrades_are_allowed() {
        for (from, to) in [
            ("2.9.4", "2.9.4"),
            ("2.8.8", "2.9.0"),
            ("2.2.3", "2.9.4"),
            ("2.9.4", "3.0.0"),
            ("2.9.4", "3.0.0-rc.1"),
            ("2.9.4", "2.9.1"),
            ("2.9.0", "2.9.0-rc.1"),
            ("1.9.0", "2.0.0"),
        ] {
            assert!(check(from, to).is_ok(), "{from} -> {to}");
        }
    }

    #[test]
    fn minor_and_major_downgrades_are_refused() {
        for (from, to) in [
            ("2.9.4", "2.8.8"),
            ("3.0.0", "2.9.4"),
            ("3.1.0", "2.99.0"),
            ("2.9.0", "2.8.99"),
        ] {
            let err = check(from, to).expect_err(&format!("{from} -> {to}"));
            assert_eq!(
                err.to_string(),
                format!("downgrading from v{from} to v{to} is not supported, reinstall needed")
            );
            assert_eq!(err.reason(), "BuildFailed");
        }
    }
}
