import Testing
import MlockModel

// mlock / mlock2 / munlock: errnos, rounding, limits, page events, split and merge.

@Test func mlockOfPresentPagesMlocksAndCullsEachOnce() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    p.run(write(A, 4))
    #expect(p.counters == Counters())
    #expect(p.run(mlock(A, 4)) == .ok)
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true, rss: 16, lockedKB: 16)])
    #expect(p.vmLck == 16)
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
}

@Test func mlockOfAbsentPagesPopulatesThemWithWriteFaults() {
    var p = Proc()
    p.run(mapAnon(A, 3))
    p.run(mlock(A, 3))
    #expect(p.pages(A, 3) == [mlockedPage, mlockedPage, mlockedPage])
    #expect(p.counters == counts(mlocked: 3, unevictable: 3, pgMlocked: 3, culled: 3))
}

@Test func mlockingALockedRangeAgainChangesNothing() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    p.run(mlock(A, 4))
    let before = p.counters
    #expect(p.run(mlock(A, 4)) == .ok)
    #expect(p.counters == before)
    #expect(p.vmLck == 16)
}

@Test func munlockClearsMlockedAndRescuesEveryPage() {
    var p = Proc()
    p.run(mapAnon(A, 4, .rw, .locked))
    #expect(p.run(munlock(A, 4)) == .ok)
    #expect(p.vmas == [vma(A, A + 4 * P, rss: 16)])
    #expect(p.vmLck == 0)
    #expect(p.pages(A, 4) == Array(repeating: plain, count: 4))
    #expect(p.counters == counts(mlocked: 0, unevictable: 0, pgMlocked: 4, pgMunlocked: 4, culled: 4, rescued: 4))
}

@Test func mlockOfAnUnalignedStartAndOnePageLengthLocksTwoPages() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    #expect(p.run(.mlock(addr: A + 100, length: P)) == .ok)   // PAGE_ALIGN(4096 + 100) = 2 pages
    #expect(p.vmLck == 8)
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8), vma(A + 2 * P, A + 4 * P)])
}

@Test func mlockOfLengthZeroReturnsZeroAndLocksNothing() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    #expect(p.run(.mlock(addr: A, length: 0)) == .ok)
    #expect(p.vmLck == 0)
    #expect(p.vmas == [vma(A, A + 2 * P)])
}

@Test func mlockWithLengthULONGMAXAtAnAlignedStartWrapsToZeroAndDoesNothing() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    #expect(p.run(.mlock(addr: A, length: UInt64.max)) == .ok)
    #expect(p.run(.mlock(addr: A + 1, length: UInt64.max)) == .ok)   // ULONG_MAX + 1 = 0 too
    #expect(p.vmLck == 0)
    #expect(p.vmas == [vma(A, A + 2 * P)])
}

@Test func mlockWithLengthULONGMAXTwoBytesIntoAPageLocksThatOnePage() {
    // PAGE_ALIGN(ULONG_MAX + 2) = PAGE_ALIGN(1) = 4096.
    var p = Proc()
    p.run(mapAnon(A, 4))
    #expect(p.run(.mlock(addr: A + 2, length: UInt64.max)) == .ok)
    #expect(p.vmas == [vma(A, A + P, locked: true, rss: 4, lockedKB: 4), vma(A + P, A + 4 * P)])
    #expect(p.vmLck == 4)
}

@Test func mlockWhoseEndWrapsPastZeroIsEINVALWhenTheLimitAllowsIt() {
    var p = Proc(cap: false)   // RLIMIT_MEMLOCK unlimited: the limit check passes, end < start
    p.run(mapAnon(A, 1))
    #expect(p.run(.mlock(addr: A, length: 0 &- A)) == .fail(Err.EINVAL))
    var capped = Proc(cap: true)
    capped.run(mapAnon(A, 1))
    #expect(capped.run(.mlock(addr: A, length: 0 &- A)) == .fail(Err.EINVAL))
}

