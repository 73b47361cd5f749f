//! slim-sprig's hermetic date functions: `toDate`/`mustToDate` (Go layouts, parsed in
//! UTC, the operator's zone), `unixEpoch`, `mustDateModify`, `duration`,
//! `durationRound`, and `ago` (which reads the clock: its result changes every run).

mod error;

pub use error::{DurationError, OutOfRange, TimeParseError};

use super::{Ctx, Func, FuncResult, Ty, f, s};
use crate::resourceset::template::value::{IntKind, Time, Value};

const NS: i128 = 1_000_000_000;

pub const FUNCS: &[(&str, Func)] = &[
    (
        "toDate",
        f(&[Ty::Str, Ty::Str], |_, a| {
            Ok(time_value(parse(s(&a, 0), s(&a, 1)).unwrap_or_else(|_| zero_time())))
        }),
    ),
    (
        "mustToDate",
        f(&[Ty::Str, Ty::Str], |_, a| Ok(time_value(parse(s(&a, 0), s(&a, 1))?))),
    ),
    (
        "unixEpoch",
        f(&[Ty::Time], |_, a| Ok(Value::str(as_time(&a[0]).secs.to_string()))),
    ),
    ("mustDateModify", f(&[Ty::Str, Ty::Time], date_modify)),
    ("must_date_modify", f(&[Ty::Str, Ty::Time], date_modify)),
    (
        "duration",
        f(&[Ty::Any], |_, a| {
            let secs = match &a[0] {
                Value::Str(x) => x.parse::<i64>().unwrap_or(0),
                Value::Int(n, IntKind::Int64) => *n,
                _ => 0,
            };
            Ok(Value::str(duration_string(secs.wrapping_mul(1_000_000_000))))
        }),
    ),
    ("durationRound", f(&[Ty::Any], duration_round)),
    ("ago", f(&[Ty::Any], ago)),
];

fn time_value(t: Time) -> Value {
    Value::Time(std::rc::Rc::new(t))
}

fn as_time(v: &Value) -> Time {
    match v {
        Value::Time(t) => (**t).clone(),
        _ => zero_time(),
    }
}

/// Go's zero time, `0001-01-01 00:00:00 +0000 UTC`.
fn zero_time() -> Time {
    Time {
        secs: days_from_civil(1, 1, 1) * 86_400,
        nanos: 0,
        offset: 0,
        zone: "UTC".into(),
    }
}

fn now() -> (i64, u32) {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, d.subsec_nanos())
}

fn date_modify(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let d = parse_duration(s(&a, 0))?;
    let t = as_time(&a[1]);
    let total = t.secs as i128 * NS + t.nanos as i128 + d as i128;
    Ok(time_value(Time {
        secs: total.div_euclid(NS) as i64,
        nanos: total.rem_euclid(NS) as u32,
        ..t
    }))
}

fn duration_round(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let d: i64 = match &a[0] {
        Value::Str(x) => parse_duration(x).unwrap_or(0),
        Value::Int(n, IntKind::Int64) => *n,
        Value::Time(t) => {
            let (secs, nanos) = now();
            ((secs - t.secs) as i128 * NS + nanos as i128 - t.nanos as i128) as i64
        }
        _ => 0,
    };
    let u = d.unsigned_abs();
    let (hour, second, minute) = (3_600 * 1_000_000_000u64, 1_000_000_000u64, 60 * 1_000_000_000u64);
    let (day, month, year) = (24 * hour, 24 * hour * 30, 24 * hour * 365);
    let out = if u > year {
        format!("{}y", u / year)
    } else if u > month {
        format!("{}mo", u / month)
    } else if u > day {
        format!("{}d", u / day)
    } else if u > hour {
        format!("{}h", u / hour)
    } else if u > minute {
        format!("{}m", u / minute)
    } else if u > second {
        format!("{}s", u / second)
    } else {
        "0s".into()
    };
    Ok(Value::str(out))
}

fn ago(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let (secs, nanos) = now();
    let then = match &a[0] {
        Value::Time(t) => t.secs as i128 * NS + t.nanos as i128,
        Value::Int(n, IntKind::Int | IntKind::Int64) => *n as i128 * NS,
        _ => secs as i128 * NS + nanos as i128,
    };
    let since = secs as i128 * NS + nanos as i128 - then;
    // Duration.Round(time.Second): halves away from zero.
    let rounded = (since + since.signum() * NS / 2) / NS * NS;
    Ok(Value::str(duration_string(
        rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
    )))
}

/// time.Duration.String.
pub fn duration_string(d: i64) -> String {
    let text = crate::build::duration::format_nanos(u128::from(d.unsigned_abs()));
    if d < 0 { format!("-{text}") } else { text }
}

/// time.ParseDuration, with Go's error messages.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    let limit = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
    match crate::build::duration::parse_nanos(rest) {
        Some(n) if n <= limit => Ok(if neg {
            (n as i128).wrapping_neg() as i64
        } else {
            n as i64
        }),
        Some(_) => Err(DurationError::Invalid { text: text.into() }),
        None => Err(duration_error(text, rest)),
    }
}

/// Which of Go's messages a text that is not a duration gets.
fn duration_error(text: &str, rest: &str) -> DurationError {
    let number_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    let unit: String = rest[number_len..]
        .chars()
        .take_while(|c| !c.is_ascii_digit() && *c != '.')
        .collect();
    let known = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"];
    let text = text.to_string();
    if number_len == 0 || rest[..number_len].chars().all(|c| c == '.') {
        DurationError::Invalid { text }
    } else if unit.is_empty() {
        DurationError::MissingUnit { text }
    } else if !known.contains(&unit.as_str()) {
        DurationError::UnknownUnit { unit, text }
    } else {
        DurationError::Invalid { text }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

pub use super::layout::{format_layout, parse};
