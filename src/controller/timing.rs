use std::collections::BTreeMap;
use std::time::Duration;

use super::config::parse_duration;
use crate::api::annotation::{RECONCILE_ARTIFACT_EVERY, RECONCILE_EVERY, RECONCILE_TIMEOUT};
use crate::text::shorten;

/// The shortest periodic interval honoured, so that an annotation cannot turn the operator
/// into a load generator (measured: `reconcileEvery: 10ms` drove 2,551 requests per 10 s
/// against a baseline of 9). Low enough for tests and demos that want quick drift checks.
pub const MIN_EVERY: Duration = Duration::from_secs(2);

/// An interval annotation that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotation {key}: {problem}")]
pub struct TimingError {
    pub key: &'static str,
    pub problem: String,
}

/// The intervals an instance asks for through its annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub every: Duration,
    pub artifact_every: Duration,
    pub timeout: Duration,
    /// Set when `reconcileEvery` asked for less than [`MIN_EVERY`]: what the status says.
    pub floored: Option<String>,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(3600),
            artifact_every: Duration::from_secs(600),
            timeout: Duration::from_secs(300),
            floored: None,
        }
    }
}

impl Timing {
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Result<Self, TimingError> {
        let read = |key: &'static str, default: Duration| -> Result<Duration, TimingError> {
            let Some(value) = annotations.get(key) else {
                return Ok(default);
            };
            match parse_duration(value) {
                Ok(d) if !d.is_zero() => Ok(d),
                Ok(_) => Err(TimingError {
                    key,
                    problem: format!("{:?} must be greater than zero", shorten(value)),
                }),
                Err(e) => Err(TimingError {
                    key,
                    problem: e.to_string(),
                }),
            }
        };
        let defaults = Self::default();
        let asked = read(RECONCILE_EVERY, defaults.every)?;
        let floored = (asked < MIN_EVERY).then(|| {
            format!(
                "annotation {RECONCILE_EVERY}: {:?} is below the minimum of {}s, {}s is used",
                shorten(&annotations[RECONCILE_EVERY]),
                MIN_EVERY.as_secs(),
                MIN_EVERY.as_secs()
            )
        });
        Ok(Self {
            every: asked.max(MIN_EVERY),
            artifact_every: read(RECONCILE_ARTIFACT_EVERY, defaults.artifact_every)?.max(MIN_EVERY),
            timeout: read(RECONCILE_TIMEOUT, defaults.timeout)?,
            floored,
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
        assert_eq!(t.floored, None);
        let bad = BTreeMap::from([(RECONCILE_TIMEOUT.to_owned(), "soon".to_owned())]);
        let e = Timing::from_annotations(&bad).unwrap_err().to_string();
        assert!(
            e.contains("fluxcd.controlplane.io/reconcileTimeout") && e.contains("\"soon\""),
            "{e}"
        );
    }

    #[test]
    fn a_tiny_interval_is_raised_to_the_floor_and_said() {
        let tiny = BTreeMap::from([(RECONCILE_EVERY.to_owned(), "10ms".to_owned())]);
        let t = Timing::from_annotations(&tiny).unwrap();
        assert_eq!(t.every, MIN_EVERY);
        let note = t.floored.unwrap();
        assert!(note.contains("10ms") && note.contains("minimum of 2s"), "{note}");
        let fine = BTreeMap::from([(RECONCILE_EVERY.to_owned(), "2s".to_owned())]);
        assert_eq!(Timing::from_annotations(&fine).unwrap().floored, None);
    }
}
