import MlockModel

/// A saved fuzz case: the op sequence (JSON, replayable with `./run.sh replay FILE`), where
/// it came from, and how it diverged when it was found.
public struct FuzzCase: Codable, Sendable {
    public struct Step: Codable, Sendable {
        public var op: Op
        /// The op as the reports print it (for people; `op` is what replays).
        public var text: String
    }
    public var format = 1
    public var kind = "lockstep-fuzz-case"
    /// The run's seed and the sequence's (hex): `./run.sh fuzz --seed RUNSEED` replays the run.
    public var runSeed: String
    public var sequence: Int
    public var sequenceSeed: String
    public var kernelRelease: String
    public var profile: String
    /// Wrong model rules planted when it was found (replay plants them again).
    public var planted: [String]
    public var signature: FuzzSignature
    /// The divergences at the last step when it was saved.
    public var divergences: [Divergence]
    public var pageMap: [String]
    /// Length of the sequence before shrinking.
    public var originalLength: Int
    public var steps: [Step]

    public init(finding f: FuzzFinding, runSeed: UInt64, kernelRelease: String, profile: String, planted: [String]) {
        self.runSeed = "0x" + String(runSeed, radix: 16)
        sequence = f.sequence
        sequenceSeed = "0x" + String(f.sequenceSeed, radix: 16)
        self.kernelRelease = kernelRelease
        self.profile = profile
        self.planted = planted
        signature = f.shrunkDivergence.signature
        divergences = f.shrunkDivergence.divergences
        pageMap = f.shrunkDivergence.pageMap
        originalLength = f.ops.count
        steps = f.shrunk.map { Step(op: $0, text: $0.description) }
    }

    public var ops: [Op] { steps.map(\.op) }

    /// The case as a scenario.
    public func scenario(id: String, summary: String? = nil) -> Scenario {
        Scenario(id: id, summary: summary ?? "fuzz case \(sequenceSeed): \(signature)",
                 steps: steps.map { Scenarios.Step($0.op, $0.text) })
    }
}
