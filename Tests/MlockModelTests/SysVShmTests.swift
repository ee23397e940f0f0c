import Testing
import MlockModel

// SysV shared memory: SHM_LOCK makes a segment's pages unevictable without mlocking
// them, and only pages that enter its page cache afterwards; SHM_UNLOCK rescues.

let unevictableOnly = PageView(present: true, unevictable: true)
let fail = OpResult.fail

@Test func shmLockBeforeTheFaultMakesNewPagesUnevictableButNotMlocked() {
    var p = Proc()
    #expect(p.run(.shmget(segment: 0, pages: 4)) == .ok)
    #expect(p.run(.shmat(segment: 0, addr: A, readOnly: false)) == ok(A))
    #expect(p.run(.shmctl(segment: 0, command: .lock)) == .ok)
    #expect(p.counters == Counters())                       // nothing cached yet
    p.run(write(A, 2))
    // lru_add: folio_evictable() false (AS_UNEVICTABLE) -> unevictable list, culled.
    #expect(p.pages(A, 4) == [unevictableOnly, unevictableOnly, absent, absent])
    #expect(p.vmas == [vma(A, A + 4 * P, shared: true, rss: 8)])
    #expect(p.vmLck == 0)
    #expect(p.counters == counts(unevictable: 2, culled: 2))
    // SHM_UNLOCK: check_move_unevictable_folios rescues both.
    #expect(p.run(.shmctl(segment: 0, command: .unlock)) == .ok)
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.counters == counts(culled: 2, rescued: 2))
}

@Test func shmLockAfterTheFaultMovesNothing() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 2))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(write(A, 1))
    p.run(.shmctl(segment: 0, command: .lock))
    #expect(p.page(A) == plain)                             // left for reclaim to find
    p.run(write(A + P, 1))
    #expect(p.page(A + P) == unevictableOnly)
    p.run(.shmctl(segment: 0, command: .unlock))
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.counters == counts(culled: 1, rescued: 1))
    #expect(p.run(.shmctl(segment: 0, command: .unlock)) == .ok)   // not locked: nothing
    #expect(p.counters == counts(culled: 1, rescued: 1))
}

@Test func munlockOfAnShmLockedAttachLeavesThePagesUnevictable() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 2))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(mlock(A, 2))                                      // populate: 2 new pages mlocked
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(.shmctl(segment: 0, command: .lock))
    p.run(munlock(A, 2))
    // PG_mlocked cleared, but folio_evictable() is false: no rescue.
    #expect(p.pages(A, 2) == [unevictableOnly, unevictableOnly])
    #expect(p.counters == counts(unevictable: 2, pgMlocked: 2, pgMunlocked: 2, culled: 2))
    p.run(.shmctl(segment: 0, command: .unlock))
    #expect(p.counters == counts(pgMlocked: 2, pgMunlocked: 2, culled: 2, rescued: 2))
}

@Test func mlockOfUnevictablePagesSetsPGMlockedWithoutCulling() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 2))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(.shmctl(segment: 0, command: .lock))
    p.run(write(A, 1))                                      // culled once
    p.run(mlock(A, 2))                                      // page 1: new, culled by lru_add
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])
    #expect(p.vmLck == 8)
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    // SHM_UNLOCK while mlocked: nothing evictable, nothing rescued.
    p.run(.shmctl(segment: 0, command: .unlock))
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(munlock(A, 2))                                    // now evictable: rescued
    #expect(p.counters == counts(pgMlocked: 2, pgMunlocked: 2, culled: 2, rescued: 2))
}

@Test func rmidWhileLockedAndAttachedBefore614DetachFreesWithoutRescue() {
    for profile in [KernelProfile.largeFolio, .mlockCount] {
        var p = Proc(profile: profile)
        p.run(.shmget(segment: 0, pages: 2))
        p.run(.shmat(segment: 0, addr: A, readOnly: false))
        p.run(.shmctl(segment: 0, command: .lock))
        p.run(mlock(A, 2))
        #expect(p.run(.shmctl(segment: 0, command: .remove)) == .ok)
        #expect(p.run(.shmdt(addr: A)) == .ok)
        // The TLB flush drains the munlocks while the segment is still SHM_LOCKed; shm_destroy
        // only clears AS_UNEVICTABLE (shmem_lock(file, 0): no shmem_unlock_mapping), and the
        // folios are freed from the unevictable list: no rescue.
        #expect(p.counters == counts(pgMlocked: 2, pgMunlocked: 2, culled: 2, rescued: 0))
    }
}

@Test func rmidWhileLockedAndAttachedWaitsForTheDetachWhichRescuesAndFrees() {
    var p = Proc(profile: .rmapLargeFolio)   // the munlock batch outlives the TLB flush (6.14+)
    p.run(.shmget(segment: 0, pages: 2))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(.shmctl(segment: 0, command: .lock))
    p.run(mlock(A, 2))
    #expect(p.run(.shmctl(segment: 0, command: .remove)) == .ok)
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])    // nothing changed
    #expect(p.run(.shmdt(addr: A)) == .ok)
    // The munlocks are applied after shm_destroy cleared AS_UNEVICTABLE: rescued, then
    // the folios are freed (not mlocked at free: cleared 0).
    #expect(p.vmas.isEmpty)
    #expect(p.vmLck == 0)
    #expect(p.counters == counts(pgMlocked: 2, pgMunlocked: 2, culled: 2, rescued: 2))
    // The segment is gone: its number no longer names anything.
    #expect(p.run(.shmctl(segment: 0, command: .lock)) == fail(Err.EINVAL))
}

