import MlockModel

/// The fuzzer's random source: SplitMix64, fully specified, so a printed seed replays the
/// same sequence on every machine.
public struct FuzzRandom: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// 0..<n (n > 0); modulo bias does not matter, replay does.
    mutating func below(_ n: UInt64) -> UInt64 { next() % n }
    mutating func int(_ n: Int) -> Int { Int(below(UInt64(n))) }
    /// true with probability 1/n.
    mutating func oneIn(_ n: UInt64) -> Bool { below(n) == 0 }
    mutating func coin() -> Bool { next() & 1 == 1 }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
}

/// The fuzzer's arena: slots 4 MiB apart in the lockstep arena, each with a kind of
/// mapping. Ops land in a slot's window (sometimes past what is mapped, for the errno
/// paths); slots never merge with each other unless an mremap moves one next to another.
public enum FuzzArena {
    public enum Kind: String, CaseIterable, Sendable {
        case privateAnon = "private"
        case privateAnon2 = "private2"
        case sharedAnon = "shared"
        case memfdShared = "memfd-shared"
        case memfdPrivate = "memfd-private"
        case fileShared = "file-shared"
        case filePrivate = "file-private"
        /// A 2 MiB-aligned private anonymous window a THP fits in.
        case thp = "thp"
    }

    public static let slotSpacing: UInt64 = 4 << 20
    /// Pages an op may address in a slot (a mapping is at most `mapPages`).
    public static let windowPages: UInt64 = 40
    public static let mapPages: UInt64 = 32
    public static let thpPages: UInt64 = 512
    /// Object slots: memfd in 0, regular file in 1, `objectPages` each.
    public static let objectPages: UInt64 = 48
    public static let memfdSlot = 0
    public static let fileSlot = 1

    public static func base(_ k: Kind) -> UInt64 {
        Arena.base + UInt64(Kind.allCases.firstIndex(of: k)!) * slotSpacing
    }
    static func window(_ k: Kind) -> UInt64 { k == .thp ? thpPages + 8 : windowPages }

    /// The ops every sequence starts with: the backing objects.
    public static let prologue: [Op] = [
        .createObject(slot: memfdSlot, kind: .memfd, pages: objectPages, filled: true),
        .createObject(slot: fileSlot, kind: .file, pages: objectPages, filled: true),
    ]
}

/// What a generator may look at: the model's view of the arena before the op (never
/// the kernel's: a sequence must replay from its seed alone) and the sequence so far.
public struct FuzzContext {
    public var vmas: [VMAView]
    public var forks: Int
    /// Processes that exited (a fork's child can exit; the steps then go to its parent).
    public var exits: Int
    public var kinds: [FuzzArena.Kind]
}

/// One weighted entry of the op table: a name, a weight, and a generator that returns an
/// op (or nil when it has nothing sensible to do now; another entry is drawn).
public struct OpGenerator: Sendable {
    public var name: String
    public var weight: Int
    public var make: @Sendable (inout FuzzRandom, FuzzContext) -> Op?
    public init(_ name: String, _ weight: Int, _ make: @escaping @Sendable (inout FuzzRandom, FuzzContext) -> Op?) {
        self.name = name; self.weight = weight; self.make = make
    }
}

/// Random op sequences over the fuzz arena. To add an op: add one entry to `table`.
public struct FuzzGenerator {
    public var table: [OpGenerator]
    public var kinds: [FuzzArena.Kind]
    /// At most this many forks per sequence (each leaves a frozen parent to observe).
    public var maxForks = 2

    public init(table: [OpGenerator] = FuzzGenerator.table, kinds: [FuzzArena.Kind] = FuzzGenerator.stableKinds) {
        self.table = table.filter { $0.weight > 0 }
        self.kinds = kinds
    }

    /// Slot kinds whose behaviour the model knows today. `.thp` joins when the model
    /// models THPs (a MADV_HUGEPAGE'd 2 MiB window faults in a PMD-mapped folio).
    public static let stableKinds: [FuzzArena.Kind] = FuzzArena.Kind.allCases.filter { $0 != .thp }

