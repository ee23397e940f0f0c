import Glibc
import KernelInterface

/// How the per-CPU LRU and mlock batches were drained.
public enum DrainMethod: String, Hashable, Sendable, Codable {
    /// move_pages of a scratch page to its own node: lru_cache_disable() drains every CPU.
    case movePages = "move_pages"
    /// Writing 1 to /proc/sys/vm/compact_memory (drains too, but costs ms and moves memory).
    case compactMemory = "compact_memory"
    /// Nothing worked.
    case none
}

/// What one `settle()` did.
public struct SettleReport: Hashable, Sendable, CustomStringConvertible {
    /// Every CPU's LRU and mlock batches were drained.
    public var drained: Bool
    public var drainMethod: DrainMethod
    /// The per-CPU vmstat diffs were folded (stat_refresh).
    public var folded: Bool
    /// Why something was not done, or why a fallback was used; nil when all went to plan.
    public var why: String?
    public var nanoseconds: UInt64

    public init(drained: Bool, drainMethod: DrainMethod, folded: Bool, why: String?, nanoseconds: UInt64) {
        self.drained = drained; self.drainMethod = drainMethod; self.folded = folded
        self.why = why; self.nanoseconds = nanoseconds
    }

    /// Drained and folded: global counters are exact (up to other processes).
    public var exact: Bool { drained && folded }

    public var description: String {
        "settle: drained=\(drained) (\(drainMethod.rawValue)) folded=\(folded) in \(Double(nanoseconds) / 1000) µs"
            + (why.map { " — \($0)" } ?? "")
    }
}

/// Brings the kernel's lazily-kept counters up to date before a reading:
/// drain (every CPU's LRU add and mlock batches) then fold (per-CPU vmstat diffs).
///
/// Drain: `move_pages` of one scratch page of our own to the node it is already on. The
/// kernel calls lru_cache_disable() -> lru_add_drain_all(), which drains the folio
/// batches (mlock_fbatch included) of every CPU. The call is verified: rc 0 and the
/// status slot overwritten with the node. If move_pages is missing or does not do
/// that, `compact_memory` is written instead (root) and the report says why.
/// Fold: write "1" to /proc/sys/vm/stat_refresh (root only).
///
/// Keeps its scratch page and the sysctl fds open, so a settle costs a few syscalls.
public final class Settler {
    private let scratch: ScratchPage
    private var node: Int32?
    private var preferred = DrainMethod.movePages
    private let statRefresh: FileDescriptor?
    private let statRefreshProblem: String?
    private var compactMemory: FileDescriptor?
    private var compactProblem: String?
    /// Value written to status before the call, to see that the kernel wrote it.
    static let sentinel: Int32 = -0x5EED

    public init() throws {
        scratch = try ScratchPage()
        do {
            statRefresh = try FileDescriptor.open("/proc/sys/vm/stat_refresh", O_WRONLY)
            statRefreshProblem = nil
        } catch let e as Errno {
            statRefresh = nil
            statRefreshProblem = e == .ENOENT ? "no /proc/sys/vm/stat_refresh"
                : "cannot open /proc/sys/vm/stat_refresh: \(e)\(Kernel.isRoot ? "" : " (needs root)")"
        }
        node = try? queryNode()
    }

    /// A settler that drains with `method` first (`.compactMemory` to exercise the
    /// fallback; `.none` to only fold).
    public convenience init(preferring method: DrainMethod) throws {
        try self.init()
        preferred = method
    }

    deinit {
        try? statRefresh?.close()
        try? compactMemory?.close()
    }

    /// Whether settle() can fold vmstat (stat_refresh is writable).
    public var canFold: Bool { statRefresh != nil }

    /// Drains and folds; never throws for a missing capability (the report says what was
    /// not done), only for unexpected errors.
    @discardableResult
    public func settle() throws -> SettleReport {
        let t0 = Kernel.monotonicNanoseconds()
        var why: [String] = []
        var method = DrainMethod.none
        switch preferred {
        case .movePages:
            if let problem = drainWithMovePages() {
                why.append("move_pages: \(problem)")
                if let compactProblem = drainWithCompaction() {
                    why.append("compact_memory: \(compactProblem)")
                } else {
                    method = .compactMemory
                }
            } else {
                method = .movePages
            }
        case .compactMemory:
            if let compactProblem = drainWithCompaction() {
                why.append("compact_memory: \(compactProblem)")
            } else {
                method = .compactMemory
            }
        case .none:
            why.append("drain not asked for")
        }
        var folded = false
        if let fd = statRefresh {
            do {
                _ = try withUnsafeBytes(of: UInt8(ascii: "1")) { try fd.pwrite($0, at: 0) }
                folded = true
            } catch let e as Errno {
                why.append("stat_refresh: \(e)")
            }
        } else {
            why.append(statRefreshProblem ?? "stat_refresh unavailable")
        }
        return SettleReport(drained: method != .none, drainMethod: method, folded: folded,
                            why: why.isEmpty ? nil : why.joined(separator: "; "),
                            nanoseconds: Kernel.monotonicNanoseconds() - t0)
    }

    /// Only the drain (move_pages, else compact_memory); nil on success, else the reason.
    public func drain() -> String? {
        guard let problem = drainWithMovePages() else { return nil }
        return drainWithCompaction().map { "move_pages: \(problem); compact_memory: \($0)" }
    }

    // MARK: internals

    private func queryNode() throws -> Int32 {
        scratch.touch()
        var status: [Int32] = [Settler.sentinel]
        _ = try Kernel.movePages([scratch.address], nodes: nil, status: &status)
        if status[0] == Settler.sentinel { throw ObserverError("move_pages query did not write the status") }
        if status[0] < 0 { throw Errno(-status[0]) }
        return status[0]
    }

    /// nil on a verified drain, else why not.
    private func drainWithMovePages() -> String? {
        if node == nil {
            do { node = try queryNode() } catch { return "query: \(error)" }
        }
        guard let target = node else { return "no node" }
        scratch.touch()
        var status: [Int32] = [Settler.sentinel]
        do {
            let r = try Kernel.movePages([scratch.address], nodes: [target], status: &status, flags: 1 << 1)
            if r != 0 { return "returned \(r) (pages not migrated)" }
        } catch {
            return "\(error)"
        }
        if status[0] == Settler.sentinel { return "status not written (the call did not run)" }
        if status[0] != target {
            // The page may have moved (a memory policy, a hot-unplug): ask again next time.
            let got = status[0]
            node = nil
            return got < 0 ? "status \(Errno(-got))" : "status says node \(got), asked \(target)"
        }
        return nil
    }

    private func drainWithCompaction() -> String? {
        if compactMemory == nil && compactProblem == nil {
            do {
                compactMemory = try FileDescriptor.open("/proc/sys/vm/compact_memory", O_WRONLY)
            } catch {
                compactProblem = "cannot open: \(error)\(Kernel.isRoot ? "" : " (needs root)")"
            }
        }
        guard let fd = compactMemory else { return compactProblem }
        do {
            _ = try withUnsafeBytes(of: UInt8(ascii: "1")) { try fd.pwrite($0, at: 0) }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
