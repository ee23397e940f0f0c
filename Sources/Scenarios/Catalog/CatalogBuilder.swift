import MlockModel

// Conveniences for writing the catalog: raw flag values under short names, and
// ScenarioBuilder methods that read like the syscalls. Everything lives in the
// `Cat` namespace or in a ScenarioBuilder extension, so nothing collides with the
// rest of the Scenarios module.

/// Constants and small helpers shared by the catalog files.
enum Cat {
    static let ulongMax: UInt64 = .max
    /// ULONG_MAX & PAGE_MASK: the largest page-aligned length; start + len wraps.
    static let ulongMaxAligned: UInt64 = .max & ~(pageSize - 1)
    static let onfault: UInt32 = UAPI.MLOCK_ONFAULT
    static let current: Int32 = UAPI.MCL_CURRENT
    static let future: Int32 = UAPI.MCL_FUTURE
    static let mclOnfault: Int32 = UAPI.MCL_ONFAULT
    static let kib: UInt64 = 1024
    static let mib: UInt64 = 1 << 20
    /// MADV_WIPEONFORK (not in UAPI: only LTP madvise02 uses it, as an errno case).
    static let madvWipeOnFork: Int32 = 18

    /// Pages spanned by [offset, offset+length) from a page boundary (length > 0).
    static func pagesSpanned(offset: UInt64, length: UInt64) -> UInt64 {
        (offset % pageSize + length + pageSize - 1) / pageSize
    }

    /// "current|future|onfault" style names for mlockall flag values.
    static func mclName(_ flags: Int32) -> String {
        if flags == 0 { return "zero" }
        var parts: [String] = []
        if flags & UAPI.MCL_CURRENT != 0 { parts.append("current") }
        if flags & UAPI.MCL_FUTURE != 0 { parts.append("future") }
        if flags & UAPI.MCL_ONFAULT != 0 { parts.append(flags == UAPI.MCL_ONFAULT ? "onfault-alone" : "onfault") }
        let unknown = flags & ~(UAPI.MCL_CURRENT | UAPI.MCL_FUTURE | UAPI.MCL_ONFAULT)
        if unknown != 0 { parts.append("unknown-0x" + String(UInt32(bitPattern: unknown), radix: 16)) }
        return parts.joined(separator: "-")
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fully specified generator, so that a
/// seed printed in a scenario summary replays the same ranges on every machine.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A value in 0..<n (n > 0). Modulo bias is irrelevant here: what matters is replay.
    mutating func below(_ n: UInt64) -> UInt64 { next() % n }
    mutating func coin() -> Bool { next() & 1 == 1 }
}

extension ScenarioBuilder {
    // Raw-address forms, for unaligned starts, odd lengths, 0 and ULONG_MAX.
    mutating func mlock(addr: UInt64, length: UInt64, _ note: String = "") {
        step(.mlock(addr: addr, length: length), note)
    }
    mutating func mlock2(addr: UInt64, length: UInt64, flags: UInt32, _ note: String = "") {
        step(.mlock2(addr: addr, length: length, flags: flags), note)
    }
    mutating func munlock(addr: UInt64, length: UInt64, _ note: String = "") {
        step(.munlock(addr: addr, length: length), note)
    }
    mutating func munmap(addr: UInt64, length: UInt64, _ note: String = "") {
        step(.munmap(addr: addr, length: length), note)
    }
    mutating func touch(addr: UInt64, length: UInt64, write: Bool = true, _ note: String = "") {
        step(.touch(addr: addr, length: length, write: write), note)
    }
    /// Read-touch every page of `r` (a read fault: the zero page on private anon).
    mutating func read(_ r: Region, _ note: String = "") { touch(r, write: false, note) }

