import Testing
import MlockModel

// mprotect, setrlimit / capabilities, the agent's touch loop, and the pre-5.18 profile.

@Test func mprotectOverAHoleChangesTheFirstVMAAndReturnsENOMEM() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mapAnon(A + 4 * P, 2))
    #expect(p.run(.mprotect(addr: A, length: 6 * P, prot: .read)) == .fail(Err.ENOMEM))
    #expect(p.vmas == [vma(A, A + 2 * P, .read), vma(A + 4 * P, A + 6 * P)])
}

@Test func mprotectStartingInAHoleIsENOMEMAndChangesNothing() {
    var p = Proc()
    p.run(mapAnon(A + P, 2))
    #expect(p.run(.mprotect(addr: A, length: 3 * P, prot: .read)) == .fail(Err.ENOMEM))
    #expect(p.vmas == [vma(A + P, A + 3 * P)])
}

@Test func mprotectArgumentErrors() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    #expect(p.run(.mprotect(addr: A + 1, length: P, prot: .read)) == .fail(Err.EINVAL))
    #expect(p.run(.mprotect(addr: A, length: 0, prot: .read)) == .ok)
    #expect(p.vmas == [vma(A, A + 2 * P)])
}

@Test func mprotectOfHalfALockedRangeSplitsItWithoutPageWork() {
    var p = Proc()
    p.run(mapAnon(A, 4, .rw, .locked))
    let before = p.counters
    #expect(p.run(.mprotect(addr: A, length: 2 * P, prot: .read)) == .ok)
    #expect(p.vmas == [vma(A, A + 2 * P, .read, locked: true, rss: 8, lockedKB: 8),
                       vma(A + 2 * P, A + 4 * P, locked: true, rss: 8, lockedKB: 8)])
    #expect(p.vmLck == 16)
    #expect(p.counters == before)
}

@Test func mprotectOfLockedZeroPagesToWritableBreaksCOWAndMlocksTheCopies() {
    var p = Proc()
    p.run(mapAnon(A, 4, .read, .locked))
    #expect(p.pages(A, 4) == Array(repeating: zeroPage, count: 4))
    #expect(p.run(.mprotect(addr: A, length: 4 * P, prot: .rw)) == .ok)
    #expect(p.pages(A, 4) == Array(repeating: mlockedPage, count: 4))
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true, rss: 16, lockedKB: 16)])
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
}

@Test func mprotectOfALockedProtNoneVMAToReadWriteFaultsItIn() {
    var p = Proc()
    p.run(mapAnon(A, 4, .none))
    #expect(p.run(mlock(A, 4)) == .fail(Err.ENOMEM))
    #expect(p.run(.mprotect(addr: A, length: 4 * P, prot: .rw)) == .ok)
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true, rss: 16, lockedKB: 16)])
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
}

@Test func mprotectToWritableOfALockOnFaultVMAPopulatesNothing() {
    var p = Proc()
    p.run(mapAnon(A, 2, .read))
    p.run(mlockOnFault(A, 2))
    p.run(.mprotect(addr: A, length: 2 * P, prot: .rw))
    #expect(p.pages(A, 2) == [absent, absent])
}

@Test func mprotectBackToReadOnlyBeforeAnyFaultDropsVMAccountAndMergesBack() {
    var p = Proc()
    p.run(mapAnon(A, 3, .read))
    p.run(.mprotect(addr: A + P, length: P, prot: .rw))
    #expect(p.vmas.count == 3)
    p.run(.mprotect(addr: A + P, length: P, prot: .read))
    #expect(p.vmas == [vma(A, A + 3 * P, .read)])
}

@Test func mprotectBackToReadOnlyAfterAWriteKeepsVMAccountAndStaysSplit() {
    var p = Proc()
    p.run(mapAnon(A, 3, .read))
    p.run(.mprotect(addr: A + P, length: P, prot: .rw))
    p.run(write(A + P, 1))
    p.run(.mprotect(addr: A + P, length: P, prot: .read))
    #expect(p.vmas == [vma(A, A + P, .read), vma(A + P, A + 2 * P, .read, rss: 4), vma(A + 2 * P, A + 3 * P, .read)])
}

