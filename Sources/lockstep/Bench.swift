import ArgumentParser
import Foundation
import MlockModel
import Scenarios

/// One measured figure and its target.
struct BenchFigure: Codable {
    var name: String
    /// In `unit`; nil when not measured (see `note`).
    var value: Double?
    var p90: Double?
    var unit: String
    /// "<= 10 s", ">= 100"; nil for figures shown for information only.
    var target: String?
    var withinTarget: Bool?
    var note: String?
}

struct BenchRecord: Codable {
    var format = 1
    var runID: String
    var kernelRelease: String
    var uname: String
    var machine: RunRecord.Machine
    var root: Bool
    var startTime: String
    var figures: [BenchFigure]
}

extension Lockstep {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the whole suite and the observers' basic reads, against their targets.",
            discussion: """
                Runs the catalog --runs times (target: 100+ scenarios in <= 10 s a run), then times \
                settle(), one smaps+status reading of a small process, and a pagemap+kpageflags \
                read of a --region-mib region populated and locked with MAP_POPULATE|MAP_LOCKED \
                (scaled down to a quarter of MemAvailable when larger; root only). Writes \
                <results-dir>/<release>/bench-<run id>.json.
                """)

        @ParentCommand var parent: Lockstep
        @OptionGroup var local: GlobalOptions

        @Option(help: "Runs of the whole suite.") var runs = 3
        @Option(help: "Samples of each per-call figure.") var samples = 200
        @Option(help: ArgumentHelp("Size of the page-flags region, MiB.", valueName: "MiB")) var regionMib = 4096
        @Option(help: ArgumentHelp("Seconds of fuzzing, and as many of the C loop.", valueName: "seconds")) var fuzzSeconds = 5.0

        func validate() throws {
            guard runs >= 0, samples >= 1, regionMib >= 2 else {
                throw ValidationError("--runs must be >= 0, --samples >= 1, --region-mib >= 2")
            }
        }

        func run() throws {
            let options = local.merged(over: parent.global)
            let lock = try Suite.takeLock(options)
            defer { lock.release() }
            let start = Date()
            var figures: [BenchFigure] = []

            figures += suiteFigures(options)
            figures += fuzzFigures(options, seconds: fuzzSeconds)
            figures.append(BenchMeasure.perCall("settle(): drain + fold, median of \(samples)", samples: samples,
                                                targetMs: 1, BenchProbes.settle))
            figures.append(BenchMeasure.processRead(samples: samples, agentPath: options.agent))
            figures += BenchMeasure.pageFlags(requestedMiB: regionMib)

            let host = Host.uname
            let record = BenchRecord(runID: Host.runID(start), kernelRelease: host.release, uname: host.line,
                                     machine: Host.machine, root: Host.isRoot, startTime: Host.iso8601(start),
                                     figures: figures)
            Out.lines(BenchMeasure.table(figures))
            if !options.noRecord {
                let path = options.resultsDirectory + "/" + Records.safeName(host.release) + "/bench-\(record.runID).json"
                do {
                    try Records.writeJSON(record, to: path)
                    Out.line("record: \(path)")
                } catch {
                    Out.err("could not write \(path): \(Records.describe(error))")
                }
            }
            if let path = options.json {
                do { try Records.writeJSON(record, to: path) } catch { Out.err("could not write \(path): \(Records.describe(error))") }
            }
        }

        /// The whole catalog `runs` times through one runner: wall time of each run.
        func suiteFigures(_ options: GlobalOptions) -> [BenchFigure] {
            let scenarios = Catalog.all
            var out = [BenchFigure(name: "scenarios in the catalog", value: Double(scenarios.count), unit: "",
                                   target: ">= 100", withinTarget: scenarios.count >= 100)]
            let runner: LiveRunner
            switch Suite.makeRunner(options) {
            case .success(let r): runner = r
            case .failure(let e):
                out.append(BenchFigure(name: "suite wall time", unit: "s", target: "<= 10",
                                       note: "runner did not start: \(e.description)"))
                return out
            }
            let clock = ContinuousClock()
            for k in 0..<runs {
                let t0 = clock.now
                var tally = Tally()
                for s in scenarios { tally.add(runner.run(s).verdict) }
                let secs = (clock.now - t0).seconds
                out.append(BenchFigure(name: "suite wall time, run \(k + 1) of \(runs)", value: secs, unit: "s",
                                       target: "<= 10", withinTarget: secs <= 10, note: tally.summaryLine))
            }
            return out
        }
    }
}

/// The timing loops, the memory-safe region, and the table.
enum BenchMeasure {
    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func percentile(_ xs: [Double], _ p: Double) -> Double {
        let s = xs.sorted()
        return s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
    }

    /// Times `body` `samples` times (after one warm-up call), in ms.
    static func perCall(_ name: String, samples: Int, targetMs: Double, _ make: () throws -> () throws -> Void) -> BenchFigure {
        do {
            let body = try make()
            try body()
            let clock = ContinuousClock()
            var ms: [Double] = []
            ms.reserveCapacity(samples)
            for _ in 0..<samples {
                let t0 = clock.now
                try body()
                ms.append((clock.now - t0).seconds * 1000)
            }
            let m = median(ms)
            return BenchFigure(name: name, value: m, p90: percentile(ms, 0.9), unit: "ms",
                               target: "<= \(ReportText.fixed(targetMs, 1))", withinTarget: m <= targetMs)
        } catch {
            return BenchFigure(name: name, unit: "ms", target: "<= \(ReportText.fixed(targetMs, 1))", note: "\(error)")
        }
    }