    /// A whole sequence of `length` ops from `seed`, generated against the model alone
    /// (`profile`, a default process setup): the same seed gives the same ops.
    public func sequence(seed: UInt64, length: Int, model: KernelModel) -> [Op] {
        var rng = FuzzRandom(seed: seed)
        var m = model
        var ops = FuzzArena.prologue
        for op in ops { _ = m.apply(op) }
        var forks = 0, exits = 0
        var tries = 0
        while ops.count < length && tries < length * 8 {
            tries += 1
            let ctx = FuzzContext(vmas: m.newestLiving.flatMap { m.view(result: .ok, process: $0) }?.vmas ?? [], forks: forks, exits: exits, kinds: kinds)
            let op = next(&rng, ctx)
            var after = m
            let result = after.apply(op)
            guard Self.admissible(op, result) else { continue }
            if case .fork = op { forks += 1 }
            if case .exit = op { exits += 1 }
            m = after
            ops.append(op)
        }
        return ops
    }

    /// Ops the lockstep comparison cannot follow are not generated. None today: an mremap
    /// the kernel moves to an address of its own choosing is followed (the session gives
    /// the model the address from the result, and reads the process's other mappings
    /// without it).
    static func admissible(_ op: Op, _ result: OpResult) -> Bool {
        true
    }

    /// Draws one op from the table by weight.
    func next(_ rng: inout FuzzRandom, _ ctx: FuzzContext) -> Op {
        let total = table.reduce(0) { $0 + $1.weight }
        for _ in 0..<64 {
            var r = rng.int(total)
            for g in table {
                if r < g.weight {
                    if g.name == "fork" && ctx.forks >= maxForks { break }
                    if let op = g.make(&rng, ctx) { return op }
                    break
                }
                r -= g.weight
            }
        }
        return .munlockall
    }
}

// MARK: - the op table

