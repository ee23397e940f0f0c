import KernelInterface
import MlockModel

/// The fuzzer's throughput against a C loop doing the same settle and observation.
public struct FuzzBenchResult: Sendable {
    /// The fuzzer: ops run on model and kernel, each settled and every observable compared.
    public var fuzzOps: Int
    public var fuzzSeconds: Double
    public var fuzzDivergences: Int
    /// The C loop: the same agent requests, each settled and read, nothing compared.
    public var cOps: Int
    public var cSeconds: Double
    public var cError: String?
    public var fuzzRate: Double { fuzzSeconds > 0 ? Double(fuzzOps) / fuzzSeconds : 0 }
    public var cRate: Double { cSeconds > 0 ? Double(cOps) / cSeconds : 0 }
}

extension Fuzzer {
    /// Fuzzes for `seconds` from `seed` (no shrinking), then runs the C loop on the same
    /// sequences for as long.
    public func bench(seed: UInt64, seconds: Double, length: Int = 60) -> FuzzBenchResult {
        let summary = campaign(FuzzPlan(seed: seed, seconds: seconds, length: length, shrink: false))
        // The same sequences as agent requests; fork and exit as LS_FORK_SERVE and LS_EXIT,
        // which the C loop carries out as the runner does (Agent.forkServing, exitProcess).
        var requests: [ls_request] = []
        var starts: [Int32] = []
        for k in 0..<max(1, summary.sequences) {
            starts.append(Int32(requests.count))
            for op in sequence(seed: Self.sequenceSeed(seed, k), length: length) {
                let request: (ls_op, [UInt64])? = switch op {
                case .fork: (LS_FORK_SERVE, [])
                case .exit: (LS_EXIT, [])
                default: LiveRunner.agentRequest(op)
                }
                guard let (code, args) = request else { continue }
                var rq = ls_request()
                rq.op = code.rawValue
                withUnsafeMutableBytes(of: &rq.a) { raw in
                    let a = raw.bindMemory(to: UInt64.self)
                    for (i, v) in args.enumerated() { a[i] = v }
                }
                requests.append(rq)
            }
        }
        var out = ls_bench_result()
        let rc = runner.agentPath.withCString { path in
            ls_bench_loop(path, Int32(runner.cpu), requests, starts, Int32(starts.count), Int32(requests.count), seconds, &out)
        }
        return FuzzBenchResult(fuzzOps: summary.steps, fuzzSeconds: summary.seconds, fuzzDivergences: summary.findings.count,
                               cOps: out.ops, cSeconds: out.seconds,
                               cError: rc == 0 ? nil : "C loop failed: \(Errno(-rc))")
    }
}
