import Testing
import MlockModel

// Rules the fuzzer found wrong or missing (issue 6), one test per rule.

@Test func mremapToAnAddressTheKernelChoseTakesThatAddressFromTheResult() {
    var p = Proc()
    p.run(mapAnon(A, 2, .rw, .locked))
    p.run(mapAnon(A + 2 * P, 2, .read))
    let chosen: UInt64 = 0x7f12_3456_0000
    p.model.chosenAddress = chosen
    #expect(p.run(.mremap(old: A, oldLength: 2 * P, newLength: 4 * P, flags: UAPI.MREMAP_MAYMOVE, newAddr: 0)) == ok(chosen))
    #expect(p.model.ownRangesOutsideArena(process: 0).map { [$0.start, $0.end] } == [[chosen, chosen + 4 * P]])
    #expect(p.vmLck == 16)   // 4 locked pages, outside the arena; the 2 new ones populated
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
}

@Test func aKernelChoiceInsideTheArenaOrOverAMappingIsNotTaken() {
    for bad: UInt64 in [A + 64 * P, A + 1, 0x7f00_0000_0000 + 1] {
        var p = Proc()
        p.run(mapAnon(A, 2))
        p.run(mapAnon(A + 2 * P, 2, .read))
        p.model.chosenAddress = bad
        let r = p.run(.mremap(old: A, oldLength: 2 * P, newLength: 4 * P, flags: UAPI.MREMAP_MAYMOVE, newAddr: 0))
        #expect(r.errno == 0 && UInt64(bitPattern: r.ret) >= KernelModel.kernelChosenAddressBase)
    }
}

/// reusable_anon_vma(): a fork child's VMA is chained to its parent's anon_vma too, so a
/// neighbour faulting its first page gets a new anon_vma, and the two never merge again.
@Test func aForkChildsFaultedVMADoesNotLendItsAnonVmaSoItsNeighbourNeverMergesBack() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mlock(A, 1))            // [A, A+1p) locked and faulted: an anon_vma
    p.run(.fork)                  // the child: two unlocked VMAs, the first chained to the parent
    #expect(p.run(mlock(A, 2)) == .ok)
    #expect(p.run(.munlockall) == .ok)
    #expect(p.vmas == [vma(A, A + P, rss: 4), vma(A + P, A + 2 * P, rss: 4)])
}

@Test func theParentsNeighbourStillSharesItsAnonVmaAndMerges() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mlock(A, 1))
    p.run(mlock(A, 2))
    p.run(.munlockall)
    #expect(p.vmas == [vma(A, A + 2 * P, rss: 8)])
}

/// shrink_folio_list(): a clean page-cache folio is dropped; a dirty shmem one is kept
/// (no swap), a dirty regular-file one kept with PG_reclaim (= PG_readahead).
@Test func pageoutDropsANeverWrittenShmemPageAndKeepsAWrittenOne() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .memfd, pages: 2, filled: false))
    p.run(mapObject(A, 2, slot: 0, shared: true))
    p.run(read(A, 1))
    p.run(write(A + P, 1))
    #expect(p.run(madvise(A, 2, UAPI.MADV_PAGEOUT)) == .ok)
    #expect(p.pages(A, 2) == [absent, absent])
    // Another mapping of the object finds page 1 cached (fault-around maps it), page 0 not.
    p.run(mapObject(A + 64 * P, 2, slot: 0, shared: true))
    p.run(read(A + 64 * P + P, 1))
    #expect(p.pages(A + 64 * P, 2) == [absent, plain])
}

@Test func pageoutOfADirtyFilePageLeavesItCachedButSkippedByFaultAroundUntilFaulted() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .file, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 0, shared: true, .rw, .populate))
    #expect(p.run(madvise(A, 1, UAPI.MADV_PAGEOUT)) == .ok)
    #expect(p.pages(A, 2) == [absent, plain])
    p.run(madvise(A + P, 1, UAPI.MADV_DONTNEED))
    p.run(read(A + P, 1))                  // fault-around skips page 0 (PG_reclaim)
    #expect(p.pages(A, 2) == [absent, plain])
    p.run(read(A, 1))                      // its own fault maps it and clears the mark
    p.run(madvise(A, 2, UAPI.MADV_DONTNEED))
    p.run(read(A + P, 1))
    #expect(p.pages(A, 2) == [plain, plain])
}

