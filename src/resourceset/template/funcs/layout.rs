//! Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`): formatting and parsing,
//! as time.Format and time.ParseInLocation with the UTC location.

use super::dates::{DAYS, MONTHS, OutOfRange, TimeParseError, civil_from_days, days_from_civil};
use crate::resourceset::template::value::Time;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    /// `Z07:00` and friends: the digits of `-07:00`, and whether `Z` stands for UTC.
    Offset {
        z: bool,
        colon: bool,
        minutes: bool,
        seconds: bool,
    },
    Frac0(usize),
    Frac9(usize),
}

fn starts_lower(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// The next layout element: literal text before it, the element and its text.
fn next_chunk(layout: &str) -> (&str, Option<(Std, &str)>) {
    let b = layout.as_bytes();
    for i in 0..b.len() {
        let rest = &layout[i..];
        let found = match b[i] {
            b'J' if rest.starts_with("January") => Some((Std::LongMonth, 7)),
            b'J' if rest.starts_with("Jan") && !starts_lower(&rest[3..]) => Some((Std::Month, 3)),
            b'M' if rest.starts_with("Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if rest.starts_with("Mon") && !starts_lower(&rest[3..]) => Some((Std::WeekDay, 3)),
            b'M' if rest.starts_with("MST") => Some((Std::Tz, 3)),
            b'0' if rest.len() >= 2 && (b'1'..=b'6').contains(&b[i + 1]) => Some((
                [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][(b[i + 1] - b'1') as usize],
                2,
            )),
            b'1' if rest.starts_with("15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if rest.starts_with("2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if rest.starts_with("_2") && !rest.starts_with("_2006") => Some((Std::UnderDay, 2)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if rest.starts_with("PM") => Some((Std::PM, 2)),
            b'p' if rest.starts_with("pm") => Some((Std::Pm, 2)),
            b'-' | b'Z' => offset_chunk(rest),
            b'.' | b',' if rest.len() > 1 && matches!(b[i + 1], b'0' | b'9') => {
                let ch = b[i + 1];
                let n = rest[1..].bytes().take_while(|&c| c == ch).count();
                let after = rest.as_bytes().get(1 + n);
                if after.is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((if ch == b'0' { Std::Frac0(n) } else { Std::Frac9(n) }, 1 + n))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some((std, &layout[i..i + len])));
        }
    }
    (layout, None)
}

fn offset_chunk(rest: &str) -> Option<(Std, usize)> {
    let z = rest.starts_with('Z');
    let body = &rest[1..];
    for (pat, colon, minutes, seconds) in [
        ("07:00:00", true, true, true),
        ("070000", false, true, true),
        ("07:00", true, true, false),
        ("0700", false, true, false),
        ("07", false, false, false),
    ] {
        if body.starts_with(pat) {
            return Some((
                Std::Offset {
                    z,
                    colon,
                    minutes,
                    seconds,
                },
                1 + pat.len(),
            ));
        }
    }
    None
}

/// time.Time.Format.
pub fn format_layout(t: &Time, layout: &str) -> String {
    let local = t.secs + i64::from(t.offset);
    let days = local.div_euclid(86_400);
    let sod = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, min, sec) = (sod / 3600, sod / 60 % 60, sod % 60);
    let weekday = (days + 4).rem_euclid(7) as usize;
    let mut out = String::new();
    let mut rest = layout;
    loop {
        let (prefix, chunk) = next_chunk(rest);
        out.push_str(prefix);
        let Some((std, text)) = chunk else { break };
        rest = &rest[prefix.len() + text.len()..];
        let piece = match std {
            Std::LongMonth => MONTHS[month as usize - 1].to_string(),
            Std::Month => MONTHS[month as usize - 1][..3].to_string(),
            Std::NumMonth => month.to_string(),
            Std::ZeroMonth => format!("{month:02}"),
            Std::LongWeekDay => DAYS[weekday].to_string(),
            Std::WeekDay => DAYS[weekday][..3].to_string(),
            Std::Day => day.to_string(),
            Std::UnderDay => format!("{day:>2}"),
            Std::ZeroDay => format!("{day:02}"),
            Std::Hour => format!("{hour:02}"),
            Std::Hour12 => (if hour % 12 == 0 { 12 } else { hour % 12 }).to_string(),
            Std::ZeroHour12 => format!("{:02}", if hour % 12 == 0 { 12 } else { hour % 12 }),
            Std::Minute => min.to_string(),
            Std::ZeroMinute => format!("{min:02}"),
            Std::Second => sec.to_string(),
            Std::ZeroSecond => format!("{sec:02}"),
            Std::LongYear => format!("{year:04}"),
            Std::Year => format!("{:02}", year.rem_euclid(100)),
            Std::PM => (if hour >= 12 { "PM" } else { "AM" }).to_string(),
            Std::Pm => (if hour >= 12 { "pm" } else { "am" }).to_string(),
            Std::Tz if !t.zone.is_empty() => t.zone.clone(),
            Std::Tz => offset_text(t.offset, false, true, t.offset % 60 != 0),
            Std::Offset { z: true, .. } if t.offset == 0 => "Z".into(),
            Std::Offset {
                colon,
                minutes,
                seconds,
                ..
            } => offset_text(t.offset, colon, minutes, seconds),
            Std::Frac0(n) => format!(".{:09}", t.nanos)[..=n].to_string(),
            Std::Frac9(n) => {
                let digits = format!("{:09}", t.nanos)[..n].trim_end_matches('0').to_string();
                if digits.is_empty() {
                    String::new()
                } else {
                    format!(".{digits}")
                }
            }
        };
        out.push_str(&piece);
    }
    out
}

fn offset_text(offset: i32, colon: bool, minutes: bool, seconds: bool) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.unsigned_abs();
    let sep = if colon { ":" } else { "" };
    let mut s = format!("{sign}{:02}", o / 3600);
    if minutes {
        s.push_str(&format!("{sep}{:02}", o / 60 % 60));
    }
    if seconds {
        s.push_str(&format!("{sep}{:02}", o % 60));
    }
    s
}

#[derive(Default)]
struct Fields {
    year: i64,
    month: Option<i64>,
    day: Option<i64>,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
    pm: Option<bool>,
    offset: Option<i32>,
    zone: Option<String>,
    utc: bool,
}

/// time.ParseInLocation(layout, value, time.UTC), with Go's error messages.
pub fn parse(layout: &str, value: &str) -> Result<Time, TimeParseError> {
    let cannot = |rest: &str, element: &str| TimeParseError::Mismatch {
        value: value.to_string(),
        layout: layout.to_string(),
        rest: rest.to_string(),
        element: element.to_string(),
    };
    let range = |source: OutOfRange| TimeParseError::OutOfRange {
        value: value.to_string(),
        source,
    };
    // Go: elements left out of the layout are zero (the year too), or one where zero is
    // impossible (month, day).
    let mut f = Fields::default();
    let mut l = layout;
    let mut v = value;
    loop {
        let (prefix, chunk) = next_chunk(l);
        v = skip(v, prefix).map_err(|rest| cannot(rest, prefix))?;
        let Some((std, text)) = chunk else { break };
        l = &l[prefix.len() + text.len()..];
        let hold = v;
        v = match element(std, v, l, &mut f) {
            Ok(rest) => rest,
            Err(None) => return Err(cannot(hold, text)),
            Err(Some(what)) => return Err(range(what)),
        };
    }
    if !v.is_empty() {
        return Err(TimeParseError::ExtraText {
            value: value.to_string(),
            extra: v.to_string(),
        });
    }
    build(f).map_err(range)
}

fn skip<'v>(mut value: &'v str, mut prefix: &str) -> Result<&'v str, &'v str> {
    while let Some(p) = prefix.chars().next() {
        if p == ' ' {
            if value.starts_with(|c| c != ' ') {
                return Err(value);
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        if !value.starts_with(p) {
            return Err(value);
        }
        prefix = &prefix[p.len_utf8()..];
        value = &value[p.len_utf8()..];
    }
    Ok(value)
}

fn getnum(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    let d0 = b.first().filter(|c| c.is_ascii_digit())?;
    match b.get(1).filter(|c| c.is_ascii_digit()) {
        None if fixed => None,
        None => Some((i64::from(d0 - b'0'), &s[1..])),
        Some(d1) => Some((i64::from(d0 - b'0') * 10 + i64::from(d1 - b'0'), &s[2..])),
    }
}

fn lookup<'v>(names: &[&str], v: &'v str, short: bool) -> Option<(usize, &'v str)> {
    names.iter().enumerate().find_map(|(i, n)| {
        let n = if short { &n[..3] } else { n };
        let head = v.get(..n.len())?;
        head.eq_ignore_ascii_case(n).then(|| (i, &v[n.len()..]))
    })
}

/// The rest of the value, or why the element does not parse: a mismatch (`None`) or a
/// number out of range.
type Step<'v> = Result<&'v str, Option<OutOfRange>>;

fn element<'v>(std: Std, v: &'v str, rest_layout: &str, f: &mut Fields) -> Step<'v> {
    let num = |v: &'v str, fixed: bool, max: i64, what: OutOfRange, slot: &mut i64| -> Step<'v> {
        let (n, rest) = getnum(v, fixed).ok_or(None)?;
        if n > max {
            return Err(Some(what));
        }
        *slot = n;
        Ok(rest)
    };
    match std {
        Std::LongYear
        | Std::Year
        | Std::LongMonth
        | Std::Month
        | Std::NumMonth
        | Std::ZeroMonth
        | Std::LongWeekDay
        | Std::WeekDay
        | Std::Day
        | Std::UnderDay
        | Std::ZeroDay => date_element(std, v, f),
        Std::Hour => num(v, false, 23, OutOfRange::Hour, &mut f.hour),
        Std::Hour12 | Std::ZeroHour12 => num(v, std == Std::ZeroHour12, 12, OutOfRange::Hour, &mut f.hour),
        Std::Minute | Std::ZeroMinute => num(v, std == Std::ZeroMinute, 59, OutOfRange::Minute, &mut f.min),
        Std::Second | Std::ZeroSecond => {
            let rest = num(v, std == Std::ZeroSecond, 59, OutOfRange::Second, &mut f.sec)?;
            seconds_fraction(rest, rest_layout, f)
        }
        Std::PM | Std::Pm => {
            let p = v.get(..2).ok_or(None)?;
            let (am, pm) = if std == Std::PM { ("AM", "PM") } else { ("am", "pm") };
            f.pm = if p == pm {
                Some(true)
            } else if p == am {
                Some(false)
            } else {
                return Err(None);
            };
            Ok(&v[2..])
        }
        Std::Offset {
            z,
            colon,
            minutes,
            seconds,
        } => {
            if z && v.starts_with('Z') {
                f.utc = true;
                return Ok(&v[1..]);
            }
            parse_offset(v, colon, minutes, seconds, f)
        }
        Std::Tz => parse_zone_name(v, f),
        Std::Frac0(n) => {
            let head = v
                .get(..1 + n)
                .filter(|h| h.starts_with(['.', ',']) && h[1..].bytes().all(|c| c.is_ascii_digit()))
                .ok_or(None)?;
            f.nsec = nanos(&head[1..]);
            Ok(&v[1 + n..])
        }
        Std::Frac9(_) => {
            let b = v.as_bytes();
            if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                return Ok(v);
            }
            let n = v[1..].bytes().take_while(u8::is_ascii_digit).count();
            f.nsec = nanos(&v[1..1 + n]);
            Ok(&v[1 + n..])
        }
    }
}

