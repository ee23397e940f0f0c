import Testing
import MlockModel

// Large folios: PMD THPs (MADV_HUGEPAGE, enabled=madvise) and mTHPs, by profile.
// Counts are in pages; a PMD THP is 512 pages, 2048 kB.

let T: UInt64 = 512            // pages of a PMD THP
let thpMadvise = THPSettings.madvise
func thpWith(order: Int, _ mode: THPMode = .always) -> THPSettings {
    var s = THPSettings.madvise
    s.anonOrders[order] = mode
    return s
}

/// A locked, written PMD THP at A.
func lockedTHP(_ profile: KernelProfile) -> Proc {
    var p = Proc(profile: profile, thp: thpMadvise)
    p.run(mapAnon(A, T))
    p.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    p.run(write(A, 1))
    p.run(mlock(A, T))
    return p
}

/// A VMA of a MADV_HUGEPAGE'd region (smaps VmFlags `hg`).
func hvma(_ start: UInt64, _ end: UInt64, locked: Bool = false, rss: UInt64 = 0, lockedKB: UInt64 = 0,
          anonHuge: UInt64 = 0) -> VMAView {
    vma(start, end, locked: locked, rss: rss, lockedKB: lockedKB, advice: ["hg"], anonHuge: anonHuge)
}

let thpHead = PageView(present: true, thp: true, head: true)
let thpTail = PageView(present: true, thp: true, tail: true)
let mlockedHead = PageView(present: true, mlocked: true, unevictable: true, thp: true, head: true)
let mlockedTail = PageView(present: true, mlocked: true, unevictable: true, thp: true, tail: true)

@Test func writeToAMadvisedAlignedRangeMakesAPMDTHPWhichMlockLocksWhole() {
    var p = Proc(thp: thpMadvise)
    p.run(mapAnon(A, T))
    p.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    #expect(p.run(write(A + 7 * P, 1)) == ret(1))
    #expect(p.pages(A, 2) == [thpHead, thpTail])
    #expect(p.page(A + (T - 1) * P) == thpTail)
    #expect(p.vmas == [hvma(A, A + T * P, rss: 2048, anonHuge: 2048)])
    #expect(p.run(mlock(A, T)) == .ok)
    #expect(p.pages(A, 2) == [mlockedHead, mlockedTail])
    #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 512, culled: 512))
    p.run(munlock(A, T))
    #expect(p.counters == counts(pgMlocked: 512, pgMunlocked: 512, culled: 512, rescued: 512))
    p.run(munmap(A, T))
    #expect(p.vmas.isEmpty)
}

@Test func noTHPWithoutMadviseOrWithTHPNever() {
    var p = Proc(thp: thpMadvise)                 // enabled=madvise, no MADV_HUGEPAGE
    p.run(mapAnon(A, T))
    p.run(write(A, 1))
    #expect(p.page(A) == plain && p.page(A + P) == absent)
    var q = Proc(thp: .disabled)                  // enabled=never
    q.run(mapAnon(A, T))
    q.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    q.run(write(A, 1))
    #expect(q.page(A) == plain && q.page(A + P) == absent)
}

@Test func aMisalignedOrTooShortVMAGetsNoPMDTHP() {
    var p = Proc(thp: thpMadvise)
    p.run(mapAnon(A + P, T))                      // covers no whole aligned 2 MiB block
    p.run(madvise(A + P, T, UAPI.MADV_HUGEPAGE))
    p.run(write(A + P, 1))
    #expect(p.page(A + P) == plain && p.page(A + 2 * P) == absent)
}

@Test func aReadMapsTheHugeZeroPageAndMlocksWritePopulateReplacesItByAnMlockedTHP() {
    var p = Proc(thp: thpMadvise)
    p.run(mapAnon(A, T))
    p.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    p.run(read(A, 1))
    #expect(p.page(A) == PageView(present: true, zero: true, thp: true, head: true))
    #expect(p.page(A + 9 * P) == PageView(present: true, zero: true, thp: true, tail: true))
    #expect(p.vmas == [hvma(A, A + T * P)])   // the huge zero page is not in Rss
    p.run(mlock(A, T))                            // FOLL_WRITE: do_huge_zero_wp_pmd
    #expect(p.pages(A, 2) == [mlockedHead, mlockedTail])
    #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 512, culled: 512))
}

@Test func aTHPFaultedIntoALockedVMAIsMlockedAsItIsMade() {
    var p = Proc(thp: thpMadvise)
    p.run(mapAnon(A, T))
    p.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    p.run(mlockOnFault(A, T))
    p.run(write(A + 5 * P, 1))
    #expect(p.pages(A, 2) == [mlockedHead, mlockedTail])
    #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 512, culled: 512))
    #expect(p.vmas == [hvma(A, A + T * P, locked: true, rss: 2048, lockedKB: 2048, anonHuge: 2048)])
}

