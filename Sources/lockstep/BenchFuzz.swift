import Scenarios

extension Lockstep.Bench {
    /// Verified fuzz ops per second, the C loop's rate on the same ops, and their ratio.
    func fuzzFigures(_ options: GlobalOptions, seconds: Double) -> [BenchFigure] {
        let name = "fuzz: verified ops/s (each settled, every observable compared)"
        let runner: LiveRunner
        switch Suite.makeRunner(options) {
        case .success(let r): runner = r
        case .failure(let e): return [BenchFigure(name: name, unit: "ops/s", target: ">= 1000", note: "runner did not start: \(e.description)")]
        }
        let r = Fuzzer(runner: runner).bench(seed: 0xBE4C_5EED, seconds: seconds)
        let ratio = r.cRate > 0 ? r.fuzzRate / r.cRate : 0
        return [
            BenchFigure(name: name, value: r.fuzzRate, unit: "ops/s", target: ">= 1000", withinTarget: r.fuzzRate >= 1000,
                        note: "\(r.fuzzOps) ops in \(ReportText.fixed(r.fuzzSeconds, 1)) s, seed 0xbe4c5eed, 60 ops per agent; \(r.fuzzDivergences) divergences"),
            BenchFigure(name: "  C loop, the same ops: request + settle + the same reads, nothing compared", value: r.cError == nil ? r.cRate : nil,
                        unit: "ops/s", note: r.cError ?? "\(r.cOps) ops in \(ReportText.fixed(r.cSeconds, 1)) s"),
            BenchFigure(name: "  fuzz rate / C loop rate", value: r.cError == nil ? ratio : nil, unit: "x", target: ">= 0.5",
                        withinTarget: r.cError == nil ? ratio >= 0.5 : nil),
        ]
    }
}
