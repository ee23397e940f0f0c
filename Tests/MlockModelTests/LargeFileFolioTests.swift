import Testing
import MlockModel

// Large shmem and page-cache folios (LargeFileFolios.swift): shmem THPs by shmem_enabled,
// PMD-sized page-cache folios read ahead for VM_HUGEPAGE file VMAs, file PMDs cleared
// (not split into PTEs) at a VMA edge, rmap-add mlock by profile.

func shmemTHP(_ mode: ShmemHuge, pmd: ShmemHuge = .inherit) -> THPSettings {
    var s = THPSettings.madvise
    s.shmemEnabled = mode
    s.shmemPMD = pmd
    return s
}

/// A 512-page memfd mapped shared at A (MADV_HUGEPAGE'd when `advise`).
func memfdTHP(_ profile: KernelProfile = .rmapLargeFolio, _ mode: ShmemHuge = .advise, advise: Bool = true) -> Proc {
    var p = Proc(profile: profile, thp: shmemTHP(mode))
    p.run(.createObject(slot: 0, kind: .memfd, pages: T, filled: false))
    p.run(mapObject(A, T, slot: 0, shared: true))
    if advise { p.run(madvise(A, T, UAPI.MADV_HUGEPAGE)) }
    return p
}

/// A sparse regular file of `pages` mapped shared read-only at A, MADV_HUGEPAGE'd.
func fileTHP(_ pages: UInt64, _ profile: KernelProfile = .rmapLargeFolio, prot: Prot = .read) -> Proc {
    var p = Proc(profile: profile, thp: .madvise)
    p.run(.createObject(slot: 0, kind: .file, pages: pages, filled: false))
    p.run(mapObject(A, pages, slot: 0, shared: true, prot))
    p.run(madvise(A, pages, UAPI.MADV_HUGEPAGE))
    return p
}

func svma(_ start: UInt64, _ end: UInt64, _ prot: Prot = .rw, locked: Bool = false, rss: UInt64 = 0,
          lockedKB: UInt64 = 0, advice: [String] = ["hg"], filePmd: UInt64 = 0) -> VMAView {
    VMAView(start: start, end: end, prot: prot, shared: true, locked: locked, rssKB: rss, lockedKB: lockedKB,
            advice: advice, filePmdKB: filePmd)
}

@Test func shmemAdviseWithMadviseFaultsAPMDMappedTHPWhichMlockLocksWhole() {
    var p = memfdTHP()
    p.run(write(A, 1))
    #expect(p.pages(A, 2) == [thpHead, thpTail])
    #expect(p.vmas == [svma(A, A + T * P, rss: 2048, filePmd: 2048)])
    #expect(p.counters == counts())
    p.run(mlock(A, T))
    #expect(p.pages(A, 2) == [mlockedHead, mlockedTail])
    #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 512, culled: 512))
    p.run(munlock(A, T))
    #expect(p.counters == counts(pgMlocked: 512, pgMunlocked: 512, culled: 512, rescued: 512))
}

@Test func shmemSettingsDecideTheFolioOrder() {
    var never = memfdTHP(.rmapLargeFolio, .never)
    never.run(write(A, 1))
    #expect(never.page(A) == plain)
    var adviseOnly = memfdTHP(.rmapLargeFolio, .advise, advise: false)
    adviseOnly.run(write(A, 1))
    #expect(adviseOnly.page(A) == plain)
    var always = memfdTHP(.rmapLargeFolio, .always, advise: false)
    always.run(write(A, 1))
    #expect(always.page(A) == thpHead)
    var within = memfdTHP(.rmapLargeFolio, .withinSize, advise: false)
    within.run(write(A, 1))
    #expect(within.page(A) == thpHead)
    var deny = memfdTHP(.rmapLargeFolio, .deny)
    deny.run(write(A, 1))
    #expect(deny.page(A) == plain)
    // Anonymous shmem follows hugepages-2048kB/shmem_enabled; `inherit` the top level.
    var anon = Proc(thp: shmemTHP(.advise, pmd: .never))
    anon.run(mapSharedAnon(A, T))
    anon.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    anon.run(write(A, 1))
    #expect(anon.page(A) == plain)
    var inherit = Proc(thp: shmemTHP(.advise))
    inherit.run(mapSharedAnon(A, T))
    inherit.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    inherit.run(write(A, 1))
    #expect(inherit.page(A) == thpHead)
}

