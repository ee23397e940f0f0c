import Testing
import MlockModel
import Scenarios

/// A kernel that lacks a feature skips exactly the scenarios that need it.
@Suite("Kernel features")
struct FeaturesTests {
    static func scenario(_ ops: [Op]) -> Scenario {
        Scenario(id: "t", summary: "t", steps: ops.map { Step($0) })
    }
    static let onfault = scenario([.mlock2(addr: Arena.base, length: 4096, flags: 1)])
    static let plain = scenario([.mlock2(addr: Arena.base, length: 4096, flags: 0)])
    static let mclOnfault = scenario([.mlockall(flags: 1 | 4)])
    static let mlockOnly = scenario([.mlock(addr: Arena.base, length: 4096)])

    @Test func presentFeaturesSkipNothing() {
        let f = KernelFeatures()
        for s in [Self.onfault, Self.plain, Self.mclOnfault, Self.mlockOnly] { #expect(f.skipReason(s) == nil) }
        #expect(f.missing.isEmpty)
    }

    @Test func lackingMlockOnfaultSkipsOnlyItsScenarios() {
        let f = KernelFeatures(mlockOnfault: "kernel lacks MLOCK_ONFAULT")
        #expect(f.skipReason(Self.onfault) == "kernel lacks MLOCK_ONFAULT")
        #expect(f.skipReason(Self.plain) == nil && f.skipReason(Self.mclOnfault) == nil && f.skipReason(Self.mlockOnly) == nil)
    }

    @Test func lackingMlock2SkipsEveryMlock2Scenario() {
        let f = KernelFeatures(mlock2: "kernel lacks mlock2")
        #expect(f.skipReason(Self.onfault) != nil && f.skipReason(Self.plain) != nil)
        #expect(f.skipReason(Self.mclOnfault) == nil && f.skipReason(Self.mlockOnly) == nil)
    }

    @Test func lackingMclOnfaultSkipsMlockallOnfault() {
        let f = KernelFeatures(mclOnfault: "kernel lacks MCL_ONFAULT")
        #expect(f.skipReason(Self.mclOnfault) != nil)
        #expect(f.skipReason(Self.scenario([.mlockall(flags: 1 | 2)])) == nil)
    }

    @Test func lackingTHPSkipsHugepageAdvice() {
        let f = KernelFeatures(thp: "kernel lacks transparent huge pages")
        #expect(f.skipReason(Self.scenario([.madvise(addr: Arena.base, length: 4096, advice: UAPI.MADV_HUGEPAGE)])) != nil)
        #expect(f.skipReason(Self.scenario([.madvise(addr: Arena.base, length: 4096, advice: UAPI.MADV_NOHUGEPAGE)])) != nil)
        #expect(f.skipReason(Self.scenario([.madvise(addr: Arena.base, length: 4096, advice: UAPI.MADV_DONTNEED)])) == nil)
    }

    @Test func lackingSysVSkipsEveryShmScenarioAndNothingElse() {
        let f = KernelFeatures(sysvShm: "kernel lacks SysV shared memory")
        #expect(f.skipReason(Self.scenario([.shmget(segment: 0, pages: 1)])) == "kernel lacks SysV shared memory")
        #expect(f.skipReason(Self.scenario([.shmdt(addr: Arena.base)])) != nil)
        #expect(f.skipReason(Self.mlockOnly) == nil)
        #expect(f.missing == ["kernel lacks SysV shared memory"])
    }

    @Test func noRamfsSkipsRamfsObjectsOnly() {
        let f = KernelFeatures(ramfs: "cannot mount a ramfs")
        #expect(f.skipReason(Self.scenario([.createObject(slot: 0, kind: .ramfs, pages: 1, filled: true)])) != nil)
        #expect(f.skipReason(Self.scenario([.createObject(slot: 0, kind: .memfd, pages: 1, filled: true)])) == nil)
    }

    @Test func noMapDroppableSkipsDroppableMappingsOnly() {
        let f = KernelFeatures(droppable: "kernel lacks MAP_DROPPABLE")
        let droppable = Self.scenario([.map(addr: Arena.base, length: 4096, prot: .rw, backing: .privateAnon, flags: [.droppable])])
        let plainMap = Self.scenario([.map(addr: Arena.base, length: 4096, prot: .rw, backing: .privateAnon, flags: [])])
        #expect(f.skipReason(droppable) == "kernel lacks MAP_DROPPABLE")
        #expect(f.skipReason(plainMap) == nil && f.skipReason(Self.mlockOnly) == nil)
        #expect(KernelFeatures().skipReason(droppable) == nil)
    }
}
