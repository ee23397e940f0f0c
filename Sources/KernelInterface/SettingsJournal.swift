import Glibc

/// The undo log for everything a run changes outside its own processes: sysfs and
/// sysctl values, SysV segments, cgroups, mounts, files.
///
/// Each change is written down (and fsync'd) *before* it is made, so that a run killed
/// with SIGKILL at any point leaves a journal the next run can undo: `recover()` at the
/// start of every run (under the RunLock) restores and removes what it finds, and says
/// what. A clean run undoes its own entries as it goes (`restore`/`forget`) and at exit
/// (`undoAll`, also from SIGINT/SIGTERM).
///
/// The file lives in /run (tmpfs): a reboot resets sysfs, removes SysV segments and
/// cgroups, and the journal with them.
public final class SettingsJournal: @unchecked Sendable {
    /// One thing to undo. `.setting`'s `original` is the value to write back.
    public enum Entry: Hashable, Sendable, CustomStringConvertible {
        case setting(path: String, original: String)
        case sysvShm(key: Int32)
        case cgroup(path: String)
        case mount(path: String)
        case file(path: String)
        /// A zram device used as swap for the reclaim scenarios: swapoff, reset, and
        /// hot_remove when the suite hot-added it.
        case swap(zram: Int, hotAdded: Bool)

        public var description: String {
            switch self {
            case let .setting(p, o): return "\(p) = \(o)"
            case let .sysvShm(k): return "SysV segment key 0x\(String(UInt32(bitPattern: k), radix: 16))"
            case let .cgroup(p): return "cgroup \(p)"
            case let .mount(p): return "mount \(p)"
            case let .file(p): return "file \(p)"
            case let .swap(n, added): return "swap on /dev/zram\(n)\(added ? " (hot-added)" : "")"
            }
        }

        /// One line of the journal: kind, tab, fields with tabs/newlines/backslashes escaped.
        var line: String {
            switch self {
            case let .setting(p, o): return ["setting", p, o].map(Self.escape).joined(separator: "\t")
            case let .sysvShm(k): return "sysv-shm\t\(k)"
            case let .cgroup(p): return "cgroup\t" + Self.escape(p)
            case let .mount(p): return "mount\t" + Self.escape(p)
            case let .file(p): return "file\t" + Self.escape(p)
            case let .swap(n, added): return "swap\t\(n)\t\(added ? 1 : 0)"
            }
        }

        init?(line: Substring) {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map { Self.unescape($0) }
            switch (f.first, f.count) {
            case ("setting", 3): self = .setting(path: f[1], original: f[2])
            case ("sysv-shm", 2): guard let k = Int32(f[1]) else { return nil }; self = .sysvShm(key: k)
            case ("cgroup", 2): self = .cgroup(path: f[1])
            case ("mount", 2): self = .mount(path: f[1])
            case ("file", 2): self = .file(path: f[1])
            case ("swap", 3): guard let n = Int(f[1]) else { return nil }; self = .swap(zram: n, hotAdded: f[2] == "1")
            default: return nil
            }
        }

        static func escape(_ s: String) -> String {
            var out = ""
            for c in s {
                switch c {
                case "\\": out += "\\\\"
                case "\t": out += "\\t"
                case "\n": out += "\\n"
                default: out.append(c)
                }
            }
            return out
        }

        static func unescape<S: StringProtocol>(_ s: S) -> String {
            var out = "", escaped = false
            for c in s {
                if escaped {
                    out.append(c == "t" ? "\t" : c == "n" ? "\n" : c)
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else {
                    out.append(c)
                }
            }
            return out
        }
    }

    /// SysV keys 0x4c53_0000 | n ("LS") are the suite's: `recover()` removes any segment
    /// with such a key even when its journal line was never written.
    public static let sysvKeyBase: Int32 = 0x4c53_0000
    public static func sysvKey(_ n: UInt16) -> Int32 { sysvKeyBase | Int32(n) }

    /// $LOCKSTEP_JOURNAL, else /run/lockstep/journal, else /tmp/lockstep-journal.
    public static var defaultPath: String {
        if let p = getenv("LOCKSTEP_JOURNAL").map({ String(cString: $0) }), !p.isEmpty { return p }
        if mkdir("/run/lockstep", 0o755) == 0 || errno == EEXIST, access("/run/lockstep", W_OK) == 0 {
            return "/run/lockstep/journal"
        }
        return "/tmp/lockstep-journal"
    }

    public static let shared = SettingsJournal(path: defaultPath)

    public let path: String
    private var entries: [Entry] = []
    private var mutex = pthread_mutex_t()

    public init(path: String) {
        self.path = path
        pthread_mutex_init(&mutex, nil)
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }

    // MARK: - Recording

    /// Records `entry` durably before the change it undoes is made.
    public func note(_ entry: Entry) throws {
        try locked {
            entries.append(entry)
            try persist()
        }
    }

    /// Drops `entry` (its resource was removed or its value restored cleanly).
    public func forget(_ entry: Entry) {
        locked {
            if let i = entries.lastIndex(of: entry) { entries.remove(at: i) }
            try? persist()
        }
    }