extension FuzzGenerator {
    /// Every op the model knows, with its weight. Other ops join here.
    public static let table: [OpGenerator] = [
        OpGenerator("mmap", 10) { r, c in map(&r, c) },
        OpGenerator("munmap", 4) { r, c in let (a, l) = range(&r, c); return .munmap(addr: a, length: l) },
        OpGenerator("mprotect", 4) { r, c in
            let (a, l) = range(&r, c)
            return .mprotect(addr: a, length: l, prot: r.pick([.rw, .rw, .read, .none, [.read, .exec]]))
        },
        OpGenerator("mremap", 4) { r, c in remap(&r, c) },
        OpGenerator("touch", 14) { r, c in let (a, l) = range(&r, c); return .touch(addr: a, length: l, write: r.below(3) != 0) },
        OpGenerator("mlock", 10) { r, c in let (a, l) = range(&r, c); return .mlock(addr: a, length: l) },
        OpGenerator("mlock2", 8) { r, c in
            let (a, l) = range(&r, c)
            let flags: UInt32 = r.oneIn(16) ? 2 : (r.coin() ? UAPI.MLOCK_ONFAULT : 0)
            return .mlock2(addr: a, length: l, flags: flags)
        },
        OpGenerator("munlock", 10) { r, c in let (a, l) = range(&r, c); return .munlock(addr: a, length: l) },
        // Not MCL_CURRENT after a fork: populating the agent's own COW-shared pages mlocks
        // and then munlocks the old copies within the step, events the runner's reading of
        // the agent's pages before and after cannot see (a runner limit, reported).
        OpGenerator("mlockall", 2) { r, c in
            let flags = r.pick([UAPI.MCL_CURRENT, UAPI.MCL_FUTURE, UAPI.MCL_CURRENT | UAPI.MCL_FUTURE,
                                     UAPI.MCL_CURRENT | UAPI.MCL_ONFAULT, UAPI.MCL_FUTURE | UAPI.MCL_ONFAULT,
                                     UAPI.MCL_CURRENT | UAPI.MCL_FUTURE | UAPI.MCL_ONFAULT, UAPI.MCL_ONFAULT, 0])
            return c.forks > 0 && flags & UAPI.MCL_CURRENT != 0 ? nil : .mlockall(flags: flags)
        },
        OpGenerator("munlockall", 2) { _, _ in .munlockall },
        OpGenerator("madvise", 6) { r, c in
            let (a, l) = range(&r, c)
            return .madvise(addr: a, length: l, advice: r.pick([
                UAPI.MADV_DONTNEED, UAPI.MADV_DONTNEED_LOCKED, UAPI.MADV_WILLNEED, UAPI.MADV_POPULATE_READ,
                UAPI.MADV_POPULATE_WRITE, UAPI.MADV_FREE, UAPI.MADV_REMOVE, UAPI.MADV_COLD, UAPI.MADV_PAGEOUT,
                UAPI.MADV_DONTFORK, UAPI.MADV_DOFORK, UAPI.MADV_NORMAL, UAPI.MADV_RANDOM, UAPI.MADV_SEQUENTIAL]))
        },
        OpGenerator("msync", 2) { r, c in
            let (a, l) = range(&r, c)
            return .msync(addr: a, length: l, flags: r.pick([UAPI.MS_ASYNC, UAPI.MS_SYNC, UAPI.MS_INVALIDATE,
                                                             UAPI.MS_SYNC | UAPI.MS_INVALIDATE]))
        },
        OpGenerator("setrlimit", 1) { r, _ in
            let soft: UInt64 = r.pick([0, 16 * pageSize, 64 * pageSize, UAPI.RLIM_INFINITY])
            return .setMemlockLimit(soft: soft, hard: UAPI.RLIM_INFINITY)
        },
        OpGenerator("drop-cap", 1) { r, _ in r.oneIn(3) ? .dropCapIpcLock : nil },
        OpGenerator("fork", 1) { _, _ in .fork },
        // The newest child exits (never the first process): the steps go back to its parent.
        OpGenerator("exit", 1) { _, c in c.forks > c.exits ? .exit : nil },
        OpGenerator("setuid", 1) { r, _ in r.oneIn(4) ? .setuid(65534) : nil },
    ]

    /// A range in one slot's window, page-aligned mostly; sometimes unaligned, empty,
    /// across two slots, or over the whole window.
    static func range(_ r: inout FuzzRandom, _ c: FuzzContext) -> (UInt64, UInt64) {
        let k = r.pick(c.kinds)
        let base = FuzzArena.base(k)
        let window = FuzzArena.window(k)
        // Prefer where something is mapped: start inside a VMA of the slot when there is one.
        let inSlot = c.vmas.filter { $0.start >= base && $0.start < base + FuzzArena.slotSpacing }
        var first: UInt64
        if let v = inSlot.isEmpty || r.oneIn(6) ? nil : r.pick(inSlot) {
            first = (v.start - base) / pageSize + r.below(max(1, (v.end - v.start) / pageSize))
        } else {
            first = r.below(window)
        }
        var pages = 1 + r.below(r.oneIn(3) ? 4 : window)
        if r.oneIn(12) { first = 0; pages = window }
        var addr = base + first * pageSize
        var length = pages * pageSize
        switch r.below(24) {
        case 0: addr += 1 + r.below(pageSize - 1)              // unaligned start
        case 1: length -= r.below(pageSize)                      // unaligned length
        case 2: length = 0
        case 3: length = FuzzArena.slotSpacing + pages * pageSize // into the next slot
        default: break
        }
        return (addr, length)
    }

