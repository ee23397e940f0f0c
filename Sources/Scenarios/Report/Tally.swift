import MlockModel

// Counting verdicts and turning them into kselftest exit codes. No Foundation: the
// renderers here are plain string builders so that tests can check them directly.

/// kselftest exit codes (tools/testing/selftests/kselftest.h).
public enum KselftestExit: Int32, Sendable {
    case pass = 0
    case fail = 1
    case skip = 4
}

/// How many scenarios ended in each verdict.
public struct Tally: Codable, Sendable, Equatable {
    public var passed = 0
    public var failed = 0
    public var skipped = 0
    public var errors = 0
    /// Known kernel divergences seen (neither passed nor failed).
    public var xfailed = 0

    public init() {}

    public init(_ results: [ScenarioResult]) {
        for r in results { add(r.verdict) }
    }

    public mutating func add(_ v: Verdict) {
        switch v {
        case .pass: passed += 1
        case .fail: failed += 1
        case .skip: skipped += 1
        case .error: errors += 1
        case .xfail: xfailed += 1
        }
    }

    public var total: Int { passed + failed + skipped + errors + xfailed }

    /// 1 if anything failed or errored; 4 if nothing passed (all skipped, or nothing
    /// ran: never a vacuous pass); else 0.
    public var exitCode: KselftestExit {
        if failed + errors > 0 { return .fail }
        if passed + xfailed == 0 { return .skip }
        return .pass
    }

    /// The closing line CI parsers read: "N passed, N failed, N skipped". Errors count
    /// as failed here (the line has no place for them); `errorNote` says how many.
    public var summaryLine: String {
        "\(passed) passed, \(failed + errors) failed, \(skipped) skipped"
    }

    public var errorNote: String? {
        errors == 0 ? nil : "errors: \(errors) (could not run to a verdict; counted as failed below)"
    }

    public var xfailNote: String? {
        xfailed == 0 ? nil : "known kernel divergences: \(xfailed) (the kernel diverged as a known kernel bug does; not counted as passed)"
    }
}

/// Names and helpers shared by the renderers.
public enum ReportText {
    /// The short name of an op for test descriptions: "munlock" for
    /// "munlock(A+0x0, 4p)", the whole description when it has no argument list.
    public static func opName(_ op: Op) -> String {
        let d = String(describing: op)
        if let paren = d.firstIndex(of: "(") { return String(d[..<paren]) }
        return d
    }

    /// "step 2" for a step index, "scenario" for whole-scenario checks (step -1).
    public static func stepLabel(_ step: Int) -> String {
        step < 0 ? "scenario" : "step \(step)"
    }

    /// "3 ms", "1.20 s".
    public static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return "\(Int((seconds * 1000).rounded())) ms" }
        return fixed(seconds, 2) + " s"
    }

    /// A decimal with `digits` places, without Foundation's String(format:).
    public static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "\(v)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let n = Int64((abs(v) * scale).rounded())
        let sign = v < 0 && n != 0 ? "-" : ""
        let whole = n / Int64(scale)
        guard digits > 0 else { return sign + "\(whole)" }
        var frac = String(n % Int64(scale))
        while frac.count < digits { frac = "0" + frac }
        return sign + "\(whole).\(frac)"
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// Splits a cell into lines of at most `width` characters, at newlines first, then
    /// after ", " or a space where it can, hard-cut where it cannot.
    static func wrap(_ s: String, width: Int) -> [String] {
        var out: [String] = []
        for piece in s.split(separator: "\n", omittingEmptySubsequences: false) {
            var rest = Substring(piece)
            while rest.count > width {
                let head = rest.prefix(width)
                var cut = head.endIndex
                if let sp = head.lastIndex(of: " "), sp > head.startIndex { cut = head.index(after: sp) }
                out.append(String(rest[rest.startIndex..<cut]).trimmingTrailingSpaces())
                rest = rest[cut...]
            }
            out.append(String(rest))
        }
        return out
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
