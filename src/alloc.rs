//! glibc `malloc` settings for analytical work, applied once at start-up.
//!
//! Parquet decoding allocates a fresh buffer of up to a few MiB for every page and frees it a
//! moment later. With glibc's defaults, frees at the top of a heap above its (dynamic) trim
//! threshold hand the memory back to the kernel (`madvise`), so the next page's buffer is
//! page-faulted and zeroed again (`perf record`: 22 % of a log search's samples in the kernel,
//! against 11 % for plain DataFusion; 7 % of a trace-id join's in page faults). Serving blocks
//! up to 32 MiB from the heap (glibc's maximum for this setting on 64-bit) and trimming only
//! above 256 MiB of free top memory keeps those pages mapped: over 20 runs of `benches/peers.py`
//! q5, page faults 104 k → 26 k and CPU time 1.89 → 1.73 s; q6 39 k → 7.5 k, 374 → 271 ms
//! (`perf stat -e page-faults,task-clock`, docs/benchmarks.md). The price: a server keeps up
//! to 256 MiB of freed memory per heap for reuse instead of returning it at once. Replacing
//! the allocator was measured too: mimalloc slowed the large queries (NOTES.md, session 11);
//! jemalloc-style crates add a C build.

/// Largest block served from the heap rather than by its own `mmap` (glibc refuses more than
/// half its 64 MiB heap size).
pub const MMAP_THRESHOLD: usize = 32 << 20;
/// Free memory at the top of a heap above which glibc returns it to the kernel.
pub const TRIM_THRESHOLD: usize = 256 << 20;

/// Applies the settings; returns whether the C library accepted them (`false` on other C
/// libraries, where nothing is changed).
pub fn tune() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // The values fit in a C int (asserted at compile time).
        const _: () = assert!(TRIM_THRESHOLD <= i32::MAX as usize);
        // SAFETY: `mallopt` only changes allocator parameters (glibc serialises it against
        // other allocations); both parameters and values are ones glibc documents.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int) == 1
        }
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
    fn glibc_accepts_the_settings() {
        // glibc answers 0 to a value out of its range (an mmap threshold above 32 MiB, for
        // one), and `tune` would then change nothing.
        assert!(super::tune());
    }
}
