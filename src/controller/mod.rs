//! The reconcilers and what they share.

mod artifact;
mod bulk;
mod clients;
pub mod config;
mod context;
mod error;
mod events;
mod foreign;
mod frame;
mod gate;
mod instance;
mod leader;
mod migrate;
mod provider;
mod resourceset;
mod run;
mod settled;
mod timing;
mod uninstall;
mod watches;

use std::time::Duration;

pub use config::OperatorConfig;
pub use context::Context;
pub use error::{Error, RunError};
pub use run::{run, run_with};

/// `interval` plus up to `percent` of it, so that many instances do not reconcile in lockstep.
pub(crate) fn jittered(interval: Duration, percent: u8) -> Duration {
    if percent == 0 {
        return interval;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let fraction = f64::from(nanos % 10_000) / 10_000.0 * f64::from(percent) / 100.0;
    interval + interval.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_bounds() {
        let base = Duration::from_secs(3600);
        for _ in 0..100 {
            let j = jittered(base, 5);
            assert!(j >= base && j <= base + Duration::from_secs(180), "{j:?}");
        }
        assert_eq!(jittered(base, 0), base);
    }
}
