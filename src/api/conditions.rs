//! Condition bookkeeping: a transition time changes only when the status does.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::condition_type::{READY, RECONCILING, STALLED};

/// Sets (or replaces) a condition, keeping its transition time when its status is unchanged.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    let now = Time(Timestamp::now());
    let message: String = message.chars().take(32 * 1024).collect();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = now;
            }
            c.status = status.to_owned();
            c.reason = reason.to_owned();
            c.message = message;
            c.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message,
            observed_generation: generation,
            last_transition_time: now,
        }),
    }
    // The abnormal-true conditions before Ready, in the order upstream's status shows them.
    conditions.sort_by_key(|c| match c.type_.as_str() {
        RECONCILING => 0,
        STALLED => 1,
        READY => 2,
        _ => 3,
    });
}

pub fn remove(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == "True")
}

/// In progress: Reconciling=True, Ready=Unknown.
pub fn progressing(conditions: &mut Vec<Condition>, reason: &str, message: &str, generation: Option<i64>) {
    set(conditions, RECONCILING, "True", reason, message, generation);
    set(conditions, READY, "Unknown", reason, message, generation);
}

/// Done: Ready=True, no Reconciling, no Stalled.
pub fn succeeded(conditions: &mut Vec<Condition>, reason: &str, message: &str, generation: Option<i64>) {
    set(conditions, READY, "True", reason, message, generation);
    remove(conditions, RECONCILING);
    remove(conditions, STALLED);
}

/// Failed; `stalled` when retrying cannot help until the spec changes. A retried failure
/// keeps Reconciling's message, as upstream does: the reconcile is still in progress.
pub fn failed(conditions: &mut Vec<Condition>, reason: &str, message: &str, generation: Option<i64>, stalled: bool) {
    set(conditions, READY, "False", reason, message, generation);
    if stalled {
        set(conditions, STALLED, "True", reason, message, generation);
        remove(conditions, RECONCILING);
    } else {
        set(
            conditions,
            RECONCILING,
            "True",
            super::reason::PROGRESSING_WITH_RETRY,
            "Reconciliation in progress",
            generation,
        );
        remove(conditions, STALLED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_on_status_change() {
        let mut c = Vec::new();
        set(&mut c, READY, "False", "A", "a", Some(1));
        let t0 = c[0].last_transition_time.clone();
        std::thread::sleep(std::time::Duration::from_millis(5));
        set(&mut c, READY, "False", "B", "b", Some(2));
        assert_eq!(c[0].last_transition_time, t0);
        assert_eq!(c[0].reason, "B");
        set(&mut c, READY, "True", "C", "c", Some(2));
        assert_ne!(c[0].last_transition_time, t0);
    }

    #[test]
    fn failure_modes() {
        let mut c = Vec::new();
        progressing(&mut c, "Progressing", "Reconciliation in progress", Some(1));
        assert_eq!(get(&c, READY).unwrap().status, "Unknown");
        failed(&mut c, "BuildFailed", "bad", Some(1), true);
        assert!(is_true(&c, STALLED));
        assert!(get(&c, RECONCILING).is_none());
        failed(&mut c, "ReconciliationFailed", "later", Some(1), false);
        assert!(get(&c, STALLED).is_none());
        assert_eq!(get(&c, RECONCILING).unwrap().reason, "ProgressingWithRetry");
        succeeded(&mut c, "ReconciliationSucceeded", "ok", Some(1));
        assert_eq!(c.len(), 1);
        assert!(is_true(&c, READY));
    }
}
