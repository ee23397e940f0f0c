import Glibc
import KernelInterface

/// What other processes with locked memory did, told from outside: the global
/// unevictable_pgs_* events, Mlocked and Unevictable count every process's pages, so a
/// process that faults pages into a locked VMA (an mlockall(MCL_FUTURE) daemon growing
/// its heap: mlocked and culled +1 each) or unmaps locked pages (munlocked and rescued)
/// while a scenario runs moves the scenario's global counters. Seen in CI: the machine's
/// PID 1 (process_api, mlockall'd, VmLck 50 MB) faulted 2 pages in and out during one
/// step of lazy.shm-lock-and-mlock on each of two attempts.
///
/// A snapshot keeps, for every process outside our own tree with VmLck > 0, its VmLck,
/// VmRSS and fault counts (/proc/PID/stat minflt + majflt: a fault into a locked VMA
/// mlocks a page; an unmap of locked pages lowers VmLck or VmRSS). Two snapshots that
/// differ mean someone else's locked memory moved in between. What it cannot see: a
/// process that mlocks pages it already has and munlocks them again between the two
/// snapshots (VmLck, VmRSS and faults all as before).
public struct LockingElsewhere: Equatable, Sendable {
    public struct Process: Equatable, Sendable {
        public var name: String
        public var lockedKB: UInt64
        public var rssKB: UInt64
        public var faults: UInt64

        public init(name: String, lockedKB: UInt64, rssKB: UInt64, faults: UInt64) {
            self.name = name; self.lockedKB = lockedKB; self.rssKB = rssKB; self.faults = faults
        }
    }

    /// pid -> its locked memory's figures, for the processes not of our tree with VmLck > 0.
    public var processes: [Int32: Process]

    public init(processes: [Int32: Process]) { self.processes = processes }

    /// Reads every process in /proc (a few ms on a machine of 70 processes: see
    /// `LockingWatch` for the cheap way); ours (this process and its descendants, whose
    /// PPid chain reaches it) are left out.
    public static func read(ours root: Int32 = getpid()) -> LockingElsewhere {
        LockingWatch(ours: root).fullScan()
    }

    /// What moved since `before`, one line per process; empty when nothing did.
    public func changes(since before: LockingElsewhere) -> [String] {
        var lines: [String] = []
        for pid in Set(processes.keys).union(before.processes.keys).sorted() {
            let old = before.processes[pid], new = processes[pid]
            let who = "pid \(pid) (\((new ?? old)?.name ?? "?"))"
            switch (old, new) {
            case let (nil, n?): lines.append("\(who) appeared with \(n.lockedKB) kB locked")
            case let (o?, nil): lines.append("\(who) had \(o.lockedKB) kB locked and exited or unlocked it all")
            case let (o?, n?) where o != n:
                var what: [String] = []
                if n.faults != o.faults { what.append("\(n.faults &- o.faults) faults") }
                if n.lockedKB != o.lockedKB { what.append("VmLck \(o.lockedKB) -> \(n.lockedKB) kB") }
                if n.rssKB != o.rssKB { what.append("VmRSS \(o.rssKB) -> \(n.rssKB) kB") }
                lines.append("\(who): " + what.joined(separator: ", "))
            default: break
            }
        }
        return lines
    }

    /// minflt + majflt of the whole thread group (fields 10 and 12 of /proc/PID/stat,
    /// counted after the ") " that ends the command name).
    static func faults(_ pid: Int32) -> UInt64? {
        guard let stat = try? readTextFile("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3): minflt is field 10, majflt field 12.
        guard fields.count > 9, let minflt = UInt64(fields[7]), let majflt = UInt64(fields[9]) else { return nil }
        return minflt &+ majflt
    }

    /// The pids in /proc now.
    public static func procPIDs() -> [Int32] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var pids: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids
    }

    /// Name, PPid, VmLck and VmRSS of /proc/PID/status; nil when the process is gone.
    public static func status(_ pid: Int32) -> (name: String, ppid: Int32, lockedKB: UInt64, rssKB: UInt64)? {
        guard let text = try? readTextFile("/proc/\(pid)/status") else { return nil }
        var name = "", ppid: Int32 = 0, lockedKB: UInt64 = 0, rssKB: UInt64 = 0
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            switch line[..<colon] {
            case "Name": name = value.joined(separator: " ")
            case "PPid": ppid = value.first.flatMap { Int32($0) } ?? 0
            case "VmLck": lockedKB = value.first.flatMap { UInt64($0) } ?? 0
            case "VmRSS": rssKB = value.first.flatMap { UInt64($0) } ?? 0
            default: break
            }
        }
        return (name, ppid, lockedKB, rssKB)
    }
}

/// Snapshots of `LockingElsewhere` cheap enough for every scenario attempt: a process
/// once seen with VmLck 0 is not read again by `snapshot()` (a readdir of /proc and the
/// locked processes' status and stat: tens of µs), only by `fullScan()`, which reads
/// every process and is what a failed attempt is judged by. A process that locked memory
/// after it was last read therefore shows in the full scan as appeared: the attempt is
/// taken as disturbed and run again, never excused.
public final class LockingWatch {
    let root: Int32
    private var unlocked: Set<Int32> = []

    public init(ours root: Int32 = getpid()) { self.root = root }

    public func snapshot() -> LockingElsewhere { scan(all: false) }
    public func fullScan() -> LockingElsewhere { scan(all: true) }

    private func scan(all: Bool) -> LockingElsewhere {
        var locked: [Int32: LockingElsewhere.Process] = [:]
        var parents: [Int32: Int32] = [:]
        var seen: Set<Int32> = []
        for pid in LockingElsewhere.procPIDs() {
            seen.insert(pid)
            if !all && unlocked.contains(pid) { continue }
            guard let s = LockingElsewhere.status(pid) else { continue }
            parents[pid] = s.ppid
            if s.lockedKB == 0 { unlocked.insert(pid); continue }
            unlocked.remove(pid)
            let p = LockingElsewhere.Process(name: s.name, lockedKB: s.lockedKB, rssKB: s.rssKB,
                                             faults: LockingElsewhere.faults(pid) ?? 0)
            locked[pid] = p
        }
        unlocked.formIntersection(seen)   // pids that exited may come back as others
        func isOurs(_ pid: Int32) -> Bool {
            var p = pid
            for _ in 0..<64 {
                if p == root { return true }
                if p <= 1 { return false }
                guard let up = parents[p] ?? LockingElsewhere.status(p)?.ppid else { return false }
                parents[p] = up
                p = up
            }
            return false
        }
        return LockingElsewhere(processes: locked.filter { !isOurs($0.key) })
    }
}
