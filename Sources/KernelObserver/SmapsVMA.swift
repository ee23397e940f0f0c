// The per-step reading of /proc/PID/smaps: only what lockstep compares, parsed from the
// bytes without making a String or a dictionary. `SmapsEntry` keeps every field for
// everything else; `SmapsVMATests` checks the two agree on the same text.

/// VmFlags mnemonics as bits. The table lists what smaps prints (fs/proc/task_mmu.c,
/// show_smap_vma_flags); a mnemonic not in it is not kept (`VMFlagBits.init(mnemonic:)`
/// returns nil), which is why every mnemonic a comparison asks about is in the table.
public struct VMFlagBits: OptionSet, Hashable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The known mnemonics; bit n is the n-th.
    public static let mnemonics: [String] = [
        "rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "pf", "dw", "lo", "io", "sr", "rr", "dc",
        "de", "ac", "nr", "ht", "sf", "nl", "ar", "wf", "dd", "sd", "mm", "hg", "nh", "mg", "um", "uw",
        "ss", "sl", "lf", "bt", "mt", "gu", "ui", "pk", "p0", "p1", "p2", "p3", "p4", "ov", "ap", "sg",
    ]

    /// Bit index + 1 of each known mnemonic, at `slot(a, b)`; 0 for the rest.
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 128 * 128)
        for (i, m) in mnemonics.enumerated() {
            let u = Array(m.utf8)
            t[slot(u[0], u[1])] = UInt8(i + 1)
        }
        return t
    }()

    @inline(__always) static func slot(_ a: UInt8, _ b: UInt8) -> Int { Int(a & 0x7F) << 7 | Int(b & 0x7F) }

    /// The bit of a two-letter mnemonic; nil when it is not in the table.
    public init?(mnemonic: String) {
        let u = Array(mnemonic.utf8)
        guard u.count == 2, let b = Self.bit(u[0], u[1]) else { return nil }
        self.init(rawValue: b)
    }

    @inline(__always) static func bit(_ a: UInt8, _ b: UInt8) -> UInt64? {
        guard a < 0x80, b < 0x80 else { return nil }
        let i = table[slot(a, b)]
        return i == 0 ? nil : UInt64(1) << UInt64(i - 1)
    }

    public func contains(mnemonic: String) -> Bool {
        guard let b = VMFlagBits(mnemonic: mnemonic) else { return false }
        return contains(b)
    }

    /// The mnemonics set, in table order.
    public var names: [String] {
        Self.mnemonics.indices.filter { rawValue >> UInt64($0) & 1 == 1 }.map { Self.mnemonics[$0] }
    }

    public static let locked = VMFlagBits(mnemonic: "lo")!
    public static let lockOnFault = VMFlagBits(mnemonic: "lf")!
}

/// One VMA of /proc/PID/smaps as a step compares it: range, permissions, Rss, Locked,
/// AnonHugePages, ShmemPmdMapped, FilePmdMapped (kB; 0 when the kernel does not print
/// it, as `SmapsEntry` reads it) and VmFlags as bits.
public struct SmapsVMA: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var readable = false
    public var writable = false
    public var executable = false
    public var shared = false
    /// The path is "[vsyscall]" (the gate area, not a VMA of the mm).
    public var isVsyscall = false
    public var rssKB: UInt64 = 0
    public var lockedKB: UInt64 = 0
    public var anonHugePagesKB: UInt64 = 0
    public var shmemPmdMappedKB: UInt64 = 0
    public var filePmdMappedKB: UInt64 = 0
    public var flags: VMFlagBits = []

    public init(start: UInt64, end: UInt64) { self.start = start; self.end = end }

    /// VM_LOCKED: `lo` in VmFlags.
    public var isLocked: Bool { flags.contains(.locked) }

    /// Parses /proc/PID/smaps into `out` (emptied first, its storage kept), with the same
    /// errors as `SmapsEntry.parse`: an unreadable header line, a field before any header.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [SmapsVMA]) throws {
        out.removeAll(keepingCapacity: true)
        var lineNo = 0
        var current: SmapsVMA?
        try forEachLine(bytes) { line in
            lineNo += 1
            guard let first = line.first else { return }
            if isLowerHex(first) {
                guard let v = header(line) else { throw ObserverError("smaps line \(lineNo) unreadable: \(string(line))") }
                if let c = current { out.append(c) }
                current = v
                return
            }
            guard current != nil else { throw ObserverError("smaps line \(lineNo) before any mapping") }
            // Skip the other ~20 fields at once.
            guard Field.keys.mayStart(with: first) else { return }
            var s = Scanner(line)
            let key = s.token(until: 0x3A)   // ':'
            guard s.expect(0x3A) else { return }
            let field = Field(key)
            if field == .other { return }
            if field == .vmFlags {
                var bits: UInt64 = 0
                while true {
                    s.skipSpaces()
                    let f = s.token()
                    if f.isEmpty { break }
                    if f.count == 2, let b = VMFlagBits.bit(f[0], f[1]) { bits |= b }
                }
                current!.flags = VMFlagBits(rawValue: bits)
                return
            }
            s.skipSpaces()
            guard let v = s.decimal() else { return }
            switch field {
            case .rss: current!.rssKB = v
            case .locked: current!.lockedKB = v
            case .anonHugePages: current!.anonHugePagesKB = v
            case .shmemPmdMapped: current!.shmemPmdMappedKB = v
            case .filePmdMapped: current!.filePmdMappedKB = v
            default: break
            }
        }
        if let c = current { out.append(c) }
    }

    public static func parse(_ bytes: [UInt8]) throws -> [SmapsVMA] {
        var out: [SmapsVMA] = []
        try bytes.withUnsafeBufferPointer { try parse($0, into: &out) }
        return out
    }

    public static func parse(_ text: String) throws -> [SmapsVMA] { try parse(Array(text.utf8)) }

    /// The fields kept, told apart by length and bytes.
    enum Field {
        case rss, locked, anonHugePages, shmemPmdMapped, filePmdMapped, vmFlags, other

        init(_ key: UnsafeBufferPointer<UInt8>) {
            switch Self.keys.index(of: key) {
            case 0?: self = .rss
            case 1?: self = .locked
            case 2?: self = .anonHugePages
            case 3?: self = .shmemPmdMapped
            case 4?: self = .filePmdMapped
            case 5?: self = .vmFlags
            default: self = .other
            }
        }

        static let keys = KeyList(["Rss", "Locked", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "VmFlags"])
    }

    /// "start-end perms offset dev inode [path]": the same checks as `MapsEntry.parseHeader`.
    static func header(_ line: UnsafeBufferPointer<UInt8>) -> SmapsVMA? {
        var s = Scanner(line)
        guard let start = s.hex(), s.expect(0x2D), let end = s.hex() else { return nil }
        s.skipSpaces()
        let perms = s.token()
        guard perms.count == 4 else { return nil }
        s.skipSpaces()
        guard s.hex() != nil else { return nil }
        s.skipSpaces()
        _ = s.token()
        s.skipSpaces()
        guard s.decimal() != nil else { return nil }
        s.skipSpaces()
        var v = SmapsVMA(start: start, end: end)
        v.readable = perms[0] == UInt8(ascii: "r")
        v.writable = perms[1] == UInt8(ascii: "w")
        v.executable = perms[2] == UInt8(ascii: "x")
        v.shared = perms[3] == UInt8(ascii: "s")
        v.isVsyscall = trimmedTrailing(s.rest).elementsEqual("[vsyscall]".utf8)
        return v
    }
}
