//! glibc malloc tuning of an ingest process: one malloc arena.
//!
//! glibc gives each thread that allocates its own arena (up to 8 per core), and memory freed in one
//! arena cannot serve another's requests. An ingest process has several threads that allocate (the CSV
//! reader, the router, the spill thread, the encoder and its column helpers, the runtime): with the
//! row group's columns encoded on two threads, peak RSS of a 2,000,000-row MyLA311 ingest at
//! `--memory-budget 128MiB` rose from 122 MiB to 143-160 MiB (`MALLOC_ARENA_MAX` unset, four runs), and
//! was 111-117 MiB with one arena at about the same wall time (`crates/ingest/README.md`, session 11). The
//! partitioner's budget counts what the threads hold, not what the arenas keep, so an ingest process
//! caps the arenas before it starts any thread: `civic ingest` and the `ingest` Lambda call
//! [`one_arena`] first thing in `main`.

/// Limit this process to one malloc arena (glibc's `M_ARENA_MAX`); call it before any thread is
/// spawned (threads that already allocated keep their arenas). Returns whether the limit was set: false
/// on a libc other than glibc, where there is nothing to set.
pub fn one_arena() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes a malloc parameter; M_ARENA_MAX takes any positive count.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_limit_is_accepted_by_glibc() {
        assert!(super::one_arena(), "mallopt(M_ARENA_MAX, 1) returned 0");
    }
}
