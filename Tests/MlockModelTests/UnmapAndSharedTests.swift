import Testing
import MlockModel

// munmap; shared memfd / shmem pages locked through several VMAs; smaps PSS; fault-around.

@Test func munmapOfLockedAnonPagesMunlocksRescuesAndFreesThemWithoutClearedEvents() {
    var p = Proc()
    p.run(mapAnon(A, 4, .rw, .locked))
    #expect(p.run(munmap(A, 4)) == .ok)
    #expect(p.vmas.isEmpty)
    #expect(p.vmLck == 0)
    #expect(p.counters == counts(mlocked: 0, unevictable: 0, pgMlocked: 4, pgMunlocked: 4, culled: 4, rescued: 4, cleared: 0))
}

@Test func munmapOfTheMiddleOfALockedVMASplitsItAndLowersVmLck() {
    var p = Proc()
    p.run(mapAnon(A, 3, .rw, .locked))
    #expect(p.run(munmap(A + P, 1)) == .ok)
    #expect(p.vmas == [vma(A, A + P, locked: true, rss: 4, lockedKB: 4),
                       vma(A + 2 * P, A + 3 * P, locked: true, rss: 4, lockedKB: 4)])
    #expect(p.vmLck == 8)
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 3, pgMunlocked: 1, culled: 3, rescued: 1))
}

@Test func munmapOfAnUnalignedAddressIsEINVAL() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    #expect(p.run(.munmap(addr: A + 1, length: P)) == .fail(Err.EINVAL))
    #expect(p.vmas == [vma(A, A + 2 * P)])
}

@Test func munmapOfLengthZeroIsEINVAL() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    #expect(p.run(.munmap(addr: A, length: 0)) == .fail(Err.EINVAL))
    #expect(p.run(.munmap(addr: A, length: UInt64.max)) == .fail(Err.EINVAL))
}

@Test func munmapOfARangeWithHolesSucceeds() {
    var p = Proc()
    p.run(mapAnon(A, 1))
    p.run(mapAnon(A + 3 * P, 1))
    #expect(p.run(munmap(A, 8)) == .ok)
    #expect(p.vmas.isEmpty)
    #expect(p.run(munmap(A, 8)) == .ok)   // nothing mapped at all: still 0
}

@Test func sharedMemfdMappedTwiceAndLockedTwiceStaysMlockedUntilTheLastMunlock() {
    var p = Proc()
    let B = A + 16 * P
    p.run(.createObject(slot: 1, kind: .memfd, pages: 4, filled: true))
    p.run(mapObject(A, 4, slot: 1, shared: true))
    p.run(mapObject(B, 4, slot: 1, shared: true))
    p.run(mlock(A, 4))
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    p.run(mlock(B, 4))                     // mlock_count 1 -> 2: no event
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    p.run(munlock(A, 4))                   // 2 -> 1: still mlocked
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    #expect(p.pages(B, 4) == Array(repeating: mlockedPage, count: 4))
    #expect(p.pages(A, 4) == Array(repeating: mlockedPage, count: 4))   // same folios
    p.run(munlock(B, 4))                   // 1 -> 0
    #expect(p.counters == counts(mlocked: 0, unevictable: 0, pgMlocked: 4, pgMunlocked: 4, culled: 4, rescued: 4))
    #expect(p.vmLck == 0)
}

@Test func munmapOfOneOfTwoLockedMappingsOfAPageKeepsItMlocked() {
    var p = Proc()
    let B = A + 16 * P
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 1, shared: true, .rw, .locked))
    p.run(mapObject(B, 2, slot: 1, shared: true, .rw, .locked))
    p.run(munmap(A, 2))
    #expect(p.pages(B, 2) == [mlockedPage, mlockedPage])
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    #expect(p.vmLck == 8)
}

@Test func smapsLockedCountsHalfOfAPageMappedByTwoLockedVMAs() {
    var p = Proc()
    let B = A + 16 * P
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 1, shared: true, .rw, .locked))
    p.run(mapObject(B, 2, slot: 1, shared: true, .rw, .locked))
    // Each page: PSS 4096/2 = 2048 bytes -> 2 pages = 4 kB in each VMA; Rss is not shared out.
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true, locked: true, rss: 8, lockedKB: 4),
                       vma(B, B + 2 * P, shared: true, locked: true, rss: 8, lockedKB: 4)])
}

