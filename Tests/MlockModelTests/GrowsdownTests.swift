import Testing
import MlockModel

// MAP_GROWSDOWN (include/linux/mman.h calc_vm_flag_bits; mm/mmap.c do_mmap; mm/vma.c
// is_mergeable_vma; mm/gup.c populate_vma_page_range; mm/mlock.c mlock_fixup): a private
// anonymous VMA with VM_GROWSDOWN. Only the flag differs from a plain one: it splits,
// merges (with grows-down neighbours only), locks and populates like any private anon VMA,
// every page of it (no stack guard page since 4.12). Stack expansion is not modelled.

func mapGrowsdown(_ addr: UInt64, _ pages: UInt64, _ prot: Prot = .rw, _ flags: MapFlags = []) -> Op {
    mapAnon(addr, pages, prot, flags.union(.growsdown))
}

@Test func growsdownIsAnUnpopulatedVMAThatMergesOnlyWithGrowsdownNeighbours() {
    var p = Proc()
    #expect(p.run(mapAnon(A, 2)) == ok(A))
    #expect(p.run(mapGrowsdown(A + 2 * P, 2)) == ok(A + 2 * P))
    // VM_GROWSDOWN is in the flags is_mergeable_vma compares: no merge with the plain VMA.
    #expect(p.vmas == [vma(A, A + 2 * P), vma(A + 2 * P, A + 4 * P)])
    #expect(p.run(mapGrowsdown(A + 4 * P, 2)) == ok(A + 4 * P))
    // Same flags, anonymous, no anon_vma yet, pgoff = addr >> PAGE_SHIFT continuing: merged.
    #expect(p.vmas == [vma(A, A + 2 * P), vma(A + 2 * P, A + 6 * P)])
    #expect(p.run(mapAnon(A + 6 * P, 1)) == ok(A + 6 * P))
    #expect(p.vmas == [vma(A, A + 2 * P), vma(A + 2 * P, A + 6 * P), vma(A + 6 * P, A + 7 * P)])
    #expect(p.pages(A, 7) == Array(repeating: absent, count: 7))
    #expect(p.vmLck == 0)
}

@Test func growsdownIsEINVALOnAnythingButPrivateAnonAfterTheEarlierChecks() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .memfd, pages: 2, filled: false))
    // do_mmap: anonymous MAP_SHARED with VM_GROWSDOWN -> EINVAL.
    #expect(p.run(mapSharedAnon(A, 2, .rw, .growsdown)) == .fail(Err.EINVAL))
    // A file, MAP_SHARED (falls through to the MAP_PRIVATE case) or MAP_PRIVATE -> EINVAL.
    #expect(p.run(mapObject(A, 2, slot: 0, shared: true, .rw, .growsdown)) == .fail(Err.EINVAL))
    #expect(p.run(mapObject(A, 2, slot: 0, shared: false, .rw, .growsdown)) == .fail(Err.EINVAL))
    // No such fd: EBADF from fget, before do_mmap.
    #expect(p.run(mapObject(A, 2, slot: 3, shared: false, .rw, .growsdown)) == .fail(Err.EBADF))
    // MAP_DROPPABLE: "a stack area makes no sense to be droppable" -> EINVAL.
    #expect(p.run(mapGrowsdown(A, 2, .rw, .droppable)) == .fail(Err.EINVAL))
    #expect(p.vmas.isEmpty)
    // The MAP_FIXED_NOREPLACE overlap check comes first: EEXIST, not EINVAL.
    p.run(mapAnon(A, 1))
    #expect(p.run(mapSharedAnon(A, 2, .rw, .growsdown)) == .fail(Err.EEXIST))
    #expect(p.vmas == [vma(A, A + P)])
}

@Test func growsdownMapLockedIsPopulatedAndMlockedToItsLowestPage() {
    var p = Proc()
    #expect(p.run(mapGrowsdown(A, 4, .rw, .locked)) == ok(A))
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true, rss: 16, lockedKB: 16)])
    #expect(p.vmLck == 16)
    #expect(p.pages(A, 4) == Array(repeating: mlockedPage, count: 4))
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
}

@Test func growsdownMlockMunlockTwentyTimesKeepsTheBoundsAndLocksEveryPage() {
    // ltp.mlock03.growsdown-vma-keeps-its-size: 8 grows-down pages, a plain mapping right
    // above, the top 4 pages written, then 20 x (mlock, munlock) of the whole VMA.
    var p = Proc()
    let G = A, top = A + 8 * P
    #expect(p.run(mapGrowsdown(G, 8)) == ok(G))
    #expect(p.run(mapAnon(top, 4)) == ok(top))
    #expect(p.run(write(G + 4 * P, 4)) == ret(4))
    #expect(p.vmas == [vma(G, top, rss: 16), vma(top, top + 4 * P)])
    for i in 1...20 {
        let n = Int64(i)
        #expect(p.run(mlock(G, 8)) == .ok)
        // Round 1: the 4 written folios mlocked by the walk, the 4 below populated by
        // write faults into the VM_LOCKED VMA; later rounds find all 8 present.
        #expect(p.vmas == [vma(G, top, locked: true, rss: 32, lockedKB: 32), vma(top, top + 4 * P)])
        #expect(p.vmLck == 32)
        #expect(p.pages(G, 8) == Array(repeating: mlockedPage, count: 8))
        #expect(p.counters == counts(mlocked: 8, unevictable: 8, pgMlocked: 8 * n, pgMunlocked: 8 * (n - 1),
                                     culled: 8 * n, rescued: 8 * (n - 1)))
        #expect(p.run(munlock(G, 8)) == .ok)
        #expect(p.vmas == [vma(G, top, rss: 32), vma(top, top + 4 * P)])
        #expect(p.vmLck == 0)
        #expect(p.pages(G, 8) == Array(repeating: plain, count: 8))
        #expect(p.counters == counts(pgMlocked: 8 * n, pgMunlocked: 8 * n, culled: 8 * n, rescued: 8 * n))
    }
}

@Test func growsdownHalvesKeepTheFlagAndMergeBackWithEachOtherOnly() {
    // 6.16+ merge rule: a range with an anon_vma merges into neighbours without one.
    var p = Proc(profile: .rmapLargeFolio)
    p.run(mapGrowsdown(A, 4))
    p.run(mapAnon(A + 4 * P, 2))
    // split_vma copies vm_flags: the three pieces are all grows-down.
    #expect(p.run(mlock(A + P, 2)) == .ok)
    #expect(p.vmas == [vma(A, A + P), vma(A + P, A + 3 * P, locked: true, rss: 8, lockedKB: 8),
                       vma(A + 3 * P, A + 4 * P), vma(A + 4 * P, A + 6 * P)])
    #expect(p.vmLck == 8)
    // The unchanged first piece is skipped; the middle one, unlocked, merges with both
    // grows-down pieces (only it has an anon_vma); the plain VMA is unchanged and stays apart.
    #expect(p.run(munlock(A, 6)) == .ok)
    #expect(p.vmas == [vma(A, A + 4 * P, rss: 8), vma(A + 4 * P, A + 6 * P)])
    #expect(p.vmLck == 0)
    #expect(p.pages(A, 4) == [absent, plain, plain, absent])
}