    /// smaps + status of a small process (a lockstep-agent, which maps almost nothing).
    static func processRead(samples: Int, agentPath: String?) -> BenchFigure {
        let name = "smaps+status of a small process, median of \(samples)"
        do {
            let process = try BenchProbes.smallProcess(agentPath: agentPath)
            defer { process.stop() }
            return perCall(name, samples: samples, targetMs: 1) { try BenchProbes.processRead(pid: process.pid) }
        } catch {
            return BenchFigure(name: name, unit: "ms", target: "<= 1.0", note: "\(error)")
        }
    }

    /// Target for the page-flags read: 1 s per 4 GiB, scaled with the region (50 ms at least).
    static let pageFlagsSecondsPerGiB = 0.25

    /// Maps a region of at most a quarter of MemAvailable with MAP_POPULATE|MAP_LOCKED,
    /// times reading the flags of every page, checks they are all MLOCKED, unmaps it.
    static func pageFlags(requestedMiB: Int) -> [BenchFigure] {
        let requested = UInt64(requestedMiB) << 20
        var name = "pagemap+kpageflags of \(requestedMiB) MiB"
        guard Host.isRoot else {
            return [BenchFigure(name: name, unit: "s", note: "not measured: needs root (PFNs in pagemap, /proc/kpageflags)")]
        }
        guard let availKB = Host.meminfo("MemAvailable") else {
            return [BenchFigure(name: name, unit: "s", note: "not measured: no MemAvailable in /proc/meminfo")]
        }
        let quarter = availKB * 1024 / 4
        let twoMiB: UInt64 = 2 << 20
        var length = requested / twoMiB * twoMiB
        var note: String?
        if length > quarter {
            length = quarter / twoMiB * twoMiB
            note = "scaled down from \(requestedMiB) MiB to \(length >> 20) MiB: at most a quarter of MemAvailable (\(availKB / 1024) MiB)"
        }
        guard length > 0 else {
            return [BenchFigure(name: name, unit: "s", note: "not measured: MemAvailable (\(availKB) kB) too small")]
        }
        let pages = Int(length / pageSize)
        name = "pagemap+kpageflags of \(length >> 20) MiB (\(pages) pages)"
        let target = max(0.05, pageFlagsSecondsPerGiB * Double(length) / Double(1 << 30))
        let targetText = "<= \(ReportText.fixed(target, 2))"

        let clock = ContinuousClock()
        let t0 = clock.now
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | MAP_LOCKED
        guard let base = mmap(nil, Int(length), PROT_READ | PROT_WRITE, flags, -1, 0), base != MAP_FAILED else {
            return [BenchFigure(name: name, unit: "s", target: targetText,
                                note: "mmap(MAP_POPULATE|MAP_LOCKED) of \(length >> 20) MiB failed: \(String(cString: strerror(errno)))")]
        }
        defer { munmap(base, Int(length)) }
        let populate = (clock.now - t0).seconds
        var out = [BenchFigure(name: "  populate+lock of that region (MAP_POPULATE|MAP_LOCKED)", value: populate,
                               unit: "s", note: "for information")]
        do {
            let t1 = clock.now
            let counts = try BenchProbes.mlockedPages(address: UInt64(UInt(bitPattern: base)), pages: pages)
            let secs = (clock.now - t1).seconds
            var n = [note, "\(counts.mlocked) of \(pages) pages MLOCKED"].compactMap { $0 }.joined(separator: "; ")
            let allLocked = counts.mlocked == pages
            if !allLocked { n += " (expected all; 6.1 marks only the head page of a THP)" }
            out.insert(BenchFigure(name: name, value: secs, unit: "s", target: targetText,
                                   withinTarget: secs <= target && allLocked, note: n), at: 0)
        } catch {
            out.insert(BenchFigure(name: name, unit: "s", target: targetText, note: "\(error)"), at: 0)
        }
        return out
    }

    static func table(_ figures: [BenchFigure]) -> [String] {
        let rows: [[String]] = figures.map { f in
            let value: String
            if let v = f.value {
                let digits = f.unit == "" ? 0 : (v < 10 ? 3 : 2)
                value = ReportText.fixed(v, digits) + (f.unit.isEmpty ? "" : " \(f.unit)")
                    + (f.p90.map { " (p90 \(ReportText.fixed($0, 3)))" } ?? "")
            } else {
                value = "-"
            }
            let target = f.target.map { $0 + (f.unit.isEmpty ? "" : " \(f.unit)") } ?? ""
            let verdict: String
            switch f.withinTarget {
            case .some(true): verdict = "ok"
            case .some(false): verdict = "MISSED"
            case .none: verdict = f.target == nil ? "" : "not measured"
            }
            return [f.name, value, target, verdict, f.note ?? ""]
        }
        let header = ["figure", "measured", "target", "", "note"]
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(widths[i]) }
                .joined(separator: "  ").trailingSpacesTrimmed
        }
        return [line(header)] + rows.map(line)
    }
}

extension String {
    var trailingSpacesTrimmed: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