@Test func smapsLockedTruncatesThePSSOfPagesMappedThreeTimes() {
    // (4096 << 12) / 3 = 5592405 per page; 3 pages = 16777215; >> 12 = 4095 bytes; >> 10 = 3 kB.
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 3, filled: true))
    for k in UInt64(0)..<3 { p.run(mapObject(A + k * 16 * P, 3, slot: 1, shared: true, .rw, .locked)) }
    for v in p.vmas { #expect(v.rssKB == 12 && v.lockedKB == 3) }
    #expect(p.vmLck == 36)
}

@Test func smapsLockedIsZeroForPagesInAnUnlockedVMAEvenWhenTheyAreMlocked() {
    var p = Proc()
    let B = A + 16 * P
    p.run(.createObject(slot: 1, kind: .memfd, pages: 1, filled: true))
    p.run(mapObject(A, 1, slot: 1, shared: true, .rw, .locked))
    p.run(mapObject(B, 1, slot: 1, shared: true))
    p.run(read(B, 1))
    #expect(p.vmas == [vma(A, A + P, shared: true, locked: true, rss: 4, lockedKB: 2),
                       vma(B, B + P, shared: true, rss: 4, lockedKB: 0)])
    #expect(p.page(B) == mlockedPage)
}

@Test func aReadFaultOnAFilledMemfdMapsTheSixteenPageFaultAroundWindow() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 32, filled: true))
    p.run(mapObject(A, 32, slot: 1, shared: true))
    #expect(p.run(read(A, 1)) == ret(1))
    #expect(p.pages(A, 16) == Array(repeating: plain, count: 16))
    #expect(p.pages(A + 16 * P, 16) == Array(repeating: absent, count: 16))
    #expect(p.vmas == [vma(A, A + 32 * P, shared: true, rss: 64)])
    p.run(read(A + 20 * P, 1))
    #expect(p.vmas == [vma(A, A + 32 * P, shared: true, rss: 128)])
}

@Test func faultAroundInALockedVMAMlocksEveryPageItMaps() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 32, filled: true))
    p.run(mapObject(A, 32, slot: 1, shared: true))
    p.run(mlockOnFault(A, 32))
    #expect(p.counters == Counters())
    p.run(read(A, 1))
    #expect(p.counters == counts(mlocked: 16, unevictable: 16, pgMlocked: 16, culled: 16))
    #expect(p.vmas == [vma(A, A + 32 * P, shared: true, locked: true, rss: 64, lockedKB: 64)])
}

@Test func aPureWriteFaultOnSharedMemoryMapsOnlyThatPage() {
    // GUP with FOLL_WRITE takes a write fault (do_shared_fault): no fault-around.
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 8, filled: true))
    p.run(mapObject(A, 8, slot: 1, shared: true))
    p.run(madvise(A, 1, UAPI.MADV_POPULATE_WRITE))
    #expect(p.pages(A, 3) == [plain, absent, absent])
}

@Test func theAgentsWriteTouchLoadsFirstSoFaultAroundMapsTheCachedWindow() {
    // `*p = *p`: the load takes a read fault (fault-around), then the store.
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 8, filled: true))
    p.run(mapObject(A, 8, slot: 1, shared: true))
    #expect(p.run(write(A, 1)) == ret(1))
    #expect(p.pages(A, 8) == Array(repeating: plain, count: 8))
}

@Test func aWriteTouchOfAReadOnlyAnonPageMapsTheZeroPageBeforeFailing() {
    var p = Proc()
    p.run(mapAnon(A, 1, .read))
    #expect(p.run(write(A, 1)) == .fail(Err.EFAULT))
    #expect(p.page(A) == zeroPage)
}

@Test func aReadFaultOnASparseRegularFileReadsAroundThenMapsTheFaultAroundWindow() {
    // 8 MiB read_ahead_kb: the whole 64-page file is read in, the retried read fault
    // maps pages 0-15. A write touch of page 40 (read fault first) maps pages 32-47.
    var p = Proc(readAheadKB: 8192)
    p.run(.createObject(slot: 1, kind: .file, pages: 64, filled: false))
    p.run(mapObject(A, 64, slot: 1, shared: true))
    p.run(read(A, 1))
    #expect(p.pages(A, 17) == Array(repeating: plain, count: 16) + [absent])
    p.run(write(A + 40 * P, 1))
    #expect(p.pages(A + 31 * P, 18) == [absent] + Array(repeating: plain, count: 16) + [absent])
    #expect(p.vmas == [vma(A, A + 64 * P, shared: true, rss: 128)])
}

