import MlockModel

/// Every scenario of the default live suite, in run order: the reference suites first
/// (kernel selftests, LTP, gVisor), then the edges beyond them. docs/coverage.md maps
/// each reference test case to the scenarios that cover it.
public enum Catalog {
    public static let all: [Scenario] =
        SelftestsMlock2.scenarios
        + SelftestsMlockRandom.scenarios
        + SelftestsOnFaultLimit.scenarios
        + LTPMlock.scenarios
        + LTPMlockall.scenarios
        + GVisorMlock.scenarios
        + Edges.scenarios
        + EdgesMsync.scenarios
        + Fork.scenarios
        + ForkBoth.scenarios
        + SharedLocks.scenarios
        + UnlockOrders.scenarios
        + Teardown.scenarios
        + Limits.scenarios
        + SysV.scenarios
        + Files.scenarios
        + Migration.scenarios
        + THP.scenarios
        + THPFile.scenarios
        + Lazy.scenarios
        + FuzzCases.scenarios

    private static let byID: [String: Scenario] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

    public static func scenario(id: String) -> Scenario? { byID[id] }

    /// Problems with the catalog itself (duplicate or malformed ids, empty scenarios,
    /// missing summaries); empty when it is sound. Cheap: meant for a unit test.
    public static func problems() -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        for s in all {
            if !seen.insert(s.id).inserted { out.append("duplicate id \(s.id)") }
            if s.id.isEmpty || !s.id.allSatisfy(allowed.contains) || s.id.hasPrefix(".") || s.id.hasSuffix(".")
                || s.id.contains("..") {
                out.append("malformed id \(s.id)")
            }
            if s.summary.isEmpty || s.summary.contains("\n") { out.append("\(s.id): summary must be one line") }
            if s.steps.isEmpty { out.append("\(s.id): no steps") }
            for step in s.steps {
                if case let .map(addr, length, _, _, _) = step.op,
                   !(Arena.contains(addr) && Arena.contains(addr + length - 1)) {
                    out.append("\(s.id): mapping outside the arena")
                }
            }
        }
        return out
    }
}
