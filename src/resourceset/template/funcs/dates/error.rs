//! The failures of Go's time.Parse and time.ParseDuration, in their words.

use crate::resourceset::template::gofmt::go_quote;

/// Go's `*time.ParseError` from time.ParseInLocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeParseError {
    /// The value does not match the layout from `rest` on, at the layout element `element`
    /// (or the literal text before it).
    #[error(
        "parsing time {} as {}: cannot parse {} as {}",
        go_quote(value),
        go_quote(layout),
        go_quote(rest),
        go_quote(element)
    )]
    Mismatch {
        value: String,
        layout: String,
        rest: String,
        element: String,
    },
    #[error("parsing time {}: {source}", go_quote(value))]
    OutOfRange {
        value: String,
        #[source]
        source: OutOfRange,
    },
    /// The layout ends before the value.
    #[error("parsing time {}: extra text: {}", go_quote(value), go_quote(extra))]
    ExtraText { value: String, extra: String },
}

/// The element of a date or time past its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutOfRange {
    #[error("month out of range")]
    Month,
    /// Past 31, or past the end of its month.
    #[error("day out of range")]
    Day,
    #[error("hour out of range")]
    Hour,
    #[error("minute out of range")]
    Minute,
    #[error("second out of range")]
    Second,
    #[error("time zone offset hour out of range")]
    OffsetHour,
    #[error("time zone offset minute out of range")]
    OffsetMinute,
    #[error("time zone offset second out of range")]
    OffsetSecond,
}

/// time.ParseDuration's errors; `text` is the whole argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a duration, or past the range of an int64 of nanoseconds.
    #[error("time: invalid duration {}", go_quote(text))]
    Invalid { text: String },
    #[error("time: missing unit in duration {}", go_quote(text))]
    MissingUnit { text: String },
    #[error("time: unknown unit {} in duration {}", go_quote(unit), go_quote(text))]
    UnknownUnit { unit: String, text: String },
}
