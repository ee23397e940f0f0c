import MlockModel

/// How each observable of a step is compared, and what a mismatch looks like.
///
/// The page layer and the VMA layer are compared exactly. The global counters are
/// compared as deltas between two settled readings, the model's arena delta plus what
/// the scenario process's own pages outside the arena did (read from their kpageflags),
/// against the system-wide delta.
struct StepComparison {
    var checks: [Check] = []
    var divergences: [Divergence] = []
    /// Keep every passing check (a scenario's record lists them); false: only count them.
    var keepPassing = true
    /// Checks made (passed or not) and skipped, kept or not.
    var made = 0
    var skipped = 0

    init(keepPassing: Bool = true) { self.keepPassing = keepPassing }

    /// Observables that other processes can move (global counters): a mismatch there
    /// is confirmed only when it reproduces on a second run of the scenario.
    static let noisy: Set<String> = Set(Counters.fieldNames)

    var onlyNoisyDiverged: Bool {
        !divergences.isEmpty && divergences.allSatisfy { Self.noisy.contains(Self.base($0.observable)) }
    }

    /// An observable's name without its "@once"/"@eventual" qualifier.
    static func base(_ observable: String) -> String {
        observable.split(separator: "@", maxSplits: 1).first.map(String.init) ?? observable
    }

    /// Marks every check of `step` as checked eventually (after reclaim rounds), not at once.
    mutating func markEventual(step: Int) {
        for k in checks.indices where checks[k].step == step { checks[k].observable += "@eventual" }
        for k in divergences.indices where divergences[k].step == step { divergences[k].observable += "@eventual" }
    }

    mutating func record(_ step: Int, _ op: String, _ observable: String,
                         expected: String, observed: String) {
        let ok = expected == observed
        made += 1
        if keepPassing || !ok { checks.append(Check(step: step, observable: observable, passed: ok)) }
        if !ok {
            divergences.append(Divergence(step: step, op: op, observable: observable,
                                          expected: expected, observed: observed))
        }
    }

    /// `record` for values that are compared as they are before being rendered: `same`
    /// says the values are equal, and so their renderings are; only when they are not are
    /// the two Strings made and compared as `record` does (two different values may
    /// still render alike: the rendering decides, as before).
    mutating func record(_ step: Int, _ op: String, _ observable: String, same: Bool,
                         expected: @autoclosure () -> String, observed: @autoclosure () -> String) {
        if same {
            made += 1
            if keepPassing { checks.append(Check(step: step, observable: observable, passed: true)) }
        } else {
            record(step, op, observable, expected: expected(), observed: observed())
        }
    }

    mutating func skip(_ step: Int, _ observable: String, _ why: String) {
        skipped += 1
        if keepPassing { checks.append(Check(step: step, observable: observable, passed: true, skipped: why)) }
    }
}

/// What the page layer can tell on this run.
enum PageLayer {
    /// PFNs and kpageflags: present, zero page, PG_mlocked, PG_unevictable per page.
    case exact
    /// Only pagemap's present bit (no PFN without root), with the reason.
    case presenceOnly(String)
}

extension StepComparison {
    mutating func compare(step: Int, op: Op, predicted: StepView, observed: StepView,
                          pageLayer: PageLayer) {
        let name = op.description
        record(step, name, "result", expected: predicted.result.description, observed: observed.result.description)
        compareProcess(step: step, label: name, prefix: "", predicted: predicted, observed: observed, pageLayer: pageLayer)
    }

