//! The FluxReport: the state of the Flux installation and of every Flux reconciler.

mod compute;
mod context;
mod reconciler;
mod stats;

pub use compute::{Computed, Error, compute};
pub use context::ReportContext;
pub(crate) use reconciler::rounded;
pub use reconciler::{REPORT_CONTROLLER, Trigger, refresh, run_reporter};
pub use stats::{ObjectState, classify, human_size};
