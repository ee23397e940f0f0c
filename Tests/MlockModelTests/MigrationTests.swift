import Testing
import MlockModel

// Migration of locked pages: compaction, move_pages, mbind(MPOL_MF_MOVE).

let twoNodes = NUMANodes(local: 0, remote: 1)

@Test func compactionWithUnevictableDisallowedKeepsEveryMlockedFrame() {
    var p = Proc(settings: [.compactUnevictableAllowed(false)])
    p.run(mapAnon(A, 4, .rw, .locked))                    // 4 mlocked pages
    p.run(mapAnon(A + 8 * P, 2))
    p.run(write(A + 8 * P, 2))                            // 2 evictable pages
    #expect(p.run(.compactMemory) == .ok)
    let f = try! #require(p.model.frames)
    #expect(f.kept == Set((0..<4).map { A + $0 * P }))    // unevictable: not isolated
    #expect(f.moved.isEmpty)                               // the evictable pages may move
    #expect(p.pages(A, 4) == Array(repeating: mlockedPage, count: 4))
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
}

@Test func compactionWithUnevictableAllowedGuaranteesNoFrameButKeepsTheFlags() {
    var p = Proc(settings: [.compactUnevictableAllowed(true)])
    p.run(mapAnon(A, 4, .rw, .locked))
    p.run(mapAnon(A + 8 * P, 1, .read, .locked))          // the zero page, never migrated
    #expect(p.run(.compactMemory) == .ok)
    let f = try! #require(p.model.frames)
    #expect(f.kept == [A + 8 * P])
    #expect(p.pages(A, 4) == Array(repeating: mlockedPage, count: 4))
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    // One munlock undoes the (rebuilt) mlock_count of 1.
    p.run(munlock(A, 4))
    #expect(p.pages(A, 4) == Array(repeating: plain, count: 4))
}

@Test func nonMigratingOpsHaveNoFramePrediction() {
    var p = Proc()
    p.run(mapAnon(A, 1, .rw, .locked))
    #expect(p.model.frames == nil)
    p.run(.compactMemory)
    #expect(p.model.frames != nil)
    p.run(munlock(A, 1))
    #expect(p.model.frames == nil)
}

@Test func movePagesOfMlockedPagesMovesThemWithTheirLockAndCountsStrandedAndMlocked() {
    var p = Proc(numa: twoNodes)
    p.run(mapAnon(A, 4, .rw, .locked))
    #expect(p.model.pageNodes == Dictionary(uniqueKeysWithValues: (0..<4).map { (A + $0 * P, 0) }))
    let r = p.run(.movePages(addr: A, pages: 4, to: .remote, flags: UAPI.MPOL_MF_MOVE))
    #expect(r == OpResult(ret: 0, errno: 0, status: [1, 1, 1, 1]))
    #expect(p.model.frames == FramePrediction(kept: [], moved: Set((0..<4).map { A + $0 * P })))
    #expect(p.model.pageNodes == Dictionary(uniqueKeysWithValues: (0..<4).map { (A + $0 * P, 1) }))
    #expect(p.pages(A, 4) == Array(repeating: mlockedPage, count: 4))
    // Old page munlocked while isolated and unevictable: stranded; the new page is put on
    // the LRU evictable (rescued), then mlocked by the rmap add (mlocked, culled).
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 8, culled: 8, rescued: 4, stranded: 4))
    // Already there: status the node, nothing moves, nothing counted.
    #expect(p.run(.movePages(addr: A, pages: 4, to: .remote, flags: 0)).status == [1, 1, 1, 1])
    #expect(p.model.frames?.moved == [])
    #expect(p.counters.pgStranded == 4)
    // mlock_count was rebuilt to 1: one munlock unlocks.
    p.run(munlock(A, 4))
    #expect(p.pages(A, 4) == Array(repeating: plain, count: 4))
}

@Test func movePagesStatusValues() {
    var p = Proc(numa: twoNodes)
    p.run(mapAnon(A, 4))
    p.run(write(A, 1))
    p.run(read(A + P, 1))                                  // zero page
    p.run(write(A + 2 * P, 2))
    p.run(mlockOnFault(A, 4))
    let eFault = -Err.EFAULT, eNoEnt = -Err.ENOENT
    #expect(p.run(.movePages(addr: A, pages: 4, to: .remote, flags: 0)).status == [1, eFault, 1, 1])
    // Past the VMA: no VMA, -EFAULT.
    #expect(p.run(.movePages(addr: A + 3 * P, pages: 3, to: .remote, flags: 0)).status == [1, eFault, eFault])
    // An absent shmem page: -ENOENT.
    let S = A + 16 * P
    p.run(.createObject(slot: 0, kind: .memfd, pages: 2, filled: false))
    p.run(mapObject(S, 2, slot: 0, shared: true))
    p.run(write(S, 1))
    #expect(p.run(.movePages(addr: S, pages: 2, to: .remote, flags: 0)).status == [1, eNoEnt])
    // Flags outside MOVE/MOVE_ALL: EINVAL before anything.
    #expect(p.run(.movePages(addr: A, pages: 1, to: .local, flags: 1)) == .fail(Err.EINVAL))
}