@Test func mlockWhoseEndWrapsIsENOMEMUnderAFiniteLimitWithoutCapIpcLock() {
    var p = Proc(soft: 64 * P, hard: 64 * P, cap: false)   // the limit check comes first
    p.run(mapAnon(A, 1))
    #expect(p.run(.mlock(addr: A, length: 0 &- A)) == .fail(Err.ENOMEM))
}

@Test func mlockStartingInAHoleIsENOMEMAndChangesNothing() {
    var p = Proc()
    p.run(mapAnon(A + 2 * P, 2))
    #expect(p.run(mlock(A, 4)) == .fail(Err.ENOMEM))
    #expect(p.vmLck == 0)
    #expect(p.vmas == [vma(A + 2 * P, A + 4 * P)])
}

@Test func mlockOverAHoleAfterTheFirstVMALocksItButDoesNotPopulateAndReturnsENOMEM() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mapAnon(A + 3 * P, 2))
    #expect(p.run(mlock(A, 5)) == .fail(Err.ENOMEM))
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true), vma(A + 3 * P, A + 5 * P)])
    #expect(p.vmLck == 8)
    #expect(p.pages(A, 2) == [absent, absent])   // apply_vma_lock_flags failed: no populate
}

@Test func mlockRunningPastTheLastVMALocksItAndReturnsENOMEM() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    #expect(p.run(mlock(A, 4)) == .fail(Err.ENOMEM))
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true)])
    #expect(p.vmLck == 8)
}

@Test func mlock2WithAFlagOtherThanOnFaultIsEINVAL() {
    var p = Proc()
    p.run(mapAnon(A, 1))
    #expect(p.run(.mlock2(addr: A, length: P, flags: 2)) == .fail(Err.EINVAL))
    #expect(p.run(.mlock2(addr: A, length: P, flags: 3)) == .fail(Err.EINVAL))
    #expect(p.run(.mlock2(addr: A, length: P, flags: 0)) == .ok)   // plain mlock
    #expect(p.vmas == [vma(A, A + P, locked: true, rss: 4, lockedKB: 4)])
}

@Test func mlockWithAZeroLimitAndNoCapIpcLockIsEPERM() {
    var p = Proc(soft: 0, hard: 0, cap: false)
    p.run(mapAnon(A, 1))
    #expect(p.run(mlock(A, 1)) == .fail(Err.EPERM))
    #expect(p.run(mlockOnFault(A, 1)) == .fail(Err.EPERM))
    #expect(p.run(munlock(A, 1)) == .ok)   // munlock needs no permission
}

@Test func mlockOverTheMemlockLimitIsENOMEM() {
    var p = Proc(soft: 4 * P, hard: 4 * P, cap: false)
    p.run(mapAnon(A, 8))
    #expect(p.run(mlock(A, 5)) == .fail(Err.ENOMEM))
    #expect(p.vmLck == 0)
    #expect(p.run(mlock(A, 4)) == .ok)
    #expect(p.vmLck == 16)
}

@Test func relockingAnAlreadyLockedRangeAtTheLimitCountsItOnce() {
    var p = Proc(soft: 4 * P, hard: 4 * P, cap: false)
    p.run(mapAnon(A, 4))
    #expect(p.run(mlock(A, 4)) == .ok)
    #expect(p.run(mlock(A, 4)) == .ok)   // 4 + 4 - 4 already locked <= 4
    #expect(p.vmLck == 16)
}

@Test func aLargerRangeOverlappingALockedOneIsCheckedOnItsNewPagesOnly() {
    var p = Proc(soft: 6 * P, hard: 6 * P, cap: false)
    p.run(mapAnon(A, 8))
    #expect(p.run(mlock(A, 4)) == .ok)
    #expect(p.run(mlock(A, 6)) == .ok)               // 6 + 4 - 4 = 6 <= 6
    #expect(p.vmLck == 24)
    #expect(p.run(mlock(A, 8)) == .fail(Err.ENOMEM))  // 8 + 6 - 6 = 8 > 6
    #expect(p.vmLck == 24)
}

@Test func capIpcLockIgnoresTheMemlockLimit() {
    var p = Proc(soft: P, hard: P, cap: true)
    p.run(mapAnon(A, 8))
    #expect(p.run(mlock(A, 8)) == .ok)
    #expect(p.vmLck == 32)
}

