//! Pure: FluxInstance spec + distribution -> ordered list of objects + revision. No client.
//!
//! INTERFACE STUB: replaced by the real implementation (helper C).

pub mod patch;
