import Synchronization

/// Global counters (meminfo, vmstat) see every process: two measurements in one
/// process must not overlap. Everything in this process that takes a settled baseline
/// and compares a later reading with it runs inside `Exclusive.run` (the live runner's
/// scenarios, the observer's live tests), whatever thread or test suite it is on.
public enum Exclusive {
    private static let lock = Mutex(())

    public static func run<T>(_ body: () throws -> T) rethrows -> T {
        try lock.withLock { _ in try body() }
    }
}