@Test func pageoutOfAFilePageWrittenBackByMsyncDropsIt() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .file, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 0, shared: true, .rw, .populate))
    #expect(p.run(.msync(addr: A, length: P, flags: UAPI.MS_SYNC)) == .ok)
    p.run(madvise(A, 2, UAPI.MADV_PAGEOUT))
    p.run(mapObject(A + 64 * P, 2, slot: 0, shared: true))
    p.run(.madvise(addr: A + 64 * P, length: 2 * P, advice: UAPI.MADV_RANDOM))   // no read-around
    p.run(read(A + 64 * P + P, 1))
    #expect(p.pages(A + 64 * P, 2) == [absent, plain])   // page 0 left the cache, page 1 did not
}

/// 6.18 filemap_map_pages(): with no page table in the block, a window whose first
/// cached folio is a regular file's last page maps nothing (filemap_map_pmd, which
/// installs the table, is skipped); shmem maps it.
@Test func aReadBeyondEOFMapsTheLastFilePageOnlyUnderAnExistingPageTable() {
    var p = Proc(profile: .rmapLargeFolio)
    p.run(.createObject(slot: 0, kind: .file, pages: 1, filled: true))
    p.run(mapObject(A, 2, slot: 0, shared: true))
    #expect(p.run(read(A + P, 1)) == .fail(Err.EFAULT))
    #expect(p.pages(A, 2) == [absent, absent])
    p.run(read(A, 1))
    p.run(madvise(A, 1, UAPI.MADV_DONTNEED))
    #expect(p.run(read(A + P, 1)) == .fail(Err.EFAULT))
    #expect(p.pages(A, 2) == [plain, absent])
}

@Test func aReadBeyondEOFOfShmemMapsItsLastPageWithoutAPageTable() {
    var p = Proc(profile: .rmapLargeFolio)
    p.run(.createObject(slot: 0, kind: .memfd, pages: 1, filled: true))
    p.run(mapObject(A, 2, slot: 0, shared: true))
    #expect(p.run(read(A + P, 1)) == .fail(Err.EFAULT))
    #expect(p.pages(A, 2) == [plain, absent])
}

@Test func theFirstPageOfATwoPageFileIsNotItsLastSoFaultAroundMapsBoth() {
    var p = Proc(profile: .rmapLargeFolio)
    p.run(.createObject(slot: 0, kind: .file, pages: 2, filled: true))
    p.run(mapObject(A, 3, slot: 0, shared: true))
    #expect(p.run(read(A + 2 * P, 1)) == .fail(Err.EFAULT))
    #expect(p.pages(A, 3) == [plain, plain, absent])
}

/// do_sync_mmap_readahead() for a VM_EXEC VMA reads from the faulting index to the VMA's
/// end only (the fuzzer's case: an r-x piece of a shared file mapping, page 17 alone).
@Test func readAroundInAnExecutableVMAStartsAtTheFaultAndStopsAtTheVMAEnd() {
    var p = Proc(profile: .rmapLargeFolio, readAheadKB: 8192)
    p.run(.createObject(slot: 0, kind: .file, pages: 24, filled: false))
    p.run(mapObject(A, 30, slot: 0, shared: true))
    p.run(.mprotect(addr: A + 10 * P, length: 8 * P, prot: [.read, .exec]))
    #expect(p.run(read(A + 17 * P, 1)) == ret(1))
    #expect(p.pages(A + 16 * P, 2) == [absent, plain])
    p.run(read(A + 12 * P, 1))       // caches 12...17: fault-around maps 12...16 too
    #expect(p.pages(A + 10 * P, 8) == [absent, absent, plain, plain, plain, plain, plain, plain])
    p.run(read(A + 20 * P, 1))       // rw- VMA: the whole file is read around
    #expect(p.pages(A + 18 * P, 6) == Array(repeating: plain, count: 6))
}

/// vma_merge_extend() (mremap growing in place) merges a fork child's faulted VMA with an
/// unfaulted next VMA: the grown range has no source VMA, so no uncowed parents refuse.
@Test func aForkChildsVMAGrownInPlaceByMremapMergesWithItsUnfaultedNeighbour() {
    var p = Proc(profile: .rmapLargeFolio)
    p.run(mapAnon(A, 5))
    p.run(mapAnon(A + 7 * P, 1))
    p.run(write(A, 1))
    p.run(.fork)
    #expect(p.run(.mremap(old: A + 4 * P, oldLength: P, newLength: 3 * P, flags: UAPI.MREMAP_MAYMOVE, newAddr: 0)) == ok(A + 4 * P))
    #expect(p.vmas == [vma(A, A + 8 * P, rss: 4)])
}
