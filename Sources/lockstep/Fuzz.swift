import ArgumentParser
import Foundation
import KernelInterface
import MlockModel
import Scenarios

extension Lockstep {
    struct Fuzz: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Random op sequences on the kernel and the model in lockstep; divergences shrunk to replayable cases and C programs.",
            discussion: """
                Each sequence runs in a fresh agent over an arena of private, shared, memfd and \
                regular-file mappings; every op is settled and every observable compared. The seed \
                is printed; the same seed replays the same sequences. A divergence is confirmed, \
                shrunk (same op kind and observable), and saved as <out>/<name>.json (./run.sh \
                replay FILE) and <name>.c (cc, exits 1 on the divergence). The run lock is given \
                up between live runs every few seconds (each run settles and takes its baseline \
                afresh), so other runs are not kept waiting. A divergence that shows a kernel \
                behaviour already written up (docs/fuzz/, README "Fuzzing": the lost mlock, \
                coalesced mlock events, the 6.16+ DONTUNMAP locked_vm leak) is reported as \
                known, with its write-up, and not shrunk; --strict treats it as any other. \
                Exit 0 no unexplained divergence, 1 one (or an error), 2 usage.
                """)

        @ParentCommand var parent: Lockstep
        @OptionGroup var local: GlobalOptions

        @Option(help: ArgumentHelp("Seed (decimal or 0x hex; default: from the clock).", valueName: "seed"))
        var seed: String?
        @Option(help: ArgumentHelp("Stop after this many verified ops.", valueName: "N")) var steps: Int?
        @Option(help: ArgumentHelp("Stop after this many seconds (default 10 when --steps is not given).", valueName: "T"))
        var time: Double?
        @Option(help: ArgumentHelp("Ops per sequence.", valueName: "N")) var length = 60
        @Option(help: ArgumentHelp("Where found cases go.", valueName: "dir")) var out = "results/fuzz"
        @Flag(help: "Do not shrink divergences.") var noShrink = false
        @Flag(help: "Stop at the first divergence.") var stopAtFirst = false
        @Flag(help: "Report divergences that show a known, written-up kernel behaviour as unexplained (shrunk, exit 1).") var strict = false
        @Flag(help: "Run the concurrency stress instead: processes and threads racing mlock, munlock, munmap, faults and fork, then checks at quiescence (README: Stress).") var stress = false
        @Option(help: ArgumentHelp("With --stress: racing processes (two threads each).", valueName: "N")) var workers = 4
        @Option(help: ArgumentHelp("With --stress: pages in each of the three arenas.", valueName: "N")) var arenaPages = 256
        @Flag(help: "Generate and run the sequences on the model alone (no kernel): finds model traps fast.") var modelOnly = false

        func validate() throws {
            if let s = seed, Fuzz.parseSeed(s) == nil { throw ValidationError("--seed wants a number (decimal or 0x hex)") }
            if let s = steps, s < 1 { throw ValidationError("--steps must be 1 or more") }
            if let t = time, t <= 0 { throw ValidationError("--time must be positive") }
            if workers < 1 || workers > 64 { throw ValidationError("--workers must be 1...64") }
            if arenaPages < 8 { throw ValidationError("--arena-pages must be 8 or more") }
            if length < 3 { throw ValidationError("--length must be 3 or more") }
        }

        static func parseSeed(_ s: String) -> UInt64? {
            s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
        }

        func run() throws {
            let options = local.merged(over: parent.global)
            if stress {
                let code = try StressRun.run(seconds: time ?? 10, workers: workers, pages: arenaPages, options: options)
                if code != 0 { throw ExitCode(code) }
                return
            }
            let seedValue = seed.flatMap(Fuzz.parseSeed) ?? UInt64(Date().timeIntervalSince1970 * 1e6)
            if modelOnly {
                let model = KernelModel(profile: options.forcedProfile ?? Profiles.choose(release: Host.uname.release).0,
                                        setup: ProcessSetup(foreign: [], memlockSoft: UAPI.RLIM_INFINITY,
                                                            memlockHard: UAPI.RLIM_INFINITY, capIpcLock: true))
                let generator = FuzzGenerator()
                let t0 = Date()
                var ops = 0, k = 0
                while Date().timeIntervalSince(t0) < (time ?? 10) && ops < (steps ?? Int.max) {
                    let s = Fuzzer.sequenceSeed(seedValue, k)
                    let seq = generator.sequence(seed: s, length: length, model: model)
                    Out.err("model-only: sequence \(k) seed 0x\(String(s, radix: 16))")
                    if getenv("LOCKSTEP_FUZZ_DUMP") != nil { for op in seq { Out.err("  \(op)") } }
                    ops += FuzzGenerator.runOnModel(seq, model: model)
                    k += 1
                }
                Out.line("fuzz --model-only: seed 0x\(String(seedValue, radix: 16)): \(k) sequences, \(ops) ops, no trap")
                return
            }
            let plan = FuzzPlan(seed: seedValue, maxSteps: steps, seconds: time ?? (steps == nil ? 10 : nil),
                                length: length, shrink: !noShrink, stopAtFirst: stopAtFirst, strict: strict)
            let code = try FuzzRun.run(plan, options: options, out: out)
            if code != 0 { throw ExitCode(code) }
        }
    }
}