/// The elements of a date: year, month, weekday, day.
fn date_element<'v>(std: Std, v: &'v str, f: &mut Fields) -> Step<'v> {
    match std {
        Std::LongYear => {
            let y = v
                .get(..4)
                .filter(|y| y.bytes().all(|c| c.is_ascii_digit()))
                .ok_or(None)?;
            f.year = y.parse().map_err(|_| None)?;
            Ok(&v[4..])
        }
        Std::Year => {
            let y = v
                .get(..2)
                .filter(|y| y.bytes().all(|c| c.is_ascii_digit()))
                .ok_or(None)?;
            let y: i64 = y.parse().map_err(|_| None)?;
            f.year = if y >= 69 { 1900 + y } else { 2000 + y };
            Ok(&v[2..])
        }
        Std::LongMonth | Std::Month => {
            let (m, rest) = lookup(&MONTHS, v, std == Std::Month).ok_or(None)?;
            f.month = Some(m as i64 + 1);
            Ok(rest)
        }
        Std::NumMonth | Std::ZeroMonth => {
            let (m, rest) = getnum(v, std == Std::ZeroMonth).ok_or(None)?;
            if !(1..=12).contains(&m) {
                return Err(Some(OutOfRange::Month));
            }
            f.month = Some(m);
            Ok(rest)
        }
        Std::LongWeekDay | Std::WeekDay => lookup(&DAYS, v, std == Std::WeekDay).map(|(_, r)| r).ok_or(None),
        Std::Day | Std::UnderDay | Std::ZeroDay => {
            let v = if std == Std::UnderDay {
                v.strip_prefix(' ').unwrap_or(v)
            } else {
                v
            };
            let (d, rest) = getnum(v, std == Std::ZeroDay).ok_or(None)?;
            if d > 31 {
                return Err(Some(OutOfRange::Day));
            }
            f.day = Some(d);
            Ok(rest)
        }
        _ => Err(None),
    }
}

