import Testing
import MlockModel

// Files and special mappings: ramfs, hugetlb, memfd_secret, truncate, punch hole.

@Test func ramfsPagesAreUnevictableFromTheWriteAndMlockOnlySetsPGMlocked() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .ramfs, pages: 2, filled: true))
    #expect(p.counters == counts(unevictable: 2, culled: 2))          // lru_add: AS_UNEVICTABLE
    p.run(mapObject(A, 2, slot: 0, shared: true))
    p.run(read(A, 1))                                                 // fault-around maps both
    #expect(p.pages(A, 2) == [unevictableOnly, unevictableOnly])
    p.run(mlock(A, 2))
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    p.run(munlock(A, 2))                                              // no rescue
    #expect(p.pages(A, 2) == [unevictableOnly, unevictableOnly])
    #expect(p.counters == counts(unevictable: 2, pgMlocked: 2, pgMunlocked: 2, culled: 2))
}

@Test func ramfsFaultsAddOnePageNoReadahead() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .ramfs, pages: 4, filled: false))
    p.run(mapObject(A, 4, slot: 0, shared: true))
    p.run(mlockOnFault(A, 4))
    p.run(read(A + P, 1))
    #expect(p.pages(A, 4) == [absent, mlockedPage, absent, absent])
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
}

@Test func truncateOfLockedRamfsPagesMunlocksAndRescuesThemAfterTheyLeaveTheCache() {
    var p = Proc(profile: .rmapLargeFolio)   // the munlock batch outlives the TLB flush (6.14+)
    p.run(.createObject(slot: 0, kind: .ramfs, pages: 4, filled: true))
    p.run(mapObject(A, 4, slot: 0, shared: true))
    p.run(mlock(A, 4))
    #expect(p.run(.truncate(slot: 0, pages: 2)) == .ok)
    #expect(p.pages(A, 4) == [mlockedPage, mlockedPage, absent, absent])
    #expect(p.vmLck == 16)
    // folio_mapping() is NULL when the batch runs: evictable, rescued, then freed.
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 4, pgMunlocked: 2, culled: 4, rescued: 2))
    #expect(p.run(write(A + 3 * P, 1)) == .fail(Err.EFAULT))          // SIGBUS
    #expect(p.run(.punchHole(slot: 0, firstPage: 0, pages: 1)) == .fail(Err.EOPNOTSUPP))
}

@Test func truncateOfLockedRamfsPagesBefore614MunlocksThemInTheCacheAndNeverRescues() {
    for profile in [KernelProfile.largeFolio, .mlockCount] {
        var p = Proc(profile: profile)
        p.run(.createObject(slot: 0, kind: .ramfs, pages: 4, filled: true))
        p.run(mapObject(A, 4, slot: 0, shared: true))
        p.run(mlock(A, 4))
        #expect(p.run(.truncate(slot: 0, pages: 2)) == .ok)
        #expect(p.pages(A, 4) == [mlockedPage, mlockedPage, absent, absent])
        // The TLB flush drains the batch while the pages are still ramfs's: munlocked but
        // unevictable, then freed from the unevictable list by the truncation.
        #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 4, pgMunlocked: 2, culled: 4, rescued: 0))
    }
}

@Test func truncateUnmapsPrivateCOWCopiesPastTheEndButPunchHoleDoesNot() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .file, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 0, shared: false))
    p.run(mlock(A, 2))                                                // 2 anon copies, mlocked
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 2, culled: 2))
    #expect(p.run(.punchHole(slot: 0, firstPage: 0, pages: 2)) == .ok)
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])              // even_cows = 0
    #expect(p.run(.truncate(slot: 0, pages: 1)) == .ok)
    #expect(p.pages(A, 2) == [mlockedPage, absent])                   // even_cows = 1
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 2, pgMunlocked: 1, culled: 2, rescued: 1))
    #expect(p.run(.punchHole(slot: 0, firstPage: 0, pages: 0)) == .fail(Err.EINVAL))
}

