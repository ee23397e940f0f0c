import Testing
import MlockModel

// Several processes: after fork both act; pages locked by many mappings; exit; setuid.

@Test func parentWriteAfterForkCopiesIntoAMlockedPageAndMunlocksTheOldOne() {
    var p = Proc()
    p.run(mapAnon(A, 2, .rw, .locked))                     // 2 mlocked: +2 mlocked, +2 culled
    p.run(.fork)
    #expect(p.run(write(A, 1), in: 0) == ret(1))
    // wp_page_copy in the parent's VM_LOCKED VMA: the copy mlock_new_folio (+1 mlocked,
    // +1 culled); the old page's only lock was the parent's: munlocked and rescued; the
    // child keeps it, plain.
    #expect(p.page(A, in: 0) == mlockedPage)
    #expect(p.page(A, in: 1) == plain)
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 3, pgMunlocked: 1, culled: 3, rescued: 1))
    // Page 1 is still shared: Locked in the parent is 4 kB (page 0) + 2 kB (page 1, mapcount 2).
    #expect(p.view(of: 0)?.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 6)])
    #expect(p.view(of: 1)?.vmas == [vma(A, A + 2 * P, rss: 8)])
    #expect(p.view(of: 0)?.vmLckKB == 8)
    #expect(p.view(of: 1)?.vmLckKB == 0)
}

@Test func stepsWithoutAProcessGoToTheNewestLivingOne() {
    var p = Proc()
    #expect(p.model.newestLiving == 0)
    p.run(.fork)
    #expect(p.model.newestLiving == 1)
    #expect(p.run(.exit) == .ok)                           // the child exits
    #expect(p.model.newestLiving == 0)
    #expect(p.view(of: 1) == nil)
    #expect(p.run(mapAnon(A, 1), in: 1) == .fail(Err.ESRCH))
    #expect(p.run(mapAnon(A, 1)) == ok(A))                 // the parent now
}

@Test func sharedAnonLockedByParentAndChildStaysMlockedUntilTheLastUnlock() {
    var p = Proc()
    p.run(mapSharedAnon(A, 2))
    p.run(write(A, 2))
    p.run(.fork)
    p.run(read(A, 2))                                      // the child maps the shmem pages
    p.run(mlock(A, 2))                                     // child: mlock_count 1
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(mlock(A, 2), in: 0)                              // parent: count 2, no event
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    // Locked is the PSS: 4 kB / mapcount 2 per page.
    #expect(p.view(of: 0)?.vmas == [vma(A, A + 2 * P, shared: true, locked: true, rss: 8, lockedKB: 4)])
    p.run(munlock(A, 2))                                   // child first: count 1, still mlocked
    #expect(p.page(A, in: 0) == mlockedPage)
    #expect(p.view(of: 1)?.vmas == [vma(A, A + 2 * P, shared: true, rss: 8)])
    p.run(munlock(A, 2), in: 0)                            // the last lock
    #expect(p.page(A, in: 0) == plain)
    #expect(p.counters == counts(pgMlocked: 2, pgMunlocked: 2, culled: 2, rescued: 2))
}

@Test func pssOfAPageMappedByThreeProcessesTruncates() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .memfd, pages: 4, filled: true))
    p.run(.fork)
    p.run(.fork)
    for i in 0..<3 { p.run(mapObject(A, 4, slot: 0, shared: true, .rw, .locked), in: i) }
    // Per page (4096 << 12) / 3 = 5592405; 4 pages = 22369620; >> 12 = 5461 B; >> 10 = 5 kB.
    #expect(p.view(of: 2)?.vmas == [vma(A, A + 4 * P, shared: true, locked: true, rss: 16, lockedKB: 5)])
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    p.run(.exit, in: 2)                                     // count 3 -> 2
    p.run(munlock(A, 4), in: 1)                             // 2 -> 1
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    // Two mappers left: Locked in process 0 is half of each page.
    #expect(p.view(of: 0)?.vmas == [vma(A, A + 4 * P, shared: true, locked: true, rss: 16, lockedKB: 8)])
    p.run(munlock(A, 4), in: 0)
    #expect(p.counters == counts(pgMlocked: 4, pgMunlocked: 4, culled: 4, rescued: 4))
}

@Test func exitMunlocksBeforeFreeingSoNothingIsCleared() {
    var p = Proc()
    p.run(.fork)
    p.run(mapAnon(A, 3, .rw, .locked))
    p.run(mapSharedAnon(A + 8 * P, 2, .rw, .locked))
    #expect(p.counters == counts(mlocked: 5, unevictable: 5, pgMlocked: 5, culled: 5))
    p.run(.exit)
    #expect(p.counters == counts(pgMlocked: 5, pgMunlocked: 5, culled: 5, rescued: 5))
    #expect(p.view(of: 0)?.vmas == [])
}

