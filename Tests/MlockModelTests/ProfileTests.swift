import Testing
import MlockModel

// Every profile, on the rules that tell them apart and on those they share.

/// The calibration probe's first discriminator, on the model: a memfd page faulted into
/// an mlock2(MLOCK_ONFAULT) range. Whether it is mlocked is what the live probe reads.
func fileFaultMlocked(_ profile: KernelProfile) -> Bool {
    var p = Proc(profile: profile)
    p.run(.createObject(slot: 0, kind: .memfd, pages: 1, filled: false))
    p.run(mapObject(A, 1, slot: 0, shared: true))
    p.run(mlockOnFault(A, 1))
    p.run(read(A, 1))
    return p.page(A).mlocked
}

@Test(arguments: KernelProfile.allCases)
func fileFaultInAnOnFaultRangeIsMlockedFrom518On(_ profile: KernelProfile) {
    #expect(fileFaultMlocked(profile) == (profile != .pre518))
}

@Test(arguments: KernelProfile.allCases)
func everyProfileMlocksAndMunlocksPresentAnonPagesAlike(_ profile: KernelProfile) {
    var p = Proc(profile: profile)
    p.run(mapAnon(A, 4))
    p.run(write(A, 4))
    #expect(p.run(mlock(A, 4)) == .ok)
    #expect(p.pages(A, 4) == Array(repeating: mlockedPage, count: 4))
    #expect(p.vmLck == 16)
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    #expect(p.run(munlock(A, 4)) == .ok)
    #expect(p.pages(A, 4) == Array(repeating: plain, count: 4))
    #expect(p.counters == counts(pgMlocked: 4, pgMunlocked: 4, culled: 4, rescued: 4))
}

@Test(arguments: KernelProfile.allCases)
func munlockOfOneOfTwoLockedMappingsKeepsThePageMlockedInEveryProfile(_ profile: KernelProfile) {
    var p = Proc(profile: profile)
    p.run(.createObject(slot: 0, kind: .memfd, pages: 1, filled: true))
    p.run(mapObject(A, 1, slot: 0, shared: true, .rw, .locked))
    p.run(mapObject(A + 4 * P, 1, slot: 0, shared: true, .rw, .locked))
    p.run(munlock(A, 1))
    #expect(p.page(A + 4 * P) == mlockedPage)
    // 5.18 on, mlock_count 2 -> 1 (no event); before, the rmap walk re-mlocks (+1 mlocked).
    #expect(p.counters.pgMlocked == (profile == .pre518 ? 2 : 1))
}

@Test(arguments: KernelProfile.allCases)
func migratingAnMlockedPageKeepsItsLockInEveryProfile(_ profile: KernelProfile) {
    var p = Proc(profile: profile, numa: twoNodes)
    p.run(mapAnon(A, 1, .rw, .locked))
    #expect(p.run(.movePages(addr: A, pages: 1, to: .remote, flags: 0)).status == [1])
    #expect(p.page(A) == mlockedPage)
    #expect(p.counters.mlocked == 1 && p.counters.unevictable == 1)
    // Events: 5.18 on, stranded (old page, isolated) and mlocked (new page); before, none.
    #expect(p.counters.pgStranded == (profile == .pre518 ? 0 : 1))
}

@Test(arguments: KernelProfile.allCases)
func madvCollapseAndDontneedLockedExistFrom518On(_ profile: KernelProfile) {
    var p = Proc(profile: profile)
    p.run(mapAnon(A, 1))
    let r = p.run(madvise(A, 1, UAPI.MADV_DONTNEED_LOCKED))
    #expect(r == (profile == .pre518 ? .fail(Err.EINVAL) : .ok))
}
