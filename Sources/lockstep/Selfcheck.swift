import ArgumentParser
import Foundation
import KernelInterface
import KernelObserver
import MlockModel
import Scenarios

/// `selfcheck`: the suite's power. The whole catalog runs once per simulated kernel bug
/// (a seccomp filter in every scenario process: a syscall that lies), once with a wrong
/// rule planted in the model, and settle runs under a lying move_pages. Each row must end
/// as expected: caught (the suite fails, naming the scenarios), skipped rightly (a
/// kernel that truly lacks a feature makes the scenarios that need it skip), or, for the
/// controls, passed. Exit 0 when every row did, 1 otherwise.
struct Selfcheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the suite against simulated kernel bugs and a planted model bug; report what it catches.")

    @ParentCommand var parent: Lockstep
    @OptionGroup var local: GlobalOptions

    @Argument(help: ArgumentHelp("Only these rows (simulated bug names, plant:RULE, settle:NAME); all by default.",
                                 valueName: "row"))
    var rows: [String] = []

    func run() throws {
        let options = local.merged(over: parent.global)
        var chosen = SelfcheckRow.all
        if !rows.isEmpty {
            chosen = try rows.map { name in
                guard let r = SelfcheckRow.all.first(where: { $0.name == name }) else {
                    throw UsageError(message: "unknown selfcheck row '\(name)' (one of \(SelfcheckRow.all.map(\.name).joined(separator: ", ")))")
                }
                return r
            }
            // The control always runs first: the rows are judged against it.
            if !rows.contains("control") { chosen.insert(SelfcheckRow.all[0], at: 0) }
        }
        let lock = try Suite.takeLock(options)
        defer { lock.release() }
        let startDate = Date()
        let clock = ContinuousClock()
        let started = clock.now
        let release = Host.uname.release
        Out.line("lockstep selfcheck: kernel \(release); the whole catalog (\(Catalog.all.count) scenarios) per row")
        var outcomes: [SelfcheckOutcome] = []
        // Scenarios that fail without any simulated bug prove nothing about one.
        var baseline = Set<String>()
        for row in chosen {
            let o = row.run(options, baseline: baseline)
            if row.name == "control" { baseline = Set(o.failed + o.errored.map { String($0.prefix(while: { $0 != ":" })) }) }
            outcomes.append(o)
            Out.line(o.line)
        }
        let record = SelfcheckRecord(runID: Host.runID(startDate), kernelRelease: release, startTime: Host.iso8601(startDate),
                                     durationSeconds: (clock.now - started).seconds, scenarios: Catalog.all.count,
                                     rows: outcomes)
        Out.lines(record.footer)
        if !options.noRecord {
            let dir = options.resultsDirectory + "/" + Records.safeName(release)
            let path = dir + "/selfcheck-\(record.runID).json"
            do {
                try Records.writeJSON(record, to: path)
                Out.line("record: \(path)")
            } catch {
                Out.err("could not write the selfcheck record: \(Records.describe(error)) (use --results-dir or --no-record)")
            }
        }
        if let path = options.json {
            do { try Records.writeJSON(record, to: path) } catch { Out.err("could not write \(path): \(Records.describe(error))") }
        }
        if !record.allAsExpected { throw ExitCode(KselftestExit.fail.rawValue) }
    }
}

/// What a row must end as.
enum SelfcheckExpectation: Codable, Equatable {
    /// A control: the suite passes.
    case pass
    /// The suite fails.
    case caught
    /// The scenarios needing a feature skip with a reason containing this text, and nothing fails.
    case skipped(String)
    /// settle detects that its drain did nothing, and says so.
    case settleNotices

    var label: String {
        switch self {
        case .pass: return "pass"
        case .caught: return "caught"
        case .skipped: return "skipped rightly"
        case .settleNotices: return "settle notices"
        }
    }
}

struct SelfcheckRow {
    enum Kind { case suite(simulate: String?, plant: PlantedRule?), settle(simulate: String?) }
    var name: String
    var summary: String
    var kind: Kind
    var expected: SelfcheckExpectation

    /// What a real kernel does, per simulated bug: a feature a kernel truly lacks (an old
    /// kernel) makes its scenarios skip; every other lie must fail the suite.
    static func expectation(_ simulation: String) -> SelfcheckExpectation {
        switch simulation {
        case "control-filter": return .pass
        case "mlock2-onfault-einval": return .skipped("kernel lacks MLOCK_ONFAULT")
        case "mlock2-enosys": return .skipped("kernel lacks mlock2")
        case "madvise-hugepage-einval": return .skipped("kernel lacks transparent huge pages")
        default: return .caught
        }
    }

