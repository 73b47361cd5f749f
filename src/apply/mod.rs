//! Server-side apply of a build, in stages, with an inventory, pruning and readiness.
//!
//! The input is the builder's ordered list of objects (`serde_json::Value`); everything here
//! talks to the API server.

mod discovery;
mod error;
mod expected;
mod inventory;
mod object_id;
mod pager;
mod prune;
mod readiness;
mod ssa;
mod stages;
mod wait;

pub use discovery::Discovery;
pub use error::Error;
pub use expected::ExpectedDeletions;
pub use inventory::{entries, inventory, stale_entries};
pub use object_id::ObjectId;
pub use pager::Pager;
pub use prune::{PruneResult, keep_reason, prune};
pub use readiness::{Readiness, readiness};
pub use ssa::{Applier, ApplyAction, ApplyOptions, ChangeSet, ChangeSetEntry, Owner, Planned, PruneMarker};
pub use stages::apply_staged;
pub use wait::{NotReady, Polling, WaitOutcome, wait_ready};

/// The one field manager of every write this operator makes.
pub const FIELD_MANAGER: &str = "flux-operator";

/// Field managers whose fields are taken over on apply: the tools that installed Flux
/// before the operator did.
pub const TAKEOVER_MANAGERS: &[&str] = &["kustomize-controller", "helm", "kubectl", "before-first-apply", "flux"];
