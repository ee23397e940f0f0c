import KernelInterface
import Glibc

/// One line of /proc/PID/cgroup: "hierarchy-ID:controller-list:cgroup-path".
public struct CgroupMembership: Hashable, Sendable {
    public var hierarchyID: Int
    /// ["memory"], ["cpu", "cpuacct"], ["name=systemd"]; empty for the v2 line "0::/path".
    public var controllers: [String]
    public var path: String

    public var isUnified: Bool { hierarchyID == 0 && controllers.isEmpty }

    /// Parses /proc/PID/cgroup.
    public static func parse(_ text: String) -> [CgroupMembership] {
        text.split(separator: "\n").compactMap { line in
            // The path may itself contain ':'; split only twice.
            guard let c1 = line.firstIndex(of: ":") else { return nil }
            let rest = line[line.index(after: c1)...]
            guard let c2 = rest.firstIndex(of: ":"), let id = Int(line[..<c1]) else { return nil }
            let ctl = rest[..<c2].split(separator: ",").map(String.init)
            return CgroupMembership(hierarchyID: id, controllers: ctl, path: String(rest[rest.index(after: c2)...]))
        }
    }
}

/// A cgroup (v1) or cgroup2 mount, from /proc/self/mountinfo.
public struct CgroupMount: Hashable, Sendable {
    /// The root of the mount within its hierarchy ("/" unless bind-mounted or namespaced).
    public var root: String
    public var mountPoint: String
    /// "cgroup" or "cgroup2".
    public var fsType: String
    /// Super options: for v1 they name the controllers ("rw,memory").
    public var superOptions: [String]

    public var isV2: Bool { fsType == "cgroup2" }

    /// The cgroup and cgroup2 mounts listed in /proc/PID/mountinfo.
    public static func parse(mountinfo text: String) -> [CgroupMount] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let dash = f.firstIndex(of: "-"), dash >= 6, dash + 3 <= f.count else { return nil }
            let fs = String(f[dash + 1])
            guard fs == "cgroup" || fs == "cgroup2" else { return nil }
            return CgroupMount(root: unescape(f[3]), mountPoint: unescape(f[4]), fsType: fs,
                               superOptions: f[dash + 3].split(separator: ",").map(String.init))
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescape(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The directory of `cgroupPath` (as /proc/PID/cgroup prints it) under this mount,
    /// or nil when the cgroup is outside the mount's root.
    public func directory(of cgroupPath: String) -> String? {
        var rel: Substring
        if root == "/" {
            rel = Substring(cgroupPath)
        } else if cgroupPath == root {
            rel = ""
        } else if cgroupPath.hasPrefix(root + "/") {
            rel = cgroupPath.dropFirst(root.count)
        } else {
            return nil
        }
        if rel == "/" { rel = "" }
        return mountPoint + rel
    }
}

/// The memory cgroup of a process, v1 or v2, and its memory.stat.
public struct MemoryCgroup: Hashable, Sendable, CustomStringConvertible {
    public var version: Int
    /// The path /proc/PID/cgroup gives ("/user.slice/...").
    public var cgroupPath: String
    /// Its directory ("/sys/fs/cgroup/memory/user.slice/...").
    public var directory: String

    public init(version: Int, cgroupPath: String, directory: String) {
        self.version = version; self.cgroupPath = cgroupPath; self.directory = directory
    }

    public var statPath: String { directory + "/memory.stat" }
    public var description: String { "memcg v\(version) \(directory)" }

    /// Pure: the v1 memory hierarchy if the memory controller is bound to one, else the
    /// v2 cgroup (whose memory controller the caller still has to find enabled).
    public static func resolve(memberships: [CgroupMembership], mounts: [CgroupMount]) -> MemoryCgroup? {
        if let m = memberships.first(where: { $0.controllers.contains("memory") }),
           let mount = mounts.first(where: { !$0.isV2 && $0.superOptions.contains("memory") }),
           let dir = mount.directory(of: m.path) {
            return MemoryCgroup(version: 1, cgroupPath: m.path, directory: dir)
        }
        if let m = memberships.first(where: { $0.isUnified }) {
            for mount in mounts where mount.isV2 {
                if let dir = mount.directory(of: m.path) {
                    return MemoryCgroup(version: 2, cgroupPath: m.path, directory: dir)
                }
            }
        }
        return nil
    }

    public static func resolve(procCgroup: String, mountinfo: String) -> MemoryCgroup? {
        resolve(memberships: CgroupMembership.parse(procCgroup), mounts: CgroupMount.parse(mountinfo: mountinfo))
    }

    /// The memory cgroup of `pid` (0: this process), checked to have a memory.stat.
    public static func of(pid: Int32 = 0) throws -> MemoryCgroup {
        let proc = pid == 0 ? "self" : String(pid)
        let cg = try readTextFile("/proc/\(proc)/cgroup")
        let mi = try readTextFile("/proc/self/mountinfo")
        guard let m = resolve(procCgroup: cg, mountinfo: mi) else {
            throw ObserverError("no memory cgroup for \(proc): no v1 memory hierarchy and no cgroup2 mount")
        }
        guard fileExists(m.statPath) else {
            throw ObserverError(m.version == 2
                ? "cgroup2 \(m.directory) has no memory.stat (memory controller not enabled there)"
                : "\(m.statPath) does not exist")
        }
        return m
    }

