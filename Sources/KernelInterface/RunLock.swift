import Glibc

/// One live run at a time per machine: two runs would move each other's global
/// counters and agents. An flock on a file under /run/lock (else /tmp), released by
/// the kernel when the process exits, however it exits.
public struct RunLock: Sendable {
    public let path: String
    private let fd: Int32

    /// The lock file: $LOCKSTEP_LOCK, else /run/lock/lockstep.lock when /run/lock is a
    /// writable directory, else /tmp/lockstep.lock. Root and other users share it.
    public static var defaultPath: String {
        if let p = getenv("LOCKSTEP_LOCK").map({ String(cString: $0) }), !p.isEmpty { return p }
        return access("/run/lock", W_OK | X_OK) == 0 ? "/run/lock/lockstep.lock" : "/tmp/lockstep.lock"
    }

    public enum Failure: Error, CustomStringConvertible {
        case open(String, Int32)
        case busy(String, holder: String, waited: Int)
        public var description: String {
            switch self {
            case let .open(p, e): return "cannot open lock file \(p): \(String(cString: strerror(e)))"
            case let .busy(p, holder, waited):
                return "another lockstep run\(holder) holds \(p)"
                    + (waited > 0 ? "; gave up after waiting \(waited) s" : " (--no-wait)") + "; not run (exit 4)"
            }
        }
    }

    /// Takes the lock, waiting up to `waitSeconds` (0: do not wait). `notify` is called
    /// with a message when the lock is busy and we wait, or cannot be taken at all.
    public init(path: String = RunLock.defaultPath, waitSeconds: Int, notify: (String) -> Void) throws {
        self.path = path
        fd = try Self.open(path)
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline.tv_sec += waitSeconds
        var told = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if e == ENOSYS || e == ENOLCK || e == EOPNOTSUPP || e == EINVAL {
                // A kernel without CONFIG_FILE_LOCKING, or a filesystem without flock:
                // run unlocked rather than not at all, and say so.
                notify("cannot lock \(path) (\(String(cString: strerror(e)))): running without the run lock")
                return
            }
            guard e == EWOULDBLOCK || e == EINTR else { close(fd); throw Failure.open(path, e) }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if waitSeconds <= 0 || now.tv_sec > deadline.tv_sec
                || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec) {
                let holder = Self.holder(fd)
                close(fd)
                throw Failure.busy(path, holder: holder, waited: waitSeconds)
            }
            if !told {
                notify("another lockstep run\(Self.holder(fd)) holds \(path); waiting up to \(waitSeconds) s")
                told = true
            }
            usleep(100_000)
        }
        // Say who holds it, for the next one (best effort: a read-only fd cannot).
        let me = "\(getpid())\n"
        if ftruncate(fd, 0) == 0 { _ = me.withCString { write(fd, $0, strlen($0)) } }
    }

    /// Opens the lock file without O_CREAT first, so that a file another user made in a
    /// sticky /tmp still opens under fs.protected_regular; creates it world-writable
    /// otherwise. Read-only is enough for flock.
    private static func open(_ path: String) throws -> Int32 {
        for _ in 0..<3 {
            var fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
            if fd < 0 && (errno == EACCES || errno == EPERM) { fd = Glibc.open(path, O_RDONLY | O_CLOEXEC) }
            if fd >= 0 { return fd }
            guard errno == ENOENT else { throw Failure.open(path, errno) }
            fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 { _ = fchmod(fd, 0o666); return fd }
            guard errno == EEXIST else { throw Failure.open(path, errno) }
        }
        throw Failure.open(path, EAGAIN)
    }

    /// " (pid 1234)" from the lock file, when it names a live process.
    private static func holder(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buf, 31, 0)
        guard n > 0 else { return "" }
        let text = String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard let pid = Int32(text), pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return "" }
        return " (pid \(pid))"
    }

    public func release() { close(fd) }
}