    static var all: [SelfcheckRow] {
        [SelfcheckRow(name: "control", summary: "no simulated bug: the suite must pass, or no other row means anything",
                      kind: .suite(simulate: nil, plant: nil), expected: .pass)]
        + Simulations.all.map {
            SelfcheckRow(name: $0.name, summary: $0.summary, kind: .suite(simulate: $0.name, plant: nil),
                         expected: expectation($0.name))
        }
        + PlantedRule.allCases.map {
            SelfcheckRow(name: "plant:\($0.rawValue)", summary: "a wrong rule planted in the model: the comparison must notice",
                         kind: .suite(simulate: nil, plant: $0), expected: .caught)
        }
        + [SelfcheckRow(name: "settle:control", summary: "settle in a process under a filter that breaks nothing: drains by move_pages",
                        kind: .settle(simulate: "control-filter"), expected: .pass),
           SelfcheckRow(name: "settle:move-pages-noop", summary: "settle in a process whose move_pages lies: must notice and say so",
                        kind: .settle(simulate: "move-pages-noop"), expected: .settleNotices)]
    }

    func run(_ options: GlobalOptions, baseline: Set<String>) -> SelfcheckOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        var o: SelfcheckOutcome
        switch kind {
        case let .suite(simulate, plant):
            o = runSuite(options, simulate: simulate, plant: plant, baseline: baseline)
        case let .settle(simulate):
            o = runSettle(simulate: simulate)
        }
        o.seconds = (clock.now - started).seconds
        return o
    }

    private func runSuite(_ options: GlobalOptions, simulate: String?, plant: PlantedRule?,
                          baseline: Set<String>) -> SelfcheckOutcome {
        var o = SelfcheckOutcome(name: name, summary: summary, expected: expected)
        let runner: LiveRunner
        do {
            runner = try LiveRunner(options: RunnerOptions(profile: options.forcedProfile, agentPath: options.agent,
                                                           planted: plant.map { [$0] } ?? [], simulate: simulate))
        } catch {
            // The runner could not start: the machinery noticed something (a lying helper
            // call), and the suite would exit 1. Caught, saying how.
            o.errored = ["(runner) \(error)"]
            o.judge()
            return o
        }
        o.featuresMissing = runner.environment.features.missing
        for s in Catalog.all {
            let r = runner.run(s)
            if baseline.contains(s.id) && (r.verdict == .fail || r.verdict == .error) {
                o.failingWithoutBug.append(s.id)
                continue
            }
            switch r.verdict {
            case .fail: o.failed.append(s.id)
            case .error: o.errored.append(s.id + ": " + r.reason)
            case .skip: o.skipReasons[r.reason, default: 0] += 1
            case .pass: o.passed += 1
            case .xfail: o.xfailed += 1
            }
        }
        o.judge()
        return o
    }

    /// settle() in a child process (`lockstep settle-check`) that installs the filter in
    /// itself: the runner's own settle stays unfiltered.
    private func runSettle(simulate: String?) -> SelfcheckOutcome {
        var o = SelfcheckOutcome(name: name, summary: summary, expected: expected)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Kernel.executablePath() ?? CommandLine.arguments[0])
        p.arguments = ["settle-check"] + (simulate.map { ["--under", $0] } ?? [])
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do {
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            o.settleReport = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            o.settleExit = p.terminationStatus
        } catch {
            o.settleReport = "could not run settle-check: \(error)"
            o.settleExit = -1
        }
        o.judge()
        return o
    }
}

/// One row's result.
struct SelfcheckOutcome: Codable {
    var name: String
    var summary: String
    var expected: SelfcheckExpectation
    /// caught, skipped rightly, passed, missed, failed, or not noticed.
    var verdict = ""
    var asExpected = false
    var failed: [String] = []
    var errored: [String] = []
    var passed = 0
    var xfailed = 0
    var skipReasons: [String: Int] = [:]
    var featuresMissing: [String] = []
    /// Failed here and in the control too: not counted for this row.
    var failingWithoutBug: [String] = []
    var settleReport: String?
    var settleExit: Int32?
    var seconds = 0.0

    init(name: String, summary: String, expected: SelfcheckExpectation) {
        self.name = name; self.summary = summary; self.expected = expected
    }