// munlock of one page: both layers part. VmLck keeps 2044 kB, the folio is munlocked.
@Test(arguments: [KernelProfile.mlockCount, .largeFolio, .rmapLargeFolio])
func munlockOfOnePageOfALockedTHPMunlocksTheWholeFolio(_ profile: KernelProfile) {
    var p = lockedTHP(profile)
    #expect(p.run(munlock(A + 10 * P, 1)) == .ok)
    #expect(p.vmLck == 2044)
    #expect(p.vmas == [hvma(A, A + 10 * P, locked: true, rss: 40, lockedKB: 40),
                       hvma(A + 10 * P, A + 11 * P, rss: 4),
                       hvma(A + 11 * P, A + T * P, locked: true, rss: 2004, lockedKB: 2004)])
    #expect(p.counters == counts(pgMlocked: 512, pgMunlocked: 512, culled: 512, rescued: 512))
    #expect(p.page(A) == thpHead)                 // still one large folio, PTE-mapped
    // Re-lock of the page: the walk covers [page 10] only, the folio is wider: no mlock.
    p.run(mlock(A + 10 * P, 1))
    #expect(p.vmas == [hvma(A, A + T * P, locked: true, rss: 2048, lockedKB: 2048)])
    #expect(p.counters == counts(pgMlocked: 512, pgMunlocked: 512, culled: 512, rescued: 512))
    // munlock + mlock of the whole range: 6.7 on mlocks the PTE-mapped folio, 5.18 skips it.
    p.run(munlock(A, T))
    p.run(mlock(A, T))
    if profile == .mlockCount {
        #expect(p.page(A) == thpHead)
        #expect(p.counters.mlocked == 0)
    } else {
        #expect(p.pages(A, 2) == [mlockedHead, mlockedTail])
        #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 1024, pgMunlocked: 512,
                                     culled: 1024, rescued: 512))
    }
}

@Test func beforeMlockCountTheSplitClearsTheTHPsMlock() {
    var p = lockedTHP(.pre518)
    p.run(munlock(A + 10 * P, 1))
    #expect(p.counters == counts(pgMlocked: 512, culled: 512, rescued: 512, cleared: 512))
}

// mprotect of one page splits the PMD inside a locked range: 6.18's rmap add maps the
// whole folio into the locked VMA and keeps it mlocked; 5.18-6.17 munlock it.
@Test(arguments: [KernelProfile.mlockCount, .largeFolio, .rmapLargeFolio])
func mprotectOfOnePageOfALockedTHP(_ profile: KernelProfile) {
    var p = lockedTHP(profile)
    #expect(p.run(.mprotect(addr: A + 10 * P, length: P, prot: .read)) == .ok)
    #expect(p.vmLck == 2048)
    #expect(p.vmas.map(\.anonHugeKB) == [0, 0, 0])
    if profile == .rmapLargeFolio {
        #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 512, culled: 512))
        #expect(p.page(A + 10 * P) == mlockedTail)
    } else {
        #expect(p.counters == counts(pgMlocked: 512, pgMunlocked: 512, culled: 512, rescued: 512))
        #expect(p.page(A + 10 * P) == thpTail)
    }
}

@Test(arguments: [KernelProfile.largeFolio, .rmapLargeFolio])
func munmapOfOnePageOfALockedTHPMunlocksItAndLeavesAPartlyMappedFolio(_ profile: KernelProfile) {
    var p = lockedTHP(profile)
    p.run(munmap(A + 10 * P, 1))
    #expect(p.vmLck == 2044)
    #expect(p.counters == counts(pgMlocked: 512, pgMunlocked: 512, culled: 512, rescued: 512))
    #expect(p.page(A + 10 * P) == absent)
    #expect(p.page(A) == thpHead && p.page(A + 11 * P) == thpTail)
    p.run(munmap(A, T))                           // the rest freed: no event
    #expect(p.counters == counts(pgMlocked: 512, pgMunlocked: 512, culled: 512, rescued: 512))
}

@Test func kernel61ShowsATHPsMlockOnItsHeadPageOnly() {
    let p = lockedTHP(.mlockCount)
    #expect(p.page(A) == mlockedHead)
    #expect(p.page(A + P) == thpTail)             // PG_mlocked is a head-page flag there
    #expect(p.counters.mlocked == 512)            // counted per folio all the same
}

// mTHP (64 kB = order 4): PTE-mapped folios made by write faults.
@Test(arguments: [KernelProfile.mlockCount, .largeFolio, .rmapLargeFolio])
func mthpInsideALockedRangeIsMlockedFrom67AndOneStraddlingItsEdgeNever(_ profile: KernelProfile) {
    var p = Proc(profile: profile, thp: thpWith(order: 4))
    p.run(mapAnon(A, 48))
    #expect(p.run(madvise(A, 48, UAPI.MADV_POPULATE_WRITE)) == .ok)
    #expect(p.pages(A, 2) == [thpHead, thpTail])
    #expect(p.page(A + 16 * P) == thpHead && p.page(A + 32 * P) == thpHead)
    #expect(p.vmas == [vma(A, A + 48 * P, rss: 192)])   // PTE-mapped: no AnonHugePages
    p.run(mlock(A, 16))
    let inside: Int64 = profile == .mlockCount ? 0 : 16
    #expect(p.counters.mlocked == inside)
    p.run(mlock(A + 24 * P, 16))                  // straddles folios 1 and 2
    #expect(p.counters.mlocked == inside)
    #expect(p.vmLck == 128)
    p.run(munlock(A + P, 1))                      // one page of folio 0: all of it
    #expect(p.counters.mlocked == 0)
}