/// A fuzz run from the command line: the run lock cycled between live runs (at most
/// `lockHold` seconds held), progress, saved cases.
enum FuzzRun {
    /// Hold the run lock at most this long, then give it up briefly (other helpers' runs
    /// poll it every 100 ms).
    static let lockHold = 4.0
    static let lockPause: useconds_t = 150_000

    static func run(_ plan: FuzzPlan, options: GlobalOptions, out: String) throws -> Int32 {
        var lock: RunLock? = try Suite.takeLock(options)
        defer { lock?.release() }
        let runner: LiveRunner
        switch Suite.makeRunner(options) {
        case .success(let r): runner = r
        case .failure(let e): Out.err("cannot start the live runner: \(e.description)"); return 1
        }
        let env = runner.environment
        let fuzzer = Fuzzer(runner: runner)
        let budget = [plan.maxSteps.map { "\($0) ops" }, plan.seconds.map { "\(ReportText.fixed($0, 0)) s" }]
            .compactMap { $0 }.joined(separator: ", ")
        Out.line("fuzz: seed 0x\(String(plan.seed, radix: 16)) (replay: ./run.sh fuzz --seed 0x\(String(plan.seed, radix: 16))\(plan.maxSteps.map { " --steps \($0)" } ?? "") --length \(plan.length)); budget \(budget); \(plan.length) ops per sequence")
        Out.line("fuzz: kernel \(env.kernelRelease), model profile \(env.profile)\(options.planted.isEmpty ? "" : ", PLANTED wrong rule: " + options.planted.map(\.rawValue).sorted().joined(separator: ","))"
                 + (env.pageLayerUnavailable.map { "; page layer not exact: \($0)" } ?? ""))
        Out.line("fuzz: ops: " + fuzzer.generator.table.map { "\($0.name)×\($0.weight)" }.joined(separator: " "))
        let clock = ContinuousClock()
        var held = clock.now
        var lastProgress = clock.now
        let start = clock.now
        var saved: [String] = []
        // Between live runs (sequences, confirmations, shrink steps), never inside one:
        // each run's session settles and takes its baseline after the lock is back.
        fuzzer.beforeRun = {
            if (clock.now - held).seconds >= lockHold {
                lock?.release()
                lock = nil
                usleep(lockPause)
                // Never run unlocked: wait again if another run holds it past --lock-wait.
                while lock == nil { lock = try? Suite.takeLock(options) }
                held = clock.now
            }
        }
        let summary = fuzzer.campaign(plan, progress: { s in
            if (clock.now - lastProgress).seconds >= 5 {
                lastProgress = clock.now
                Out.line("fuzz: \(ReportText.fixed((clock.now - start).seconds, 0)) s: \(s.sequences) sequences, \(s.steps) ops verified (\(ReportText.fixed(s.opsPerSecond, 0)) ops/s), \(s.unexplained.count) unexplained divergences, \(s.known.count) known, \(s.noise) noise retries")
            }
        }, found: { f in
            let d = f.shrunkDivergence
            if let k = f.known {
                Out.line("fuzz: known kernel behaviour \(k.id) in sequence \(f.sequence) (seed 0x\(String(f.sequenceSeed, radix: 16))) at step \(f.divergence.step), \(f.divergence.signature) (\(f.ops[f.divergence.step])): written up in \(k.writeUp)")
                for x in f.divergence.divergences { Out.line("  step \(x.step) \(x.observable): expected \(x.expected), observed \(x.observed)") }
                return
            }
            guard f.first else {
                Out.line("fuzz: divergence \(f.divergence.signature) again in sequence \(f.sequence) (seed 0x\(String(f.sequenceSeed, radix: 16))) at step \(f.divergence.step) (\(f.ops[f.divergence.step])):")
                for x in f.divergence.divergences { Out.line("  step \(x.step) \(x.observable): expected \(x.expected), observed \(x.observed)") }
                return
            }
            Out.line("fuzz: DIVERGENCE in sequence \(f.sequence) (seed 0x\(String(f.sequenceSeed, radix: 16))) at step \(f.divergence.step): \(f.divergence.signature); shrunk from \(f.ops.count) to \(f.shrunk.count) ops:")
            for (i, op) in f.shrunk.enumerated() { Out.line("  \(i): \(op)") }
            for x in d.divergences { Out.line("  step \(x.step) \(x.observable): expected \(x.expected), observed \(x.observed)") }
            Out.lines(d.pageMap.map { "  " + $0 })
            let c = FuzzCase(finding: f, runSeed: plan.seed, kernelRelease: env.kernelRelease, profile: env.profile,
                             planted: options.planted.map(\.rawValue).sorted())
            let name = "\(out)/\(Records.safeName(env.kernelRelease))-\(String(f.sequenceSeed, radix: 16))-\(d.signature.op)-\(d.signature.observable)"
            do {
                try Records.writeJSON(c, to: name + ".json")
                let src = CReproducer.source(c, model: fuzzer.reproducerModel)
                try Records.writeFile(Array(src.utf8), to: name + ".c")
                Out.line("  saved: \(name).json (./run.sh replay \(name).json) and \(name).c (cc -o repro \(name).c && ./repro)")
                saved.append(name)
            } catch {
                Out.err("could not save the case: \(Records.describe(error))")
            }
        })
        Out.line("fuzz: done in \(ReportText.fixed(summary.seconds, 1)) s: \(summary.sequences) sequences, \(summary.steps) ops verified, \(summary.checks) checks, \(ReportText.fixed(summary.opsPerSecond, 0)) verified ops/s; \(summary.unexplained.count) unexplained divergences (\(Set(summary.unexplained.map(\.divergence.signature)).count) distinct), \(summary.known.count) known kernel behaviours, \(summary.noise) noise retries, \(summary.errors.count) errors")
        let knownCounts = Dictionary(grouping: summary.known, by: { $0.known!.id })
        for (id, fs) in knownCounts.sorted(by: { $0.key < $1.key }) {
            Out.line("fuzz: known: \(id) ×\(fs.count) (sequences \(fs.map { String($0.sequence) }.joined(separator: ", "))): \(fs[0].known!.writeUp)")
        }
        for e in summary.errors.prefix(10) { Out.line("fuzz: error: \(e)") }
        Out.line("fuzz: seed 0x\(String(plan.seed, radix: 16))")
        return summary.unexplained.isEmpty && summary.errors.isEmpty ? 0 : 1
    }
}

