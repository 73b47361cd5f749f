use super::*;

const TIMEOUT: Duration = Duration::from_secs(120);

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn schedule(cron: &str, zone: &str, window: &str) -> Schedule {
    Schedule {
        cron: cron.to_owned(),
        time_zone: zone.to_owned(),
        window: window.to_owned(),
    }
}

fn plan(specs: &[Schedule]) -> Plan {
    Plan::parse(specs, TIMEOUT).expect("valid schedules")
}

fn next_at(plan: &Plan, now: &str) -> String {
    plan.next(at(now)).expect("a next trigger").when.0.to_string()
}

#[test]
fn five_fields_in_a_time_zone() {
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    let p = plan(&[schedule("0 9 * * *", "Europe/Berlin", "0s")]);
    assert_eq!(next_at(&p, "2026-01-10T10:00:00Z"), "2026-01-11T08:00:00Z");
    assert_eq!(next_at(&p, "2026-07-10T10:00:00Z"), "2026-07-11T07:00:00Z");
    let empty = plan(&[schedule("0 9 * * *", "", "0s")]);
    assert_eq!(
        next_at(&empty, "2026-01-10T10:00:00Z"),
        "2026-01-11T09:00:00Z",
        "\"\" is UTC"
    );
    let utc = plan(&[schedule("30 2 * * MON", "UTC", "0s")]);
    // 2026-01-10 is a Saturday.
    assert_eq!(next_at(&utc, "2026-01-10T00:00:00Z"), "2026-01-12T02:30:00Z");
}

#[test]
fn day_of_month_and_weekday_either_match_when_both_are_set() {
    // As cron (and the library upstream uses) reads them: the 1st or a Monday.
    let p = plan(&[schedule("0 0 1 * MON", "UTC", "0s")]);
    // 2026-01-10 is a Saturday: Monday the 12th comes before February the 1st.
    assert_eq!(next_at(&p, "2026-01-10T10:00:00Z"), "2026-01-12T00:00:00Z");
    assert_eq!(next_at(&p, "2026-01-26T10:00:00Z"), "2026-02-01T00:00:00Z");
}

#[test]
fn descriptors() {
    let cases = [
        ("@yearly", "2027-01-01T00:00:00Z"),
        ("@annually", "2027-01-01T00:00:00Z"),
        ("@monthly", "2026-02-01T00:00:00Z"),
        ("@weekly", "2026-01-11T00:00:00Z"),
        ("@daily", "2026-01-11T00:00:00Z"),
        ("@midnight", "2026-01-11T00:00:00Z"),
        ("@hourly", "2026-01-10T11:00:00Z"),
        // Multiples of 90 minutes since the epoch: 10:30 is the 7th of the day.
        ("@every 1h30m", "2026-01-10T10:30:00Z"),
    ];
    for (cron, expected) in cases {
        let p = plan(&[schedule(cron, "UTC", "0s")]);
        assert_eq!(next_at(&p, "2026-01-10T10:20:00Z"), expected, "{cron}");
    }
}

#[test]
fn a_window_lets_runs_start_only_while_the_whole_run_fits() {
    let p = plan(&[schedule("0 8 * * *", "UTC", "1h")]);
    assert!(p.allows(at("2026-01-10T08:00:00Z"), TIMEOUT));
    assert!(p.allows(at("2026-01-10T08:57:59Z"), TIMEOUT));
    // 08:58 + 2m timeout is the end of the window: too late.
    assert!(!p.allows(at("2026-01-10T08:58:00Z"), TIMEOUT));
    assert!(!p.allows(at("2026-01-10T07:59:59Z"), TIMEOUT));
    assert!(!p.allows(at("2026-01-10T12:00:00Z"), TIMEOUT));
}

