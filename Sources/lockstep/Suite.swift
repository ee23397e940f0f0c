import ArgumentParser
import Foundation
import KernelInterface
import MlockModel
import Scenarios

/// A run of scenarios: the runner, the live output (table or KTAP), and the record.
enum Suite {
    struct Outcome {
        var results: [ScenarioResult]
        var tally: Tally
        var exitCode: KselftestExit
        var recordPath: String?
    }

    /// Takes the machine-wide run lock, or exits 4 (kselftest's skip) with a message.
    /// Once it holds the lock, it undoes what a killed run left in the settings journal
    /// (saying what) and arranges for this run's own changes to be undone at any exit.
    static func takeLock(_ options: GlobalOptions) throws -> RunLock {
        let lock: RunLock
        do {
            lock = try RunLock(waitSeconds: options.lockWait) { Out.err($0) }
        } catch let e as RunLock.Failure {
            Out.err("\(e)")
            throw ExitCode(KselftestExit.skip.rawValue)
        }
        for line in SettingsJournal.shared.recover() {
            Out.err("an interrupted run left this behind: \(line)")
        }
        UndoAtExit.install()
        return lock
    }

    /// The live runner, or why it could not start.
    static func makeRunner(_ options: GlobalOptions) -> Result<LiveRunner, RunnerSetupError> {
        do {
            return .success(try LiveRunner(options: RunnerOptions(profile: options.forcedProfile, agentPath: options.agent, planted: options.planted,
                                                                   simulate: options.simulate)))
        } catch let e as RunnerSetupError {
            return .failure(e)
        } catch {
            return .failure(RunnerSetupError("\(error)"))
        }
    }

    static func run(_ scenarios: [Scenario], options: GlobalOptions, command: [String]) -> Outcome {
        let startDate = Date()
        let clock = ContinuousClock()
        let started = clock.now
        let host = Host.uname

        let runner: LiveRunner?
        var setupError: String?
        switch makeRunner(options) {
        case .success(let r): runner = r
        case .failure(let e):
            runner = nil
            setupError = e.description
            Out.err("cannot start the live runner: \(e.description)")
        }

        // What this run can check, from the runner when it started, else from the host.
        let env = runner?.environment
        let release = (env?.kernelRelease).flatMap { $0.isEmpty ? nil : $0 } ?? host.release
        let root = env?.root ?? Host.isRoot
        let (profile, profileReason): (String, String) = {
            if let e = env, !e.profile.isEmpty { return (e.profile, e.profileReason) }
            if let p = options.forcedProfile { return (p.rawValue, "forced by --profile") }
            let c = Profiles.choose(release: release)
            return (c.0.rawValue, c.1)
        }()
        let pageLayerWhy: String?
        if let env {
            pageLayerWhy = env.pageLayerUnavailable
        } else {
            pageLayerWhy = root ? "runner did not start" : "not root: no PFNs in pagemap, no kpageflags, no stat_refresh"
        }

        if let why = pageLayerWhy, setupError == nil {
            let needing = scenarios.filter { ($0.requirements.contains(.pageLayer) && env?.pageFlagsUnavailable != nil) || (!root && $0.requirements.contains(.root)) }.count
            if getenv("LOCKSTEP_ROOT_NOTED") != nil {
                // run.sh has said that root is needed; add only what it cannot know.
                if needing > 0 {
                    Out.err("\(needing) of \(scenarios.count) scenarios need root or the exact page layer and are skipped (\(why))")
                }
            } else if needing == 0 {
                Out.err("page layer not checked exactly (\(why)): its checks are marked not made." + (root ? "" : " Run as root for the exact page layer."))
            } else {
                Out.err("page layer not checked exactly (\(why)): \(needing) of \(scenarios.count) scenarios need root or the exact page layer and are skipped; "
                        + "the rest run with their page-layer checks marked not made." + (root ? "" : " Run as root for the exact page layer."))
            }
        }

        // Live output.
        let table = TableReport(ids: scenarios.map(\.id))
        let ktap = KTAPReport()
        var ktapText: [String] = []
        func emitKTAP(_ lines: [String]) {
            ktapText += lines
            if options.ktap { Out.lines(lines) }
        }
        // What this kernel lacks (its scenarios skip) and the simulated bug, if any.
        let notes = (env?.features.missing ?? []).map { "skipping the scenarios that need it: \($0)" }
            + (env?.simulated.map { ["simulated kernel bug in every scenario process: \($0)"] } ?? [])
        let probeLine: [String] = env.map { e in
            ["profile by uname -r: \(e.profileByRelease); by calibration probe: "
                + (e.profileProbe.map { ($0.profile?.rawValue ?? "undecided (\($0.consistent.map(\.rawValue).joined(separator: " or ")))") + " (\($0.summary), \(String(format: "%.1f", $0.milliseconds)) ms)" } ?? "not run")
                + "; chosen: \(profile)",
             "stable-backport facts: \(e.versionFacts.isEmpty ? "none" : e.versionFacts.joined(separator: ", ")) (\(e.versionFactsReason))"]
        } ?? []
        let warnings: [String] = env?.profileWarning.map { ["WARNING: \($0)"] } ?? []
        for w in warnings { Out.err(w) }
        let diagnostics = ["lockstep: kernel \(release), model profile \(profile) (\(profileReason))"]
            + probeLine + warnings
            + (pageLayerWhy.map { ["page layer not checked exactly: \($0)"] } ?? []) + notes
        emitKTAP(ktap.header(count: scenarios.count, diagnostics: diagnostics))
        if !options.ktap {
            Out.lines(TableReport.preamble(kernelRelease: release, profile: profile, profileReason: profileReason,
                                           pageLayerUnavailable: pageLayerWhy))
            Out.lines(probeLine)
            Out.lines(notes)
        }

        var results: [ScenarioResult] = []
        for (i, s) in scenarios.enumerated() {
            let r = runner?.run(s)
                ?? ScenarioResult(id: s.id, verdict: .error, reason: "runner did not start: \(setupError ?? "unknown")")
            results.append(r)
            emitKTAP(ktap.lines(for: r, number: i + 1, ops: s.steps.map(\.op)))
            if !options.ktap { Out.lines(table.lines(for: r, summary: s.summary)) }
        }

        if let why = runner?.settleFallback {
            Out.err("settle drained by compact_memory, not move_pages (slower, moves memory): \(why)")
        }
        let tally = Tally(results)
        let duration = (clock.now - started).seconds
        var record = RunRecord(
            runID: Host.runID(startDate), command: command, kernelRelease: release, uname: host.line,
            profile: profile, profileReason: profileReason, profileForced: options.forcedProfile != nil,
            machine: Host.machine, thp: Host.thp, root: root,
            pageLayer: RunRecord.PageLayerStatus(exact: pageLayerWhy == nil, kpageflags: env?.kpageflags ?? false,
                                                 statRefresh: env?.statRefresh ?? false, unavailable: pageLayerWhy),
            startTime: Host.iso8601(startDate), durationSeconds: duration, setupError: setupError, scenarios: results)
        record.durationSeconds = duration
        record.profileByRelease = env?.profileByRelease
        record.profileProbe = env?.profileProbe
        record.profileWarning = env?.profileWarning
        record.versionFacts = env?.versionFacts
        record.versionFactsReason = env?.versionFactsReason

        var recordPath: String?
        let footerDiagnostics: [String]
        if options.noRecord {
            footerDiagnostics = []
        } else {
            let dir = options.resultsDirectory + "/" + Records.safeName(release) + "/" + record.runID
            do {
                try Records.write(record, ktap: ktapText + ktap.footer(tally, diagnostics: ["record: \(dir)/record.json"]), to: dir)
                recordPath = dir + "/record.json"
            } catch {
                Out.err("could not write the run record: \(Records.describe(error)) (use --results-dir or --no-record)")
            }
            footerDiagnostics = recordPath.map { ["record: \($0)"] } ?? []
        }
        if let path = options.json {
            do { try Records.writeJSON(record, to: path) } catch { Out.err("could not write \(path): \(Records.describe(error))") }
        }

        if options.ktap {
            Out.lines(ktap.footer(tally, diagnostics: footerDiagnostics))
        } else {
            Out.lines(TableReport.footer(tally, recordPath: recordPath))
        }
        return Outcome(results: results, tally: tally, exitCode: tally.exitCode, recordPath: recordPath)
    }
}

