import Glibc
import Testing
import KernelInterface
import Scenarios

/// Every catalog scenario on the live kernel, each in its own lockstep-agent process,
/// compared step by step with the model. Serialized: scenarios read global counters.
@Suite("Live kernel", .serialized)
struct LiveKernelTests {
    /// The machine-wide run lock (the one ./run.sh takes), held for the whole test
    /// process, then the runner.
    static let runner = Result { () throws -> LiveRunner in
        _ = try lock.get()
        return try LiveRunner()
    }
    static let lock = Result { () throws -> RunLock in
        let lock = try RunLock(waitSeconds: 300) { print("lockstep tests: \($0)") }
        for line in SettingsJournal.shared.recover() { print("lockstep tests: an interrupted run left this behind: \(line)") }
        atexit { for line in SettingsJournal.shared.undoAll() { print("lockstep tests: \(line)") } }
        return lock
    }

    @Test("scenario agrees with the model at every step", arguments: Catalog.all.map(\.id))
    func scenario(_ id: String) throws {
        let runner = try Self.runner.get()
        let scenario = try #require(Catalog.scenario(id: id))
        let result = runner.run(scenario)
        switch result.verdict {
        case .pass:
            let made = result.checks.filter { $0.skipped == nil }
            // A pass must rest on checks that were really made, one set per step at least.
            #expect(made.count >= scenario.steps.count, "\(id): only \(made.count) checks made")
            let skipped = Set(result.checks.compactMap(\.skipped))
            if !skipped.isEmpty { print("\(id): checks skipped: \(skipped.sorted().joined(separator: "; "))") }
        case .skip:
            // The console reporter does not show a cancelled case's comment: say it too.
            print("\(id) skipped: \(result.reason)")
            try Test.cancel("\(id) skipped: \(result.reason)")
        case .xfail:
            // The kernel diverged exactly as a known kernel bug does: a known issue.
            withKnownIssue("\(id): \(result.reason)") {
                Issue.record(Comment(rawValue: result.divergences.map { "\($0.observable): expected \($0.expected), observed \($0.observed)" }
                    .joined(separator: "; ")))
            }
        case .fail, .error:
            let table: [String] = result.divergences.map {
                "step \($0.step) \($0.op): \($0.observable) expected \($0.expected), observed \($0.observed)"
            }
            let detail = (table + result.pageMap).joined(separator: "\n")
            Issue.record("\(id) \(result.verdict.rawValue): \(result.reason)\n\(detail)")
        }
    }

    @Test("the catalog has 100+ scenarios with unique ids, each with steps and a summary")
    func catalogShape() {
        let ids = Catalog.all.map(\.id)
        #expect(ids.count >= 100)
        #expect(Set(ids).count == ids.count)
        for s in Catalog.all {
            #expect(!s.steps.isEmpty, "\(s.id) has no steps")
            #expect(!s.summary.isEmpty, "\(s.id) has no summary")
        }
    }
}
