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
