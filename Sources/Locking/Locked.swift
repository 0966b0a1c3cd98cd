#if canImport(Glibc)
import Glibc
#endif

/// A value that threads share under a lock: `withLock` runs a closure with exclusive
/// access to it. The machine's locks are all of this kind (a device on its bus, the
/// machine's lifecycle), so they can be seen in one place.
///
/// It is the standard library's `Synchronization.Mutex` in use, on a POSIX mutex
/// (pthread_mutex_lock(3p)) instead. The reason is ThreadSanitizer, which the tests run
/// under: on Linux, `Mutex` waits on a futex inside the standard library, which is not
/// instrumented, so ThreadSanitizer cannot see the ordering a lock provides and reports
/// every hand-off of the value between threads as a race. It does see pthread mutexes.
///
/// The mutex and the value live in memory allocated once, so their addresses never move
/// (a pthread_mutex_t must not be moved or copied once in use).
public final class Locked<Value> {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    /// A lock holding `initialValue`, which no other code can reach any more.
    public init(_ initialValue: consuming sending Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        value = .allocate(capacity: 1)
        value.initialize(to: initialValue)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with the lock held and the value lent to it. Not reentrant: calling
    /// `withLock` on the same lock from inside `body` deadlocks.
    ///
    /// As with `Mutex`, the value and the result are `sending`: the compiler checks that
    /// nothing `body` keeps or returns can reach the value outside the lock, so a
    /// `Locked` is `Sendable` whatever it holds.
    public func withLock<Result, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }

    /// Runs `body` with the lock held if the lock is free now; nil, without waiting, if
    /// another thread holds it (pthread_mutex_trylock).
    public func withLockIfAvailable<Result>(
        _ body: (inout sending Value) -> sending Result
    ) -> sending Result? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return body(&value.pointee)
    }
}

// The value is only ever reached with the lock held, and goes in and out as `sending`.
extension Locked: @unchecked Sendable {}
