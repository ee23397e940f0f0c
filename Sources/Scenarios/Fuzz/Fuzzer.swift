import KernelObserver
import MlockModel

/// How a divergence shows: the kind of op at the diverging step and the first observable
/// that differs there. A shrunk case must keep it.
public struct FuzzSignature: Hashable, Codable, Sendable, CustomStringConvertible {
    public var op: String
    public var observable: String
    public var description: String { "\(op)/\(observable)" }
}

extension Op {
    /// The op's kind: "mlock", "map", "touch", "munlockall"...
    public var kind: String {
        if let label = Mirror(reflecting: self).children.first?.label { return label }
        switch self {
        case .munlockall: return "munlockall"
        case .dropCapIpcLock: return "dropCapIpcLock"
        case .fork: return "fork"
        default: return "\(self)"
        }
    }
}

/// The first divergence of a sequence run in lockstep.
public struct FuzzDivergence: Sendable {
    public var step: Int
    public var signature: FuzzSignature
    public var divergences: [Divergence]
    public var pageMap: [String]
    /// Only global counters differ: another process may have moved them.
    public var onlyNoisy: Bool
    /// Pages were written back on the machine during the run and no op of the run wrote
    /// any back itself: someone else's writeback may have changed the files' pages.
    public var writebackElsewhere = false
    /// The VM_LOCKED ranges of each process as the model had them at that step, keyed by
    /// the observables' process prefix ("" for the only process, "p1" ...).
    public var lockedRanges: [String: [Range<UInt64>]] = [:]
}

/// Runs op sequences on the live kernel and the model in lockstep (one fresh agent per
/// sequence, every step settled and fully compared), and shrinks what diverges.
public final class Fuzzer {
    public let runner: LiveRunner
    public var generator: FuzzGenerator
    /// Steps run and checks made, over every sequence (shrinking included).
    public private(set) var stepsRun = 0
    public private(set) var checksMade = 0
    /// The agent's limits and capabilities as the last session found them.
    var agentStart: ProcessStart?
    /// Runs before every live run of a sequence (generated, confirming or shrinking):
    /// the CLI gives the run lock up there now and then. Each run starts a fresh session,
    /// which settles and takes its counter baseline after this returns.
    public var beforeRun: () -> Void = {}

    public init(runner: LiveRunner, generator: FuzzGenerator = FuzzGenerator()) {
        self.runner = runner
        self.generator = generator
    }

    /// A model as the agent starts (for generating: its foreign VMAs do not matter there).
    public var baseModel: KernelModel {
        var m = KernelModel(profile: runner.profile, setup: ProcessSetup(
            foreign: [], memlockSoft: UAPI.RLIM_INFINITY, memlockHard: UAPI.RLIM_INFINITY, capIpcLock: true,
            fileReadAheadKB: runner.readAheadKB))
        m.planted = runner.options.planted
        m.facts = runner.facts
        return m
    }

    /// What a fuzz session runs under: default settings, no requirements.
    static let frame = Scenario(id: "fuzz", summary: "fuzz sequence", steps: [])

    /// The seed of sequence `k` of a run seeded `seed`.
    public static func sequenceSeed(_ seed: UInt64, _ k: Int) -> UInt64 {
        var r = FuzzRandom(seed: seed ^ (UInt64(k) &* 0xD1B5_4A32_D192_ED03))
        return r.next()
    }

    /// The model a C reproducer's expectations come from: no VMAs outside the arena (the
    /// program adds its own), the agent's limits and capabilities.
    public var reproducerModel: KernelModel {
        guard let s = agentStart else { return baseModel }
        var m = KernelModel(profile: runner.profile, setup: ProcessSetup(
            foreign: [], memlockSoft: s.memlockSoft, memlockHard: s.memlockHard, capIpcLock: s.capIpcLock,
            fileReadAheadKB: runner.readAheadKB, capSysResource: s.capSysResource, capSetuid: s.capSetuid, uid: s.uid))
        m.planted = runner.options.planted
        m.facts = runner.facts
        return m
    }

    /// The ops of sequence `seed`, generated against a model of the agent as it starts
    /// (its limits and capabilities, read once from a first agent): a model with other
    /// limits would let an mlock succeed that fails in the agent, and the generator's
    /// picks (such as "only unlocked ranges are moved with MREMAP_DONTUNMAP") would rest
    /// on VMAs that are not what the kernel has.
    public func sequence(seed: UInt64, length: Int) -> [Op] {
        if agentStart == nil, let session = try? LockstepSession(runner: runner, scenario: Self.frame, keepChecks: false) {
            agentStart = session.start
            session.close()
        }
        return generator.sequence(seed: seed, length: length, model: reproducerModel)
    }