@Test func punchHoleOfLockedMemfdPagesAndTheirRefault() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .memfd, pages: 3, filled: true))
    p.run(mapObject(A, 3, slot: 0, shared: true))
    p.run(mlock(A, 3))
    p.run(.punchHole(slot: 0, firstPage: 1, pages: 1))
    #expect(p.pages(A, 3) == [mlockedPage, absent, mlockedPage])
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 3, pgMunlocked: 1, culled: 3, rescued: 1))
    p.run(write(A + P, 1))                                            // a new shmem page
    #expect(p.page(A + P) == mlockedPage)
    #expect(p.vmLck == 12)
}

@Test func hugetlbIsPopulatedButNeverLocked() {
    var p = Proc()
    let n = hugePageSize / P
    #expect(p.run(.map(addr: A, length: hugePageSize, prot: .rw, backing: .privateAnon, flags: [.hugetlb, .locked])) == ok(A))
    #expect(p.vmas == [vma(A, A + hugePageSize, rss: 0)])            // no lo, Rss 0
    #expect(p.vmLck == 0)
    // A compound page: head, then tails (kpageflags COMPOUND_HEAD/TAIL), never mlocked.
    #expect(p.page(A) == PageView(present: true, head: true))
    #expect(p.pages(A + P, n - 1).allSatisfy { $0 == PageView(present: true, tail: true) })
    #expect(p.counters == Counters())
    #expect(p.run(mlock(A, n)) == .ok)
    #expect(p.vmas == [vma(A, A + hugePageSize, rss: 0)])
    #expect(p.run(.map(addr: A + 4 * hugePageSize + P, length: P, prot: .rw, backing: .privateAnon, flags: [.hugetlb]))
            == .fail(Err.EINVAL))                                     // not huge-page aligned
}

@Test func hugetlbMlockPopulatesTheWholeHugePage() {
    var p = Proc()
    p.run(.map(addr: A, length: hugePageSize, prot: .rw, backing: .privateAnon, flags: [.hugetlb]))
    #expect(p.page(A) == absent)
    p.run(mlock(A, 1))                                                // one page asked, 2 MiB mapped
    #expect(p.page(A + hugePageSize - P) == PageView(present: true, tail: true))
    #expect(p.vmLck == 0)
}

@Test func memfdSecretIsLockedAtMmapNotPopulatedAndCannotBeUnlocked() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    #expect(p.run(mapObject(A, 2, slot: 0, shared: true, .rw, [.populate])) == ok(A))
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true, locked: true, advice: ["dd"])])   // VM_DONTDUMP
    #expect(p.vmLck == 8)
    #expect(p.pages(A, 2) == [absent, absent])                        // GUP refuses secretmem
    p.run(read(A, 1))                                                 // no fault-around
    #expect(p.pages(A, 2) == [mlockedPage, absent])
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
    #expect(p.run(mlock(A, 2)) == .fail(Err.ENOMEM))                  // populate EFAULT
    #expect(p.run(munlock(A, 2)) == .ok)
    #expect(p.vmLck == 8)                                             // never unlocked
    #expect(p.page(A) == mlockedPage)
    p.run(munmap(A, 2))                                               // munlocked, no rescue
    #expect(p.counters == counts(unevictable: 1, pgMlocked: 1, pgMunlocked: 1, culled: 1))
}

@Test func memfdSecretErrnos() {
    var p = Proc(soft: P, hard: P, cap: false)
    #expect(p.run(.createObject(slot: 0, kind: .secret, pages: 1, filled: true)) == .fail(Err.ESPIPE))
    p.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    #expect(p.run(mapObject(A, 1, slot: 0, shared: false)) == .fail(Err.EINVAL))
    #expect(p.run(mapObject(A, 2, slot: 0, shared: true)) == .fail(Err.EAGAIN))   // over 1 page
    #expect(p.run(mapObject(A, 1, slot: 0, shared: true)) == ok(A))
    #expect(p.run(.truncate(slot: 0, pages: 4)) == .fail(Err.EINVAL))
    #expect(p.run(.punchHole(slot: 0, firstPage: 0, pages: 1)) == .fail(Err.EOPNOTSUPP))
}