@Test func destroyOfAnShmLockedUnmlockedSegmentFreesItsPagesWithoutEvents() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 2))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(.shmctl(segment: 0, command: .lock))
    p.run(write(A, 2))
    p.run(.shmctl(segment: 0, command: .remove))
    p.run(munmap(A, 2))                                     // shm_close: destroyed
    #expect(p.counters == counts(culled: 2))                // Unevictable back, no rescue
}

@Test func twoAttachesNeverMergeAndShareTheLockedPages() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 1))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(.shmat(segment: 0, addr: A + P, readOnly: false))
    p.run(write(A, 2))
    #expect(p.vmas == [vma(A, A + P, shared: true, rss: 4), vma(A + P, A + 2 * P, shared: true, rss: 4)])
    p.run(mlock(A, 2))
    // One folio, mapcount 2: Locked = half a page in each VMA (2 kB).
    #expect(p.vmas == [vma(A, A + P, shared: true, locked: true, rss: 4, lockedKB: 2),
                       vma(A + P, A + 2 * P, shared: true, locked: true, rss: 4, lockedKB: 2)])
    p.run(munlock(A, 1))
    #expect(p.page(A) == mlockedPage)                       // mlock_count 2 -> 1
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
}

@Test func shmatUnderMclFutureIsLockedAndPopulated() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 2))
    p.run(.mlockall(flags: UAPI.MCL_FUTURE))
    #expect(p.run(.shmat(segment: 0, addr: A, readOnly: false)) == ok(A))
    #expect(p.vmLck == 8)
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])
}

@Test func shmatErrnos() {
    var p = Proc()
    #expect(p.run(.shmat(segment: 0, addr: A, readOnly: false)) == fail(Err.EINVAL))   // no segment
    p.run(.shmget(segment: 0, pages: 2))
    #expect(p.run(.shmget(segment: 0, pages: 2)) == fail(Err.EEXIST))                  // IPC_EXCL
    #expect(p.run(.shmat(segment: 0, addr: A + 1, readOnly: false)) == fail(Err.EINVAL))
    p.run(mapAnon(A + P, 1))
    #expect(p.run(.shmat(segment: 0, addr: A, readOnly: false)) == fail(Err.EINVAL))  // overlap, no SHM_REMAP
    #expect(p.run(.shmdt(addr: A)) == .fail(Err.EINVAL))                                // nothing attached
}

@Test func shmLockAgainstRlimitMemlockAsNobody() {
    var p = Proc(soft: 4 * P, hard: 4 * P)
    #expect(p.run(.setuid(65534)) == .ok)
    p.run(.shmget(segment: 0, pages: 2))
    p.run(.shmget(segment: 1, pages: 2))
    p.run(.shmget(segment: 2, pages: 1))
    #expect(p.run(.shmctl(segment: 0, command: .lock)) == .ok)
    #expect(p.run(.shmctl(segment: 1, command: .lock)) == .ok)         // 4 pages charged
    #expect(p.run(.shmctl(segment: 2, command: .lock)) == fail(Err.ENOMEM))
    #expect(p.run(.shmctl(segment: 1, command: .unlock)) == .ok)
    #expect(p.run(.shmctl(segment: 2, command: .lock)) == .ok)         // 3 pages
    #expect(p.run(.setuid(0)) == fail(Err.EPERM))                  // no way back
}

@Test func shmLockWithZeroLimitOrAnotherOwnerIsEPERM() {
    var p = Proc(soft: 0, hard: 0)
    p.run(.shmget(segment: 0, pages: 1))                                // root's
    p.run(.setuid(65534))
    #expect(p.run(.shmat(segment: 0, addr: A, readOnly: false)) == fail(Err.EACCES))
    #expect(p.run(.shmctl(segment: 0, command: .lock)) == fail(Err.EPERM))
    #expect(p.run(.shmctl(segment: 0, command: .remove)) == fail(Err.EPERM))
    p.run(.shmget(segment: 1, pages: 1))                                // nobody's
    #expect(p.run(.shmctl(segment: 1, command: .lock)) == fail(Err.EPERM))   // RLIMIT_MEMLOCK 0
    #expect(p.run(.shmctl(segment: 1, command: .unlock)) == .ok)
}

@Test func rmidThenTheSameNumberMakesANewSegment() {
    var p = Proc()
    p.run(.shmget(segment: 0, pages: 1))
    p.run(.shmat(segment: 0, addr: A, readOnly: false))
    p.run(.shmctl(segment: 0, command: .remove))
    #expect(p.run(.shmget(segment: 0, pages: 1)) == .ok)               // key free again
    p.run(.shmat(segment: 0, addr: A + 2 * P, readOnly: false))
    p.run(.shmctl(segment: 0, command: .lock))
    p.run(write(A, 1))
    p.run(write(A + 2 * P, 1))
    #expect(p.page(A) == plain)                                         // the old segment
    #expect(p.page(A + 2 * P) == unevictableOnly)
}
