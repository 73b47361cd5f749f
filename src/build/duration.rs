//! Durations as upstream prints them. Upstream parses `spec.sync.interval` into a Go
//! `time.Duration` and renders its `String()`: `1m` becomes `1m0s`, `90s` becomes `1m30s`,
//! `1.5h` becomes `1h30m0s`. The rendered text is part of the applied objects, so the same
//! normalisation keeps both operators' objects equal.

const NANOS_PER_UNIT: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Nanoseconds of a Go duration string such as `1h30m` or `1.5s` (no sign); None when it
/// is not one.
pub fn parse_nanos(text: &str) -> Option<u128> {
    let mut rest = text;
    let mut total: u128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => f.split_at(f.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = after.bytes().take_while(|b| !b.is_ascii_digit() && *b != b'.').count();
        let (unit, after) = after.split_at(unit_len);
        let &(_, nanos) = NANOS_PER_UNIT.iter().find(|(name, _)| *name == unit)?;
        let whole: u128 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
        let mut value = whole.checked_mul(nanos)?;
        if !frac_part.is_empty() {
            let scale = 10u128.checked_pow(u32::try_from(frac_part.len()).ok()?)?;
            value += frac_part.parse::<u128>().ok()?.checked_mul(nanos)? / scale;
        }
        total = total.checked_add(value)?;
        rest = after;
    }
    Some(total)
}

/// `value` as `<integer>[.<fraction>]` of `10^precision` units, trailing zeros dropped.
fn with_fraction(value: u128, precision: u32) -> String {
    let scale = 10u128.pow(precision);
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = precision as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `time.Duration.String()` of a non-negative duration.
pub fn format_nanos(nanos: u128) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", with_fraction(nanos, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", with_fraction(nanos, 6));
    }
    let seconds = with_fraction(nanos % 60_000_000_000, 9);
    let minutes = nanos / 60_000_000_000;
    match (minutes / 60, minutes % 60) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// The Go rendering of a duration string; text that is not a duration is kept as it is
/// (the CRD's pattern keeps such text out of the spec).
pub fn go_duration(text: &str) -> String {
    parse_nanos(text).map_or_else(|| text.to_owned(), format_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_as_go_does() {
        // Pairs measured with upstream's CLI (v0.58.1) on spec.sync.interval.
        for (input, upstream) in [
            ("1m", "1m0s"),
            ("10m", "10m0s"),
            ("5m", "5m0s"),
            ("1h30m", "1h30m0s"),
            ("90s", "1m30s"),
            ("1.5h", "1h30m0s"),
            ("500ms", "500ms"),
            ("2h0m", "2h0m0s"),
            ("0s", "0s"),
            ("1m30.5s", "1m30.5s"),
            ("1h", "1h0m0s"),
        ] {
            assert_eq!(go_duration(input), upstream, "{input}");
        }
    }

    #[test]
    fn small_units_and_leftovers() {
        assert_eq!(go_duration("1.5ms"), "1.5ms");
        assert_eq!(go_duration("1500us"), "1.5ms");
        assert_eq!(go_duration("2µs"), "2µs");
        assert_eq!(go_duration("7ns"), "7ns");
        assert_eq!(go_duration("25h"), "25h0m0s");
        assert_eq!(go_duration(".5s"), "500ms");
        for text in ["", "5", "m", "5x", "1.s5", "abc"] {
            assert_eq!(go_duration(text), text, "{text:?} is kept");
        }
    }
}
