import KernelInterface

/// The unevictable-LRU events of /proc/vmstat (cumulative page counts).
public struct UnevictableEvents: Hashable, Sendable {
    public var mlocked: UInt64 = 0     // unevictable_pgs_mlocked
    public var munlocked: UInt64 = 0   // unevictable_pgs_munlocked
    public var culled: UInt64 = 0      // unevictable_pgs_culled
    public var rescued: UInt64 = 0     // unevictable_pgs_rescued
    public var cleared: UInt64 = 0     // unevictable_pgs_cleared
    public var stranded: UInt64 = 0    // unevictable_pgs_stranded
    public var scanned: UInt64 = 0     // unevictable_pgs_scanned
    public init() {}

    public static let vmstatNames = ["unevictable_pgs_mlocked", "unevictable_pgs_munlocked",
        "unevictable_pgs_culled", "unevictable_pgs_rescued", "unevictable_pgs_cleared",
        "unevictable_pgs_stranded", "unevictable_pgs_scanned"]

    /// From vmstat; nil when the kernel has no event counters (CONFIG_VM_EVENT_COUNTERS off).
    public init?(vmstat v: [String: UInt64]) {
        guard let m = v["unevictable_pgs_mlocked"] else { return nil }
        mlocked = m
        munlocked = v["unevictable_pgs_munlocked"] ?? 0
        culled = v["unevictable_pgs_culled"] ?? 0
        rescued = v["unevictable_pgs_rescued"] ?? 0
        cleared = v["unevictable_pgs_cleared"] ?? 0
        stranded = v["unevictable_pgs_stranded"] ?? 0
        scanned = v["unevictable_pgs_scanned"] ?? 0
    }
}

/// System-wide page-layer counters: meminfo (kB) and vmstat (pages, events).
public struct GlobalCounters: Hashable, Sendable {
    /// meminfo Mlocked, kB.
    public var mlockedKB: UInt64
    /// meminfo Unevictable, kB.
    public var unevictableKB: UInt64
    /// vmstat nr_mlock, pages.
    public var nrMlock: UInt64
    /// vmstat nr_unevictable, pages.
    public var nrUnevictable: UInt64
    /// nil when the kernel counts no events.
    public var events: UnevictableEvents?
    /// Every meminfo field (kB, or a count for HugePages_*); empty when read by
    /// `GlobalCountersReader.read()`, which takes the counters only (`readAll()` fills it).
    public var meminfo: [String: UInt64]
    /// Every vmstat field. Values the kernel printed negative wrap (use Int64(bitPattern:)).
    /// Empty when read by `GlobalCountersReader.read()`, as `meminfo`.
    public var vmstat: [String: UInt64]
    /// When it was read (CLOCK_MONOTONIC ns).
    public var takenAt: UInt64

    public init(meminfo: [String: UInt64], vmstat: [String: UInt64], takenAt: UInt64 = 0) throws {
        guard let ml = meminfo["Mlocked"], let ue = meminfo["Unevictable"] else {
            throw ObserverError("meminfo has no Mlocked/Unevictable")
        }
        guard let nm = vmstat["nr_mlock"], let nu = vmstat["nr_unevictable"] else {
            throw ObserverError("vmstat has no nr_mlock/nr_unevictable")
        }
        self.mlockedKB = ml; self.unevictableKB = ue; self.nrMlock = nm; self.nrUnevictable = nu
        self.events = UnevictableEvents(vmstat: vmstat)
        self.meminfo = meminfo; self.vmstat = vmstat; self.takenAt = takenAt
    }

    /// The counters alone from the two files' bytes, with the same checks as
    /// `init(meminfo:vmstat:)`; `meminfo` and `vmstat` are left empty.
    public static func scan(meminfo: UnsafeBufferPointer<UInt8>, vmstat: UnsafeBufferPointer<UInt8>,
                            takenAt: UInt64 = 0) throws -> GlobalCounters {
        var m: [UInt64?] = [nil, nil]
        scanKeyValueNumbers(meminfo, keys: Self.meminfoKeys) { m[$0] = $1 }
        var v = [UInt64?](repeating: nil, count: Self.vmstatKeys.count)
        scanKeyValueNumbers(vmstat, keys: Self.vmstatKeys) { v[$0] = $1 }
        guard let ml = m[0], let ue = m[1] else { throw ObserverError("meminfo has no Mlocked/Unevictable") }
        guard let nm = v[0], let nu = v[1] else { throw ObserverError("vmstat has no nr_mlock/nr_unevictable") }
        var events: UnevictableEvents?
        if let mlocked = v[2] {   // as UnevictableEvents(vmstat:): absent fields 0
            var e = UnevictableEvents()
            e.mlocked = mlocked; e.munlocked = v[3] ?? 0; e.culled = v[4] ?? 0; e.rescued = v[5] ?? 0
            e.cleared = v[6] ?? 0; e.stranded = v[7] ?? 0; e.scanned = v[8] ?? 0
            events = e
        }
        return GlobalCounters(mlockedKB: ml, unevictableKB: ue, nrMlock: nm, nrUnevictable: nu, events: events,
                              takenAt: takenAt)
    }

