import Glibc

// /proc/PID/maps and /proc/PID/smaps.

/// One line of /proc/PID/maps: a VMA's range, permissions and backing.
public struct MapsEntry: Hashable, Sendable, CustomStringConvertible {
    public var start: UInt64
    public var end: UInt64
    /// "rw-p": r/w/x or '-', then 's' (shared) or 'p' (private).
    public var perms: String
    public var offset: UInt64
    /// "maj:min" in hex, as printed.
    public var device: String
    public var inode: UInt64
    /// "" for anonymous memory; "[heap]", "[stack]", "/memfd:name (deleted)", a file path...
    public var path: String

    public init(start: UInt64, end: UInt64, perms: String, offset: UInt64 = 0, device: String = "00:00",
                inode: UInt64 = 0, path: String = "") {
        self.start = start; self.end = end; self.perms = perms; self.offset = offset
        self.device = device; self.inode = inode; self.path = path
    }

    public var length: UInt64 { end - start }
    public var readable: Bool { perms.utf8.first == UInt8(ascii: "r") }
    public var writable: Bool { perms.utf8.dropFirst(1).first == UInt8(ascii: "w") }
    public var executable: Bool { perms.utf8.dropFirst(2).first == UInt8(ascii: "x") }
    public var shared: Bool { perms.utf8.dropFirst(3).first == UInt8(ascii: "s") }
    public func contains(_ address: UInt64) -> Bool { address >= start && address < end }

    public var description: String {
        "\(String(start, radix: 16))-\(String(end, radix: 16)) \(perms) \(String(offset, radix: 16)) \(device) \(inode) \(path)"
    }

    /// Parses a maps (or smaps header) line.
    static func parseHeader(_ line: UnsafeBufferPointer<UInt8>) -> MapsEntry? {
        var s = Scanner(line)
        guard let start = s.hex(), s.expect(0x2D), let end = s.hex() else { return nil }
        s.skipSpaces()
        let perms = s.token()
        guard perms.count == 4 else { return nil }
        s.skipSpaces()
        guard let offset = s.hex() else { return nil }
        s.skipSpaces()
        let dev = s.token()
        s.skipSpaces()
        guard let inode = s.decimal() else { return nil }
        s.skipSpaces()
        let path = trimmedTrailing(s.rest)
        return MapsEntry(start: start, end: end, perms: string(perms), offset: offset, device: string(dev),
                         inode: inode, path: path.isEmpty ? "" : string(path))
    }

    /// Parses /proc/PID/maps.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [MapsEntry] {
        var out: [MapsEntry] = []
        var lineNo = 0
        try forEachLine(bytes) { line in
            lineNo += 1
            if line.isEmpty { return }
            guard let e = parseHeader(line) else { throw ObserverError("maps line \(lineNo) unreadable: \(string(line))") }
            out.append(e)
        }
        return out
    }
    public static func parse(_ text: String) throws -> [MapsEntry] { try withBytes(text) { try parse($0) } }
    public static func parse(_ bytes: [UInt8]) throws -> [MapsEntry] { try withBytes(bytes) { try parse($0) } }
}

/// One VMA of /proc/PID/smaps: the maps line, the kB fields and VmFlags.
public struct SmapsEntry: Hashable, Sendable, CustomStringConvertible {
    public var mapping: MapsEntry
    /// Size, Rss, Pss, Locked, AnonHugePages, ... in kB (THPeligible and ProtectionKey
    /// as printed, without unit).
    public var fields: [String: UInt64]
    /// The two-letter VmFlags mnemonics ("rd", "wr", "lo", "hg", ...).
    public var vmFlags: Set<String>

    public init(mapping: MapsEntry, fields: [String: UInt64] = [:], vmFlags: Set<String> = []) {
        self.mapping = mapping; self.fields = fields; self.vmFlags = vmFlags
    }