    /// mmap of a slot's kind at the slot's base (or a few pages in), mostly where the slot is free.
    static func map(_ r: inout FuzzRandom, _ c: FuzzContext) -> Op? {
        let k = r.pick(c.kinds)
        let base = FuzzArena.base(k)
        let occupied = c.vmas.contains { $0.end > base && $0.start < base + FuzzArena.slotSpacing }
        if occupied && !r.oneIn(8) { return nil }
        let at = base + (r.oneIn(3) ? r.below(4) * pageSize : 0)
        var pages = 1 + r.below(FuzzArena.mapPages)
        var flags: MapFlags = []
        if r.oneIn(4) { flags.insert(.locked) }
        if r.oneIn(4) { flags.insert(.populate) }
        if r.oneIn(6) { flags.insert(.noreserve) }
        let prot: Prot = r.oneIn(6) ? r.pick([.read, .none, [.read, .exec]]) : .rw
        let backing: Backing
        let objOffset = r.oneIn(3) ? r.below(8) : 0
        switch k {
        case .privateAnon, .privateAnon2:
            // No MAP_GROWSDOWN: a touch below such a VMA expands it (a stack), which the
            // model does not model (scenarios never touch below one).
            backing = .privateAnon
        case .thp:
            backing = .privateAnon
            pages = FuzzArena.thpPages * (r.oneIn(4) ? 1 : 2) / 2 + r.below(4)
        case .sharedAnon: backing = .sharedAnon
        case .memfdShared: backing = .object(slot: FuzzArena.memfdSlot, shared: true, pageOffset: objOffset)
        case .memfdPrivate: backing = .object(slot: FuzzArena.memfdSlot, shared: false, pageOffset: objOffset)
        case .fileShared: backing = .object(slot: FuzzArena.fileSlot, shared: true, pageOffset: objOffset)
        case .filePrivate: backing = .object(slot: FuzzArena.fileSlot, shared: false, pageOffset: objOffset)
        }
        let thpBase = k == .thp ? base : at
        return .map(addr: thpBase, length: pages * pageSize, prot: prot, backing: backing, flags: flags)
    }

    /// mremap of (part of) a mapped VMA: shrink or grow in place, or move it to a free
    /// slot of the same window with MREMAP_MAYMOVE|MREMAP_FIXED (sometimes DONTUNMAP).
    static func remap(_ r: inout FuzzRandom, _ c: FuzzContext) -> Op? {
        guard !c.vmas.isEmpty else { return nil }
        let v = r.pick(c.vmas)
        let vPages = (v.end - v.start) / pageSize
        let first = r.oneIn(2) ? 0 : r.below(vPages)
        let oldPages = 1 + r.below(vPages - first)
        let old = v.start + first * pageSize
        let newPages = 1 + r.below(FuzzArena.mapPages)
        switch r.below(4) {
        case 0, 1:
            return .mremap(old: old, oldLength: oldPages * pageSize, newLength: newPages * pageSize,
                           flags: r.coin() ? UAPI.MREMAP_MAYMOVE : 0, newAddr: 0)
        default:
            // Into the upper half of some slot's window (free unless something moved there).
            let k = r.pick(c.kinds)
            let target = FuzzArena.base(k) + (FuzzArena.window(k) + 8 + r.below(8)) * pageSize
            var flags = UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED
            var length = newPages * pageSize
            // DONTUNMAP of a locked range: a known kernel bug since 6.16 (locked_vm counted
            // twice, see edge.mremap-locked.dontunmap); only unlocked ranges are moved so.
            if r.oneIn(5) && !v.locked { flags |= UAPI.MREMAP_DONTUNMAP; length = oldPages * pageSize }
            return .mremap(old: old, oldLength: oldPages * pageSize, newLength: length, flags: flags, newAddr: target)
        }
    }
}

extension FuzzGenerator {
    /// Runs a sequence on the model alone, reading every process's view after each op (as
    /// the lockstep runner does): a model that traps or loops shows here without a kernel.
    /// Returns the number of ops applied.
    @discardableResult
    public static func runOnModel(_ ops: [Op], model: KernelModel) -> Int {
        var m = model
        for op in ops {
            let r = m.apply(op)
            for p in 0..<m.processCount { _ = m.view(result: r, process: p) }
            _ = m.view(result: r)
        }
        return ops.count
    }
}