extension Lockstep {
    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a saved fuzz case (JSON) on the kernel and the model.",
            discussion: "Plants the wrong model rules the case was found with, if any (and --plant). Exit 0 agree, 1 diverge.")

        @ParentCommand var parent: Lockstep
        @OptionGroup var local: GlobalOptions

        @Argument(help: ArgumentHelp("A case saved by fuzz.", valueName: "file")) var file: String
        @Flag(help: "Ignore the planted rules recorded in the case (run against the correct model).") var correctModel = false
        @Option(help: ArgumentHelp("Also write the case as a standalone C program (cc; exits 1 on the divergence) to this path.", valueName: "file.c"))
        var emitC: String?

        func run() throws {
            var options = local.merged(over: parent.global)
            let c: FuzzCase
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                c = try JSONDecoder().decode(FuzzCase.self, from: data)
            } catch {
                throw UsageError(message: "cannot read fuzz case \(file): \(error)")
            }
            if !correctModel, options.plant == nil, let p = c.planted.first {
                Out.line("replay: the case was found with the planted rule \(p): planting it again (--correct-model not to)")
                options.plant = p
            }
            let base = (file.split(separator: "/").last.map(String.init) ?? file)
                .replacingOccurrences(of: ".json", with: "").lowercased()
                .map { "abcdefghijklmnopqrstuvwxyz0123456789.-".contains($0) ? $0 : "-" }
            let scenario = c.scenario(id: "replay." + String(base))
            let lock = try Suite.takeLock(options)
            defer { lock.release() }
            if let path = emitC {
                // The expectations come from the model of an agent as it starts here (its
                // limits and capabilities), as the fuzzer's own C programs do.
                guard case .success(let runner) = Suite.makeRunner(options) else {
                    throw UsageError(message: "cannot start the live runner to write \(path)")
                }
                let fuzzer = Fuzzer(runner: runner)
                _ = fuzzer.sequence(seed: 0, length: 0)
                try Records.writeFile(Array(CReproducer.source(c, model: fuzzer.reproducerModel).utf8), to: path)
                Out.line("replay: wrote \(path) (cc -o repro \(path) && ./repro)")
            }
            let outcome = Suite.run([scenario], options: options, command: CommandLine.arguments)
            if outcome.exitCode != .pass { throw ExitCode(outcome.exitCode.rawValue) }
        }
    }
}