@Test func shmemTHPMappedByPopulateInALockedVMAIsMlockedOnlyWhereTheRmapAddMlocksLargeFolios() {
    var p618 = memfdTHP(.rmapLargeFolio)
    p618.run(mlock(A, T))
    #expect(p618.page(A) == mlockedHead)
    #expect(p618.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 512, culled: 512))
    var p67 = memfdTHP(.largeFolio)
    p67.run(mlock(A, T))
    #expect(p67.page(A) == thpHead)
    #expect(p67.vmLck == 2048)
}

@Test func aVMAEdgeInsideALockedShmemPMDClearsItAndMunlocksTheFolio() {
    var p = memfdTHP()
    p.run(write(A, T))
    p.run(mlock(A, T))
    p.run(munlock(A + 10 * P, 1))
    #expect(p.pages(A, 512).allSatisfy { $0 == absent })
    #expect(p.vmLck == 2044)
    #expect(p.counters == counts(pgMlocked: 512, pgMunlocked: 512, culled: 512, rescued: 512))
    // Re-locking the page merges the VMAs; the fault finds pmd_none: a PMD again, mlocked.
    p.run(mlock(A + 10 * P, 1))
    #expect(p.vmas == [svma(A, A + T * P, locked: true, rss: 2048, lockedKB: 2048, filePmd: 2048)])
    #expect(p.page(A) == mlockedHead)
}

@Test func aPartlyMappedLargeShmemFolioIsNeverMlockedByItsPTEs() {
    var p = memfdTHP()
    p.run(write(A, T))
    p.run(mlock(A, T))
    p.run(.mprotect(addr: A + 10 * P, length: P, prot: .read))
    #expect(p.counters.mlocked == 0)
    p.run(read(A, 1))   // fault-around maps pages 0-9 by PTEs
    #expect(p.pages(A, 11) == [thpHead] + Array(repeating: thpTail, count: 9) + [absent])
    #expect(p.vmas[0] == svma(A, A + 10 * P, locked: true, rss: 40, lockedKB: 40))
    p.run(munlock(A, 10))
    p.run(mlock(A, 10))
    #expect(p.counters.mlocked == 0)
}

@Test func aWriteAfterALoadOfAShmemPMDTakesNoFaultButARegularFilesReadOnlyPMDIsClearedAndRemapped() {
    var shm = memfdTHP(.rmapLargeFolio, .always, advise: false)
    shm.run(mlockOnFault(A, T))
    shm.run(write(A + 7 * P, 1))
    #expect(shm.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 512, culled: 512))
    var file = fileTHP(T, prot: .rw)
    file.run(mlockOnFault(A, T))
    file.run(write(A + 7 * P, 1))
    #expect(file.page(A) == mlockedHead)
    #expect(file.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 1024, pgMunlocked: 512,
                                    culled: 1024, rescued: 512))
}

@Test func aVMHugepageFileFaultReadsAheadPMDFoliosWhateverTheTHPSettings() {
    var p = Proc(profile: .rmapLargeFolio, thp: .disabled)
    p.run(.createObject(slot: 0, kind: .file, pages: 2 * T, filled: false))
    p.run(mapObject(A, 2 * T, slot: 0, shared: true, .read))
    p.run(madvise(A, 2 * T, UAPI.MADV_HUGEPAGE))
    p.run(mlock(A, 2 * T))
    #expect(p.page(A) == mlockedHead && p.page(A + T * P) == mlockedHead && p.page(A + (T + 1) * P) == mlockedTail)
    #expect(p.vmas.first?.filePmdKB == 4096)
    // Without VM_HUGEPAGE: small folios (read-around).
    var q = Proc(profile: .rmapLargeFolio, thp: .madvise)
    q.run(.createObject(slot: 0, kind: .file, pages: T, filled: false))
    q.run(mapObject(A, T, slot: 0, shared: true, .read))
    q.run(read(A, 1))
    #expect(q.page(A) == plain)
}

