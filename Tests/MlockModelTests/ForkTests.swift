import Testing
import MlockModel

// fork: the model goes on as the child; the parent keeps its mappings and locks (it acts
// again only when a step names it: ProcessesTests).

@Test func forkedChildHasNoLockedVMAButItsSharedPageStaysMlockedByTheParent() {
    var p = Proc()
    p.run(mapAnon(A, 1))
    p.run(write(A, 1))
    p.run(mlock(A, 1))
    #expect(p.run(.fork) == .ok)
    // dup_mmap clears VM_LOCKED_MASK and locked_vm; the page is shared COW.
    #expect(p.vmas == [vma(A, A + P, rss: 4)])
    #expect(p.vmLck == 0)
    #expect(p.page(A) == mlockedPage)
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
}

@Test func childWriteBreaksCOWIntoAnUnlockedPageAndTheParentsStaysMlocked() {
    var p = Proc()
    p.run(mapAnon(A, 2, .rw, .locked))
    p.run(.fork)
    #expect(p.run(write(A, 1)) == ret(1))
    #expect(p.pages(A, 2) == [plain, mlockedPage])
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    #expect(p.run(read(A + P, 1)) == ret(1))          // a read does not copy
    #expect(p.page(A + P) == mlockedPage)
    #expect(p.run(munmap(A, 2)) == .ok)                // the parent's pages live on
    #expect(p.vmas.isEmpty)
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
}

@Test func mclFutureIsNotInheritedAndChildMlockallCopiesTheSharedPrivatePages() {
    var p = Proc()
    let B = A + 4 * P
    p.run(mapAnon(A, 2))
    p.run(.mlockall(flags: UAPI.MCL_CURRENT | UAPI.MCL_FUTURE))   // populate: 2 anon pages mlocked
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(.fork)
    p.run(mapAnon(B, 2))
    p.run(write(B, 2))
    #expect(p.vmas == [vma(A, A + 2 * P, rss: 8), vma(B, B + 2 * P, rss: 8)])
    #expect(p.vmLck == 0)
    #expect(p.pages(B, 2) == [plain, plain])
    // mlockall(MCL_CURRENT) in the child: its own pages are mlocked (+2); the shared ones
    // get mlock_count 2, then populate's write fault copies them: the copies are mlocked
    // (+2) and the old pages drop back to the parent's count of 1, staying mlocked.
    #expect(p.run(.mlockall(flags: UAPI.MCL_CURRENT)) == .ok)
    #expect(p.vmLck == 16)
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])
    #expect(p.counters == counts(mlocked: 6, unevictable: 6, pgMlocked: 6, culled: 6))
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8),
                       vma(B, B + 2 * P, locked: true, rss: 8, lockedKB: 8)])
}

@Test func childMlockOfSharedShmemPagesTheParentLocksRaisesMlockCountWithoutEvents() {
    var p = Proc()
    p.run(mapSharedAnon(A, 2, .rw, .locked))
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(.fork)
    // No anon_vma: copy_page_range copies no PTE.
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true)])
    #expect(p.pages(A, 2) == [absent, absent])
    #expect(p.run(mlock(A, 2)) == .ok)
    // Already PG_mlocked and unevictable: mlock_count 2, no counter moves; Locked is the
    // PSS, half of each page (mapcount 2).
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true, locked: true, rss: 8, lockedKB: 4)])
    #expect(p.vmLck == 8)
    #expect(p.run(munlock(A, 2)) == .ok)                // back to 1: still mlocked
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true, rss: 8)])
}

@Test func childMlockOfAPrivatePageSharedWithALockedParentCopiesIt() {
    var p = Proc()
    p.run(mapAnon(A, 1, .rw, .locked))
    p.run(.fork)
    #expect(p.run(mlock(A, 1)) == .ok)
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    #expect(p.vmas == [vma(A, A + P, locked: true, rss: 4, lockedKB: 4)])
    #expect(p.run(munlock(A, 1)) == .ok)                // the child's copy only
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 2, pgMunlocked: 1, culled: 2, rescued: 1))
    #expect(p.page(A) == plain)
}

