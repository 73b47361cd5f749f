//! ResourceSetInputProvider schedules (SPEC-resourceset §12.5), pure: the clock is an
//! argument. A schedule is a cron expression (five fields or a descriptor) in an IANA time
//! zone, with a window after each trigger during which runs may start.
//!
//! `@every <duration>` triggers at the multiples of the duration since the Unix epoch, so
//! that "the latest trigger" has a meaning that does not depend on when the operator started.

use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{NextSchedule, Schedule};
use crate::controller::config::parse_duration;

/// Why `spec.schedule` cannot be used: Stalled `InvalidSchedule`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("spec.schedule[{index}].cron: invalid expression {cron:?}: {why}")]
    Cron { index: usize, cron: String, why: String },
    #[error("spec.schedule[{index}].timeZone: unknown time zone {zone:?}")]
    TimeZone { index: usize, zone: String },
    #[error("spec.schedule[{index}].window: invalid duration {window:?}")]
    Window { index: usize, window: String },
    #[error("spec.schedule[{index}].window: {window} must be 0s or at least twice the reconcile timeout ({timeout:?})")]
    WindowTooShort {
        index: usize,
        window: String,
        timeout: Duration,
    },
}

/// The parsed schedules of one provider.
pub struct Plan {
    entries: Vec<Entry>,
}

struct Entry {
    spec: Schedule,
    trigger: Trigger,
    zone: TimeZone,
    window: Duration,
}

enum Trigger {
    Cron(Box<Cron>),
    Every(Duration),
}

/// When the provider should run next, after a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Wake {
    pub at: Timestamp,
    /// The schedule trigger the wake-up is for; None when it is the periodic one.
    pub next: Option<NextSchedule>,
}

impl Plan {
    /// Parses `specs`; windows are checked against the provider's `timeout`.
    pub fn parse(specs: &[Schedule], timeout: Duration) -> Result<Plan, ScheduleError> {
        let entries = specs
            .iter()
            .enumerate()
            .map(|(index, spec)| entry(index, spec, timeout))
            .collect::<Result<_, _>>()?;
        Ok(Plan { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a run starting at `now` may go: no schedules, or one with no window, or one
    /// whose latest trigger leaves room for the whole run (`timeout`) in its window.
    pub fn allows(&self, now: Timestamp, timeout: Duration) -> bool {
        self.entries.is_empty()
            || self.entries.iter().any(|e| {
                e.window.is_zero()
                    || e.previous(now)
                        .is_some_and(|prev| plus(now, timeout) < plus(prev, e.window))
            })
    }

    /// The earliest trigger after `now`, with its schedule.
    pub fn next(&self, now: Timestamp) -> Option<NextSchedule> {
        let (entry, when) = self
            .entries
            .iter()
            .filter_map(|e| e.next(now).map(|when| (e, when)))
            .min_by_key(|(_, when)| *when)?;
        Some(NextSchedule {
            cron: entry.spec.cron.clone(),
            time_zone: entry.spec.time_zone.clone(),
            window: entry.spec.window.clone(),
            when: Time(when),
        })
    }

    /// After a run at `now`: the periodic wake-up (`every`), unless a trigger comes sooner
    /// or the schedules would not let a run go at the periodic time.
    pub fn after_run(&self, now: Timestamp, timeout: Duration, every: Duration) -> Wake {
        let periodic = plus(now, every);
        match self.next(now) {
            Some(next) if next.when.0 < periodic || !self.allows(periodic, timeout) => Wake {
                at: next.when.0,
                next: Some(next),
            },
            _ => Wake {
                at: periodic,
                next: None,
            },
        }
    }
}

impl Entry {
    /// The latest trigger at or before `now`.
    fn previous(&self, now: Timestamp) -> Option<Timestamp> {
        match &self.trigger {
            Trigger::Cron(cron) => cron
                .find_previous_occurrence(&now.to_zoned(self.zone.clone()), true)
                .ok()
                .map(|z| z.timestamp()),
            Trigger::Every(period) => {
                let period = period.as_secs() as i64;
                Timestamp::from_second(now.as_second().div_euclid(period) * period).ok()
            }
        }
    }

    /// The earliest trigger after `now`.
    fn next(&self, now: Timestamp) -> Option<Timestamp> {
        match &self.trigger {
            Trigger::Cron(cron) => cron
                .find_next_occurrence(&now.to_zoned(self.zone.clone()), false)
                .ok()
                .map(|z| z.timestamp()),
            Trigger::Every(period) => self.previous(now).map(|prev| plus(prev, *period)),
        }
    }
}

fn entry(index: usize, spec: &Schedule, timeout: Duration) -> Result<Entry, ScheduleError> {
    let trigger = trigger(&spec.cron).map_err(|why| ScheduleError::Cron {
        index,
        cron: spec.cron.clone(),
        why,
    })?;
    // Go's time.LoadLocation reads "" as UTC.
    let name = match spec.time_zone.as_str() {
        "" => "UTC",
        name => name,
    };
    let zone = TimeZone::get(name).map_err(|_| ScheduleError::TimeZone {
        index,
        zone: spec.time_zone.clone(),
    })?;
    let window = parse_duration(&spec.window).map_err(|_| ScheduleError::Window {
        index,
        window: spec.window.clone(),
    })?;
    if !window.is_zero() && window < timeout * 2 {
        return Err(ScheduleError::WindowTooShort {
            index,
            window: spec.window.clone(),
            timeout,
        });
    }
    Ok(Entry {
        spec: spec.clone(),
        trigger,
        zone,
        window,
    })
}

/// Five fields (minute hour day-of-month month day-of-week) or a descriptor.
fn trigger(cron: &str) -> Result<Trigger, String> {
    let cron = cron.trim();
    if let Some(period) = cron.strip_prefix("@every ") {
        let period = parse_duration(period).map_err(|e| e.to_string())?;
        // Whole seconds, as the cron library upstream uses rounds them.
        let period = Duration::from_secs(period.as_secs());
        if period.is_zero() {
            return Err("@every needs at least 1s".to_owned());
        }
        return Ok(Trigger::Every(period));
    }
    let cron = if cron.eq_ignore_ascii_case("@midnight") {
        "@daily"
    } else {
        cron
    };
    if cron.starts_with('@') && !DESCRIPTORS.iter().any(|d| cron.eq_ignore_ascii_case(d)) {
        return Err(format!("unknown descriptor, expected one of {}", DESCRIPTORS.join(" ")));
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build();
    let parsed = parser.parse(cron).map_err(|e| e.to_string())?;
    Ok(Trigger::Cron(Box::new(parsed)))
}

/// The descriptors the cron library hands over as they are (`@midnight` and `@every` are
/// handled before it).
const DESCRIPTORS: [&str; 6] = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly"];

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