@Test func aReadFaultInAnMTHPRangeMapsTheSmallZeroPageAndTheWriteCopiesOnePage() {
    var p = Proc(thp: thpWith(order: 4))
    p.run(mapAnon(A, 16))
    p.run(write(A, 1))                            // load then store: zero page, wp copy
    #expect(p.page(A) == plain && p.page(A + P) == absent)
}

@Test func mlockPopulatesMTHPsThatAreMlockedAsTheyAreMade() {
    var p = Proc(thp: thpWith(order: 2))
    p.run(mapAnon(A, 8))
    p.run(mlock(A, 8))
    #expect(p.pages(A, 4) == [mlockedHead, mlockedTail, mlockedTail, mlockedTail])
    #expect(p.counters == counts(mlocked: 8, unevictable: 8, pgMlocked: 8, culled: 8))
}

// MADV_COLLAPSE of 512 mlocked small pages: the old ones are munlocked in batches of
// 31 (496 munlocked), the last 16 flushed by the new THP while off the LRU (stranded).
@Test func collapseOfALockedRangeSwapsFiveHundredTwelveMlockedPagesForAnMlockedTHP() {
    var p = Proc(thp: .disabled)
    p.run(mapAnon(A, T, .rw, .locked))
    #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 512, culled: 512))
    #expect(p.run(madvise(A, T, UAPI.MADV_COLLAPSE)) == .ok)
    #expect(p.pages(A, 2) == [mlockedHead, mlockedTail])
    #expect(p.vmas == [vma(A, A + T * P, locked: true, rss: 2048, lockedKB: 2048, anonHuge: 2048)])
    #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 1024, pgMunlocked: 496,
                                 culled: 1024, rescued: 512, stranded: 16))
}

@Test func collapseOfAnEmptyBlockIsEINVALAndOfNoWholeBlockIsZero() {
    var p = Proc(thp: thpMadvise)
    p.run(mapAnon(A, T))
    #expect(p.run(madvise(A, T, UAPI.MADV_COLLAPSE)) == .fail(Err.EINVAL))
    #expect(p.run(madvise(A, 8, UAPI.MADV_COLLAPSE)) == .ok)
    p.run(madvise(A, T, UAPI.MADV_NOHUGEPAGE))
    p.run(write(A, T))
    #expect(p.run(madvise(A, T, UAPI.MADV_COLLAPSE)) == .fail(Err.EINVAL))
}

@Test func forkedChildSharesTheLockedTHPAndItsMlockCopiesItAndUndercounts() {
    var p = lockedTHP(.rmapLargeFolio)
    p.run(.fork)
    #expect(p.vmas == [hvma(A, A + T * P, rss: 2048, anonHuge: 2048)])
    #expect(p.pages(A, 2) == [mlockedHead, mlockedTail])   // the parent's lock
    p.run(write(A + 3 * P, 1))                    // COW: the child's PMD split, one page copied
    #expect(p.page(A + 3 * P) == plain)
    #expect(p.page(A + 4 * P) == mlockedTail)
    #expect(p.vmas == [hvma(A, A + T * P, rss: 2048)])
    // mlock: the walk mlocks the copy (the folio is in two batches: not mlocked again);
    // populate's write faults copy the other 511 pages into mlocked small folios, and the
    // first COW out of the now VM_LOCKED VMA munlocks the folio: mlock_count 1 -> 0,
    // although the frozen parent still locks it (an undercount, left to reclaim).
    p.run(mlock(A, T))
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])
    #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 1024, pgMunlocked: 512,
                                 culled: 1024, rescued: 512))
    p.run(munlock(A, T))
    #expect(p.counters == counts(pgMlocked: 1024, pgMunlocked: 1024, culled: 1024, rescued: 1024))
}

@Test func forkedParentsCOWOfOnePageMunlocksTheWholeFolioItStillLocks() {
    var p = lockedTHP(.rmapLargeFolio)
    p.run(.fork)
    // The parent writes page 3: PMD split in its locked VMA (6.18: count 1 -> 2 -> 1),
    // a new small mlocked copy, and the old page's removal munlocks the folio (1 -> 0).
    #expect(p.model.apply(write(A + 3 * P, 1), process: 0) == ret(1))
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 513, pgMunlocked: 512,
                                 culled: 513, rescued: 512))
    let parent = p.model.view(result: .ok, process: 0)!
    #expect(parent.pages[A + 3 * P] == mlockedPage)
    #expect(parent.pages[A] == thpHead)
    // The parent's Locked: page 3 its own (4 kB), the other 511 shared with the child (2 kB).
    #expect(parent.vmas == [hvma(A, A + T * P, locked: true, rss: 2048, lockedKB: 1026)])
}
