import ArgumentParser
import Glibc
import KernelInterface
import MlockModel
import Scenarios

/// The entry point: parses, runs, and maps errors to kselftest-style exit codes.
/// Usage errors (bad flag, bad value, unknown scenario) print one line on stderr and
/// exit 2; --help exits 0; everything else exits with the command's own code.
@main
enum Main {
    static func main() {
        do {
            var command = try Lockstep.parseAsRoot()
            try command.run()
        } catch let e as UsageError {
            Out.err(e.message)
            exit(2)
        } catch {
            if Lockstep.exitCode(for: error) == .validationFailure {
                let oneLine = Lockstep.message(for: error).split(whereSeparator: \.isNewline).joined(separator: "; ")
                Out.err("\(oneLine) (see --help)")
                exit(2)
            }
            Lockstep.exit(withError: error)
        }
    }
}

/// A usage error found after parsing (an unknown scenario id): one line, exit 2.
struct UsageError: Error {
    var message: String
}

struct Lockstep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockstep",
        abstract: "Checks the live kernel's locked-memory accounting against a reference model, scenario by scenario.",
        discussion: """
            Without a subcommand, runs the whole catalog. Exit status follows kselftest: \
            0 all passed (skips allowed), 1 a scenario failed or could not run, 4 everything \
            skipped (or another run held the lock too long), 2 usage error.
            """,
        subcommands: [Run.self, List.self, Bench.self, Selfcheck.self, SettleCheck.self, Report.self, Fuzz.self, Replay.self],
        defaultSubcommand: Run.self)

    @OptionGroup var global: GlobalOptions
}

/// Options every subcommand takes, before or after the subcommand's name.
struct GlobalOptions: ParsableArguments {
    @Flag(help: "Print KTAP v1 on stdout instead of the table.")
    var ktap = false

    @Option(help: ArgumentHelp("Force the model profile instead of choosing by uname.",
                               valueName: KernelProfile.allCases.map(\.rawValue).joined(separator: "|")))
    var profile: String?

    @Option(help: ArgumentHelp("Also write the run record (JSON) to this path.", valueName: "path"))
    var json: String?

    @Option(help: ArgumentHelp("Where run records go (default: results).", valueName: "dir"))
    var resultsDir: String?

    @Flag(help: "Write no record under the results directory.")
    var noRecord = false

    @Option(help: ArgumentHelp("Seconds to wait for another run's lock (default: 120).", valueName: "seconds"))
    var wait: Int?

    @Flag(help: "Fail at once (exit 4) if another run holds the lock.")
    var noWait = false

    @Option(help: ArgumentHelp("Path of lockstep-agent (default: next to lockstep).", valueName: "path"))
    var agent: String?

    @Option(help: ArgumentHelp("Plant a deliberately wrong model rule: the run must then fail (a self-check that the comparison compares).",
                               valueName: PlantedRule.allCases.map(\.rawValue).joined(separator: "|")))
    var plant: String?

    @Option(help: ArgumentHelp("Run every scenario process under a simulated kernel bug (a seccomp filter; see `selfcheck`).",
                               valueName: "name"))
    var simulate: String?

    func validate() throws {
        if let p = profile, KernelProfile(rawValue: p) == nil {
            throw ValidationError("unknown profile '\(p)' (one of \(KernelProfile.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let w = wait, w < 0 { throw ValidationError("--wait must be 0 or more seconds") }
        if let p = plant, PlantedRule(rawValue: p) == nil {
            throw ValidationError("unknown planted rule '\(p)' (one of \(PlantedRule.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let s = simulate, !Simulations.names.contains(s) {
            throw ValidationError("unknown simulated bug '\(s)' (one of \(Simulations.names.joined(separator: ", ")))")
        }
    }

    /// These options given after the subcommand win over those given before it.
    func merged(over parent: GlobalOptions) -> GlobalOptions {
        var m = self
        m.ktap = ktap || parent.ktap
        m.profile = profile ?? parent.profile
        m.json = json ?? parent.json
        m.resultsDir = resultsDir ?? parent.resultsDir
        m.noRecord = noRecord || parent.noRecord
        m.wait = wait ?? parent.wait
        m.noWait = noWait || parent.noWait
        m.agent = agent ?? parent.agent
        m.plant = plant ?? parent.plant
        m.simulate = simulate ?? parent.simulate
        return m
    }

    var forcedProfile: KernelProfile? { profile.flatMap(KernelProfile.init(rawValue:)) }
    var planted: Set<PlantedRule> { Set(plant.flatMap(PlantedRule.init(rawValue:)).map { [$0] } ?? []) }
    var resultsDirectory: String { resultsDir ?? "results" }
    var lockWait: Int { noWait ? 0 : (wait ?? 120) }
}

extension Lockstep {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run scenarios (all of them when no id is given).",
            discussion: "An ID may also name a family: 'selftests.mlock2' runs every 'selftests.mlock2.*' scenario.")

        @ParentCommand var parent: Lockstep
        @OptionGroup var local: GlobalOptions

        @Argument(help: ArgumentHelp("Scenario ids (see `list`).", valueName: "id"))
        var ids: [String] = []

        func run() throws {
            let options = local.merged(over: parent.global)
            let scenarios = try Selection.resolve(ids)
            let lock = try Suite.takeLock(options)
            defer { lock.release() }
            let outcome = Suite.run(scenarios, options: options, command: CommandLine.arguments)
            if outcome.exitCode != .pass { throw ExitCode(outcome.exitCode.rawValue) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the scenarios of the catalog.")

        @ParentCommand var parent: Lockstep
        @OptionGroup var local: GlobalOptions

        @Flag(name: .shortAndLong, help: "Also show each scenario's summary, what it covers and needs.")
        var verbose = false

        /// One id per line (so that `list | xargs ./run.sh run` works); -v adds the rest.
        func run() throws {
            let all = Catalog.all
            guard verbose else {
                for s in all { Out.line(s.id) }
                return
            }
            let width = all.map(\.id.count).max() ?? 0
            let indent = String(repeating: " ", count: width + 2)
            for s in all {
                var needs: [String] = []
                if s.requirements.contains(.root) { needs.append("root") }
                if s.requirements.contains(.pageLayer) { needs.append("page layer") }
                let tag = needs.isEmpty ? "" : "  [needs \(needs.joined(separator: ", "))]"
                Out.line(s.id.padding(width) + "  " + s.summary + tag)
                if !s.covers.isEmpty { Out.line(indent + "covers: " + s.covers.joined(separator: ", ")) }
                Out.line(indent + "\(s.steps.count) steps")
            }
            Out.line("\(all.count) scenario\(all.count == 1 ? "" : "s")")
        }
    }
}

/// Turns ids given on the command line into scenarios, in the order given.
enum Selection {
    static func resolve(_ ids: [String]) throws -> [Scenario] {
        if ids.isEmpty { return Catalog.all }
        var chosen: [Scenario] = []
        var seen = Set<String>()
        for id in ids {
            var matched: [Scenario]
            if let s = Catalog.scenario(id: id) {
                matched = [s]
            } else {
                let prefix = id.hasSuffix(".") ? id : id + "."
                matched = Catalog.all.filter { $0.id.hasPrefix(prefix) }
            }
            guard !matched.isEmpty else { throw UsageError(message: "unknown scenario '\(id)' (see ./run.sh list)") }
            for s in matched where seen.insert(s.id).inserted { chosen.append(s) }
        }
        return chosen
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