    /// One process's VMA and page layers; `prefix` names the process ("p1.") when the
    /// scenario has several.
    mutating func compareProcess(step: Int, label name: String, prefix: String, predicted: StepView,
                                 observed: StepView, pageLayer: PageLayer) {
        let sameVMAs = predicted.vmas == observed.vmas
        record(step, name, prefix + "vmas", same: sameVMAs,
               expected: Self.layout(predicted.vmas), observed: Self.layout(observed.vmas))
        record(step, name, prefix + "smaps", same: sameVMAs,
               expected: Self.smaps(predicted.vmas), observed: Self.smaps(observed.vmas))
        record(step, name, prefix + "VmLck", same: predicted.vmLckKB == observed.vmLckKB,
               expected: "\(predicted.vmLckKB) kB", observed: "\(observed.vmLckKB) kB")
        let samePages = predicted.pages == observed.pages
        switch pageLayer {
        case .exact:
            record(step, name, prefix + "pages", same: samePages,
                   expected: Self.pageDiff(predicted.pages, against: observed.pages, exact: true),
                   observed: Self.pageDiff(observed.pages, against: predicted.pages, exact: true))
        case .presenceOnly(let why):
            record(step, name, prefix + "pages.present", same: samePages,
                   expected: Self.pageDiff(predicted.pages, against: observed.pages, exact: false),
                   observed: Self.pageDiff(observed.pages, against: predicted.pages, exact: false))
            skip(step, prefix + "pages", why)
        }
    }

    /// Compares counter deltas; `skipGlobal` names why the global counters cannot be
    /// read exactly (nil when they can).
    /// `eventsUnattributable`: why the unevictable_pgs_* events of this step cannot be
    /// told apart from other processes' (Mlocked and Unevictable are still compared).
    mutating func compareCounters(step: Int, op: Op, expected: Counters, observed: Counters,
                                  foldUnavailable: String?, unattributable: String? = nil,
                                  eventsUnattributable: String? = nil) {
        compareCounters(step: step, label: op.description, expected: expected, observed: observed,
                        foldUnavailable: foldUnavailable, unattributable: unattributable,
                        eventsUnattributable: eventsUnattributable)
    }

    mutating func compareCounters(step: Int, label name: String, expected: Counters, observed: Counters,
                                  foldUnavailable: String?, unattributable: String? = nil,
                                  eventsUnattributable: String? = nil) {
        let e = expected.fields, o = observed.fields
        for (i, field) in Counters.fieldNames.enumerated() {
            if let why = unattributable { skip(step, field, why); continue }
            if i >= 2, let why = eventsUnattributable { skip(step, field, why); continue }
            // Mlocked and Unevictable are vmstat items folded lazily per CPU; events are
            // summed over CPUs at read time and are exact without folding.
            if i < 2, let why = foldUnavailable { skip(step, field, why); continue }
            record(step, name, field, same: e[i] == o[i], expected: Self.signed(e[i]), observed: Self.signed(o[i]))
        }
    }

    /// Page frames across a migrating op: the pages the rules keep in place must keep
    /// their PFN, those they move must change it. Returns how many present pages moved.
    @discardableResult
    mutating func compareFrames(step: Int, label: String, predicted: FramePrediction,
                                before: [UInt64: UInt64], after: [UInt64: UInt64]) -> Int {
        var wrong: [String] = []
        var kept = 0, moved = 0
        for a in predicted.kept.sorted() where before[a] != nil {
            if after[a] == before[a] { kept += 1 } else { wrong.append("\(Arena.describe(a)) moved") }
        }
        for a in predicted.moved.sorted() where before[a] != nil {
            if let p = after[a], p != before[a] { moved += 1 } else { wrong.append("\(Arena.describe(a)) stayed") }
        }
        let expectKept = predicted.kept.filter { before[$0] != nil }.count
        let expectMoved = predicted.moved.filter { before[$0] != nil }.count
        let free = before.count - expectKept - expectMoved
        let tail = free > 0 ? ", \(free) free to move" : ""
        record(step, label, "frames",
               expected: "\(expectKept) keep their PFN, \(expectMoved) move\(tail)",
               observed: "\(kept) keep their PFN, \(moved) move\(tail)"
                   + (wrong.isEmpty ? "" : " (" + wrong.prefix(6).joined(separator: ", ") + (wrong.count > 6 ? ", ..." : "") + ")"))
        return before.filter { a, pfn in after[a].map { $0 != pfn } ?? false }.count
    }

