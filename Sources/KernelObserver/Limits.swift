// /proc/PID/limits.

/// A process's resource limits, from /proc/PID/limits. `UInt64.max` is "unlimited"
/// (RLIM_INFINITY).
public struct ProcessLimits: Hashable, Sendable {
    public struct Limit: Hashable, Sendable {
        public var soft: UInt64
        public var hard: UInt64
        public var unit: String
        public init(soft: UInt64, hard: UInt64, unit: String) { self.soft = soft; self.hard = hard; self.unit = unit }
    }
    /// "Max locked memory" -> (soft, hard, "bytes"), ...
    public var limits: [String: Limit]

    /// RLIMIT_MEMLOCK, bytes.
    public var memlock: Limit? { limits["Max locked memory"] }
    /// RLIMIT_AS, bytes.
    public var addressSpace: Limit? { limits["Max address space"] }

    public static func parse(_ text: String) throws -> ProcessLimits {
        var out: [String: Limit] = [:]
        for line in text.split(separator: "\n").dropFirst() {   // the header line
            // "Max locked memory         8388608              8388608              bytes"
            // Columns: name (26 chars), soft (21), hard (21), units.
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // The name is every word before the first value.
            guard let firstValue = fields.firstIndex(where: { $0 == "unlimited" || UInt64($0) != nil }),
                  firstValue + 1 < fields.count else { continue }
            func value(_ s: Substring) -> UInt64? { s == "unlimited" ? UInt64.max : UInt64(s) }
            guard let soft = value(fields[firstValue]), let hard = value(fields[firstValue + 1]) else { continue }
            let name = fields[..<firstValue].joined(separator: " ")
            let unit = firstValue + 2 < fields.count ? String(fields[firstValue + 2]) : ""
            out[name] = Limit(soft: soft, hard: hard, unit: unit)
        }
        guard !out.isEmpty else { throw ObserverError("limits: nothing parsed") }
        return ProcessLimits(limits: out)
    }
}
