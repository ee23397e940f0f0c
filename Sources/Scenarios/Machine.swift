import KernelInterface
import MlockModel

/// Where each machine-wide setting lives and how it is written.
extension Setting {
    public var path: String {
        switch self {
        case .compactUnevictableAllowed: return "/proc/sys/vm/compact_unevictable_allowed"
        case let .thp(file, _): return THPSysfs.base + "/" + file
        }
    }

    public var value: String {
        switch self {
        case let .compactUnevictableAllowed(on): return on ? "1" : "0"
        case let .thp(_, value): return value
        }
    }
}

/// Applies a scenario's settings through the settings journal (each old value written
/// down before the new one) and puts them back afterwards; a run killed in between is
/// undone by the next run's `SettingsJournal.recover()`.
struct AppliedSettings {
    private(set) var paths: [String] = []

    /// Writes every setting; on the first that cannot be written, restores those already
    /// written and returns why (the scenario is then skipped).
    mutating func apply(_ settings: [Setting]) -> String? {
        for s in settings {
            do {
                try SettingsJournal.shared.set(s.path, to: s.value)
                if !paths.contains(s.path) { paths.append(s.path) }
                // A kernel may accept the write and keep another value (a read-only
                // sysctl on PREEMPT_RT, a value clamped): the scenario would then test
                // something else.
                let now = try SettingsJournal.currentValue(s.path)
                if now != s.value { restore(); return "\(s.path) reads \(now) after writing \(s.value)" }
            } catch {
                restore()
                return "needs \(s) (\(s.path): \(error)\(Kernel.isRoot ? "" : "; needs root"))"
            }
        }
        return nil
    }

    /// Restores every setting written, newest first.
    mutating func restore() {
        for p in paths.reversed() { try? SettingsJournal.shared.restore(p) }
        paths = []
    }
}

/// The NUMA topology the scenario process sees, from sysfs.
enum NUMATopology {
    /// Nodes with memory (/sys/devices/system/node/has_memory), [0] when the file is
    /// missing (a kernel without CONFIG_NUMA has one node).
    static func memoryNodes() -> [Int] {
        guard let text = try? readTextFile("/sys/devices/system/node/has_memory") else { return [0] }
        return parseList(text)
    }

    /// The node whose cpulist holds `cpu`.
    static func node(ofCPU cpu: Int) -> Int? {
        for n in memoryNodes() {
            if let text = try? readTextFile("/sys/devices/system/node/node\(n)/cpulist"), parseList(text).contains(cpu) {
                return n
            }
        }
        return nil
    }

    /// The local node of `cpu` and another node with memory, when there are two.
    static func nodes(cpu: Int) -> NUMANodes? {
        let all = memoryNodes()
        guard all.count >= 2 else { return nil }
        let local = node(ofCPU: cpu) ?? all[0]
        guard let remote = all.first(where: { $0 != local }) else { return nil }
        return NUMANodes(local: local, remote: remote)
    }

    /// "0-2,5" -> [0, 1, 2, 5].
    static func parseList(_ s: String) -> [Int] {
        var out: [Int] = []
        for part in s.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
            let ends = part.split(separator: "-").compactMap { Int($0) }
            if ends.count == 1 { out.append(ends[0]) }
            if ends.count == 2, ends[0] <= ends[1] { out.append(contentsOf: ends[0]...ends[1]) }
        }
        return out
    }
}