@Test func readAroundOfARegularFileIsCenteredAndClippedByTheReadAheadWindow() {
    // 128 kB = 32 pages: a fault at page 100 reads [84, 116); fault-around then maps
    // the aligned 16-page block [96, 112).
    var p = Proc(readAheadKB: 128)
    p.run(.createObject(slot: 1, kind: .file, pages: 200, filled: false))
    p.run(mapObject(A, 200, slot: 1, shared: true))
    p.run(read(A + 100 * P, 1))
    #expect(p.pages(A + 95 * P, 18) == [absent] + Array(repeating: plain, count: 16) + [absent])
    p.run(read(A + 84 * P, 1))      // cached by the first read-around: maps [80, 96) minus 80-83
    #expect(p.pages(A + 80 * P, 16) == Array(repeating: absent, count: 4) + Array(repeating: plain, count: 12))
}

@Test func madviseRandomTurnsOffReadAroundOfARegularFile() {
    var p = Proc(readAheadKB: 8192)
    p.run(.createObject(slot: 1, kind: .file, pages: 32, filled: false))
    p.run(mapObject(A, 32, slot: 1, shared: true))
    p.run(madvise(A, 32, UAPI.MADV_RANDOM))
    p.run(read(A, 1))
    #expect(p.pages(A, 2) == [plain, absent])
}

@Test func aReadFaultOnAnEmptyMemfdCreatesOnlyTheFaultingPage() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 8, filled: false))
    p.run(mapObject(A, 8, slot: 1, shared: true))
    p.run(read(A + P, 1))
    #expect(p.pages(A, 3) == [absent, plain, absent])
}

@Test func sharedAnonymousReadFaultsCreateRealShmemPagesNotTheZeroPage() {
    var p = Proc()
    p.run(mapSharedAnon(A, 2))
    p.run(read(A, 2))
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true, rss: 8)])
    p.run(mlock(A, 2))
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
}

@Test func memfdPagesStayCachedAfterMunmapAndAreMappedAgainUnlocked() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: false))
    p.run(mapObject(A, 2, slot: 1, shared: true, .rw, .locked))   // creates and mlocks 2 pages
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(munmap(A, 2))
    #expect(p.counters == counts(mlocked: 0, unevictable: 0, pgMlocked: 2, pgMunlocked: 2, culled: 2, rescued: 2))
    p.run(mapObject(A, 2, slot: 1, shared: true))
    p.run(read(A, 1))                                               // fault-around maps both
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.counters == counts(mlocked: 0, unevictable: 0, pgMlocked: 2, pgMunlocked: 2, culled: 2, rescued: 2))
}

@Test func lockedPrivateWritableFileMappingIsPopulatedWithPrivateCopies() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 1, shared: false, .rw, .locked))
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])       // anonymous COW copies
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8)])
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
}

@Test func makingALockedPrivateReadOnlyFileMappingWritableCOWsEveryPage() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 1, shared: false, .read, .locked))   // page-cache pages mapped
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    #expect(p.run(.mprotect(addr: A, length: 2 * P, prot: .rw)) == .ok)
    // New anonymous copies mlocked; the page-cache pages lose their only lock.
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 4, pgMunlocked: 2, culled: 4, rescued: 2))
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8)])
}

@Test func aWriteToALockedPrivateFilePageMappedReadOnlyCopiesItAndMunlocksTheOriginal() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 1, filled: true))
    p.run(mapObject(A, 1, slot: 1, shared: false))
    p.run(mlockOnFault(A, 1))
    p.run(read(A, 1))                                  // maps the page-cache page, mlocked
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
    p.run(write(A, 1))                                 // COW: copy mlocked, original munlocked
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 2, pgMunlocked: 1, culled: 2, rescued: 1))
    #expect(p.page(A) == mlockedPage)
}
