import ArgumentParser
import Foundation
import Scenarios

extension Lockstep {
    /// `report`: runs of several kernels side by side (markdown on stdout, an HTML page).
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare runs of several kernels: scenario by kernel, with the observables that differ.",
            discussion: """
                Without arguments, takes for each kernel under the results directory its newest run \
                (a host run or a VM run, with the VM's verdict when the guest sent no record), or its \
                reference.json when it has no run. A RUN is a run directory or a record/summary/reference JSON.
                """)

        @ParentCommand var parent: Lockstep
        @OptionGroup var local: GlobalOptions

        @Argument(help: ArgumentHelp("Runs to compare (default: the newest of each kernel).", valueName: "run"))
        var runs: [String] = []

        @Option(help: ArgumentHelp("Where to write the HTML page (default: <results dir>/report.html).", valueName: "path"))
        var html: String?

        @Flag(help: "Use each kernel's committed reference.json even when it has newer runs.")
        var references = false

        func run() throws {
            let options = local.merged(over: parent.global)
            let dir = options.resultsDirectory
            var chosen: [ComparedRun] = []
            if runs.isEmpty {
                let releases = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted(by: Self.versionOrder)
                for rel in releases where Self.isDirectory(dir + "/" + rel) {
                    if let r = Self.newest(in: dir + "/" + rel, referenceOnly: references) { chosen.append(r) }
                }
                guard !chosen.isEmpty else { throw UsageError(message: "no runs under \(dir)/ (run ./run.sh, or ./run.sh vm --kernel K, first)") }
            } else {
                for path in runs {
                    guard let r = Self.load(path) else { throw UsageError(message: "\(path): not a run directory or a run record") }
                    chosen.append(r)
                }
            }
            let report = CompareReport(runs: chosen)
            Out.lines(report.markdown())
            let page = html ?? dir + "/report.html"
            do {
                try Records.writeFile(Array(report.html().utf8), to: page)
                Out.line("")
                Out.line("HTML: \(page)")
            } catch {
                Out.err("could not write \(page): \(Records.describe(error))")
                throw ExitCode(1)
            }
        }

        static func isDirectory(_ p: String) -> Bool {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
        }

        /// 6.1 before 6.12 before 6.18: numeric parts compared as numbers.
        static func versionOrder(_ a: String, _ b: String) -> Bool {
            let na = a.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            let nb = b.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            return na.lexicographicallyPrecedes(nb) || (na == nb && a < b)
        }

        /// The newest run of one kernel (run ids and vm-<time> names sort by time), else its reference.
        static func newest(in releaseDir: String, referenceOnly: Bool) -> ComparedRun? {
            if !referenceOnly {
                let runs = ((try? FileManager.default.contentsOfDirectory(atPath: releaseDir)) ?? [])
                    .filter { isDirectory(releaseDir + "/" + $0) }
                    .sorted { $0.replacingOccurrences(of: "vm-", with: "") > $1.replacingOccurrences(of: "vm-", with: "") }
                for r in runs { if let run = load(releaseDir + "/" + r) { return run } }
            }
            return load(releaseDir + "/reference.json")
        }

        /// A run from a directory (record.json or summary.json, plus vm.env) or a JSON file.
        static func load(_ path: String) -> ComparedRun? {
            if isDirectory(path) {
                let vm = readEnv(path + "/vm.env")
                let place = vm.isEmpty ? "host" : "vm (\(vm["accel"] ?? "qemu"))"
                var run = ["record.json", "summary.json"].lazy.compactMap { decode(path + "/" + $0, place: place) }.first
                if let status = vm["status"], status != "pass" && status != "fail" && status != "skip" || run == nil {
                    // The guest sent no record (or the kernel misbehaved): the VM's verdict rules.
                    let release = run?.kernelRelease ?? (path as NSString).deletingLastPathComponent.split(separator: "/").last.map(String.init) ?? "?"
                    var r = run ?? ComparedRun(kernelRelease: release, runID: (path as NSString).lastPathComponent, profile: "-",
                                               profileReason: "", status: "", note: "", place: place, seconds: nil, scenarios: [])
                    r.status = vm["status"] ?? "no-record"
                    r.note = vm["why"] ?? ""
                    run = r
                }
                if var r = run, let s = vm["seconds"].flatMap(Double.init) {
                    r.seconds = s   // a VM run: boot + suite, what its verdict cost
                    run = r
                }
                return run
            }
            return decode(path, place: path.hasSuffix("reference.json") ? "reference" : "host")
        }

        static func decode(_ path: String, place: String) -> ComparedRun? {
            guard let data = FileManager.default.contents(atPath: path),
                  let s = try? JSONDecoder().decode(ComparedRun.Stored.self, from: data) else { return nil }
            return ComparedRun(stored: s, place: place)
        }

        static func readEnv(_ path: String) -> [String: String] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
            var out: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                out[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            return out
        }
    }
}