    mutating func judge() {
        let broke = !failed.isEmpty || !errored.isEmpty
        switch expected {
        case .pass where settleExit != nil:
            asExpected = settleExit == 0 && (settleReport ?? "").contains("method=move_pages")
            verdict = asExpected ? "passed" : "settle did not drain by move_pages"
        case .pass:
            asExpected = !broke
            verdict = broke ? "FAILED" : "passed"
        case .caught:
            asExpected = broke
            verdict = broke ? "caught" : "MISSED"
        case let .skipped(why):
            let skipped = skipReasons.filter { $0.key.contains(why) }.values.reduce(0, +)
            asExpected = !broke && skipped > 0
            verdict = broke ? "FAILED instead of skipping" : skipped > 0 ? "skipped rightly" : "MISSED"
        case .settleNotices:
            // settle-check exits 0 only when settle reported that move_pages did not drain
            // and drained another way (or refused): see SettleCheck.
            asExpected = settleExit == 0
            verdict = asExpected ? "caught" : "NOT NOTICED"
        }
    }

    var skipped: Int { skipReasons.values.reduce(0, +) }

    /// The scenarios that show it, briefly.
    var evidence: String {
        if let report = settleReport { return report.split(separator: "\n").last.map(String.init) ?? "" }
        func few(_ ids: [String]) -> String {
            ids.count <= 3 ? ids.joined(separator: ", ") : ids.prefix(3).joined(separator: ", ") + ", ..."
        }
        var parts: [String] = []
        if !failed.isEmpty { parts.append("\(failed.count) failed: \(few(failed))") }
        if !errored.isEmpty { parts.append("\(errored.count) errors: \(few(errored))") }
        if case let .skipped(why) = expected {
            let n = skipReasons.filter { $0.key.contains(why) }.values.reduce(0, +)
            parts.append("\(n) skipped (\(why))")
        }
        if parts.isEmpty { parts.append("\(passed) passed, \(skipped) skipped") }
        return parts.joined(separator: "; ")
    }

    var line: String {
        "\(asExpected ? "ok    " : "NOT OK") \(name.padding(34)) \(verdict.padding(16)) \(evidence)  [\(String(format: "%.1f", seconds)) s]"
    }
}

struct SelfcheckRecord: Codable {
    var runID: String
    var kernelRelease: String
    var startTime: String
    var durationSeconds: Double
    var scenarios: Int
    var rows: [SelfcheckOutcome]

    var allAsExpected: Bool { rows.allSatisfy(\.asExpected) }

    /// Simulated bugs and planted rules (controls aside): how many were caught or rightly skipped.
    var mutationScore: (killed: Int, total: Int) {
        let bugs = rows.filter { $0.expected != .pass }
        return (bugs.filter(\.asExpected).count, bugs.count)
    }

    var footer: [String] {
        let s = mutationScore
        let caught = rows.filter { $0.expected != .pass && $0.asExpected && $0.verdict == "caught" }.count
        let skipped = rows.filter { $0.asExpected && $0.verdict == "skipped rightly" }.count
        let bad = rows.filter { !$0.asExpected }.map(\.name)
        return ["mutation score: \(s.killed)/\(s.total) (\(caught) caught, \(skipped) skipped rightly)"
                + (bad.isEmpty ? "" : "; not as expected: \(bad.joined(separator: ", "))")
                + String(format: "; %.1f s", durationSeconds)]
    }
}

/// `settle-check`: installs a simulated bug in this process, then settles, and says what
/// settle did. Exit 0 when settle told the truth: under a lying move_pages it must report
/// that move_pages did not drain (and drain by compact_memory, or not at all); otherwise
/// it must drain by move_pages.
struct SettleCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settle-check", abstract: "Settle under a simulated bug and report what settle did (selfcheck).",
        shouldDisplay: false)

    // Not --simulate: that one belongs to the parent's options (the scenario processes).
    @Option(help: ArgumentHelp("The simulated bug to install in this process first.", valueName: "name"))
    var under: String?

    func run() throws {
        if let name = under {
            guard Simulations.names.contains(name) else { throw UsageError(message: "unknown simulated bug '\(name)'") }
            try Simulations.install(name)
        }
        let lying = under == "move-pages-noop"
        let settler = try Settler()
        let report = try settler.settle()
        Out.line("drained=\(report.drained) method=\(report.drainMethod.rawValue) folded=\(report.folded)"
                 + (report.why.map { " why=\"\($0)\"" } ?? ""))
        let noticed = report.drainMethod != .movePages && (report.why ?? "").contains("move_pages")
        if lying ? !noticed : report.drainMethod != .movePages { throw ExitCode(1) }
    }
}
