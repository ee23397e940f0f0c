import Testing
import Glibc
import KernelInterface
import KernelObserver
import MlockModel
import Scenarios

/// The fuzzer as a property test with a fixed budget: the same seed gives the same
/// sequence; the model runs generated sequences without trapping; and, as root, a fixed
/// number of generated ops agree with the live kernel at every step.
@Suite("Fuzz property", .serialized)
struct FuzzPropertyTests {
    static let seed: UInt64 = 0xF022_5EED
    static let model = KernelModel(profile: .largeFolio, setup: ProcessSetup(
        foreign: [], memlockSoft: UAPI.RLIM_INFINITY, memlockHard: UAPI.RLIM_INFINITY, capIpcLock: true))

    @Test("the same seed generates the same sequence")
    func replayable() {
        print("fuzz property: seed 0x\(String(Self.seed, radix: 16))")
        let g = FuzzGenerator()
        let a = g.sequence(seed: Self.seed, length: 80, model: Self.model)
        let b = g.sequence(seed: Self.seed, length: 80, model: Self.model)
        #expect(a == b)
        #expect(a.count == 80)
        #expect(g.sequence(seed: Self.seed + 1, length: 80, model: Self.model) != a)
    }

    @Test("the model runs 200 generated sequences without trapping")
    func modelOnly() {
        let g = FuzzGenerator()
        var ops = 0
        for k in 0..<200 {
            let s = Fuzzer.sequenceSeed(Self.seed, k)
            ops += FuzzGenerator.runOnModel(g.sequence(seed: s, length: 60, model: Self.model), model: Self.model)
        }
        #expect(ops == 200 * 60)
    }

    @Test("1,200 generated ops agree with the live kernel at every step (root)")
    func live() throws {
        guard Kernel.isRoot else {
            print("fuzz property live part skipped: needs root (PFNs, kpageflags, stat_refresh)")
            try Test.cancel("fuzz property live part skipped: needs root (PFNs, kpageflags, stat_refresh)")
            return
        }
        _ = try LiveKernelTests.lock.get()
        let fuzzer = Fuzzer(runner: try LiveRunner())
        print("fuzz property: live, seed 0x\(String(Self.seed, radix: 16)), 1200 ops")
        // Global counters: no other live test may run meanwhile (plain `swift test` runs
        // suites in parallel; ./run.sh test does not).
        let s = Exclusive.run { fuzzer.campaign(FuzzPlan(seed: Self.seed, maxSteps: 1200, length: 60, shrink: false)) }
        for f in s.known {
            print("fuzz property: sequence \(f.sequence) shows the known kernel behaviour \(f.known!.id) (\(f.known!.writeUp))")
        }
        for f in s.unexplained {
            let detail = f.divergence.divergences.map { "\($0.observable): expected \($0.expected), observed \($0.observed)" }
            let message = "sequence \(f.sequence) (seed 0x\(String(f.sequenceSeed, radix: 16))) diverged at step \(f.divergence.step): "
                + detail.joined(separator: "; ")
            Issue.record(Comment(rawValue: message))
        }
        #expect(s.errors.isEmpty, "\(s.errors)")
        #expect(s.steps == 1200)
    }

    /// The 5 ops a fuzz run shrank to while `sync()` looped on the machine: a freshly filled
    /// (dirty) file's pages paged out keep PG_reclaim, so the next read's fault-around skips
    /// them; once someone else has written them back they are clean and mapped again.
    static let pagedOutDirtyFile: [Op] = {
        let a = Arena.base + 0x180_0000, page: UInt64 = 4096
        return [.createObject(slot: 1, kind: .file, pages: 24, filled: true),
                .map(addr: a, length: 29 * page, prot: .rw, backing: .object(slot: 1, shared: false, pageOffset: 0), flags: []),
                .touch(addr: a + 18 * page, length: page, write: false),
                .madvise(addr: a + 14 * page, length: 7 * page, advice: UAPI.MADV_PAGEOUT),
                .touch(addr: a + 19 * page, length: page, write: false)]
    }()

    @Test("someone else's writeback during a run is seen, and never taken for the kernel's divergence (root)")
    func writebackElsewhere() throws {
        guard Kernel.isRoot else {
            try Test.cancel("needs root (PFNs, kpageflags, stat_refresh)")
            return
        }
        _ = try LiveKernelTests.lock.get()
        let fuzzer = Fuzzer(runner: try LiveRunner())
        try Exclusive.run {
            // Quiet: the model's rule holds.
            #expect(try fuzzer.check(Self.pagedOutDirtyFile) == nil)
            // With sync() looping beside it, a divergence may come, but always marked.
            var syncer: pid_t = 0
            var argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", "while :; do sync; done"].map { (s: String) in strdup(s) } + [nil]
            defer { argv.forEach { free($0) } }
            #expect(posix_spawn(&syncer, "/bin/sh", nil, nil, &argv, environ) == 0)
            defer { kill(syncer, SIGKILL); waitpid(syncer, nil, 0) }
            let before = WritebackActivity.read()
            var diverged = 0
            for _ in 0..<5 {
                if let d = try fuzzer.check(Self.pagedOutDirtyFile) {
                    diverged += 1
                    #expect(d.writebackElsewhere, "\(d.divergences)")
                }
            }
            print("fuzz property: with sync() looping, \(diverged) of 5 runs diverged, each marked as disturbed by writeback")
            #expect(WritebackActivity.read() != before)   // the loop did write pages back
        }
    }
}
