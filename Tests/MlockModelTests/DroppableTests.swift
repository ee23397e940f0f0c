import Testing
import MlockModel

// MAP_DROPPABLE (mm/mmap.c do_mmap; mm/mlock.c mlock_fixup; mm/vma.c __mmap_complete):
// a private anonymous mapping type whose VMA never gets VM_LOCKED and is never counted.

func mapDroppable(_ addr: UInt64, _ pages: UInt64, _ prot: Prot = .rw, _ flags: MapFlags = []) -> Op {
    .map(addr: addr, length: pages * P, prot: prot, backing: .privateAnon, flags: flags.union(.droppable))
}

@Test func droppableMappingIsAnUnlockedUnpopulatedPrivateVMA() {
    var p = Proc()
    #expect(p.run(mapDroppable(A, 2)) == ok(A))
    #expect(p.vmas == [droppableVMA(A, A + 2 * P)])
    #expect(p.pages(A, 2) == [absent, absent])
}

@Test func droppableMlock2ReturnsZeroPopulatesButNeverLocks() {
    // mlock2-tests #14: munlockall, mmap(MAP_DROPPABLE), mlock2(0).
    var p = Proc()
    #expect(p.run(.munlockall) == .ok)
    p.run(mapDroppable(A, 2))
    #expect(p.run(.mlock2(addr: A, length: 2 * P, flags: 0)) == .ok)
    // mlock_fixup skips the VMA; __mm_populate still write-faults it (private, writable).
    #expect(p.vmas == [droppableVMA(A, A + 2 * P, rss: 8)])
    #expect(p.vmLck == 0)
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.counters == Counters())
}

@Test func droppableMlockOnFaultAndMlockAlsoPopulateAndMunlockIsANoOp() {
    var p = Proc()
    p.run(mapDroppable(A, 2))
    #expect(p.run(mlockOnFault(A, 1)) == .ok)          // the VMA has no VM_LOCKONFAULT: populated
    #expect(p.pages(A, 2) == [plain, absent])
    #expect(p.run(mlock(A, 2)) == .ok)
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.vmas == [droppableVMA(A, A + 2 * P, rss: 8)])
    #expect(p.run(munlock(A, 2)) == .ok)
    #expect(p.vmas == [droppableVMA(A, A + 2 * P, rss: 8)])
    #expect(p.vmLck == 0)
}

@Test func droppableIsSkippedByMlockallCurrentButPopulated() {
    var p = Proc()
    let B = A + 16 * P
    p.run(mapDroppable(A, 2))
    p.run(mapAnon(B, 1))
    #expect(p.run(.mlockall(flags: UAPI.MCL_CURRENT)) == .ok)
    #expect(p.vmas == [droppableVMA(A, A + 2 * P, rss: 8), vma(B, B + P, locked: true, rss: 4, lockedKB: 4)])
    #expect(p.vmLck == 4)
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.page(B) == mlockedPage)
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
}

@Test func droppableUnderMclFutureGetsNoLockButIsPopulated() {
    // mlock2-tests #15: mlockall(CURRENT|FUTURE), mmap(MAP_DROPPABLE).
    var p = Proc()
    p.run(.mlockall(flags: UAPI.MCL_CURRENT | UAPI.MCL_FUTURE))
    #expect(p.run(mapDroppable(A, 2)) == ok(A))
    // __mmap_complete clears VM_LOCKED_MASK; do_mmap's vm_flags still had VM_LOCKED,
    // so the mapping is populated.
    #expect(p.vmas == [droppableVMA(A, A + 2 * P, rss: 8)])
    #expect(p.vmLck == 0)
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.counters == Counters())
}

@Test func droppableUnderMclFutureOnFaultIsPopulatedToo() {
    // The VMA loses VM_LOCKONFAULT with VM_LOCKED, so populate_vma_page_range does not
    // skip it.
    var p = Proc()
    p.run(.mlockall(flags: UAPI.MCL_CURRENT | UAPI.MCL_FUTURE | UAPI.MCL_ONFAULT))
    p.run(mapDroppable(A, 2))
    #expect(p.vmas == [droppableVMA(A, A + 2 * P, rss: 8)])
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.vmLck == 0)
}

@Test func droppableMappedUnderMclFutureNextToADroppableOneDoesNotMerge() {
    // The merge is tried with VM_LOCKED from def_flags, which the old VMA lacks;
    // VM_LOCKED is cleared only afterwards.
    var p = Proc()
    p.run(mapDroppable(A, 1))
    p.run(.mlockall(flags: UAPI.MCL_FUTURE))
    p.run(mapDroppable(A + P, 1))
    #expect(p.vmas == [droppableVMA(A, A + P), droppableVMA(A + P, A + 2 * P, rss: 4)])
    p.run(.munlockall)
    p.run(mapDroppable(A + 2 * P, 1))                   // no def_flags now: merges with its left neighbour
    #expect(p.vmas == [droppableVMA(A, A + P), droppableVMA(A + P, A + 3 * P, rss: 4)])
}

@Test func droppableMergesWithDroppableButNotWithPlainPrivateAnon() {
    var p = Proc()
    p.run(mapDroppable(A, 1))
    p.run(mapDroppable(A + P, 1))
    p.run(mapAnon(A + 2 * P, 1))
    #expect(p.vmas == [droppableVMA(A, A + 2 * P), vma(A + 2 * P, A + 3 * P)])
}

@Test func droppableWithMapLockedOrNotPrivateAnonIsEINVAL() {
    var p = Proc()
    #expect(p.run(mapDroppable(A, 1, .rw, .locked)) == .fail(Err.EINVAL))
    #expect(p.run(.map(addr: A, length: P, prot: .rw, backing: .sharedAnon, flags: .droppable)) == .fail(Err.EINVAL))
    p.run(.createObject(slot: 1, kind: .memfd, pages: 1, filled: false))
    #expect(p.run(.map(addr: A, length: P, prot: .rw, backing: .object(slot: 1, shared: false, pageOffset: 0),
                       flags: .droppable)) == .fail(Err.EINVAL))
    #expect(p.run(.map(addr: A, length: P, prot: .rw, backing: .object(slot: 1, shared: true, pageOffset: 0),
                       flags: .droppable)) == .fail(Err.EINVAL))
    #expect(p.vmas.isEmpty)
    #expect(p.vmLck == 0)
}

@Test func droppableUnderMclFutureStillCountsAgainstTheLimitBeforeItLosesTheLock() {
    // mlock_future_ok() runs on do_mmap's vm_flags (VM_LOCKED from def_flags) before
    // the MAP_DROPPABLE case: over RLIMIT_MEMLOCK without CAP_IPC_LOCK -> EAGAIN.
    var p = Proc(soft: P, hard: P, cap: false)
    #expect(p.run(.mlockall(flags: UAPI.MCL_FUTURE)) == .ok)
    #expect(p.run(mapDroppable(A, 2)) == .fail(Err.EAGAIN))
    #expect(p.run(mapDroppable(A, 1)) == ok(A))
    #expect(p.vmLck == 0)
}
