import MlockModel

// Shorthands for hand-written expectations.
let A = Arena.base
let P = pageSize
let unlimited = UAPI.RLIM_INFINITY

/// A scenario process driven through the model, one op at a time.
struct Proc {
    var model: KernelModel
    var last: OpResult = .ok

    init(profile: KernelProfile = .largeFolio, soft: UInt64 = UAPI.RLIM_INFINITY,
         hard: UInt64 = UAPI.RLIM_INFINITY, cap: Bool = true, foreign: [ForeignVMA] = [],
         readAheadKB: UInt64 = 128, settings: [Setting] = [], numa: NUMANodes? = nil,
         thp: THPSettings = .disabled, facts: VersionFacts = VersionFacts()) {
        model = KernelModel(profile: profile,
                            setup: ProcessSetup(foreign: foreign, memlockSoft: soft, memlockHard: hard,
                                                capIpcLock: cap, fileReadAheadKB: readAheadKB,
                                                settings: settings, numa: numa, thp: thp))
        model.facts = facts
    }

    @discardableResult
    mutating func run(_ op: Op) -> OpResult {
        last = model.apply(op)
        return last
    }

    /// The op made by process `p` (0: the first; each fork adds the next).
    @discardableResult
    mutating func run(_ op: Op, in p: Int) -> OpResult {
        last = model.apply(op, process: p)
        return last
    }

    /// Process `p`'s view (nil once it has exited).
    func view(of p: Int) -> StepView? { model.view(result: last, process: p) }
    func page(_ addr: UInt64, in p: Int) -> PageView { view(of: p)?.pages[addr] ?? PageView(present: false) }

    var view: StepView { model.view(result: last) }
    var vmas: [VMAView] { view.vmas }
    var vmLck: UInt64 { view.vmLckKB }
    var counters: Counters { view.counters }
    func page(_ addr: UInt64) -> PageView { view.pages[addr] ?? PageView(present: false) }
    /// Pages [first, first+count) of the mapping at `base`.
    func pages(_ base: UInt64, _ count: UInt64) -> [PageView] { (0..<count).map { page(base + $0 * P) } }
}

// Op builders that read like the syscalls.
func mapAnon(_ addr: UInt64, _ pages: UInt64, _ prot: Prot = .rw, _ flags: MapFlags = []) -> Op {
    .map(addr: addr, length: pages * P, prot: prot, backing: .privateAnon, flags: flags)
}
func mapSharedAnon(_ addr: UInt64, _ pages: UInt64, _ prot: Prot = .rw, _ flags: MapFlags = []) -> Op {
    .map(addr: addr, length: pages * P, prot: prot, backing: .sharedAnon, flags: flags)
}
func mapObject(_ addr: UInt64, _ pages: UInt64, slot: Int, shared: Bool, offset: UInt64 = 0,
               _ prot: Prot = .rw, _ flags: MapFlags = []) -> Op {
    .map(addr: addr, length: pages * P, prot: prot, backing: .object(slot: slot, shared: shared, pageOffset: offset), flags: flags)
}
func write(_ addr: UInt64, _ pages: UInt64) -> Op { .touch(addr: addr, length: pages * P, write: true) }
func read(_ addr: UInt64, _ pages: UInt64) -> Op { .touch(addr: addr, length: pages * P, write: false) }
func mlock(_ addr: UInt64, _ pages: UInt64) -> Op { .mlock(addr: addr, length: pages * P) }
func mlockOnFault(_ addr: UInt64, _ pages: UInt64) -> Op { .mlock2(addr: addr, length: pages * P, flags: UAPI.MLOCK_ONFAULT) }
func munlock(_ addr: UInt64, _ pages: UInt64) -> Op { .munlock(addr: addr, length: pages * P) }
func munmap(_ addr: UInt64, _ pages: UInt64) -> Op { .munmap(addr: addr, length: pages * P) }
func madvise(_ addr: UInt64, _ pages: UInt64, _ advice: Int32) -> Op { .madvise(addr: addr, length: pages * P, advice: advice) }

/// A VMAView written out by hand.
func vma(_ start: UInt64, _ end: UInt64, _ prot: Prot = .rw, shared: Bool = false, locked: Bool = false,
         rss: UInt64 = 0, lockedKB: UInt64 = 0, advice: [String] = [], anonHuge: UInt64 = 0) -> VMAView {
    VMAView(start: start, end: end, prot: prot, shared: shared, locked: locked, rssKB: rss, lockedKB: lockedKB,
            advice: advice, anonHugeKB: anonHuge)
}

/// A MAP_DROPPABLE VMA: the kernel adds VM_WIPEONFORK and VM_DONTDUMP (smaps `wf dd`).
func droppableVMA(_ start: UInt64, _ end: UInt64, rss: UInt64 = 0) -> VMAView {
    vma(start, end, rss: rss, advice: ["dd", "wf"])
}

/// Page-layer counters written out by hand (pages).
func counts(mlocked: Int64 = 0, unevictable: Int64 = 0, pgMlocked: Int64 = 0, pgMunlocked: Int64 = 0,
            culled: Int64 = 0, rescued: Int64 = 0, cleared: Int64 = 0, stranded: Int64 = 0) -> Counters {
    var c = Counters()
    c.mlocked = mlocked; c.unevictable = unevictable; c.pgMlocked = pgMlocked; c.pgMunlocked = pgMunlocked
    c.pgCulled = culled; c.pgRescued = rescued; c.pgCleared = cleared; c.pgStranded = stranded
    return c
}

let absent = PageView(present: false)
let zeroPage = PageView(present: true, zero: true)
let plain = PageView(present: true)
let mlockedPage = PageView(present: true, mlocked: true, unevictable: true)

func ok(_ addr: UInt64) -> OpResult { OpResult(ret: Int64(bitPattern: addr), errno: 0) }
func ret(_ n: Int64) -> OpResult { OpResult(ret: n, errno: 0) }