@Test func readAheadNearEOFTakesTheHighestOrderEndingByItAndTheFirstFolioIsMappedWholeByPTEs() {
    var p = fileTHP(300)
    p.run(read(A, 1))
    // 256 + 32 + 8 + 4 pages; the 256-page folio fits the VMA and its page table.
    #expect(p.page(A) == thpHead && p.page(A + 255 * P) == thpTail && p.page(A + 256 * P) == absent)
    p.run(mlock(A, 260))
    #expect(p.page(A) == mlockedHead)
    #expect(p.page(A + 256 * P) == PageView(present: true, thp: true, head: true))   // straddles the edge
    #expect(p.counters.mlocked == 256)
    p.run(munlock(A, 1))
    #expect(p.counters.mlocked == 0)
    #expect(p.vmLck == 259 * 4)
}

// Migration of a locked PMD THP (MigrateSyscalls.swift).

@Test func compactionNeverTakesAPMDTHP() {
    var p = Proc(profile: .rmapLargeFolio, settings: [.compactUnevictableAllowed(true)], thp: thpMadvise)
    p.run(mapAnon(A, T))
    p.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    p.run(write(A, T))
    p.run(mlock(A, T))
    p.run(.compactMemory)
    let f = try! #require(p.model.frames)
    #expect(f.kept.count == 512)
}

func lockedTHPOnTwoNodes(_ profile: KernelProfile) -> Proc {
    var p = Proc(profile: profile, numa: twoNodes, thp: thpMadvise)
    p.run(mapAnon(A, T))
    p.run(madvise(A, T, UAPI.MADV_HUGEPAGE))
    p.run(write(A, T))
    p.run(mlock(A, T))
    return p
}

@Test func movePagesOfALockedTHPIsolatesItOnceTheSecondPageIsEBUSYAndTheRestFindItThere() {
    var p = lockedTHPOnTwoNodes(.rmapLargeFolio)
    let r = p.run(.movePages(addr: A, pages: T, to: .remote, flags: UAPI.MPOL_MF_MOVE))
    #expect(r.status == [1, -Err.EBUSY] + Array(repeating: 1, count: 510))
    #expect(p.model.frames?.moved.count == 512)
    #expect(p.model.pageNodes?[A + 300 * P] == 1)
    // 6.18: remove_migration_pmd's whole-folio rmap add mlocks the new folio again.
    #expect(p.page(A) == mlockedHead)
    #expect(p.counters == counts(mlocked: 512, unevictable: 512, pgMlocked: 1024, culled: 1024,
                                 rescued: 512, stranded: 512))
    // Again: already there.
    #expect(p.run(.movePages(addr: A, pages: 2, to: .remote, flags: 0)).status == [1, 1])
}

@Test func before618AMigratedPMDTHPComesBackMunlocked() {
    var p = lockedTHPOnTwoNodes(.largeFolio)
    p.run(.movePages(addr: A, pages: T, to: .remote, flags: UAPI.MPOL_MF_MOVE))
    #expect(p.page(A) == thpHead)
    #expect(p.counters == counts(pgMlocked: 512, culled: 512, rescued: 512, stranded: 512))
    #expect(p.vmLck == 2048)
}

@Test func mbindMovesALockedTHPWhole() {
    var p = lockedTHPOnTwoNodes(.rmapLargeFolio)
    p.run(.mbind(addr: A, length: T * P, mode: UAPI.MPOL_BIND, node: .remote, flags: UAPI.MPOL_MF_MOVE))
    #expect(p.model.pageNodes?[A] == 1 && p.model.pageNodes?[A + 511 * P] == 1)
    #expect(p.counters.pgStranded == 512 && p.counters.mlocked == 512)
}
