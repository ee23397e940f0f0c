import Glibc

// Byte-level helpers shared by the parsers. /proc text is ASCII; parsers work on
// UnsafeBufferPointer<UInt8> and only make Strings for the keys and paths they keep.

/// Why a reading could not be parsed or taken.
public struct ObserverError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Calls `body` with the bytes of each line (without the newline).
@inline(__always)
func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
    guard let base = bytes.baseAddress else { return }
    var start = 0
    let n = bytes.count
    while start < n {
        let end = memchr(base + start, 0x0A, n - start).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? n
        try body(UnsafeBufferPointer(start: base + start, count: end - start))
        start = end + 1
    }
}

/// Runs `body` on the UTF-8 bytes of `text`.
@inline(__always)
func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
    var text = text
    return try text.withUTF8 { try body($0) }
}

/// Runs `body` on the bytes of `bytes`.
@inline(__always)
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
    try bytes.withUnsafeBufferPointer { try body($0) }
}

@inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
@inline(__always) func isLowerHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x61 && c <= 0x66) }

@inline(__always)
func hexValue(_ c: UInt8) -> UInt64? {
    switch c {
    case 0x30...0x39: return UInt64(c - 0x30)
    case 0x61...0x66: return UInt64(c - 0x61 + 10)
    case 0x41...0x46: return UInt64(c - 0x41 + 10)
    default: return nil
    }
}

/// A cursor over one line.
struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var atEnd: Bool { i >= bytes.count }

    mutating func skipSpaces() { while i < bytes.count && isSpace(bytes[i]) { i += 1 } }

    /// Decimal digits (wrapping on overflow, as the kernel's unsigned printing does).
    /// A leading '-' is accepted and returns the two's complement.
    mutating func decimal() -> UInt64? {
        var negative = false
        if i < bytes.count && bytes[i] == 0x2D { negative = true; i += 1 }
        let s = i
        var v: UInt64 = 0
        while i < bytes.count && isDigit(bytes[i]) { v = v &* 10 &+ UInt64(bytes[i] &- 0x30); i += 1 }
        if i == s { return nil }
        return negative ? 0 &- v : v
    }

    mutating func hex() -> UInt64? {
        let s = i
        var v: UInt64 = 0
        while i < bytes.count, let d = hexValue(bytes[i]) { v = v << 4 | d; i += 1 }
        return i == s ? nil : v
    }

    /// Bytes up to (not including) `stop` or a space/tab; does not consume the stop.
    mutating func token(until stop: UInt8? = nil) -> UnsafeBufferPointer<UInt8> {
        let s = i
        while i < bytes.count && !isSpace(bytes[i]) && bytes[i] != stop { i += 1 }
        return UnsafeBufferPointer(rebasing: bytes[s..<i])
    }

    mutating func expect(_ c: UInt8) -> Bool {
        if i < bytes.count && bytes[i] == c { i += 1; return true }
        return false
    }

    /// The rest of the line.
    var rest: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[min(i, bytes.count)...]) }
}

@inline(__always)
func string(_ b: UnsafeBufferPointer<UInt8>) -> String { String(decoding: b, as: UTF8.self) }

/// Trailing spaces removed.
func trimmedTrailing(_ b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    var e = b.count
    while e > 0 && isSpace(b[e - 1]) { e -= 1 }
    return UnsafeBufferPointer(rebasing: b[..<e])
}

/// Parses "key value [kB]" or "key: value [kB]" lines into a dictionary of numbers.
/// Lines whose value is not a number are skipped. With `kBOnly`, values without a
/// " kB" unit are kept too (meminfo's HugePages_* are counts).
func parseKeyValueNumbers(_ bytes: UnsafeBufferPointer<UInt8>, capacity: Int = 64) -> [String: UInt64] {
    var out: [String: UInt64] = [:]
    out.reserveCapacity(capacity)
    forEachLine(bytes) { line in
        var s = Scanner(line)
        let key = s.token(until: 0x3A)   // ':'
        if key.isEmpty { return }
        _ = s.expect(0x3A)
        s.skipSpaces()
        guard let v = s.decimal() else { return }
        out[string(key)] = v
    }
    return out
}

/// Like `parseKeyValueNumbers` for the given keys only: calls `found(index of the key,
/// value)` for each line whose key is one of `keys` and whose value is a number. No
/// String, no dictionary: for the files read after every step.
func scanKeyValueNumbers(_ bytes: UnsafeBufferPointer<UInt8>, keys: KeyList, _ found: (Int, UInt64) -> Void) {
    forEachLine(bytes) { line in
        guard let first = line.first, keys.mayStart(with: first) else { return }
        var s = Scanner(line)
        let key = s.token(until: 0x3A)   // ':'
        guard let k = keys.index(of: key) else { return }
        _ = s.expect(0x3A)
        s.skipSpaces()
        guard let v = s.decimal() else { return }
        found(k, v)
    }
}

/// A few keys, each found by length, first byte, then the rest. Made once (static
/// tables): its bytes live as long as the program, so using it retains nothing.
struct KeyList: @unchecked Sendable {   // immutable after init
    private let bytes: UnsafePointer<UInt8>
    private let starts: UnsafePointer<Int>
    /// Bit c of the first bytes of the keys (ASCII), to pass over the other lines at once.
    private let firstBytes: (UInt64, UInt64)
    /// Bit n: some key is n bytes long (keys shorter than 64 bytes).
    private let lengths: UInt64
    let count: Int

    init(_ keys: [String]) {
        var b: [UInt8] = []
        var s: [Int] = [0]
        var f: (UInt64, UInt64) = (0, 0)
        var l: UInt64 = 0
        for k in keys {
            let c = k.utf8.first!
            precondition(c < 0x80 && k.utf8.count < 64, "short ASCII keys only")
            if c < 64 { f.0 |= 1 << UInt64(c) } else { f.1 |= 1 << UInt64(c - 64) }
            l |= 1 << UInt64(k.utf8.count)
            b += k.utf8
            s.append(b.count)
        }
        let bp = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, b.count))
        bp.initialize(from: b, count: b.count)
        let sp = UnsafeMutablePointer<Int>.allocate(capacity: s.count)
        sp.initialize(from: s, count: s.count)
        bytes = UnsafePointer(bp); starts = UnsafePointer(sp); count = keys.count; firstBytes = f; lengths = l
    }

    @inline(__always)
    func mayStart(with c: UInt8) -> Bool {
        c < 64 ? firstBytes.0 >> UInt64(c) & 1 == 1 : c < 128 && firstBytes.1 >> UInt64(c - 64) & 1 == 1
    }

    @inline(__always)
    func index(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = key.count
        guard n < 64, lengths >> UInt64(n) & 1 == 1, let kp = key.baseAddress else { return nil }
        let first = kp[0]
        for i in 0..<count where starts[i + 1] - starts[i] == n && bytes[starts[i]] == first {
            if memcmp(bytes + starts[i], kp, n) == 0 { return i }
        }
        return nil
    }
}
