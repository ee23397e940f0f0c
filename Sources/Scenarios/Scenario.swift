import MlockModel

/// What a scenario needs from the machine; a scenario whose requirement is not met is
/// skipped with the requirement's reason, never passed.
public enum Requirement: String, Hashable, Sendable, Codable {
    /// Page-layer truth: pagemap PFNs + kpageflags, and stat_refresh (root only).
    case pageLayer
    /// Changing credentials or limits in the scenario process (root, to give them up).
    case root
    /// Free 2 MiB huge pages (the runner raises vm.nr_hugepages through the settings
    /// journal for the scenario, and skips it, saying why, when the pool cannot grow).
    case hugePages
    /// memfd_secret(2): CONFIG_SECRETMEM and secretmem.enable (probed once per run).
    case memfdSecret
    /// Two or more NUMA nodes with memory (move_pages and mbind to another node).
    case numaNodes
    /// Transparent huge pages: /sys/kernel/mm/transparent_hugepage exists (CONFIG_
    /// TRANSPARENT_HUGEPAGE) and the suite may write its settings (root).
    case thp
    /// Reclaim in a memory cgroup of the suite's own, with swap: the memory controller
    /// (v1 or v2) and a zram device for swap (root).
    case reclaim
}


/// What a step must have made in the kernel for the scenario to mean anything: large
/// folios of `order` over [addr, addr + pages). When the kernel made none (THP disabled,
/// or no huge page could be allocated), the scenario is skipped saying so: it never
/// passes or fails on small pages.
public struct LargeFolioExpectation: Hashable, Sendable {
    public var addr: UInt64
    public var pages: UInt64
    public var order: Int
    public init(addr: UInt64, pages: UInt64, order: Int) { self.addr = addr; self.pages = pages; self.order = order }
}

/// One step: an op, the process that makes it, and a short note saying why it is there.
extension Scenario {
    /// Whether a step migrates pages itself (compaction, move_pages, mbind MOVE).
    public var migratesPages: Bool {
        steps.contains { step in
            switch step.op {
            case .compactMemory, .movePages, .mbind: return true
            default: return false
            }
        }
    }
}

public struct Step: Sendable {
    public var op: Op
    public var note: String
    /// The scenario's process that makes the call: 0 is the first, each fork adds the
    /// next. nil: the newest living process (the child after a fork).
    public var process: Int?
    /// Large folios the step must have made (checked on the kernel before comparing).
    public var expectsFolios: LargeFolioExpectation?
    public init(_ op: Op, _ note: String = "", process: Int? = nil) {
        self.op = op; self.note = note; self.process = process
    }
}

/// A named sequence of ops, run on the model and on the kernel in lockstep.
public struct Scenario: Sendable {
    public var id: String
    public var summary: String
    /// The reference tests whose checks this scenario covers ("selftests/mlock2-tests#3").
    public var covers: [String]
    public var requirements: Set<Requirement>
    public var steps: [Step]
    /// A kernel bug this scenario is known to show: when the kernel diverges exactly
    /// there, the verdict is `xfail` with the bug's description, never a pass.
    public var knownDivergence: KnownDivergence?
    /// Machine-wide settings the scenario runs under: the runner writes them (through
    /// the settings journal) before the first op and restores them after the last, and
    /// the model is told them. Empty: the machine's settings, untouched.
    public var settings: [Setting]
    /// The THP files among `settings` (relative to /sys/kernel/mm/transparent_hugepage).
    public var thpFiles: [String] {
        settings.compactMap { if case let .thp(file, _) = $0 { return file }; return nil }
    }
    /// Compare the scenario memcg's memory.stat `unevictable` after each reclaim step
    /// (with a bounded wait: see LockstepSession.checkMemcgStat).
    public var checksMemcgStat = false

    public init(id: String, summary: String, covers: [String] = [], requirements: Set<Requirement> = [],
                settings: [Setting] = [], steps: [Step]) {
        self.id = id; self.summary = summary; self.covers = covers
        self.requirements = requirements; self.settings = settings; self.steps = steps
    }

    /// Builds a scenario with a `ScenarioBuilder`, which hands out arena addresses.
    public init(_ id: String, _ summary: String, covers: [String] = [], requires: Set<Requirement> = [],
                settings: [Setting] = [], _ build: (inout ScenarioBuilder) -> Void) {
        var b = ScenarioBuilder()
        build(&b)
        self.init(id: id, summary: summary, covers: covers, requirements: requires, settings: settings, steps: b.steps)
    }
}

/// A way some kernels disagree with the rules that the project has traced to a kernel
/// bug. The model keeps the rule; the scenario reports the bug as a known divergence.
public struct KnownDivergence: Sendable {
    /// The observables the bug moves; a divergence in any other one is a failure.
    public var observables: Set<String>
    /// The first kernel version (major, minor) with the bug, and the first without it
    /// (nil: not fixed as far as the project knows).
    public var since: (Int, Int)
    public var fixedIn: (Int, Int)?
    /// What the kernel does wrong and the evidence (functions, what was measured).
    public var explanation: String

    public init(observables: Set<String>, since: (Int, Int), fixedIn: (Int, Int)? = nil, explanation: String) {
        self.observables = observables; self.since = since; self.fixedIn = fixedIn; self.explanation = explanation
    }

    /// Whether a kernel of this release has the bug.
    public func applies(toRelease release: String) -> Bool {
        guard let v = Profiles.version(release) else { return false }
        if v < since { return false }
        if let f = fixedIn, !(v < f) { return false }
        return true
    }
}