    /// Parses memory.stat ("key value" lines; v1 in bytes/pages, v2 in bytes/events).
    public static func parseStat(_ text: String) -> [String: UInt64] {
        withBytes(text) { parseKeyValueNumbers($0, capacity: 64) }
    }
    public static func parseStat(_ bytes: [UInt8]) -> [String: UInt64] {
        withBytes(bytes) { parseKeyValueNumbers($0, capacity: 64) }
    }

    public func readStat() throws -> [String: UInt64] {
        MemoryCgroup.parseStat(try readWholeFile(statPath))
    }

    /// Unevictable bytes of this cgroup from its memory.stat: v1 `unevictable` (this
    /// cgroup only; `total_unevictable` includes children), v2 `unevictable`.
    public static func unevictableBytes(_ stat: [String: UInt64]) -> UInt64? { stat["unevictable"] }
}

/// A memory cgroup of the suite's own, for one scenario run: made under the runner's own
/// memory cgroup (v1: the memory hierarchy; v2: the unified one, with the memory
/// controller enabled for children), journaled before it exists, and removed when the
/// run ends (or by the next run's recovery after a kill). The scenario's agent is moved
/// in before its first op, so that every page the scenario faults or caches is charged
/// here and reclaim driven here touches nothing else on the machine.
public final class ScenarioMemcg {
    public let cgroup: MemoryCgroup
    let entry: SettingsJournal.Entry
    /// v2: the parent's cgroup.subtree_control we wrote "+memory" to (undone after).
    let subtreeControl: String?

    /// Why a memory cgroup of the suite's own cannot be made here, or nil.
    public static func unavailable() -> String? {
        guard Sys.geteuid() == 0 else { return "needs root (creates a memory cgroup)" }
        let parent: MemoryCgroup
        do { parent = try MemoryCgroup.of() } catch { return "no memory cgroup: \(error)" }
        if parent.version == 2 {
            let controllers = (try? readTextFile(parent.directory + "/cgroup.controllers")) ?? ""
            if !controllers.split(separator: " ").contains(where: { $0.hasPrefix("memory") }) {
                return "cgroup2 \(parent.directory) has no memory controller available"
            }
        } else if !fileExists(parent.directory + "/memory.force_empty") {
            return "memcg v1 \(parent.directory) has no memory.force_empty"
        }
        return nil
    }

    public init(name: String) throws {
        let parent = try MemoryCgroup.of()
        var subtree: String?
        if parent.version == 2 {
            let path = parent.directory + "/cgroup.subtree_control"
            let enabled = (try? readTextFile(path)) ?? ""
            if !enabled.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("memory") {
                // Undone by writing "-memory" (the journal writes back the "original").
                try SettingsJournal.shared.note(.setting(path: path, original: "-memory"))
                do { try writeFile(path, "+memory") } catch {
                    SettingsJournal.shared.forget(.setting(path: path, original: "-memory"))
                    throw ObserverError("cannot enable the memory controller in \(path): \(error) (a v2 cgroup with processes cannot have controllers for children)")
                }
                subtree = path
            }
        }
        subtreeControl = subtree
        let dir = parent.directory + "/" + name
        entry = .cgroup(path: dir)
        try SettingsJournal.shared.note(entry)
        guard mkdir(dir, 0o755) == 0 || errno == EEXIST else {
            let e = Errno.current
            SettingsJournal.shared.forget(entry)
            throw ObserverError("mkdir \(dir): \(e)")
        }
        let path = parent.cgroupPath == "/" ? "/" + name : parent.cgroupPath + "/" + name
        cgroup = MemoryCgroup(version: parent.version, cgroupPath: path, directory: dir)
        // v1 keeps a swappiness per memcg (inherited from the parent): with 0, memcg
        // reclaim never scans anon (shmem included). v2 uses vm.swappiness.
        if parent.version == 1 { try? writeFile(dir + "/memory.swappiness", "100") }
    }

    /// Moves a process (and so what it faults from now on) into the cgroup.
    public func moveIn(pid: Int32) throws {
        try writeFile(cgroup.directory + "/cgroup.procs", String(pid))
    }

    /// One round of reclaim of everything the cgroup holds. v1: memory.force_empty
    /// (mem_cgroup_force_empty: lru_add_drain_all, then try_to_free_mem_cgroup_pages
    /// until the usage is 0 or 16 rounds reclaim nothing -- locked pages keep it above 0,
    /// so every round falls to priority 0 and scans every list whole). v2:
    /// memory.reclaim of the whole usage (the same try_to_free_mem_cgroup_pages loop,
    /// EAGAIN when it could not reclaim it all: expected, locked pages stay).
    public func reclaim() throws {
        if cgroup.version == 1 {
            try writeFile(cgroup.directory + "/memory.force_empty", "0")
        } else {
            let usage = (try? readTextFile(cgroup.directory + "/memory.current"))
                .flatMap { UInt64($0.filter { $0.isNumber }) } ?? (64 << 20)
            do {
                try writeFile(cgroup.directory + "/memory.reclaim", String(max(usage, 1 << 20)))
            } catch let e as Errno where e == .EAGAIN {
                // Not all of it could go: the locked pages.
            }
        }
    }

    /// Removes the cgroup (its processes must have exited) and undoes the v2 subtree
    /// control; returns what was done.
    @discardableResult
    public func remove() -> [String] {
        var done = [SettingsJournal.shared.release(entry)]
        if let s = subtreeControl {
            done.append(SettingsJournal.shared.release(.setting(path: s, original: "-memory")))
        }
        return done
    }
}