    /// The NUMA node of every present page (move_pages query of the process).
    mutating func compareNodes(step: Int, label: String, predicted: [UInt64: Int], observed: [UInt64: Int]) {
        func render(_ mine: [UInt64: Int], _ other: [UInt64: Int]) -> String {
            let keys = Set(mine.keys).union(other.keys).sorted()
            var diffs: [String] = []
            for k in keys where mine[k] != other[k] {
                diffs.append("\(Arena.describe(k)) \(mine[k].map { "node \($0)" } ?? "none")")
            }
            if diffs.isEmpty {
                let byNode = Dictionary(grouping: mine.values, by: { $0 }).mapValues(\.count)
                return byNode.keys.sorted().map { "node \($0): \(byNode[$0]!) pages" }.joined(separator: ", ").nonEmpty ?? "no pages"
            }
            return diffs.prefix(8).joined(separator: " ") + (diffs.count > 8 ? " (+\(diffs.count - 8) more)" : "")
        }
        record(step, label, "nodes", expected: render(predicted, observed), observed: render(observed, predicted))
    }

    static func signed(_ v: Int64) -> String { v >= 0 ? "+\(v)" : "\(v)" }

    static func layout(_ vmas: [VMAView]) -> String {
        vmas.isEmpty ? "(none)" : vmas.map { v in
            "\(Arena.describe(v.start))-\(Arena.describe(v.end)) \(v.prot)\(v.shared ? "s" : "p")\(v.locked ? " lo" : "")"
                + v.advice.map { " " + $0 }.joined()
        }.joined(separator: ", ")
    }

    static func smaps(_ vmas: [VMAView]) -> String {
        vmas.isEmpty ? "(none)" : vmas.map {
            "Rss=\($0.rssKB) Locked=\($0.lockedKB)" + ($0.anonHugeKB > 0 ? " AnonHugePages=\($0.anonHugeKB)" : "")
                + ($0.filePmdKB > 0 ? " Shmem/FilePmdMapped=\($0.filePmdKB)" : "")
        }.joined(separator: ", ")
    }

    /// The pages of `mine` that differ from `other`, as "A+0x3000 M" items; equal maps
    /// render the same string on both sides, so the comparison reads well either way.
    static func pageDiff(_ mine: [UInt64: PageView], against other: [UInt64: PageView], exact: Bool) -> String {
        let keys = Set(mine.keys).union(other.keys).sorted()
        var diffs: [String] = []
        var total = 0
        for k in keys {
            let a = mine[k] ?? .absent, b = other[k] ?? .absent
            let same = exact ? a == b : a.present == b.present
            if !same {
                total += 1
                if diffs.count < 8 { diffs.append("\(Arena.describe(k)) \(exact ? String(a.glyph) + a.compoundTag : (a.present ? "p" : "."))") }
            }
        }
        if total == 0 { return "\(keys.count) pages as expected" }
        return diffs.joined(separator: " ") + (total > diffs.count ? " (+\(total - diffs.count) more)" : "")
    }
}

extension PageView {
    /// The large-folio flags for divergence lines: "" for a small page, else "/thp",
    /// "/head", "/tail" as kpageflags shows them.
    var compoundTag: String {
        (thp ? "/thp" : "") + (head ? "/head" : "") + (tail ? "/tail" : "")
    }
}

extension Arena {
    /// An address as "A+0x2000" when it is in the arena.
    static func describe(_ a: UInt64) -> String {
        contains(a) || a == base + size ? "A+0x" + String(a - base, radix: 16) : "0x" + String(a, radix: 16)
    }
}