    /// Runs `ops` in a fresh agent until the first divergence (nil: none). `upTo` stops
    /// after that many ops.
    public func check(_ ops: [Op], progress: ((Int) -> Void)? = nil) throws -> FuzzDivergence? {
        beforeRun()
        let writtenBefore = WritebackActivity.read()
        let session = try LockstepSession(runner: runner, scenario: Self.frame, keepChecks: false)
        agentStart = session.start
        defer {
            session.close()
            checksMade += session.comparison.made
        }
        for op in ops {
            stepsRun += 1
            if let pageMap = try session.step(Step(op)) {
                let c = session.comparison
                let first = c.divergences[0]
                let ran = ops.prefix(session.index + 1)
                let written = WritebackActivity.read().flatMap { after in writtenBefore.map { after != $0 } } ?? false
                return FuzzDivergence(step: first.step, signature: FuzzSignature(op: op.kind, observable: first.observable),
                                      divergences: c.divergences, pageMap: pageMap, onlyNoisy: c.onlyNoisyDiverged,
                                      writebackElsewhere: written && !ran.contains(where: Self.writesBack),
                                      lockedRanges: session.predictedLockedRanges())
            }
            progress?(session.index)
        }
        return nil
    }

    /// A divergence confirmed: global-counter-only divergences, and divergences of a run
    /// during which someone else wrote pages back, are run again (at most 3 more times).
    /// A run again without the divergence makes it noise (nil); a global-counter one is
    /// kept when it comes back identically, any other when it comes back without foreign
    /// writeback. Runs disturbed by writeback again are no evidence either way; when every
    /// one was, the divergence stands.
    public func confirm(_ ops: [Op], _ first: FuzzDivergence) throws -> (FuzzDivergence?, retries: Int) {
        guard first.onlyNoisy || first.writebackElsewhere else { return (first, 0) }
        var previous = first
        for attempt in 1...3 {
            guard let again = try check(Array(ops.prefix(previous.step + 1))) else { return (nil, attempt) }
            if again.writebackElsewhere { previous = again; continue }
            if !again.onlyNoisy { return (again, attempt) }
            if !previous.writebackElsewhere, again.divergences.map(\.description) == previous.divergences.map(\.description) {
                return (again, attempt)
            }
            previous = again
        }
        return (previous.writebackElsewhere ? previous : nil, 3)
    }

    /// msync(MS_SYNC) writes back the dirty pages of a shared file mapping itself.
    static func writesBack(_ op: Op) -> Bool {
        if case let .msync(_, _, flags) = op { return flags & UAPI.MS_SYNC != 0 }
        return false
    }

    /// Whether `ops` still diverge with `signature` (global-counter signatures must do
    /// so twice: a shrink step never rests on noise).
    func stillDiverges(_ ops: [Op], _ signature: FuzzSignature) throws -> FuzzDivergence? {
        guard let d = try check(ops), d.signature == signature, !d.writebackElsewhere else { return nil }
        if StepComparison.noisy.contains(signature.observable) {
            guard let again = try check(Array(ops.prefix(d.step + 1))), again.signature == signature else { return nil }
        }
        return d
    }

    /// Whether `ops` diverge with `signature` again on each of two more runs (a behaviour
    /// that another actor on the machine causes does not).
    func reproduces(_ ops: [Op], _ signature: FuzzSignature) throws -> Bool {
        for _ in 0..<2 {
            guard let again = try check(ops), again.signature == signature else { return false }
        }
        return true
    }

    /// Shrinks a diverging sequence: drops chunks of ops, then simplifies each op
    /// (shorter lengths, offsets nearer the slot, fewer flags), keeping only changes
    /// after which the sequence still diverges with the same signature. `budget` bounds
    /// the number of live runs.
    public func shrink(_ ops: [Op], _ d: FuzzDivergence, budget: Int = 600,
                       progress: ((Int, Int) -> Void)? = nil) throws -> ([Op], FuzzDivergence) {
        var best = Array(ops.prefix(d.step + 1))
        var bestD = d
        var runs = 0
        func attempt(_ candidate: [Op]) throws -> Bool {
            guard runs < budget, !candidate.isEmpty else { return false }
            runs += 1
            guard let nd = try stillDiverges(candidate, d.signature) else { return false }
            best = Array(candidate.prefix(nd.step + 1))
            bestD = nd
            progress?(runs, best.count)
            return true
        }
        var changed = true
        while changed && runs < budget {
            changed = false
            // Drop chunks, largest first.
            var chunk = max(1, best.count / 2)
            while chunk >= 1 {
                var i = 0
                while i < best.count {
                    var c = best
                    c.removeSubrange(i..<min(best.count, i + chunk))
                    if try attempt(c) { changed = true } else { i += chunk }
                }
                chunk /= 2
            }
            // Simplify each op.
            var i = 0
            while i < best.count {
                for simpler in Self.simplifications(of: best[i]) {
                    var c = best
                    c[i] = simpler
                    if try attempt(c) { changed = true; break }
                }
                i += 1
            }
        }
        return (best, bestD)
    }

