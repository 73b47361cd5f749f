//! Heap memory handed back to the system once a reconcile is over.
//!
//! A reconcile allocates in bursts (a parsed release, the built objects, API responses)
//! and frees it all at the end. glibc keeps freed memory in its arenas, where it still
//! counts as the process's resident memory until something reuses it; between the hourly
//! reconciles nothing does.

/// Returns the heap's free memory to the system.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only walks glibc's own heap bookkeeping,
    // under the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