    /// Writes `value` to a sysfs/procfs setting, journaling the current value first. A
    /// setting already journaled keeps its first original. Returns the original.
    @discardableResult
    public func set(_ path: String, to value: String) throws -> String {
        let original = try Self.currentValue(path)
        let known = locked { entries.contains { if case .setting(path, _) = $0 { return true }; return false } }
        if !known { try note(.setting(path: path, original: original)) }
        try Self.write(path, value)
        return original
    }

    /// Writes back the journaled original of `path`, if any, and forgets it.
    public func restore(_ path: String) throws {
        let entry = locked { entries.last { if case .setting(path, _) = $0 { return true }; return false } }
        guard let entry else { return }
        try undo(entry)
        forget(entry)
    }

    /// Undoes one entry now (removes the segment, cgroup, mount or file; restores the
    /// setting) and forgets it; returns what was done ("... already gone" when the
    /// resource went by itself, e.g. a SysV segment removed by its scenario).
    @discardableResult
    public func release(_ entry: Entry) -> String {
        let line = describeUndo(entry)
        forget(entry)
        return line
    }

    // MARK: - Undoing

    /// Undoes what a killed run left in the journal file, plus any SysV segment with a
    /// suite key; returns one line per thing restored or removed (empty: nothing was left).
    public func recover() -> [String] {
        var done: [String] = []
        let left = (try? readTextFile(path)).map { text in
            text.split(separator: "\n").compactMap { Entry(line: $0) }
        } ?? []
        for entry in left.reversed() {
            done.append(describeUndo(entry))
        }
        for key in Self.suiteSegmentKeys() where !left.contains(.sysvShm(key: key)) {
            done.append(describeUndo(.sysvShm(key: key)))
        }
        locked {
            entries.removeAll()
            try? persist()
        }
        return done
    }

    /// Undoes every entry of this run, newest first; returns what it did.
    @discardableResult
    public func undoAll() -> [String] {
        let all = locked { entries }
        var done: [String] = []
        for entry in all.reversed() { done.append(describeUndo(entry)) }
        locked {
            entries.removeAll()
            try? persist()
        }
        return done
    }

    private func describeUndo(_ entry: Entry) -> String {
        do {
            try undo(entry)
            switch entry {
            case let .setting(p, o): return "restored \(p) to \(o)"
            default: return "removed \(entry)"
            }
        } catch let e as Errno where e == .ENOENT || e == .EINVAL {
            return "\(entry): already gone"
        } catch {
            return "could not undo \(entry): \(error)"
        }
    }

    private func undo(_ entry: Entry) throws {
        switch entry {
        case let .setting(p, original):
            if (try? Self.currentValue(p)) != original { try Self.write(p, original) }
        case let .sysvShm(key):
            let id = shmget(key, 0, 0)
            guard id >= 0 else { throw Errno.current }
            guard shmctl(id, IPC_RMID, nil) == 0 else { throw Errno.current }
        case let .cgroup(p):
            // Move any process left in it to the parent first; rmdir fails while populated.
            if let procs = try? readTextFile(p + "/cgroup.procs") {
                let parent = String(p[..<(p.lastIndex(of: "/") ?? p.endIndex)])
                for pid in procs.split(separator: "\n") { try? Self.write(parent + "/cgroup.procs", String(pid)) }
            }
            guard rmdir(p) == 0 else { throw Errno.current }
        case let .mount(p):
            guard umount2(p, Int32(MNT_DETACH)) == 0 else { throw Errno.current }
        case let .file(p):
            guard unlink(p) == 0 else { throw Errno.current }
        case let .swap(n, hotAdded):
            try ZramSwap.teardown(device: n, hotAdded: hotAdded)
        }
    }

    private func persist() throws {
        let text = entries.map { $0.line + "\n" }.joined()
        let tmp = path + ".new"
        let fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        do {
            try Array(text.utf8).withUnsafeBytes { try fd.writeAll($0) }
            guard fsync(fd.rawValue) == 0 else { throw Errno.current }
            try fd.close()
        } catch {
            try? fd.close()
            throw error
        }
        guard rename(tmp, path) == 0 else { throw Errno.current }
    }

    // MARK: - Settings files

    /// A setting's current value: the bracketed choice of a sysfs selector
    /// ("always [madvise] never" → "madvise"), else the trimmed contents.
    public static func currentValue(_ path: String) throws -> String {
        let text = try readTextFile(path)
        if let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") {
            return String(text[text.index(after: open)..<close])
        }
        return text.trimmingCharacters(in: " \n\t")
    }

    /// sysfs and procfs take the value in one write; a regular file (a test's stand-in
    /// for a setting) is rewritten whole.
    static func write(_ path: String, _ value: String) throws {
        if !(path.hasPrefix("/sys/") || path.hasPrefix("/proc/")) { _ = truncate(path, 0) }
        try writeFile(path, value)
    }

    /// Keys of live SysV segments in the suite's key range, from /proc/sysvipc/shm.
    static func suiteSegmentKeys() -> [Int32] {
        guard let text = try? readTextFile("/proc/sysvipc/shm") else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            guard let field = line.split(separator: " ", omittingEmptySubsequences: true).first,
                  let key = Int32(field) else { return nil }
            return key & ~0xffff == sysvKeyBase ? key : nil
        }
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