    public var start: UInt64 { mapping.start }
    public var end: UInt64 { mapping.end }
    public var perms: String { mapping.perms }
    public var offset: UInt64 { mapping.offset }
    public var device: String { mapping.device }
    public var inode: UInt64 { mapping.inode }
    public var path: String { mapping.path }
    public var length: UInt64 { mapping.length }
    public var readable: Bool { mapping.readable }
    public var writable: Bool { mapping.writable }
    public var executable: Bool { mapping.executable }
    public var shared: Bool { mapping.shared }

    /// A field in kB (0 when the kernel does not print it).
    public subscript(kB name: String) -> UInt64 { fields[name] ?? 0 }
    public var sizeKB: UInt64 { self[kB: "Size"] }
    public var rssKB: UInt64 { self[kB: "Rss"] }
    public var pssKB: UInt64 { self[kB: "Pss"] }
    public var lockedKB: UInt64 { self[kB: "Locked"] }
    public var anonHugePagesKB: UInt64 { self[kB: "AnonHugePages"] }
    /// VM_LOCKED: `lo` in VmFlags.
    public var isLocked: Bool { vmFlags.contains("lo") }
    /// VM_LOCKONFAULT: `lf` in VmFlags (kernels that print it).
    public var isLockOnFault: Bool { vmFlags.contains("lf") }

    public var description: String {
        "\(mapping) Rss=\(rssKB)kB Locked=\(lockedKB)kB VmFlags=\(vmFlags.sorted().joined(separator: " "))"
    }

    /// Parses /proc/PID/smaps.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [SmapsEntry] {
        var out: [SmapsEntry] = []
        var current: SmapsEntry?
        var keys = KeyCache()
        var lineNo = 0
        try forEachLine(bytes) { line in
            lineNo += 1
            guard let first = line.first else { return }
            if isLowerHex(first) {
                guard let m = MapsEntry.parseHeader(line) else {
                    throw ObserverError("smaps line \(lineNo) unreadable: \(string(line))")
                }
                if let c = current { out.append(c) }
                keys.restart()
                current = SmapsEntry(mapping: m, fields: Dictionary(minimumCapacity: 26), vmFlags: [])
                return
            }
            guard current != nil else { throw ObserverError("smaps line \(lineNo) before any mapping") }
            var s = Scanner(line)
            let key = s.token(until: 0x3A)
            guard s.expect(0x3A) else { return }
            if key.elementsEqual("VmFlags".utf8) {
                var flags = Set<String>(minimumCapacity: 16)
                while true {
                    s.skipSpaces()
                    let f = s.token()
                    if f.isEmpty { break }
                    flags.insert(string(f))
                }
                current!.vmFlags = flags
                return
            }
            s.skipSpaces()
            guard let v = s.decimal() else { return }
            current!.fields[keys.key(key)] = v
        }
        if let c = current { out.append(c) }
        return out
    }
    public static func parse(_ text: String) throws -> [SmapsEntry] { try withBytes(text) { try parse($0) } }
    public static func parse(_ bytes: [UInt8]) throws -> [SmapsEntry] { try withBytes(bytes) { try parse($0) } }
}

/// smaps repeats the same ~25 keys for every VMA: make each String once.
struct KeyCache {
    private var entries: [(bytes: [UInt8], key: String)] = []
    private var next = 0

    mutating func restart() { next = 0 }

    private static func same(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }
    }

    mutating func key(_ b: UnsafeBufferPointer<UInt8>) -> String {
        // Keys come in the same order in every VMA: try the expected slot first.
        if next < entries.count, KeyCache.same(entries[next].bytes, b) {
            next += 1
            return entries[next - 1].key
        }
        if let i = entries.firstIndex(where: { KeyCache.same($0.bytes, b) }) {
            next = i + 1
            return entries[i].key
        }
        let k = string(b)
        entries.append((Array(b), k))
        next = entries.count
        return k
    }
}

public extension Array where Element == SmapsEntry {
    /// The entries overlapping [start, end), in address order.
    func overlapping(_ start: UInt64, _ end: UInt64) -> [SmapsEntry] {
        filter { $0.start < end && $0.end > start }
    }
    /// The entry containing `address`.
    func entry(containing address: UInt64) -> SmapsEntry? { first { $0.mapping.contains(address) } }
}