public extension Scenario {
    /// The same scenario, comparing its memcg's memory.stat after reclaim steps.
    func checkingMemcgStat() -> Scenario {
        var s = self
        s.checksMemcgStat = true
        return s
    }

    /// The same scenario, with more settings written while it runs.
    func with(_ settings: Setting...) -> Scenario {
        var s = self
        s.settings += settings
        return s
    }

    /// The same scenario, marked with a known kernel divergence.
    func knownKernelBug(_ k: KnownDivergence) -> Scenario {
        var s = self
        s.knownDivergence = k
        return s
    }
}

/// A range of the arena reserved for one mapping. Regions are 2 MiB aligned and spaced
/// so that neighbouring mappings never merge unless a scenario places them adjacently
/// on purpose (`adjacent(to:)`).
public struct Region: Sendable {
    public var addr: UInt64
    public var pages: UInt64
    public var length: UInt64 { pages * pageSize }
    public var end: UInt64 { addr + length }
    public func page(_ i: UInt64) -> UInt64 { addr + i * pageSize }
}

public struct ScenarioBuilder {
    public private(set) var steps: [Step] = []
    private var next: UInt64 = Arena.base
    private static let slot: UInt64 = 2 << 20

    public init() {}

    /// Reserves `pages` pages at the next free 2 MiB-aligned slot, with at least one
    /// unmapped 2 MiB slot after it.
    public mutating func region(pages: UInt64) -> Region {
        let r = Region(addr: next, pages: pages)
        let slots = (pages * pageSize + Self.slot - 1) / Self.slot + 1
        next += slots * Self.slot
        return r
    }

    /// A region starting right at the end of `other` (so that the kernel may merge them).
    public mutating func adjacent(to other: Region, pages: UInt64) -> Region {
        let r = Region(addr: other.end, pages: pages)
        precondition(r.end + Self.slot <= next || r.addr >= next, "adjacent region overlaps a later one")
        if r.end > next { next = (r.end + 2 * Self.slot - 1) / Self.slot * Self.slot }
        return r
    }

    /// The process the next steps target (nil: the newest living one).
    public private(set) var process: Int?

    public mutating func step(_ op: Op, _ note: String = "") { steps.append(Step(op, note, process: process)) }

    /// The steps `body` adds are made by process `p` (0: the first; fork adds the next).
    public mutating func inProcess(_ p: Int, _ body: (inout ScenarioBuilder) -> Void) {
        let saved = process
        process = p
        body(&self)
        process = saved
    }

    /// The last step must have made large folios of `order` over `r` (else: skip).
    public mutating func expectFolios(_ r: Region, order: Int = pmdOrder) {
        steps[steps.count - 1].expectsFolios = LargeFolioExpectation(addr: r.addr, pages: r.pages, order: order)
    }

    // Conveniences that read like the syscalls.
    public mutating func map(_ r: Region, _ prot: Prot = .rw, _ backing: Backing = .privateAnon,
                             _ flags: MapFlags = [], _ note: String = "") {
        step(.map(addr: r.addr, length: r.length, prot: prot, backing: backing, flags: flags), note)
    }
    public mutating func touch(_ r: Region, write: Bool = true, _ note: String = "") {
        step(.touch(addr: r.addr, length: r.length, write: write), note)
    }
    public mutating func mlock(_ r: Region, _ note: String = "") { step(.mlock(addr: r.addr, length: r.length), note) }
    public mutating func mlock2(_ r: Region, flags: UInt32, _ note: String = "") {
        step(.mlock2(addr: r.addr, length: r.length, flags: flags), note)
    }
    public mutating func munlock(_ r: Region, _ note: String = "") { step(.munlock(addr: r.addr, length: r.length), note) }
    public mutating func munmap(_ r: Region, _ note: String = "") { step(.munmap(addr: r.addr, length: r.length), note) }
}

/// Where a range of pages inside a region starts and how long it is, for ops on parts.
public extension Region {
    func sub(_ firstPage: UInt64, _ count: UInt64) -> Region {
        precondition(firstPage + count <= pages)
        return Region(addr: page(firstPage), pages: count)
    }
}

public extension Scenario {
    /// The most memory the scenario can lock: every byte it maps or grows by, and
    /// every object page it creates (the agent's own mappings come on top: about 1 MiB).
    var maxLockableBytes: UInt64 {
        steps.reduce(0) { sum, step in
            switch step.op {
            case let .map(_, length, _, _, _): return sum &+ length
            case let .mremap(_, oldLength, newLength, _, _): return sum &+ (newLength > oldLength ? newLength - oldLength : 0)
            case let .createObject(_, _, pages, _): return sum &+ pages * pageSize
            case let .shmget(_, pages): return sum &+ pages * pageSize
            default: return sum
            }
        }
    }
}

public extension Scenario {
    /// 2 MiB huge pages the scenario maps (MAP_HUGETLB), all at once at most.
    var hugePagesNeeded: Int {
        steps.reduce(0) { sum, step in
            if case let .map(_, length, _, _, flags) = step.op, flags.contains(.hugetlb) {
                return sum + Int((length + hugePageSize - 1) / hugePageSize)
            }
            return sum
        }
    }

    /// The SysV segment numbers it creates (the runner gives each a suite key).
    var sysvSegments: [Int] {
        steps.compactMap { if case let .shmget(n, _) = $0.op { return n }; return nil }
    }
}