/// Writing results/<release>/<run id>/{record.json,ktap.txt}, with plain syscalls so that
/// a failure reads "Permission denied", not a Foundation error domain.
enum Records {
    struct WriteError: Error, CustomStringConvertible {
        var path: String
        var errno: Int32
        var description: String { "\(path): \(String(cString: strerror(errno)))" }
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    static func write(_ record: RunRecord, ktap: [String], to dir: String) throws {
        try makeDirectories(dir)
        try writeJSON(record, to: dir + "/record.json")
        try writeJSON(RunSummary(record), to: dir + "/summary.json")
        try writeFile(Array((ktap.joined(separator: "\n") + "\n").utf8), to: dir + "/ktap.txt")
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]))
        }
        var data = [UInt8](try encoder().encode(value))
        data.append(0x0A)
        try writeFile(data, to: path)
    }

    /// mkdir -p.
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw WriteError(path: prefix, errno: errno) }
        }
    }

    /// Writes a temporary file beside `path`, then renames it over `path`.
    static func writeFile(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(path: tmp, errno: errno) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { let e = errno; close(fd); unlink(tmp); throw WriteError(path: tmp, errno: e) }
            done += n
        }
        guard close(fd) == 0 else { let e = errno; unlink(tmp); throw WriteError(path: tmp, errno: e) }
        guard rename(tmp, path) == 0 else { let e = errno; unlink(tmp); throw WriteError(path: path, errno: e) }
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? WriteError { return e.description }
        return "\(error)"
    }

    /// A kernel release as a directory name ("/" would nest).
    static func safeName(_ s: String) -> String {
        let t = String(s.map { $0 == "/" || $0 == "\0" ? "_" : $0 })
        return t.isEmpty || t == "." || t == ".." ? "unknown" : t
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