@Test func dontforkMappingIsNotCopiedAndItsPagesStayMlockedInTheParent() {
    var p = Proc()
    p.run(mapAnon(A, 2, .rw, .locked))
    p.run(mapAnon(A + 4 * P, 1, .rw, .locked))
    p.run(madvise(A, 2, UAPI.MADV_DONTFORK))
    p.run(.fork)
    #expect(p.vmas == [vma(A + 4 * P, A + 5 * P, rss: 4)])
    #expect(p.run(mapAnon(A, 2)) == ok(A))
    p.run(write(A, 2))
    #expect(p.pages(A, 2) == [plain, plain])
    #expect(p.counters == counts(mlocked: 3, unevictable: 3, pgMlocked: 3, culled: 3))
}

@Test func memfdSharedInBothKeepsTheParentsLockWhenTheChildLocksAndUnmaps() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .memfd, pages: 3, filled: false))
    p.run(mapObject(A, 3, slot: 0, shared: true, .rw, .locked))
    p.run(.fork)
    #expect(p.pages(A, 3) == [absent, absent, absent])
    p.run(write(A, 2))
    // The touch's load faults first: fault-around maps every cached page of the window,
    // page 2 too. Each is the parent's mlocked page, mapped twice now.
    #expect(p.pages(A, 3) == [mlockedPage, mlockedPage, mlockedPage])
    #expect(p.vmas == [vma(A, A + 3 * P, shared: true, rss: 12)])
    #expect(p.run(mlock(A + P, 2)) == .ok)
    #expect(p.vmas == [vma(A, A + P, shared: true, rss: 4),
                       vma(A + P, A + 3 * P, shared: true, locked: true, rss: 8, lockedKB: 4)])
    #expect(p.run(munmap(A, 3)) == .ok)
    #expect(p.counters == counts(mlocked: 3, unevictable: 3, pgMlocked: 3, culled: 3))
}

@Test func forkCopiesZeroPagesOfAnonVMAsOnlyAndWipesDroppable() {
    var p = Proc()
    let Z = A + 4 * P, D = A + 8 * P
    p.run(mapAnon(A, 2))
    p.run(write(A, 1))
    p.run(read(A + P, 1))
    p.run(.mlock2(addr: A, length: 2 * P, flags: UAPI.MLOCK_ONFAULT))
    p.run(mapAnon(Z, 1))
    p.run(read(Z, 1))
    p.run(mapAnon(D, 1, .rw, .droppable))
    p.run(write(D, 1))
    p.run(.fork)
    #expect(p.pages(A, 2) == [mlockedPage, zeroPage])
    #expect(p.page(Z) == absent)
    #expect(p.page(D) == absent)
    #expect(p.vmas == [vma(A, A + 2 * P, rss: 4), vma(Z, Z + P), droppableVMA(D, D + P)])
    p.run(write(A + P, 1))
    #expect(p.page(A + P) == plain)
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
}

@Test func aNewMappingNextToAForkedVMAWithAnAnonVmaDoesNotMerge() {
    var p = Proc()
    p.run(mapAnon(A, 1))
    p.run(write(A, 1))
    p.run(.fork)
    p.run(mapAnon(A + P, 1))
    #expect(p.vmas == [vma(A, A + P, rss: 4), vma(A + P, A + 2 * P)])
}

@Test func forkedChildStartsWithForeignVMAsUnlocked() {
    let stack = ForeignVMA(start: 0x7fff_0000_0000, end: 0x7fff_0000_0000 + 8 * P, prot: .rw, special: false, locked: true)
    var p = Proc(foreign: [stack])
    #expect(p.vmLck == 32)
    p.run(.fork)
    #expect(p.vmLck == 0)
    #expect(p.run(.mlockall(flags: UAPI.MCL_CURRENT)) == .ok)
    #expect(p.vmLck == 32)
}