@Test func setrlimitWithSoftAboveHardIsEINVAL() {
    var p = Proc(soft: 4 * P, hard: 8 * P, cap: false)
    #expect(p.run(.setMemlockLimit(soft: 9 * P, hard: 8 * P)) == .fail(Err.EINVAL))
    p.run(mapAnon(A, 6))
    #expect(p.run(mlock(A, 5)) == .fail(Err.ENOMEM))   // the old limit still applies
}

@Test func aNewMemlockLimitAppliesToTheNextMlock() {
    var p = Proc(soft: 4 * P, hard: 8 * P, cap: false)
    p.run(mapAnon(A, 8))
    #expect(p.run(.setMemlockLimit(soft: 8 * P, hard: 8 * P)) == .ok)
    #expect(p.run(mlock(A, 8)) == .ok)
    #expect(p.run(.setMemlockLimit(soft: 0, hard: 8 * P)) == .ok)
    #expect(p.run(mlock(A, 1)) == .fail(Err.EPERM))    // soft limit 0 and no CAP_IPC_LOCK
    #expect(p.run(.setMemlockLimit(soft: 0, hard: unlimited)) == .ok)   // CAP_SYS_RESOURCE
}

@Test func droppingCapIpcLockMakesTheLimitApply() {
    var p = Proc(soft: 2 * P, hard: 2 * P, cap: true)
    p.run(mapAnon(A, 4))
    #expect(p.run(mlock(A, 4)) == .ok)
    #expect(p.run(.dropCapIpcLock) == .ok)
    #expect(p.run(mlock(A, 4)) == .fail(Err.ENOMEM))   // 4 + 4 - 4 = 4 > 2
    p.run(munlock(A, 4))
    #expect(p.run(mlock(A, 2)) == .ok)
    #expect(p.run(mapAnon(A + 8 * P, 1, .rw, .locked)) == .fail(Err.EAGAIN))
}

@Test func touchStopsWithEFAULTAtTheFirstUnmappedPageAfterTouchingThoseBefore() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    #expect(p.run(write(A, 4)) == .fail(Err.EFAULT))
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.run(write(A, 2)) == ret(2))
}

@Test func aWriteTouchOfAReadOnlyPageIsEFAULTAndAReadOfProtNoneToo() {
    var p = Proc()
    p.run(mapAnon(A, 1, .read))
    p.run(mapAnon(A + 4 * P, 1, .none))
    #expect(p.run(write(A, 1)) == .fail(Err.EFAULT))
    #expect(p.run(read(A, 1)) == ret(1))
    #expect(p.run(read(A + 4 * P, 1)) == .fail(Err.EFAULT))
}

@Test func touchingAFileMappingBeyondTheEndOfTheFileIsEFAULT() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: false))
    p.run(mapObject(A, 4, slot: 1, shared: true))
    #expect(p.run(write(A, 4)) == .fail(Err.EFAULT))   // SIGBUS at page 2
    #expect(p.pages(A, 4) == [plain, plain, absent, absent])
}

@Test func mlockOfAFileMappingPastTheEndOfTheFileLocksItAndReturnsENOMEM() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: false))
    p.run(mapObject(A, 4, slot: 1, shared: true))
    #expect(p.run(mlock(A, 4)) == .fail(Err.ENOMEM))   // populate: -EFAULT -> ENOMEM
    #expect(p.vmLck == 16)
    #expect(p.pages(A, 4) == [mlockedPage, mlockedPage, absent, absent])
}

@Test func everyPageOfEveryArenaVMAIsInTheViewAndNothingElse() {
    var p = Proc(foreign: [ForeignVMA(start: 0x40_0000, end: 0x40_2000, prot: .read, special: false, locked: true)])
    p.run(mapAnon(A, 2))
    p.run(mapAnon(A + 8 * P, 1))
    #expect(Set(p.view.pages.keys) == [A, A + P, A + 8 * P])
    #expect(p.vmLck == 8)
}

// MARK: - pre-5.18 profile

