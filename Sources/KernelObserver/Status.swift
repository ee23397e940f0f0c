// /proc/PID/status.

/// The fields of /proc/PID/status that matter here, and all of them raw.
public struct ProcessStatus: Hashable, Sendable {
    /// Every line, "Key" -> value text (trimmed).
    public var raw: [String: String]
    /// The "... kB" fields (VmLck, VmPin, VmRSS, RssAnon, ...), in kB.
    public var kB: [String: UInt64]

    public init(raw: [String: String], kB: [String: UInt64]) { self.raw = raw; self.kB = kB }

    public var name: String { raw["Name"] ?? "" }
    public var pid: Int32? { raw["Pid"].flatMap { Int32($0) } }
    /// VmLck: the process's locked_vm, in kB.
    public var vmLckKB: UInt64 { kB["VmLck"] ?? 0 }
    /// VmPin: pinned_vm, in kB.
    public var vmPinKB: UInt64 { kB["VmPin"] ?? 0 }
    public var vmRSSKB: UInt64 { kB["VmRSS"] ?? 0 }
    public var vmSizeKB: UInt64 { kB["VmSize"] ?? 0 }
    /// Capability sets as bitmasks (bit n = capability n; CAP_IPC_LOCK is 14).
    public var capEff: UInt64 { hexField("CapEff") }
    public var capPrm: UInt64 { hexField("CapPrm") }
    public var capInh: UInt64 { hexField("CapInh") }
    public var capBnd: UInt64 { hexField("CapBnd") }
    /// Real, effective, saved and filesystem uids.
    public var uids: [UInt32] { numbers("Uid") }
    public var gids: [UInt32] { numbers("Gid") }
    public var threads: Int { raw["Threads"].flatMap { Int($0) } ?? 0 }

    public func hasCapability(_ cap: Int) -> Bool { cap < 64 && capEff & (1 << UInt64(cap)) != 0 }

    private func hexField(_ k: String) -> UInt64 { raw[k].flatMap { UInt64($0, radix: 16) } ?? 0 }
    private func numbers(_ k: String) -> [UInt32] {
        (raw[k] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> ProcessStatus {
        var raw: [String: String] = Dictionary(minimumCapacity: 64)
        var kB: [String: UInt64] = Dictionary(minimumCapacity: 24)
        forEachLine(bytes) { line in
            var s = Scanner(line)
            let key = s.token(until: 0x3A)
            guard !key.isEmpty, s.expect(0x3A) else { return }
            s.skipSpaces()
            let valueBytes = trimmedTrailing(s.rest)
            let k = string(key)
            raw[k] = string(valueBytes)
            if valueBytes.count > 3, valueBytes[valueBytes.count - 2] == UInt8(ascii: "k"),
               valueBytes[valueBytes.count - 1] == UInt8(ascii: "B") {
                var v = Scanner(valueBytes)
                if let n = v.decimal() { kB[k] = n }
            }
        }
        guard raw["VmLck"] != nil || raw["Name"] != nil else {
            throw ObserverError("status has neither Name nor VmLck")
        }
        return ProcessStatus(raw: raw, kB: kB)
    }
    public static func parse(_ text: String) throws -> ProcessStatus { try withBytes(text) { try parse($0) } }
    public static func parse(_ bytes: [UInt8]) throws -> ProcessStatus { try withBytes(bytes) { try parse($0) } }
}

/// The per-step reading of /proc/PID/status: VmLck, the real uid and CapEff, parsed
/// from the bytes as `ProcessStatus` reads them (VmLck 0 when absent or not in kB, uid
/// the first number of Uid, CapEff 0 when absent or not hex), without a dictionary.
public struct StatusSummary: Hashable, Sendable {
    public var vmLckKB: UInt64 = 0
    public var uid: UInt32 = 0
    public var capEff: UInt64 = 0

    public init(vmLckKB: UInt64 = 0, uid: UInt32 = 0, capEff: UInt64 = 0) {
        self.vmLckKB = vmLckKB; self.uid = uid; self.capEff = capEff
    }

    public func hasCapability(_ cap: Int) -> Bool { cap < 64 && capEff & (1 << UInt64(cap)) != 0 }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> StatusSummary {
        var out = StatusSummary()
        var named = false
        var sawVmLck = false
        forEachLine(bytes) { line in
            guard let first = line.first, Self.keys.mayStart(with: first) else { return }
            var s = Scanner(line)
            let key = s.token(until: 0x3A)
            guard !key.isEmpty, s.expect(0x3A) else { return }
            s.skipSpaces()
            let value = trimmedTrailing(s.rest)
            switch Self.keys.index(of: key) {
            case 0?:   // Name
                named = true
            case 1?:   // VmLck
                sawVmLck = true
                // "<n> kB", as ProcessStatus.kB takes it.
                if value.count > 3, value[value.count - 2] == UInt8(ascii: "k"), value[value.count - 1] == UInt8(ascii: "B") {
                    var v = Scanner(value)
                    if let n = v.decimal() { out.vmLckKB = n }
                }
            case 2?:   // Uid
                // The first token that is a UInt32.
                var v = Scanner(value)
                while !v.atEnd {
                    v.skipSpaces()
                    let t = v.token()
                    if t.isEmpty { break }
                    if let n = decimalUInt32(t) { out.uid = n; break }
                }
            case 3?:   // CapEff
                out.capEff = hexUInt64(value) ?? 0
            default:
                break
            }
        }
        guard sawVmLck || named else { throw ObserverError("status has neither Name nor VmLck") }
        return out
    }

    public static func parse(_ text: String) throws -> StatusSummary { try withBytes(text) { try parse($0) } }

    static let keys = KeyList(["Name", "VmLck", "Uid", "CapEff"])

    /// The whole token as a UInt32 in decimal (as UInt32(String) takes it: an optional
    /// '+', digits only, no overflow).
    static func decimalUInt32(_ t: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var i = 0
        if t.first == UInt8(ascii: "+") { i = 1 }
        guard i < t.count else { return nil }
        var v: UInt64 = 0
        while i < t.count {
            guard isDigit(t[i]) else { return nil }
            v = v * 10 + UInt64(t[i] - 0x30)
            if v > UInt64(UInt32.max) { return nil }
            i += 1
        }
        return UInt32(v)
    }

    /// The whole value as a UInt64 in hex (as UInt64(String, radix: 16) takes it).
    static func hexUInt64(_ t: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var i = 0
        if t.first == UInt8(ascii: "+") { i = 1 }
        guard i < t.count else { return nil }
        var v: UInt64 = 0
        while i < t.count {
            guard let d = hexValue(t[i]), v >> 60 == 0 else { return nil }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}