#[test]
fn any_schedule_may_allow_and_no_window_always_allows() {
    let morning = schedule("0 8 * * *", "UTC", "1h");
    let evening = schedule("0 20 * * *", "UTC", "1h");
    let both = plan(&[morning.clone(), evening]);
    assert!(both.allows(at("2026-01-10T20:30:00Z"), TIMEOUT));
    assert!(!both.allows(at("2026-01-10T12:00:00Z"), TIMEOUT));
    let open = plan(&[morning, schedule("@yearly", "UTC", "0s")]);
    assert!(open.allows(at("2026-01-10T12:00:00Z"), TIMEOUT));
    assert!(plan(&[]).allows(at("2026-01-10T12:00:00Z"), TIMEOUT));
}

#[test]
fn the_next_trigger_is_the_earliest_of_all_schedules() {
    let p = plan(&[
        schedule("0 20 * * *", "UTC", "1h"),
        schedule("0 8 * * *", "America/New_York", "2h"),
    ]);
    let next = p.next(at("2026-01-10T09:00:00Z")).expect("next");
    // 08:00 in New York is 13:00 UTC in January.
    assert_eq!(next.when.0, at("2026-01-10T13:00:00Z"));
    assert_eq!(
        (next.cron.as_str(), next.time_zone.as_str(), next.window.as_str()),
        ("0 8 * * *", "America/New_York", "2h")
    );
}

#[test]
fn after_a_run_the_sooner_of_the_period_and_the_next_trigger() {
    let every = Duration::from_secs(600);
    let hourly = plan(&[schedule("@hourly", "UTC", "0s")]);
    let wake = hourly.after_run(at("2026-01-10T10:55:00Z"), TIMEOUT, every);
    assert_eq!(wake.at, at("2026-01-10T11:00:00Z"));
    assert!(wake.next.is_some());
    let wake = hourly.after_run(at("2026-01-10T10:05:00Z"), TIMEOUT, every);
    assert_eq!((wake.at, wake.next), (at("2026-01-10T10:15:00Z"), None));
    // The periodic time falls outside the window: wait for the next trigger instead.
    let windowed = plan(&[schedule("0 8 * * *", "UTC", "30m")]);
    let wake = windowed.after_run(at("2026-01-10T08:25:00Z"), TIMEOUT, every);
    assert_eq!(wake.at, at("2026-01-11T08:00:00Z"));
    let wake = windowed.after_run(at("2026-01-10T08:05:00Z"), TIMEOUT, every);
    assert_eq!((wake.at, wake.next), (at("2026-01-10T08:15:00Z"), None));
}

#[test]
fn invalid_schedules_name_the_field() {
    let error = |s: Schedule| Plan::parse(&[s], TIMEOUT).err().expect("invalid").to_string();
    assert_eq!(
        error(schedule("0 8 * *", "UTC", "0s")).split(':').next(),
        Some("spec.schedule[0].cron")
    );
    assert!(error(schedule("0 8 * * * *", "UTC", "0s")).starts_with("spec.schedule[0].cron"));
    assert!(error(schedule("61 8 * * *", "UTC", "0s")).starts_with("spec.schedule[0].cron"));
    assert!(error(schedule("@fortnightly", "UTC", "0s")).contains("unknown descriptor"));
    assert!(error(schedule("@every 0s", "UTC", "0s")).contains("at least 1s"));
    assert!(error(schedule("@every soon", "UTC", "0s")).starts_with("spec.schedule[0].cron"));
    assert_eq!(
        error(schedule("@daily", "Mars/Olympus", "0s")),
        "spec.schedule[0].timeZone: unknown time zone \"Mars/Olympus\""
    );
    assert_eq!(
        error(schedule("@daily", "UTC", "3m")),
        "spec.schedule[0].window: 3m must be 0s or at least twice the reconcile timeout (120s)"
    );
    assert!(Plan::parse(&[schedule("@daily", "UTC", "4m")], TIMEOUT).is_ok());
    let second = Plan::parse(&[schedule("@daily", "UTC", "0s"), schedule("x", "UTC", "0s")], TIMEOUT);
    assert!(
        second
            .err()
            .expect("invalid")
            .to_string()
            .starts_with("spec.schedule[1].cron")
    );
}
