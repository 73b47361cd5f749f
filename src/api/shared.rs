/// Condition types written by the reconcilers.
pub mod condition_type {
    pub const READY: &str = "Ready";
    pub const RECONCILING: &str = "Reconciling";
    pub const STALLED: &str = "Stalled";
}

/// Condition reasons, as upstream writes them; dashboards and alerts match on these.
pub mod reason {
    pub const PROGRESSING: &str = "Progressing";
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    pub const BUILD_FAILED: &str = "BuildFailed";
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    pub const HEALTH_CHECK_CANCELED: &str = "HealthCheckCanceled";
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// The FluxReport's Ready reason after a refresh.
    pub const SUCCEEDED: &str = "Succeeded";
    pub const RECONCILIATION_DISABLED: &str = "ReconciliationDisabled";
    pub const OUTDATED_VERSION: &str = "OutdatedVersion";
    /// ResourceSet: a dependency is missing or not ready yet.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// ResourceSet: a `dependsOn[].readyExpr` that cannot be used.
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    /// ResourceSet: what an apply changed.
    pub const APPLY_SUCCEEDED: &str = "ApplySucceeded";
    /// ResourceSetInputProvider: a spec the operator cannot act on.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// ResourceSetInputProvider: a `spec.schedule` that cannot be used.
    pub const INVALID_SCHEDULE: &str = "InvalidSchedule";
    /// ResourceSetInputProvider: a run outside every schedule window.
    pub const SKIPPED_DUE_TO_SCHEDULE: &str = "SkippedDueToSchedule";
}

/// Annotations and labels that make up the operator's contract with its users.
pub mod annotation {
    pub const RECONCILE: &str = "fluxcd.controlplane.io/reconcile";
    pub const RECONCILE_DISABLED_VALUE: &str = "disabled";
    pub const RECONCILE_EVERY: &str = "fluxcd.controlplane.io/reconcileEvery";
    pub const RECONCILE_ARTIFACT_EVERY: &str = "fluxcd.controlplane.io/reconcileArtifactEvery";
    pub const RECONCILE_TIMEOUT: &str = "fluxcd.controlplane.io/reconcileTimeout";
    pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
    pub const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
    pub const PRUNE: &str = "fluxcd.controlplane.io/prune";
    pub const PRUNE_DISABLED_VALUE: &str = "disabled";
    pub const FINALIZER: &str = "fluxcd.controlplane.io/finalizer";
}
