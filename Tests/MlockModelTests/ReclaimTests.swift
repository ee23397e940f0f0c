import Testing
import MlockModel

// Reclaim in the scenario's memcg (with swap): the eventual state once every folio has
// been scanned. SHM_LOCK'd pages cached before the lock are culled; pages of locked
// VMAs stay; evictable anon and shmem pages go to swap.

@Test func reclaimCullsShmLockedPagesCachedBeforeTheLock() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 4))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(write(A, 4))
    p.run(.shmctl(segment: 0, command: .lock))
    #expect(p.pages(A, 4) == Array(repeating: plain, count: 4))     // lazy: nothing moved
    #expect(p.run(.reclaim) == .ok)
    // !folio_evictable -> back on the unevictable list: culled, no PG_mlocked.
    #expect(p.pages(A, 4) == Array(repeating: unevictableOnly, count: 4))
    #expect(p.vmas == [vma(A, A + 4 * P, shared: true, rss: 16)])
    #expect(p.counters == counts(unevictable: 4, culled: 4))
    // Nothing left for a second pass to do.
    p.run(.reclaim)
    #expect(p.counters == counts(unevictable: 4, culled: 4))
    p.run(.shmctl(segment: 0, command: .unlock))
    #expect(p.pages(A, 4) == Array(repeating: plain, count: 4))
    #expect(p.counters == counts(culled: 4, rescued: 4))
}

@Test func reclaimCullsUnmappedCachedPagesOfALockedSegment() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 2))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(write(A, 2))
    p.run(.shmdt(addr: A))
    p.run(.shmctl(segment: 0, command: .lock))
    p.run(.reclaim)
    #expect(p.counters == counts(unevictable: 2, culled: 2))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(read(A, 2))
    #expect(p.pages(A, 2) == [unevictableOnly, unevictableOnly])
}

@Test func reclaimSwapsEvictableAnonAndKeepsMlockedPages() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    p.run(write(A, 4))
    p.run(mlock(A, 2))
    let before = p.counters
    p.run(.reclaim)
    #expect(p.pages(A, 4) == [mlockedPage, mlockedPage, absent, absent])
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8), vma(A + 2 * P, A + 4 * P)])
    #expect(p.counters == before)                                   // no event for a swap-out
    p.run(write(A + 2 * P, 2))                                      // swapped in: new folios
    #expect(p.pages(A + 2 * P, 2) == [plain, plain])
}

@Test func reclaimSwapsEvictableShmemOutOfThePageCache() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .memfd, pages: 4, filled: false))
    p.run(mapObject(A, 4, slot: 0, shared: true))
    p.run(write(A, 4))
    p.run(mlock(A + 2 * P, 2))
    p.run(.reclaim)
    #expect(p.pages(A, 4) == [absent, absent, mlockedPage, mlockedPage])
    p.run(read(A, 2))
    #expect(p.pages(A, 2) == [plain, plain])
}

@Test func reclaimLeavesRegularFilePagesWhichAreDirty() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .file, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 0, shared: true))
    p.run(read(A, 2))
    p.run(.reclaim)
    #expect(p.pages(A, 2) == [plain, plain])
}

@Test func reclaimLeavesMlockedShmLockedPagesAndCullsTheRest() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 4))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(write(A, 4))
    p.run(.shmctl(segment: 0, command: .lock))
    p.run(mlock(A, 2))
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(.reclaim)
    #expect(p.pages(A, 4) == [mlockedPage, mlockedPage, unevictableOnly, unevictableOnly])
    #expect(p.counters == counts(mlocked: 2, unevictable: 4, pgMlocked: 2, culled: 4))
    p.run(.shmctl(segment: 0, command: .unlock))
    #expect(p.pages(A, 4) == [mlockedPage, mlockedPage, plain, plain])
}

/// A locked PMD THP with one page munlocked: the PMD split munlocks the folio, now
/// PTE-mapped across three VMAs. Before 6.12 reclaim splits it first (no PMD maps it)
/// and the rmap walk mlocks the 511 small pages of the locked VMAs, swapping out the
/// other; from 6.12 on it stays one folio, never mlocked, and the walk stops at the
/// first locked VMA (page 100 comes after it: nothing changes).
@Test(arguments: [KernelProfile.mlockCount, .largeFolio, .rmapLargeFolio])
func reclaimOfASplitLockedTHPByProfile(_ profile: KernelProfile) {
    var p = lockedTHP(profile)
    p.run(munlock(A + 100 * P, 1))
    let before = p.counters
    #expect(p.run(.reclaim) == .ok)
    if profile.reclaimSplitsPTEMappedLargeFolios {
        #expect(p.page(A + 100 * P) == PageView(present: false))
        #expect(p.page(A) == PageView(present: true, mlocked: true, unevictable: true))
        #expect(p.page(A + (T - 1) * P) == PageView(present: true, mlocked: true, unevictable: true))
        #expect(p.counters.mlocked == before.mlocked + 511 && p.counters.pgMlocked == before.pgMlocked + 511)
    } else {
        #expect(p.page(A + 100 * P).present && !p.page(A).mlocked && p.page(A).thp)
        #expect(p.counters == before)
    }
}
