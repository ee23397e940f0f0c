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

/// The same rule on a 6.7-profile kernel that has the stable backport (6.12.59 on), and
/// not on one without it.
@Test func theEOFRuleFollowsTheBackportFactOnThe67Profile() {
    for backported in [true, false] {
        var p = Proc(profile: .largeFolio, facts: VersionFacts(faultAroundMapsNoTableAtEOF: backported))
        p.run(.createObject(slot: 0, kind: .file, pages: 1, filled: true))
        p.run(mapObject(A, 2, slot: 0, shared: true))
        #expect(p.run(read(A + P, 1)) == .fail(Err.EFAULT))
        #expect(p.pages(A, 2) == [backported ? absent : plain, absent])
    }
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

/// move_page_tables(): an extent whose source block has a page table gets one at the
/// destination (pte_alloc) even when none of its PTEs is present. The fuzzer's case: the
/// moved page was never mapped, yet a read beyond EOF at the destination then faults
/// around under that table and maps the file's last page (6.18 filemap_map_pages).
@Test func mremapGivesTheDestinationAPageTableWhereTheSourceBlockHadOne() {
    let far = A + 2 * T * P                       // another 2 MiB block
    let fixedMove = UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED
    for sourceHasTable in [true, false] {
        var p = Proc(profile: .rmapLargeFolio)
        p.run(.createObject(slot: 0, kind: .file, pages: 3, filled: true))
        p.run(mapObject(A, 3, slot: 0, shared: true))
        if sourceHasTable {
            p.run(read(A, 1))                                      // maps pages 0-2: a table
            p.run(madvise(A + 2 * P, 1, UAPI.MADV_DONTNEED))       // page 2 unmapped, table kept
        } else {
            p.run(mapObject(A + 4 * T * P, 3, slot: 0, shared: true))
            p.run(read(A + 4 * T * P, 1))                          // caches the file elsewhere
        }
        #expect(p.page(A + 2 * P) == absent)
        // Page 2 (the last) grows to 2 pages at `far`: index 3 is beyond EOF.
        #expect(p.run(.mremap(old: A + 2 * P, oldLength: P, newLength: 2 * P, flags: fixedMove, newAddr: far)) == ok(far))
        #expect(p.run(read(far + P, 1)) == .fail(Err.EFAULT))
        #expect(p.pages(far, 2) == [sourceHasTable ? plain : absent, absent])
    }
}

/// A PMD-sized extent moves the page table itself (move_normal_pmd): after
/// MREMAP_DONTUNMAP the source block has none, so a fault there may be a PMD THP again.
@Test func aWholeBlockMoveTakesThePageTableAlongAndLeavesTheSourceBlockEmpty() {
    var p = Proc(thp: thpMadvise)
    p.run(mapAnon(A, T))
    p.run(write(A, 1))                            // no MADV_HUGEPAGE yet: a small page, a table
    let flags = UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED | UAPI.MREMAP_DONTUNMAP
    #expect(p.run(.mremap(old: A, oldLength: T * P, newLength: T * P, flags: flags, newAddr: A + 2 * T * P)) == ok(A + 2 * T * P))
    p.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    p.run(madvise(A + 2 * T * P, T, UAPI.MADV_HUGEPAGE))
    p.run(write(A, 1))
    #expect(p.pages(A, 2) == [thpHead, thpTail])  // pmd_none at the source
    p.run(write(A + 2 * T * P + P, 1))
    #expect(p.pages(A + 2 * T * P, 2) == [plain, plain])   // the moved table is there
}

/// 6.7 on: a range that starts its VMA, reaches the next PMD boundary and shares its
/// offset in the block with the destination is realigned down (try_realign_addr), so the
/// first block's table moves whole too: the DONTUNMAP source is left without one and a
/// read beyond EOF there maps nothing (6.18 rule), where it mapped the last page before.
@Test func aRealignedMoveTakesTheFirstBlocksTableAlong() {
    let start = A + (T - 2) * P                   // 3 pages across the boundary at A + T
    let flags = UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED | UAPI.MREMAP_DONTUNMAP
    for sameOffset in [true, false] {
        var p = Proc(profile: .rmapLargeFolio)
        p.run(.createObject(slot: 0, kind: .file, pages: 1, filled: true))
        p.run(mapObject(start, 3, slot: 0, shared: true))
        p.run(read(start, 1))                     // page 0 mapped: a table in block A
        let target = A + 4 * T * P + (T - 2) * P + (sameOffset ? 0 : P)
        #expect(p.run(.mremap(old: start, oldLength: 3 * P, newLength: 3 * P, flags: flags, newAddr: target)) == ok(target))
        #expect(p.run(read(start + P, 1)) == .fail(Err.EFAULT))
        #expect(p.pages(start, 2) == [sameOffset ? absent : plain, absent])
    }
}

/// MREMAP_DONTUNMAP of a whole VMA: unlink_anon_vmas() frees the source's anon_vma_chain,
/// in a fork child its link to the parent's anon_vma too. The source is like a VMA that
/// never faulted, so a piece of it faulted later merges with an unfaulted neighbour.
@Test func aForkChildsDontunmapSourceForgetsItsParentsAnonVmaAndMergesAgain() {
    var p = Proc(profile: .rmapLargeFolio)
    p.run(mapAnon(A, 20))
    p.run(.mlockall(flags: UAPI.MCL_CURRENT))
    p.run(.fork)
    let flags = UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED | UAPI.MREMAP_DONTUNMAP
    #expect(p.run(.mremap(old: A, oldLength: 20 * P, newLength: 20 * P, flags: flags, newAddr: A + 54 * P)) == ok(A + 54 * P))
    p.run(mlock(A + 11 * P, 4))
    p.run(munlock(A + 14 * P, 1))
    #expect(p.vmas.map { [$0.start, $0.end] } == [[A, A + 11 * P], [A + 11 * P, A + 14 * P], [A + 14 * P, A + 20 * P], [A + 54 * P, A + 74 * P]])
}

/// MADV_FREE makes a clean anonymous folio lazyfree; MADV_PAGEOUT then discards it with no
/// swap (try_to_unmap_one), unless a store dirtied its PTE since (the fuzzer's case: a
/// populated page, MADV_FREE, MADV_PAGEOUT: gone, Rss -4 kB).
@Test func pageoutDiscardsAPageMadvFreeLeftCleanAndKeepsOneWrittenSince() {
    var p = Proc(profile: .rmapLargeFolio)
    p.run(mapAnon(A, 4, .rw, .populate))
    #expect(p.run(madvise(A, 4, UAPI.MADV_FREE)) == .ok)
    #expect(p.pages(A, 4) == [plain, plain, plain, plain])   // nothing happens until reclaim
    p.run(write(A + P, 1))                                    // PTE dirty again
    p.run(read(A + 2 * P, 1))                                 // a load leaves it clean
    p.run(.madvise(addr: A + 3 * P, length: P, advice: UAPI.MADV_POPULATE_WRITE))   // GUP write dirties
    #expect(p.run(madvise(A, 4, UAPI.MADV_PAGEOUT)) == .ok)
    #expect(p.pages(A, 4) == [absent, plain, absent, plain])
    #expect(p.vmas == [vma(A, A + 4 * P, rss: 8)])
    #expect(p.run(read(A, 1)) == ret(1))                      // refaults as the zero page
    #expect(p.page(A) == PageView(present: true, zero: true))
}

@Test func pageoutKeepsAnAnonymousPageMadvFreeNeverSawOrAForkChildStillMaps() {
    var p = Proc(profile: .rmapLargeFolio)
    p.run(mapAnon(A, 2, .rw, .populate))
    p.run(madvise(A + P, 1, UAPI.MADV_FREE))
    p.run(.fork)                                              // page 1 mapped twice now
    p.run(madvise(A, 2, UAPI.MADV_PAGEOUT))
    #expect(p.pages(A, 2) == [plain, plain])                  // no swap; shared: not isolated
}

/// do_cow_fault() prepares the anon_vma before ->fault() finds the page beyond i_size
/// (SIGBUS): mlock's populate of two pieces of a private mapping past EOF gives each its
/// own anon_vma, so after munlockall the first merges with its unfaulted neighbours but
/// not with the second (found by the fuzzer, 7 ops with a fork; the same without one).
@Test func aWriteFaultBeyondEOFInAPrivateMappingStillPreparesTheAnonVma() {
    // 6.16 on (.rmapLargeFolio), a range with an anon_vma merges into an unfaulted neighbour.
    var p = Proc(profile: .rmapLargeFolio)
    p.run(.createObject(slot: 0, kind: .memfd, pages: 1, filled: false))
    p.run(mapObject(A, 4, slot: 0, shared: false))
    p.run(mlock(A + P, 1))            // populate: a write fault past EOF, SIGBUS
    p.run(mlock(A + 3 * P, 1))
    #expect(p.run(.munlockall) == .ok)
    #expect(p.vmas.map { [$0.start, $0.end] } == [[A, A + 3 * P], [A + 3 * P, A + 4 * P]])
    #expect(p.vmas.allSatisfy { $0.rssKB == 0 })
    // A read-only mapping faults for read (do_read_fault), prepares none: all merge back.
    var q = Proc(profile: .rmapLargeFolio)
    q.run(.createObject(slot: 0, kind: .memfd, pages: 1, filled: false))
    q.run(mapObject(A, 4, slot: 0, shared: false, offset: 0, .read))
    q.run(mlock(A + P, 1))
    q.run(mlock(A + 3 * P, 1))
    q.run(.munlockall)
    #expect(q.vmas.map { [$0.start, $0.end] } == [[A, A + 4 * P]])
}

/// 6.16+ page_cache_async_ra(): a fault on a folio with PG_readahead (PG_reclaim, left by
/// MADV_PAGEOUT on a dirty page it kept) starts a window at the next page not cached and
/// ramps ra->order by 2; page_cache_ra_order() then reads a hole between cached pages
/// as one folio of the largest order its index allows. The fuzzer's case, 7 ops: pages
/// 2-3 written back by MS_SYNC are dropped, 0-1 kept dirty and marked; mlockall's
/// populate faults page 1 (marked: async readahead) and reads 2-3 as one order-1 folio,
/// which the rmap add maps whole into the locked VMA, so it is mlocked.
@Test(arguments: [UInt64(128), 8192])
func aFaultOnAReclaimMarkedPageReadsTheHoleAfterItAsALargeFolio(readAheadKB: UInt64) {
    var p = Proc(profile: .rmapLargeFolio, readAheadKB: readAheadKB)
    p.run(.createObject(slot: 1, kind: .file, pages: 6, filled: true))
    p.run(mapObject(A + 512 * P, 5, slot: 1, shared: true, .rw, .locked))
    #expect(p.run(.mremap(old: A + 512 * P, oldLength: 4 * P, newLength: 5 * P,
                          flags: UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED, newAddr: A)) == ret(Int64(A)))
    p.run(.msync(addr: A + 2 * P, length: 2 * P, flags: UAPI.MS_SYNC))
    p.run(.munlockall)
    p.run(madvise(A, 4, UAPI.MADV_PAGEOUT))
    #expect(p.pages(A, 5) == [absent, absent, absent, absent, plain])
    p.run(.mlockall(flags: UAPI.MCL_CURRENT))
    #expect(p.pages(A, 5) == [mlockedPage, mlockedPage, mlockedHead, mlockedTail, mlockedPage])

    // Before 6.16 (and on the 6.7 profile) the hole comes back in small folios.
    var q = Proc(profile: .largeFolio, readAheadKB: readAheadKB)
    q.run(.createObject(slot: 1, kind: .file, pages: 6, filled: true))
    q.run(mapObject(A, 5, slot: 1, shared: true, .rw, .locked))
    q.run(.msync(addr: A + 2 * P, length: 2 * P, flags: UAPI.MS_SYNC))
    q.run(.munlockall)
    q.run(madvise(A, 4, UAPI.MADV_PAGEOUT))
    q.run(.mlockall(flags: UAPI.MCL_CURRENT))
    #expect(q.pages(A, 5) == [mlockedPage, mlockedPage, mlockedPage, mlockedPage, mlockedPage])
}

/// The mark alone does it: with no page kept dirty (all four written back), nothing is
/// marked, the populate misses at page 0 and read-around brings the file back in small
/// folios (ra->order 0 for the read-around window).
@Test func withNoReclaimMarkTheHoleIsReadAroundInSmallFolios() {
    var p = Proc(profile: .rmapLargeFolio, readAheadKB: 8192)
    p.run(.createObject(slot: 1, kind: .file, pages: 6, filled: true))
    p.run(mapObject(A, 5, slot: 1, shared: true, .rw, .locked))
    p.run(.msync(addr: A, length: 4 * P, flags: UAPI.MS_SYNC))
    p.run(.munlockall)
    p.run(madvise(A, 4, UAPI.MADV_PAGEOUT))
    p.run(.mlockall(flags: UAPI.MCL_CURRENT))
    #expect(p.pages(A, 5) == [mlockedPage, mlockedPage, mlockedPage, mlockedPage, mlockedPage])
}