@Test func exitLeavesPagesLockedByAnotherProcessMlocked() {
    var p = Proc()
    p.run(mapAnon(A, 2, .rw, .locked))
    p.run(.mprotect(addr: A, length: 2 * P, prot: .read))   // the child's populate will not copy
    p.run(.fork)
    p.run(mlock(A, 2))                                      // mlock_count 2, no event
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(.exit, in: 0)
    // The parent's exit takes one lock of each page: count 2 -> 1, no event.
    #expect(p.view(of: 1)?.pages[A] == mlockedPage)
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    #expect(p.view(of: 1)?.vmas == [vma(A, A + 2 * P, .read, locked: true, rss: 8, lockedKB: 8)])
}

@Test func childMlockOfSharedWritablePagesCopiesThemSoTheParentsExitMunlocksItsOwn() {
    var p = Proc()
    p.run(mapAnon(A, 2, .rw, .locked))
    p.run(.fork)
    p.run(write(A, 1))                                      // the child copies page 0
    // Child mlock: its copy of page 0 mlocked (+1); page 1 mlock_folio (count 2), then
    // populate's write fault copies it: the copy mlocked (+1), the original back to 1.
    p.run(mlock(A, 2))
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    p.run(.exit, in: 0)
    // The parent's two pages are its own: munlocked, rescued and freed, none cleared.
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 4, pgMunlocked: 2, culled: 4, rescued: 2))
    #expect(p.view(of: 1)?.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8)])
}

@Test func plantedExitSkipsMunlockFreesPagesStillMlocked() {
    var p = Proc()
    p.model.planted = [.exitSkipsMunlock]
    p.run(.fork)
    p.run(mapAnon(A, 2, .rw, .locked))
    p.run(.exit)
    #expect(p.counters == counts(pgMlocked: 2, culled: 2, cleared: 2))
}

@Test func setuidFromRootDropsEveryCapability() {
    var p = Proc(soft: 4 * P, hard: 8 * P)
    #expect(p.run(mlock(A, 1)) == .fail(Err.ENOMEM))        // nothing mapped: ENOMEM from the walk
    p.run(mapAnon(A, 6))
    #expect(p.run(mlock(A, 6)) == .ok)                      // CAP_IPC_LOCK: no limit
    p.run(munlock(A, 6))
    #expect(p.run(.setuid(65534)) == .ok)
    #expect(p.run(mlock(A, 5)) == .fail(Err.ENOMEM))        // 5 > 4 pages
    #expect(p.run(mlock(A, 4)) == .ok)
    #expect(p.run(.setMemlockLimit(soft: 8 * P, hard: 8 * P)) == .ok)    // up to the hard limit
    #expect(p.run(.setMemlockLimit(soft: 9 * P, hard: 9 * P)) == .fail(Err.EPERM))  // no CAP_SYS_RESOURCE
    #expect(p.run(.setuid(0)) == .fail(Err.EPERM))          // no CAP_SETUID
    #expect(p.run(.setuid(65534)) == .ok)                   // the same uid
}

@Test func lockedVMIsPerMmSoAForkedChildHasItsOwnLimit() {
    var p = Proc(soft: 4 * P, hard: 4 * P, cap: false)
    p.run(mapAnon(A, 5))
    #expect(p.run(mlock(A, 4)) == .ok)
    p.run(.fork)
    #expect(p.run(mlock(A + P, 4)) == .ok)                  // the child's locked_vm starts at 0
    #expect(p.run(mlock(A, 5)) == .fail(Err.ENOMEM))
    #expect(p.run(mlock(A, 5), in: 0) == .fail(Err.ENOMEM))
    #expect(p.view(of: 0)?.vmLckKB == 16)
    #expect(p.view(of: 1)?.vmLckKB == 16)
}

@Test func preRework518ExitOfOneLockerKeepsTheOtherLockAfterAnRmapWalk() {
    var p = Proc(profile: .pre518)
    p.run(mapSharedAnon(A, 1, .rw, .locked))                // mlocked at populate
    p.run(.fork)
    p.run(mlock(A, 1))                                      // already PG_mlocked: nothing
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
    p.run(.exit, in: 0)
    // munlock_vma_page clears PG_mlocked, try_to_munlock finds the child's VM_LOCKED VMA
    // and mlocks it again: net no change, one more unevictable_pgs_mlocked.
    #expect(p.page(A, in: 1) == mlockedPage)
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 2, culled: 1))
}