@Test func mlockOfAProtNoneVMALocksItButPopulateFailsWithENOMEM() {
    var p = Proc()
    p.run(mapAnon(A, 4, .none))
    #expect(p.run(mlock(A, 4)) == .fail(Err.ENOMEM))
    #expect(p.vmas == [vma(A, A + 4 * P, .none, locked: true)])
    #expect(p.vmLck == 16)
    #expect(p.counters == Counters())
}

@Test func munlockOfTheMiddlePageSplitsTheVMAAndRelockingMergesItBack() {
    var p = Proc()
    p.run(mapAnon(A, 3, .rw, .locked))
    #expect(p.run(munlock(A + P, 1)) == .ok)
    #expect(p.vmas == [vma(A, A + P, locked: true, rss: 4, lockedKB: 4),
                       vma(A + P, A + 2 * P, rss: 4),
                       vma(A + 2 * P, A + 3 * P, locked: true, rss: 4, lockedKB: 4)])
    #expect(p.vmLck == 8)
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 3, pgMunlocked: 1, culled: 3, rescued: 1))
    #expect(p.run(mlock(A + P, 1)) == .ok)
    #expect(p.vmas == [vma(A, A + 3 * P, locked: true, rss: 12, lockedKB: 12)])
    #expect(p.vmLck == 12)
    #expect(p.counters == counts(mlocked: 3, unevictable: 3, pgMlocked: 4, pgMunlocked: 1, culled: 4, rescued: 1))
}

@Test func onFaultThenFullThenOnFaultKeepsVmLckAndMlocksEachPageOnce() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    #expect(p.run(mlockOnFault(A, 4)) == .ok)
    #expect(p.vmLck == 16)
    #expect(p.pages(A, 4) == [absent, absent, absent, absent])
    p.run(write(A, 1))
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
    #expect(p.run(mlock(A, 4)) == .ok)       // locked -> locked: no VmLck change, populate the rest
    #expect(p.vmLck == 16)
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    #expect(p.run(mlockOnFault(A, 4)) == .ok)
    #expect(p.vmLck == 16)
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true, rss: 16, lockedKB: 16)])
}

@Test func mlock2OnFaultMlocksOnlyThePagesAlreadyPresent() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    p.run(write(A, 2))
    p.run(mlockOnFault(A, 4))
    #expect(p.pages(A, 4) == [mlockedPage, mlockedPage, absent, absent])
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true, rss: 8, lockedKB: 8)])
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
}

@Test func aNewAnonymousPageFaultedIntoALockedVMAIsMlockedAndCulled() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    p.run(mlockOnFault(A, 4))
    #expect(p.run(write(A + 2 * P, 1)) == ret(1))
    #expect(p.page(A + 2 * P) == mlockedPage)
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
}

@Test func aReadFaultInALockOnFaultRangeMapsTheZeroPageAndAWriteBreaksCOW() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mlockOnFault(A, 2))
    p.run(read(A, 2))
    #expect(p.pages(A, 2) == [zeroPage, zeroPage])
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 0, lockedKB: 0)])
    #expect(p.counters == Counters())
    p.run(write(A, 1))
    #expect(p.pages(A, 2) == [mlockedPage, zeroPage])
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
}

@Test func mlockOfReadOnlyPrivateAnonPopulatesZeroPagesOnly() {
    var p = Proc()
    p.run(mapAnon(A, 3, .read))
    #expect(p.run(mlock(A, 3)) == .ok)
    #expect(p.pages(A, 3) == [zeroPage, zeroPage, zeroPage])
    #expect(p.vmas == [vma(A, A + 3 * P, .read, locked: true)])
    #expect(p.vmLck == 12)
    #expect(p.counters == Counters())
}

@Test func munlockOfAHoleIsENOMEMAndMunlockOfNothingLockedIsZero() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    #expect(p.run(munlock(A + 4 * P, 1)) == .fail(Err.ENOMEM))
    #expect(p.run(munlock(A, 2)) == .ok)
}
