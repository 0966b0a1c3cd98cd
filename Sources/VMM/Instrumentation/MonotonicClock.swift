#if canImport(Glibc)
import Glibc
#endif

/// The one clock tracing and statistics read: CLOCK_MONOTONIC, in nanoseconds
/// (clock_gettime(2)). It never jumps with the wall clock, and on Linux x86-64 it is
/// read in user space through the vDSO, without a system call.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary point (the host's boot); only differences mean anything.
    public static func now() -> UInt64 { nanoseconds(CLOCK_MONOTONIC) }

    /// CPU time the whole process has used, every thread, user and system, in
    /// nanoseconds (CLOCK_PROCESS_CPUTIME_ID).
    public static func processCPUTime() -> UInt64 { nanoseconds(CLOCK_PROCESS_CPUTIME_ID) }

    private static func nanoseconds(_ clock: clockid_t) -> UInt64 {
        var time = timespec()
        clock_gettime(clock, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