    /// Simpler versions of an op, simplest first.
    static func simplifications(of op: Op) -> [Op] {
        func lengths(_ l: UInt64) -> [UInt64] {
            var out: [UInt64] = []
            if l > pageSize { out.append(pageSize) }
            if l > 2 * pageSize { out.append(pageAligned(l / 2)) }
            if l > pageSize && l % pageSize != 0 { out.append(pageAligned(l)) }
            return out
        }
        func addrs(_ a: UInt64) -> [UInt64] {
            var out: [UInt64] = []
            if a % pageSize != 0 { out.append(a & ~(pageSize - 1)) }
            let slotStart = (a - Arena.base) / FuzzArena.slotSpacing * FuzzArena.slotSpacing + Arena.base
            if Arena.contains(a) && a & ~(pageSize - 1) > slotStart { out.append(slotStart); out.append((a & ~(pageSize - 1)) - pageSize) }
            return out
        }
        func ranged(_ a: UInt64, _ l: UInt64, _ make: (UInt64, UInt64) -> Op) -> [Op] {
            lengths(l).map { make(a, $0) } + addrs(a).map { make($0, l) }
        }
        switch op {
        case let .createObject(slot, kind, pages, filled):
            var out: [Op] = []
            if filled { out.append(.createObject(slot: slot, kind: kind, pages: pages, filled: false)) }
            if pages > 1 { out.append(.createObject(slot: slot, kind: kind, pages: max(1, pages / 2), filled: filled)) }
            return out
        case let .map(addr, length, prot, backing, flags):
            var out: [Op] = []
            for f in [MapFlags.populate, .locked, .noreserve, .growsdown, .droppable] where flags.contains(f) {
                out.append(.map(addr: addr, length: length, prot: prot, backing: backing, flags: flags.subtracting(f)))
            }
            if prot != .rw { out.append(.map(addr: addr, length: length, prot: .rw, backing: backing, flags: flags)) }
            if case let .object(s, sh, off) = backing, off > 0 {
                out.append(.map(addr: addr, length: length, prot: prot, backing: .object(slot: s, shared: sh, pageOffset: 0), flags: flags))
            }
            return out + ranged(addr, length) { .map(addr: $0, length: $1, prot: prot, backing: backing, flags: flags) }
        case let .munmap(a, l): return ranged(a, l) { .munmap(addr: $0, length: $1) }
        case let .mprotect(a, l, p):
            return (p != .rw ? [.mprotect(addr: a, length: l, prot: .rw)] : []) + ranged(a, l) { .mprotect(addr: $0, length: $1, prot: p) }
        case let .mremap(old, oldLength, newLength, flags, newAddr):
            var out: [Op] = []
            if flags & UAPI.MREMAP_DONTUNMAP != 0 {
                out.append(.mremap(old: old, oldLength: oldLength, newLength: newLength, flags: flags & ~UAPI.MREMAP_DONTUNMAP, newAddr: newAddr))
            }
            out += lengths(oldLength).map { .mremap(old: old, oldLength: $0, newLength: newLength, flags: flags, newAddr: newAddr) }
            out += lengths(newLength).map { .mremap(old: old, oldLength: oldLength, newLength: $0, flags: flags, newAddr: newAddr) }
            return out
        case let .touch(a, l, w):
            return (w ? [.touch(addr: a, length: l, write: false)] : []) + ranged(a, l) { .touch(addr: $0, length: $1, write: w) }
        case let .mlock(a, l): return ranged(a, l) { .mlock(addr: $0, length: $1) }
        case let .mlock2(a, l, f):
            return [.mlock(addr: a, length: l)] + (f != 0 ? [.mlock2(addr: a, length: l, flags: 0)] : [])
                + ranged(a, l) { .mlock2(addr: $0, length: $1, flags: f) }
        case let .munlock(a, l): return ranged(a, l) { .munlock(addr: $0, length: $1) }
        case let .mlockall(flags):
            return [UAPI.MCL_CURRENT, UAPI.MCL_FUTURE].filter { $0 != flags && flags & $0 != 0 }.map { .mlockall(flags: $0) }
        case let .madvise(a, l, adv): return ranged(a, l) { .madvise(addr: $0, length: $1, advice: adv) }
        case let .msync(a, l, f): return ranged(a, l) { .msync(addr: $0, length: $1, flags: f) }
        default: return []
        }
    }
}

@inline(__always) func pageAligned(_ x: UInt64) -> UInt64 { (x + pageSize - 1) & ~(pageSize - 1) }

// MARK: - a fuzzing campaign