@Test func pre518FilePagesFaultedIntoALockOnFaultRangeAreNotMlocked() {
    var p = Proc(profile: .pre518)
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 1, shared: true))
    p.run(mlockOnFault(A, 2))
    p.run(read(A, 2))
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.counters == Counters())
    var q = Proc(profile: .mlockCount)   // 5.18 on: mlocked at fault
    q.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: true))
    q.run(mapObject(A, 2, slot: 1, shared: true))
    q.run(mlockOnFault(A, 2))
    q.run(read(A, 2))
    #expect(q.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
}

@Test func pre518MunlockOfOneOfTwoLockedMappingsCountsAReMlock() {
    var p = Proc(profile: .pre518)
    let B = A + 16 * P
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 1, shared: true, .rw, .locked))
    p.run(mapObject(B, 2, slot: 1, shared: true, .rw, .locked))
    p.run(munlock(A, 2))
    // try_to_munlock finds B still VM_LOCKED and mlocks the pages again.
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 4, culled: 2))
    p.run(munlock(B, 2))
    #expect(p.counters == counts(mlocked: 0, unevictable: 0, pgMlocked: 4, pgMunlocked: 2, culled: 2, rescued: 2))
}

@Test func pre518HasNoMadvDontneedLocked() {
    var p = Proc(profile: .pre518)
    p.run(mapAnon(A, 1, .rw, .locked))
    #expect(p.run(madvise(A, 1, UAPI.MADV_DONTNEED_LOCKED)) == .fail(Err.EINVAL))
}

@Test func largeFolioAndMlockCountProfilesAgreeOnSmallFolios() {
    func run(_ profile: KernelProfile) -> StepView {
        var p = Proc(profile: profile)
        p.run(.createObject(slot: 1, kind: .memfd, pages: 4, filled: true))
        p.run(mapObject(A, 4, slot: 1, shared: true, .rw, .locked))
        p.run(mapObject(A + 16 * P, 4, slot: 1, shared: true, .rw, .locked))
        p.run(munlock(A, 2))
        p.run(mapAnon(A + 32 * P, 2, .rw, .locked))
        p.run(munmap(A + 32 * P, 1))
        return p.view
    }
    #expect(run(.largeFolio) == run(.mlockCount))
}

@Test func aTouchOfLengthULONGMAXTouchesNothingAsTheAgentsPageCountWraps() {
    var p = Proc()
    p.run(mapAnon(A, 1))
    #expect(p.run(.touch(addr: A, length: UInt64.max, write: true)) == ret(0))   // (2^64-1 + 4095) / 4096 = 0
    #expect(p.run(.touch(addr: A + 100, length: P, write: true)) == ret(1))      // one page, from A+100
    #expect(p.page(A) == plain)
}

@Test func madviseWillneedCachesARegularFileRangeThatAReadFaultThenMapsAround() {
    var p = Proc(readAheadKB: 0)          // no read-around: only WILLNEED fills the cache
    p.run(.createObject(slot: 1, kind: .file, pages: 32, filled: false))
    p.run(mapObject(A, 32, slot: 1, shared: true))
    #expect(p.run(madvise(A, 32, UAPI.MADV_WILLNEED)) == .ok)
    #expect(p.pages(A, 32) == Array(repeating: absent, count: 32))   // cached, not mapped
    p.run(read(A, 1))
    #expect(p.pages(A, 17) == Array(repeating: plain, count: 16) + [absent])
}

@Test func madviseWillneedOfPages8To48ThenAReadOfPage20MapsTheAlignedBlock16To32() {
    var p = Proc(readAheadKB: 8192)
    p.run(.createObject(slot: 1, kind: .file, pages: 64, filled: false))
    p.run(mapObject(A, 64, slot: 1, shared: true, .read))
    p.run(madvise(A, 64, UAPI.MADV_RANDOM))                   // no read-around on the fault
    p.run(madvise(A + 8 * P, 40, UAPI.MADV_WILLNEED))         // caches [8, 48)
    p.run(read(A + 20 * P, 1))
    #expect(p.pages(A, 64) == Array(repeating: absent, count: 16) + Array(repeating: plain, count: 16)
                              + Array(repeating: absent, count: 32))
}