@Test func movePagesOfAnAbsentAnonPageDependsOnTheLookup() {
    // 6.12 on (folio_walk): -ENOENT; before, follow_page(FOLL_DUMP) gave -EFAULT for an
    // anonymous VMA with no page table entry.
    for (profile, expected) in [(KernelProfile.largeFolio, -Err.ENOENT), (.mlockCount, -Err.EFAULT), (.pre518, -Err.EFAULT)] {
        var p = Proc(profile: profile, numa: twoNodes)
        p.run(mapAnon(A, 1))
        #expect(p.run(.movePages(addr: A, pages: 1, to: .remote, flags: 0)).status == [expected], "\(profile)")
    }
}

@Test func movePagesToAMissingNodeIsENODEV() {
    var p = Proc()                                         // one node
    p.run(mapAnon(A, 1, .rw, .locked))
    #expect(p.run(.movePages(addr: A, pages: 1, to: .remote, flags: 0)) == .fail(Err.ENODEV))
    #expect(p.run(.movePages(addr: A, pages: 1, to: .local, flags: 0)).status == [0])
}

@Test func movePagesOfAPageSharedWithAForkedParentNeedsMoveAll() {
    var p = Proc(numa: twoNodes)
    p.run(mapAnon(A, 2, .rw, .locked))
    p.run(.fork)
    let eAcces = -Err.EACCES
    #expect(p.run(.movePages(addr: A, pages: 2, to: .remote, flags: 0)).status == [eAcces, eAcces])
    #expect(p.model.frames?.kept == [A, A + P])
    #expect(p.run(.movePages(addr: A, pages: 2, to: .remote, flags: UAPI.MPOL_MF_MOVE_ALL)).status == [1, 1])
    // Still mlocked for the frozen parent; counted as a migration of an mlocked page.
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])
    #expect(p.counters == counts(mlocked: 2, unevictable: 2, pgMlocked: 4, culled: 4, rescued: 2, stranded: 2))
}

@Test func mbindBindMovesLockedPagesAndLaterFaultsFollowThePolicy() {
    var p = Proc(numa: twoNodes)
    p.run(mapAnon(A, 8))
    p.run(mlockOnFault(A, 8))
    p.run(write(A, 4))
    #expect(p.run(.mbind(addr: A, length: 8 * P, mode: UAPI.MPOL_BIND, node: .remote, flags: UAPI.MPOL_MF_MOVE)) == .ok)
    #expect(p.model.frames?.moved == Set((0..<4).map { A + $0 * P }))
    #expect(p.vmas == [vma(A, A + 8 * P, locked: true, rss: 16, lockedKB: 16)])
    p.run(write(A + 4 * P, 4))                             // new pages on the bound node
    #expect(p.model.pageNodes == Dictionary(uniqueKeysWithValues: (0..<8).map { (A + $0 * P, 1) }))
    #expect(p.pages(A, 8) == Array(repeating: mlockedPage, count: 8))
    // A sub-range bound elsewhere splits the VMA; binding the rest the same way merges it.
    p.run(.mbind(addr: A, length: 2 * P, mode: UAPI.MPOL_BIND, node: .local, flags: UAPI.MPOL_MF_MOVE))
    #expect(p.vmas.count == 2)
    #expect(p.model.pageNodes?[A] == 0 && p.model.pageNodes?[A + 2 * P] == 1)
    p.run(.mbind(addr: A + 2 * P, length: 6 * P, mode: UAPI.MPOL_BIND, node: .local, flags: 0))
    #expect(p.vmas == [vma(A, A + 8 * P, locked: true, rss: 32, lockedKB: 32)])
    #expect(p.model.pageNodes?[A + 2 * P] == 1)            // no MPOL_MF_MOVE: pages stay
}

@Test func mbindChecksItsArguments() {
    var p = Proc(numa: twoNodes)
    p.run(mapAnon(A, 2))
    #expect(p.run(.mbind(addr: A + 1, length: P, mode: UAPI.MPOL_BIND, node: .remote, flags: 0)) == .fail(Err.EINVAL))
    #expect(p.run(.mbind(addr: A, length: P, mode: UAPI.MPOL_BIND, node: nil, flags: 0)) == .fail(Err.EINVAL))
    #expect(p.run(.mbind(addr: A, length: P, mode: UAPI.MPOL_BIND, node: .remote, flags: 8)) == .fail(Err.EINVAL))
    // A hole in the range: EFAULT, and nothing changes.
    #expect(p.run(.mbind(addr: A, length: 4 * P, mode: UAPI.MPOL_BIND, node: .remote, flags: 0)) == .fail(Err.EFAULT))
    #expect(p.vmas.count == 1)
    #expect(p.run(.mbind(addr: A, length: 0, mode: UAPI.MPOL_BIND, node: .remote, flags: 0)) == .ok)
}

@Test func migrationBeforeMlockCountCopiesTheFlagsWithoutEvents() {
    var p = Proc(profile: .pre518, numa: twoNodes)
    p.run(mapAnon(A, 2, .rw, .locked))
    let before = p.counters
    p.run(.movePages(addr: A, pages: 2, to: .remote, flags: 0))
    #expect(p.pages(A, 2) == [mlockedPage, mlockedPage])
    #expect(p.counters == before)
}