public struct FuzzPlan: Sendable {
    public var seed: UInt64
    /// Stop after this many ops (nil: no limit).
    public var maxSteps: Int?
    /// Stop after this many seconds (nil: no limit).
    public var seconds: Double?
    /// Ops per sequence (each sequence runs in a fresh agent).
    public var length: Int
    public var shrink: Bool
    /// Stop at the first confirmed divergence.
    public var stopAtFirst: Bool
    /// Treat divergences that show a known, written-up kernel behaviour as unexplained.
    public var strict: Bool
    public init(seed: UInt64, maxSteps: Int? = nil, seconds: Double? = nil, length: Int = 60,
                shrink: Bool = true, stopAtFirst: Bool = false, strict: Bool = false) {
        self.seed = seed; self.maxSteps = maxSteps; self.seconds = seconds; self.length = length
        self.shrink = shrink; self.stopAtFirst = stopAtFirst; self.strict = strict
    }
}

/// A confirmed divergence, and its shrunk form.
public struct FuzzFinding: Sendable {
    public var sequence: Int
    public var sequenceSeed: UInt64
    public var ops: [Op]
    public var divergence: FuzzDivergence
    public var shrunk: [Op]
    public var shrunkDivergence: FuzzDivergence
    /// The first finding of its signature in the run (the later ones are not shrunk).
    public var first: Bool
    /// The written-up kernel behaviour it shows (not shrunk; nil: unexplained).
    public var known: KnownFuzzBehaviour?
}

public struct FuzzSummary: Sendable {
    public var sequences = 0
    /// Ops of the generated sequences run and verified (shrinking not counted).
    public var steps = 0
    public var checks = 0
    public var seconds = 0.0
    public var findings: [FuzzFinding] = []
    /// Global-counter divergences that did not reproduce (another process moved them).
    public var noise = 0
    public var errors: [String] = []
    public var opsPerSecond: Double { seconds > 0 ? Double(steps) / seconds : 0 }
    public var unexplained: [FuzzFinding] { findings.filter { $0.known == nil } }
    public var known: [FuzzFinding] { findings.filter { $0.known != nil } }
}

extension Fuzzer {
    /// Runs sequences until the plan's budget is spent. `between` runs before each
    /// sequence (the CLI cycles the run lock there); `progress` after each; `found` with
    /// each confirmed, shrunk divergence.
    public func campaign(_ plan: FuzzPlan, between: () -> Void = {}, progress: (FuzzSummary) -> Void = { _ in },
                         found: (FuzzFinding) -> Void = { _ in }) -> FuzzSummary {
        let clock = ContinuousClock()
        let t0 = clock.now
        var s = FuzzSummary()
        var seen = Set<FuzzSignature>()
        var k = 0
        while true {
            let elapsed = (clock.now - t0).seconds
            if let limit = plan.seconds, elapsed >= limit { break }
            if let max = plan.maxSteps, s.steps >= max { break }
            between()
            let seqSeed = Self.sequenceSeed(plan.seed, k)
            var ops = sequence(seed: seqSeed, length: plan.length)
            if let max = plan.maxSteps { ops = Array(ops.prefix(max - s.steps)) }
            let checksBefore = checksMade
            do {
                var ran = 0
                if let d = try check(ops, progress: { ran = $0 }) {
                    s.steps += d.step + 1
                    let (confirmed, _) = try confirm(ops, d)
                    if let d = confirmed {
                        var known = plan.strict ? nil
                            : KnownFuzzBehaviour.classify(ops[d.step], d.divergences, lockedRanges: d.lockedRanges,
                                                          release: runner.environment.kernelRelease)
                        if let k = known, k.onlyIfNotReproduced, try reproduces(Array(ops.prefix(d.step + 1)), d.signature) {
                            known = nil
                        }
                        var finding = FuzzFinding(sequence: k, sequenceSeed: seqSeed, ops: Array(ops.prefix(d.step + 1)),
                                                  divergence: d, shrunk: Array(ops.prefix(d.step + 1)), shrunkDivergence: d,
                                                  first: known == nil && seen.insert(d.signature).inserted, known: known)
                        // One shrink per signature: the same divergence again is only counted.
                        if plan.shrink && finding.first {
                            (finding.shrunk, finding.shrunkDivergence) = try shrink(ops, d)
                        }
                        s.findings.append(finding)
                        found(finding)
                        if plan.stopAtFirst && known == nil { s.sequences += 1; s.checks += checksMade - checksBefore; break }
                    } else {
                        s.noise += 1
                    }
                } else {
                    s.steps += ran
                }
            } catch {
                s.errors.append("sequence \(k) (seed 0x\(String(seqSeed, radix: 16))): \(error)")
            }
            s.checks += checksMade - checksBefore
            s.sequences += 1
            k += 1
            s.seconds = (clock.now - t0).seconds
            progress(s)
        }
        s.seconds = (clock.now - t0).seconds
        return s
    }
}