    mutating func mlockall(_ flags: Int32, _ note: String = "") { step(.mlockall(flags: flags), note) }
    mutating func munlockall(_ note: String = "") { step(.munlockall, note) }
    mutating func madvise(_ r: Region, _ advice: Int32, _ note: String = "") {
        step(.madvise(addr: r.addr, length: r.length, advice: advice), note)
    }
    mutating func madvise(addr: UInt64, length: UInt64, _ advice: Int32, _ note: String = "") {
        step(.madvise(addr: addr, length: length, advice: advice), note)
    }
    mutating func mprotect(_ r: Region, _ prot: Prot, _ note: String = "") {
        step(.mprotect(addr: r.addr, length: r.length, prot: prot), note)
    }
    /// mremap of `r` to `newPages` pages. With `to`, MREMAP_FIXED to that address is
    /// added (with MREMAP_MAYMOVE, as the kernel requires). Without `to`, the scenario
    /// must leave room after `r` if it passes MREMAP_MAYMOVE: a moved mapping would land
    /// outside the arena, where model and kernel cannot agree on the address.
    mutating func mremap(_ r: Region, newPages: UInt64, flags: Int32 = 0, to: Region? = nil, _ note: String = "") {
        var f = flags
        if to != nil { f |= UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED }
        step(.mremap(old: r.addr, oldLength: r.length, newLength: newPages * pageSize, flags: f,
                     newAddr: to?.addr ?? 0), note)
    }
    mutating func createObject(_ slot: Int, _ kind: ObjectKind, pages: UInt64, filled: Bool, _ note: String = "") {
        step(.createObject(slot: slot, kind: kind, pages: pages, filled: filled), note)
    }
    /// Maps object `slot` over `r`, from `pageOffset` pages into the object.
    mutating func mapObject(_ r: Region, slot: Int, shared: Bool, prot: Prot = .rw, pageOffset: UInt64 = 0,
                            flags: MapFlags = [], _ note: String = "") {
        map(r, prot, .object(slot: slot, shared: shared, pageOffset: pageOffset), flags, note)
    }
    mutating func setMemlockLimit(soft: UInt64, hard: UInt64, _ note: String = "") {
        step(.setMemlockLimit(soft: soft, hard: hard), note)
    }
    mutating func dropCapIpcLock(_ note: String = "") { step(.dropCapIpcLock, note) }
    /// RLIMIT_MEMLOCK = `bytes` (soft and hard: only lowering, which any user may do) and
    /// no CAP_IPC_LOCK: the state of an ordinary user, whoever runs the suite.
    mutating func unprivileged(memlock bytes: UInt64) {
        setMemlockLimit(soft: bytes, hard: bytes, "RLIMIT_MEMLOCK = \(bytes) bytes")
        dropCapIpcLock("drop CAP_IPC_LOCK: the limit now applies")
    }
}

extension ScenarioBuilder {
    // SysV shared memory: `seg` is the scenario's segment number (the runner's key).
    mutating func shmget(_ seg: Int, pages: UInt64, _ note: String = "") {
        step(.shmget(segment: seg, pages: pages), note)
    }
    mutating func shmat(_ seg: Int, _ r: Region, readOnly: Bool = false, _ note: String = "") {
        step(.shmat(segment: seg, addr: r.addr, readOnly: readOnly), note)
    }
    mutating func shmdt(_ r: Region, _ note: String = "") { step(.shmdt(addr: r.addr), note) }
    mutating func shmctl(_ seg: Int, _ command: ShmCommand, _ note: String = "") {
        step(.shmctl(segment: seg, command: command), note)
    }
    mutating func truncate(_ slot: Int, pages: UInt64, _ note: String = "") {
        step(.truncate(slot: slot, pages: pages), note)
    }
    mutating func punchHole(_ slot: Int, firstPage: UInt64, pages: UInt64, _ note: String = "") {
        step(.punchHole(slot: slot, firstPage: firstPage, pages: pages), note)
    }
    mutating func setuid(_ uid: UInt32, _ note: String = "") { step(.setuid(uid), note) }
}