/// A fraction after the seconds that the layout does not ask for is read anyway.
fn seconds_fraction<'v>(v: &'v str, rest_layout: &str, f: &mut Fields) -> Step<'v> {
    let b = v.as_bytes();
    if b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit() {
        if let (_, Some((Std::Frac0(_) | Std::Frac9(_), _))) = next_chunk(rest_layout) {
            return Ok(v);
        }
        let n = v[1..].bytes().take_while(u8::is_ascii_digit).count();
        f.nsec = nanos(&v[1..1 + n]);
        return Ok(&v[1 + n..]);
    }
    Ok(v)
}

fn nanos(digits: &str) -> i64 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

fn parse_offset<'v>(v: &'v str, colon: bool, minutes: bool, seconds: bool, f: &mut Fields) -> Step<'v> {
    let width = 3 + usize::from(minutes) * (2 + usize::from(colon)) + usize::from(seconds) * (2 + usize::from(colon));
    let head = v.get(..width).ok_or(None)?;
    let b = head.as_bytes();
    if colon && (b.get(3) != Some(&b':') || (seconds && b.get(6) != Some(&b':'))) {
        return Err(None);
    }
    let digits: String = head[1..].chars().filter(|c| *c != ':').collect();
    let part = |i: usize| {
        getnum(digits.get(i..i + 2).unwrap_or("00"), true)
            .map(|(n, _)| n)
            .ok_or(None)
    };
    let hr = part(0)?;
    let mm = if minutes { part(2)? } else { 0 };
    let ss = if seconds { part(4)? } else { 0 };
    if hr > 24 {
        return Err(Some(OutOfRange::OffsetHour));
    }
    if mm > 60 {
        return Err(Some(OutOfRange::OffsetMinute));
    }
    if ss > 60 {
        return Err(Some(OutOfRange::OffsetSecond));
    }
    let off = ((hr * 60 + mm) * 60 + ss) as i32;
    f.offset = Some(match b[0] {
        b'+' => off,
        b'-' => -off,
        _ => return Err(None),
    });
    Ok(&v[width..])
}

