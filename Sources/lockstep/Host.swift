import Foundation
import Scenarios

/// Facts about the machine for the run record, read without the runner so that a run
/// whose runner cannot start still says where it ran.
enum Host {
    static var uname: (release: String, line: String) {
        var u = utsname()
        Glibc.uname(&u)
        func field<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        let release = field(u.release)
        // What `uname -a` prints on a glibc system (coreutils adds the OS name).
        var parts = [field(u.sysname), field(u.nodename), release, field(u.version), field(u.machine)]
        if parts[0] == "Linux" { parts.append("GNU/Linux") }
        let line = parts.joined(separator: " ")
        return (release, line)
    }

    static var isRoot: Bool { geteuid() == 0 }

    static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A /proc/meminfo field in kB.
    static func meminfo(_ key: String) -> UInt64? {
        guard let text = read("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2 { return UInt64(parts[1]) }
        }
        return nil
    }

    static var machine: RunRecord.Machine {
        RunRecord.Machine(nproc: ProcessInfo.processInfo.activeProcessorCount,
                          memTotalKB: meminfo("MemTotal"), memAvailableKB: meminfo("MemAvailable"))
    }

    static var thp: RunRecord.THPSettings {
        let dir = "/sys/kernel/mm/transparent_hugepage/"
        var sizes: [String: String] = [:]
        for sub in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where sub.hasPrefix("hugepages-") {
            if let v = read(dir + sub + "/enabled") { sizes[sub] = v }
        }
        return RunRecord.THPSettings(enabled: read(dir + "enabled"), defrag: read(dir + "defrag"),
                                     shmemEnabled: read(dir + "shmem_enabled"), sizes: sizes)
    }

    /// "20261123T112233Z-4242": sorts by time, unique per process.
    static func runID(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date) + "-\(getpid())"
    }

    static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}

/// stdout and stderr, written with write(2) a whole line (or block) at a time, so
/// that a killed run keeps everything it printed (kselftest line-buffers stdout for
/// the same reason) and nothing is buffered across the runner's forks.
enum Out {
    static func line(_ s: String) { put(1, s + "\n") }
    static func lines(_ ls: [String]) { if !ls.isEmpty { put(1, ls.joined(separator: "\n") + "\n") } }
    static func err(_ s: String) { put(2, "lockstep: " + s + "\n") }

    private static func put(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }
}
