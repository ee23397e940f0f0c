/// What a run produced: verdicts, checks and divergences, in a form the front ends
/// render as a table, KTAP or JSON.

public enum Verdict: String, Codable, Sendable {
    case pass, fail, skip, error
    /// The kernel diverged from the rules exactly as a known kernel bug does (the reason
    /// names it): not a pass, and not a failure of the suite.
    case xfail
}

/// One observable compared after one step.
public struct Check: Codable, Sendable {
    public var step: Int            // 0-based step index; -1 for whole-scenario checks
    public var observable: String   // "result", "vmas", "VmLck", "pages", "Mlocked", ...
    public var passed: Bool
    /// Set when the check could not be made exactly (and so was not made), with why.
    public var skipped: String?
    public init(step: Int, observable: String, passed: Bool, skipped: String? = nil) {
        self.step = step; self.observable = observable; self.passed = passed; self.skipped = skipped
    }
}

/// A disagreement between the model and the kernel.
public struct Divergence: Codable, Sendable {
    public var step: Int
    public var op: String
    public var observable: String
    public var expected: String
    public var observed: String
    public init(step: Int, op: String, observable: String, expected: String, observed: String) {
        self.step = step; self.op = op; self.observable = observable
        self.expected = expected; self.observed = observed
    }
}

public struct ScenarioResult: Codable, Sendable {
    public var id: String
    public var verdict: Verdict
    /// Why it skipped or errored; empty for pass and fail.
    public var reason: String
    public var checks: [Check]
    public var divergences: [Divergence]
    /// A page map of the arena at the first divergence (one glyph per page, see PageView.glyph).
    public var pageMap: [String]
    /// Measurements repeated because another process moved a global counter.
    public var retries: Int
    public var seconds: Double
    /// Set when some step's state is checked only eventually (after reclaim rounds): what
    /// was waited for, how long, and the bound. Such a pass is "eventual", not exact.
    public var eventual: String? = nil
    public init(id: String, verdict: Verdict, reason: String = "", checks: [Check] = [],
                divergences: [Divergence] = [], pageMap: [String] = [], retries: Int = 0, seconds: Double = 0) {
        self.id = id; self.verdict = verdict; self.reason = reason; self.checks = checks
        self.divergences = divergences; self.pageMap = pageMap; self.retries = retries; self.seconds = seconds
    }
}