/// Go's parseTimeZone: `UTC`, `GMT±h`, or three to five capitals that look like a zone.
fn parse_zone_name<'v>(v: &'v str, f: &mut Fields) -> Step<'v> {
    if let Some(rest) = v.strip_prefix("UTC") {
        f.utc = true;
        return Ok(rest);
    }
    let n = if v.starts_with("ChST") || v.starts_with("MeST") {
        4
    } else if v.starts_with("GMT") {
        3
    } else {
        let upper = v.bytes().take_while(u8::is_ascii_uppercase).count();
        match upper {
            3 => 3,
            4 if v.as_bytes()[3] == b'T' || v.starts_with("WITA") => 4,
            5 if v.as_bytes()[4] == b'T' => 5,
            _ => return Err(None),
        }
    };
    f.zone = Some(v[..n].to_string());
    Ok(&v[n..])
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn build(mut f: Fields) -> Result<Time, OutOfRange> {
    match f.pm {
        Some(true) if f.hour < 12 => f.hour += 12,
        Some(false) if f.hour == 12 => f.hour = 0,
        _ => {}
    }
    let month = f.month.unwrap_or(1);
    let day = f.day.unwrap_or(1);
    if day < 1 || day > days_in(month, f.year) {
        return Err(OutOfRange::Day);
    }
    let local = days_from_civil(f.year, month, day) * 86_400 + f.hour * 3600 + f.min * 60 + f.sec;
    let (offset, zone) = match (f.utc, f.offset, f.zone) {
        (true, _, _) | (false, None, None) => (0, "UTC".to_string()),
        (false, Some(0), z) if z.is_none() || z.as_deref() == Some("UTC") => (0, "UTC".to_string()),
        (false, Some(o), z) => (o, z.unwrap_or_default()),
        (false, None, Some(z)) => {
            let o = z.strip_prefix("GMT").and_then(|h| h.parse::<i32>().ok()).unwrap_or(0) * 3600;
            (o, z)
        }
    };
    Ok(Time {
        secs: local - i64::from(offset),
        nanos: f.nsec as u32,
        offset,
        zone,
    })
}