/// A page map of the arena: one line per VMA, one glyph per page (see PageView.glyph),
/// predicted above observed.
func pageMap(predicted: StepView, observed: StepView, presenceOnly: Bool = false) -> [String] {
    var lines: [String] = [presenceOnly
        ? "legend: . absent  p present (page flags not readable: presence only)"
        : "legend: . absent  z zero page  p present  M mlocked+unevictable  m mlocked only  u unevictable only"]
    let ranges = (predicted.vmas + observed.vmas).map { ($0.start, $0.end) }
    var seen = Set<UInt64>()
    for (start, end) in ranges.sorted(by: { $0.0 < $1.0 }) where seen.insert(start).inserted {
        func row(_ v: StepView) -> String {
            var s = ""
            var a = start
            while a < end && s.count < 128 {
                let p = v.pages[a] ?? .absent
                s.append(presenceOnly ? (p.present ? "p" : ".") : p.glyph)
                a += pageSize
            }
            return s + (a < end ? "…" : "")
        }
        lines.append("\(Arena.describe(start))-\(Arena.describe(end)) expected \(row(predicted))")
        lines.append(String(repeating: " ", count: Arena.describe(start).count + Arena.describe(end).count + 1)
                     + " observed \(row(observed))")
    }
    return lines
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

extension Op {
    /// Ops that may move pages to other frames (their frames are compared).
    var migrates: Bool {
        switch self {
        case .compactMemory, .movePages, .mbind: return true
        default: return false
        }
    }
}

extension Op: CustomStringConvertible {
    public var description: String {
        func a(_ x: UInt64) -> String { Arena.describe(x) }
        func l(_ x: UInt64) -> String { x == UInt64.max ? "ULONG_MAX" : (x % pageSize == 0 ? "\(x / pageSize)p" : "\(x)") }
        switch self {
        case let .createObject(slot, kind, pages, filled):
            return "create \(kind.rawValue) obj\(slot) \(pages)p\(filled ? " filled" : "")"
        case let .map(addr, len, prot, backing, flags):
            var f: [String] = []
            if flags.contains(.locked) { f.append("MAP_LOCKED") }
            if flags.contains(.populate) { f.append("MAP_POPULATE") }
            if flags.contains(.noreserve) { f.append("MAP_NORESERVE") }
            if flags.contains(.droppable) { f.append("MAP_DROPPABLE") }
            if flags.contains(.growsdown) { f.append("MAP_GROWSDOWN") }
            if flags.contains(.hugetlb) { f.append("MAP_HUGETLB") }
            return "mmap(\(a(addr)), \(l(len)), \(prot), \(backing)\(f.isEmpty ? "" : ", " + f.joined(separator: "|")))"
        case let .munmap(addr, len): return "munmap(\(a(addr)), \(l(len)))"
        case let .mprotect(addr, len, prot): return "mprotect(\(a(addr)), \(l(len)), \(prot))"
        case let .mremap(old, oldLen, newLen, flags, newAddr):
            return "mremap(\(a(old)), \(l(oldLen)), \(l(newLen)), \(flags)\(flags & UAPI.MREMAP_FIXED != 0 ? ", \(a(newAddr))" : ""))"
        case let .touch(addr, len, write): return "\(write ? "write" : "read")(\(a(addr)), \(l(len)))"
        case let .mlock(addr, len): return "mlock(\(a(addr)), \(l(len)))"
        case let .mlock2(addr, len, flags):
            return "mlock2(\(a(addr)), \(l(len)), \(flags == UAPI.MLOCK_ONFAULT ? "MLOCK_ONFAULT" : "\(flags)"))"
        case let .munlock(addr, len): return "munlock(\(a(addr)), \(l(len)))"
        case let .mlockall(flags):
            var f: [String] = []
            if flags & UAPI.MCL_CURRENT != 0 { f.append("MCL_CURRENT") }
            if flags & UAPI.MCL_FUTURE != 0 { f.append("MCL_FUTURE") }
            if flags & UAPI.MCL_ONFAULT != 0 { f.append("MCL_ONFAULT") }
            let rest = flags & ~(UAPI.MCL_CURRENT | UAPI.MCL_FUTURE | UAPI.MCL_ONFAULT)
            if rest != 0 || f.isEmpty { f.append("0x" + String(UInt32(bitPattern: rest), radix: 16)) }
            return "mlockall(\(f.joined(separator: "|")))"
        case .munlockall: return "munlockall()"
        case let .madvise(addr, len, advice): return "madvise(\(a(addr)), \(l(len)), \(adviceName(advice)))"
        case let .msync(addr, len, flags):
            var f: [String] = []
            if flags & UAPI.MS_ASYNC != 0 { f.append("MS_ASYNC") }
            if flags & UAPI.MS_INVALIDATE != 0 { f.append("MS_INVALIDATE") }
            if flags & UAPI.MS_SYNC != 0 { f.append("MS_SYNC") }
            let rest = flags & ~(UAPI.MS_ASYNC | UAPI.MS_INVALIDATE | UAPI.MS_SYNC)
            if rest != 0 || f.isEmpty { f.append("0x" + String(UInt32(bitPattern: rest), radix: 16)) }
            return "msync(\(a(addr)), \(l(len)), \(f.joined(separator: "|")))"
        case let .setMemlockLimit(soft, hard):
            func r(_ v: UInt64) -> String { v == UAPI.RLIM_INFINITY ? "unlimited" : "\(v)" }
            return "setrlimit(MEMLOCK, \(r(soft)), \(r(hard)))"
        case .dropCapIpcLock: return "drop CAP_IPC_LOCK"
        case .fork: return "fork (the child goes on)"
        case let .setuid(uid): return "setresuid(\(uid))"
        case .exit: return "exit"
        case let .shmget(n, pages): return "shmget(seg\(n), \(pages)p)"
        case let .shmat(n, addr, readOnly): return "shmat(seg\(n), \(a(addr))\(readOnly ? ", SHM_RDONLY" : ""))"
        case let .shmdt(addr): return "shmdt(\(a(addr)))"
        case let .shmctl(n, command): return "shmctl(seg\(n), \(command.name))"
        case let .truncate(slot, pages): return "ftruncate(obj\(slot), \(pages)p)"
        case let .punchHole(slot, first, pages): return "fallocate(obj\(slot), PUNCH_HOLE, page \(first), \(pages)p)"
        case .compactMemory: return "compact_memory"
        case .reclaim: return "reclaim in the scenario's memcg (eventual)"
        case let .movePages(addr, pages, to, flags):
            return "move_pages(\(a(addr)), \(pages)p, \(to) node\(flags & UAPI.MPOL_MF_MOVE_ALL != 0 ? ", MPOL_MF_MOVE_ALL" : flags != 0 ? ", \(flags)" : ""))"
        case let .mbind(addr, len, mode, node, flags):
            let m = mode == UAPI.MPOL_BIND ? "MPOL_BIND" : mode == UAPI.MPOL_PREFERRED ? "MPOL_PREFERRED" : mode == UAPI.MPOL_DEFAULT ? "MPOL_DEFAULT" : "\(mode)"
            var f: [String] = []
            if flags & UAPI.MPOL_MF_STRICT != 0 { f.append("MPOL_MF_STRICT") }
            if flags & UAPI.MPOL_MF_MOVE != 0 { f.append("MPOL_MF_MOVE") }
            if flags & UAPI.MPOL_MF_MOVE_ALL != 0 { f.append("MPOL_MF_MOVE_ALL") }
            return "mbind(\(a(addr)), \(l(len)), \(m)\(node.map { " {\($0) node}" } ?? ""), \(f.isEmpty ? "0" : f.joined(separator: "|")))"
        }
    }
}

func adviceName(_ advice: Int32) -> String {
    switch advice {
    case UAPI.MADV_DONTNEED: return "MADV_DONTNEED"
    case UAPI.MADV_FREE: return "MADV_FREE"
    case UAPI.MADV_COLD: return "MADV_COLD"
    case UAPI.MADV_PAGEOUT: return "MADV_PAGEOUT"
    case UAPI.MADV_WILLNEED: return "MADV_WILLNEED"
    case UAPI.MADV_POPULATE_READ: return "MADV_POPULATE_READ"
    case UAPI.MADV_POPULATE_WRITE: return "MADV_POPULATE_WRITE"
    case UAPI.MADV_DONTNEED_LOCKED: return "MADV_DONTNEED_LOCKED"
    case UAPI.MADV_HUGEPAGE: return "MADV_HUGEPAGE"
    case UAPI.MADV_NOHUGEPAGE: return "MADV_NOHUGEPAGE"
    case UAPI.MADV_COLLAPSE: return "MADV_COLLAPSE"
    case UAPI.MADV_REMOVE: return "MADV_REMOVE"
    default: return "\(advice)"
    }
}