    private init(mlockedKB: UInt64, unevictableKB: UInt64, nrMlock: UInt64, nrUnevictable: UInt64,
                 events: UnevictableEvents?, takenAt: UInt64) {
        self.mlockedKB = mlockedKB; self.unevictableKB = unevictableKB; self.nrMlock = nrMlock
        self.nrUnevictable = nrUnevictable; self.events = events; self.meminfo = [:]; self.vmstat = [:]
        self.takenAt = takenAt
    }

    static let meminfoKeys = KeyList(["Mlocked", "Unevictable"])
    /// nr_mlock, nr_unevictable, then `UnevictableEvents.vmstatNames` in order.
    static let vmstatKeys = KeyList(["nr_mlock", "nr_unevictable"] + UnevictableEvents.vmstatNames)

    public static func parseMeminfo(_ bytes: UnsafeBufferPointer<UInt8>) -> [String: UInt64] {
        parseKeyValueNumbers(bytes, capacity: 64)
    }
    public static func parseVmstat(_ bytes: UnsafeBufferPointer<UInt8>) -> [String: UInt64] {
        parseKeyValueNumbers(bytes, capacity: 256)
    }
    public static func parseMeminfo(_ text: String) -> [String: UInt64] { withBytes(text) { parseMeminfo($0) } }
    public static func parseVmstat(_ text: String) -> [String: UInt64] { withBytes(text) { parseVmstat($0) } }

    /// Parses the two files' texts.
    public static func parse(meminfo: String, vmstat: String) throws -> GlobalCounters {
        try GlobalCounters(meminfo: parseMeminfo(meminfo), vmstat: parseVmstat(vmstat))
    }

    /// Reads /proc/meminfo and /proc/vmstat once (a `GlobalCountersReader` is cheaper
    /// when reading again and again).
    public static func read() throws -> GlobalCounters { try GlobalCountersReader().read() }

    /// self - base, signed.
    public func delta(from base: GlobalCounters) -> CountersDelta {
        func d(_ a: UInt64, _ b: UInt64) -> Int64 { Int64(bitPattern: a &- b) }
        var r = CountersDelta()
        r.mlockedKB = d(mlockedKB, base.mlockedKB)
        r.unevictableKB = d(unevictableKB, base.unevictableKB)
        r.nrMlock = d(nrMlock, base.nrMlock)
        r.nrUnevictable = d(nrUnevictable, base.nrUnevictable)
        if let e = events, let b = base.events {
            r.pgMlocked = d(e.mlocked, b.mlocked); r.pgMunlocked = d(e.munlocked, b.munlocked)
            r.pgCulled = d(e.culled, b.culled); r.pgRescued = d(e.rescued, b.rescued)
            r.pgCleared = d(e.cleared, b.cleared); r.pgStranded = d(e.stranded, b.stranded)
            r.pgScanned = d(e.scanned, b.scanned)
            r.hasEvents = true
        }
        r.nanoseconds = d(takenAt, base.takenAt)
        return r
    }
}

/// The change of `GlobalCounters` between two readings.
public struct CountersDelta: Hashable, Sendable, CustomStringConvertible {
    public var mlockedKB: Int64 = 0
    public var unevictableKB: Int64 = 0
    public var nrMlock: Int64 = 0
    public var nrUnevictable: Int64 = 0
    public var hasEvents = false
    public var pgMlocked: Int64 = 0
    public var pgMunlocked: Int64 = 0
    public var pgCulled: Int64 = 0
    public var pgRescued: Int64 = 0
    public var pgCleared: Int64 = 0
    public var pgStranded: Int64 = 0
    public var pgScanned: Int64 = 0
    public var nanoseconds: Int64 = 0
    public init() {}

    /// Nothing moved.
    public var isZero: Bool {
        mlockedKB == 0 && unevictableKB == 0 && nrMlock == 0 && nrUnevictable == 0 && pgMlocked == 0
            && pgMunlocked == 0 && pgCulled == 0 && pgRescued == 0 && pgCleared == 0 && pgStranded == 0
            && pgScanned == 0
    }

    public var description: String {
        var s = "Mlocked \(mlockedKB)kB Unevictable \(unevictableKB)kB nr_mlock \(nrMlock) nr_unevictable \(nrUnevictable)"
        if hasEvents {
            s += " pgs: mlocked \(pgMlocked) munlocked \(pgMunlocked) culled \(pgCulled) rescued \(pgRescued)"
            s += " cleared \(pgCleared) stranded \(pgStranded) scanned \(pgScanned)"
        }
        return s
    }
}

/// Reads the global counters again and again through fds kept open.
public final class GlobalCountersReader {
    private let meminfo: ProcFile
    private let vmstat: ProcFile

    public init() throws {
        meminfo = try ProcFile("/proc/meminfo")
        vmstat = try ProcFile("/proc/vmstat")
    }

    /// The counters only (`meminfo` and `vmstat` empty): the reading after every step.
    public func read() throws -> GlobalCounters {
        try meminfo.withContents { m in
            try vmstat.withContents { v in
                try GlobalCounters.scan(meminfo: m, vmstat: v, takenAt: Kernel.monotonicNanoseconds())
            }
        }
    }

    /// The counters and every field of both files.
    public func readAll() throws -> GlobalCounters {
        let m = try meminfo.withContents { GlobalCounters.parseMeminfo($0) }
        let v = try vmstat.withContents { GlobalCounters.parseVmstat($0) }
        return try GlobalCounters(meminfo: m, vmstat: v, takenAt: Kernel.monotonicNanoseconds())
    }
}
