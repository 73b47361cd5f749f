//! Memory figures of this process from /proc/self/status (Linux), in KiB.

fn field_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Peak resident memory so far (VmHWM).
pub fn peak_rss_kib() -> u64 {
    field_kib("VmHWM:")
}

/// Resident memory now (VmRSS).
pub fn current_rss_kib() -> u64 {
    field_kib("VmRSS:")
}
