import MlockModel

/// KTAP v1 (Documentation/dev-tools/ktap.rst), the way kselftest prints it: a plan of
/// one test per scenario; each scenario that made checks is a subtest with its own
/// version line and plan and one result line per checked observable; then the
/// scenario's own result line; `# Totals:` at the end.
///
///     KTAP version 1
///     1..2
///         KTAP version 1
///         1..2
///         ok 1 step 0 mlock: result
///         # step 1 munlock(A+0x0, 4p): VmLck
///         #   expected: 0 kB
///         #   observed: 16 kB
///         not ok 2 step 1 munlock: VmLck
///     not ok 1 selftests.mlock2.lock
///     ok 2 selftests.mlock2.onfault # SKIP not root
///     # Totals: pass:0 fail:1 xfail:0 xpass:0 skip:1 error:0
public struct KTAPReport: Sendable {
    /// One nesting level. ktap.rst asks for two spaces; KUnit prints four, and the
    /// kunit and kselftest parsers accept either.
    public static let indent = "    "

    public init() {}

    /// The version line and plan; an empty plan says why, as kselftest's
    /// `1..0 # SKIP` does, so that nothing reads as a vacuous pass.
    public func header(count: Int, diagnostics: [String] = [], emptyReason: String = "no scenarios selected") -> [String] {
        ["KTAP version 1", count == 0 ? "1..0 # SKIP \(Self.directiveText(emptyReason))" : "1..\(count)"]
            + diagnostics.map(Self.diagnostic)
    }

    /// The lines of scenario number `number` (1-based). `ops` names the op of each
    /// step, for the result lines' descriptions.
    public func lines(for r: ScenarioResult, number: Int, ops: [Op]) -> [String] {
        var out: [String] = []
        if !r.checks.isEmpty {
            out += subtest(r, ops: ops).map { Self.indent + $0 }
        } else {
            out += r.divergences.flatMap(Self.divergenceDiagnostics)
        }
        let id = Self.description(r.id)
        switch r.verdict {
        case .pass:
            if !r.reason.isEmpty { out.append(Self.diagnostic(r.reason)) }
            out.append("ok \(number) \(id)")
        case .skip:
            out.append("ok \(number) \(id) # SKIP \(Self.directiveText(r.reason))")
        case .fail:
            if !r.reason.isEmpty { out.append(Self.diagnostic(r.reason)) }
            out.append("not ok \(number) \(id)")
        case .error:
            out.append("not ok \(number) \(id) # ERROR \(Self.directiveText(r.reason))")
        case .xfail:
            out.append("ok \(number) \(id) # XFAIL \(Self.directiveText(r.reason))")
        }
        return out
    }

    func subtest(_ r: ScenarioResult, ops: [Op]) -> [String] {
        var out = ["KTAP version 1", "1..\(r.checks.count)"]
        var unmatched = r.divergences
        for (i, c) in r.checks.enumerated() {
            let op = c.step >= 0 && c.step < ops.count ? " " + ReportText.opName(ops[c.step]) : ""
            let desc = Self.description("\(ReportText.stepLabel(c.step))\(op): \(c.observable)")
            let n = i + 1
            if let why = c.skipped {
                out.append("ok \(n) \(desc) # SKIP \(Self.directiveText(why))")
            } else if c.passed {
                out.append("ok \(n) \(desc)")
            } else {
                // Diagnostics about a test go right before its result line.
                let mine = unmatched.filter { $0.step == c.step && $0.observable == c.observable }
                unmatched.removeAll { $0.step == c.step && $0.observable == c.observable }
                out += mine.flatMap(Self.divergenceDiagnostics)
                out.append("not ok \(n) \(desc)")
            }
        }
        out += unmatched.flatMap(Self.divergenceDiagnostics)
        if !r.pageMap.isEmpty {
            out.append(Self.diagnostic("page map:"))
            out += r.pageMap.map { Self.diagnostic("  " + $0) }
        }
        return out
    }

    static func divergenceDiagnostics(_ d: Divergence) -> [String] {
        var out = [diagnostic("\(ReportText.stepLabel(d.step)) \(d.op): \(d.observable)")]
        out += d.expected.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { diagnostic(($0.offset == 0 ? "  expected: " : "            ") + $0.element) }
        out += d.observed.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { diagnostic(($0.offset == 0 ? "  observed: " : "            ") + $0.element) }
        return out
    }

    public func footer(_ t: Tally, diagnostics: [String] = []) -> [String] {
        diagnostics.map(Self.diagnostic)
            + ["# Totals: pass:\(t.passed) fail:\(t.failed) xfail:\(t.xfailed) xpass:0 skip:\(t.skipped) error:\(t.errors)"]
    }

    /// "# text" on one line (newlines become spaces).
    public static func diagnostic(_ s: String) -> String {
        ("# " + s.map { $0.isNewline ? " " : $0 }.map(String.init).joined()).trimmingTrailingSpaces()
    }

    /// A result-line description may not contain '#', nor a newline.
    static func description(_ s: String) -> String {
        String(s.map { $0 == "#" ? "no." : ($0.isNewline ? " " : String($0)) }.joined())
    }

    static func directiveText(_ s: String) -> String {
        let t = String(s.map { $0.isNewline ? " " : String($0) }.joined())
        return t.isEmpty ? "(no reason given)" : t
    }
}
