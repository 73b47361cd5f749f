use std::collections::BTreeMap;
use std::time::Duration;

use super::config::parse_duration;
use crate::api::annotation::{RECONCILE_ARTIFACT_EVERY, RECONCILE_EVERY, RECONCILE_TIMEOUT};

/// The intervals an instance asks for through its annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub every: Duration,
    pub artifact_every: Duration,
    pub timeout: Duration,
}

impl Timing {
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Result<Self, String> {
        let read = |key: &str, default: Duration| -> Result<Duration, String> {
            match annotations.get(key) {
                None => Ok(default),
                Some(value) => match parse_duration(value) {
                    Ok(d) if !d.is_zero() => Ok(d),
                    Ok(_) => Err(format!("annotation {key}: {value:?} must be greater than zero")),
                    Err(e) => Err(format!("annotation {key}: {e}")),
                },
            }
        };
        Ok(Self {
            every: read(RECONCILE_EVERY, Duration::from_secs(3600))?,
            artifact_every: read(RECONCILE_ARTIFACT_EVERY, Duration::from_secs(600))?,
            timeout: read(RECONCILE_TIMEOUT, Duration::from_secs(300))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let t = Timing::from_annotations(&BTreeMap::new()).unwrap();
        assert_eq!(t.every, Duration::from_secs(3600));
        assert_eq!(t.timeout, Duration::from_secs(300));
        assert_eq!(t.artifact_every, Duration::from_secs(600));
        let bad = BTreeMap::from([(RECONCILE_TIMEOUT.to_owned(), "soon".to_owned())]);
        let e = Timing::from_annotations(&bad).unwrap_err();
        assert!(
            e.contains("fluxcd.controlplane.io/reconcileTimeout") && e.contains("\"soon\""),
            "{e}"
        );
    }
}
