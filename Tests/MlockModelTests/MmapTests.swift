import Testing
import MlockModel

// mmap: errors, MAP_LOCKED / MAP_POPULATE, the zero page, merges.

@Test func mmapOfLengthZeroIsEINVAL() {
    var p = Proc()
    #expect(p.run(.map(addr: A, length: 0, prot: .rw, backing: .privateAnon, flags: [])) == .fail(Err.EINVAL))
    #expect(p.vmas.isEmpty)
}

@Test func mmapAtAnUnalignedAddressIsEINVAL() {
    var p = Proc()
    #expect(p.run(.map(addr: A + 100, length: P, prot: .rw, backing: .privateAnon, flags: [])) == .fail(Err.EINVAL))
}

@Test func mmapOverAnExistingMappingIsEEXIST() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    #expect(p.run(mapAnon(A + 3 * P, 2)) == .fail(Err.EEXIST))
    #expect(p.vmas == [vma(A, A + 4 * P)])
}

@Test func mmapOfAnUnalignedLengthRoundsUpToWholePages() {
    var p = Proc()
    #expect(p.run(.map(addr: A, length: P + 1, prot: .rw, backing: .privateAnon, flags: [])) == ok(A))
    #expect(p.vmas == [vma(A, A + 2 * P)])
}

@Test func mapLockedPopulatesWithWriteFaultsAndMlocksEveryPage() {
    var p = Proc()
    #expect(p.run(mapAnon(A, 4, .rw, .locked)) == ok(A))
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true, rss: 16, lockedKB: 16)])
    #expect(p.vmLck == 16)
    #expect(p.pages(A, 4) == Array(repeating: mlockedPage, count: 4))
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
}

@Test func mapLockedReadOnlyPrivateAnonMapsTheZeroPageWhichIsNeverMlocked() {
    var p = Proc()
    p.run(mapAnon(A, 4, .read, .locked))
    #expect(p.vmas == [vma(A, A + 4 * P, .read, locked: true, rss: 0, lockedKB: 0)])
    #expect(p.vmLck == 16)   // VmLck counts the VMA, the page layer counts nothing
    #expect(p.pages(A, 4) == Array(repeating: zeroPage, count: 4))
    #expect(p.counters == Counters())
}

@Test func mapLockedProtNoneSucceedsWithNothingPopulated() {
    var p = Proc()
    #expect(p.run(mapAnon(A, 2, .none, .locked)) == ok(A))   // populate errors do not fail mmap
    #expect(p.vmas == [vma(A, A + 2 * P, .none, locked: true)])
    #expect(p.vmLck == 8)
    #expect(p.pages(A, 2) == [absent, absent])
}

@Test func mapLockedWithAZeroLimitAndNoCapIpcLockIsEPERM() {
    var p = Proc(soft: 0, hard: 0, cap: false)
    #expect(p.run(mapAnon(A, 1, .rw, .locked)) == .fail(Err.EPERM))
    #expect(p.run(mapAnon(A, 1)) == ok(A))   // an unlocked mapping is fine
}

@Test func mapLockedOverTheMemlockLimitIsEAGAIN() {
    var p = Proc(soft: 3 * P, hard: 3 * P, cap: false)
    #expect(p.run(mapAnon(A, 4, .rw, .locked)) == .fail(Err.EAGAIN))
    #expect(p.run(mapAnon(A, 3, .rw, .locked)) == ok(A))
    #expect(p.vmLck == 12)
}

@Test func mapPopulateWithoutLockingFaultsPagesButMlocksNothing() {
    var p = Proc()
    p.run(mapAnon(A, 3, .rw, .populate))
    #expect(p.vmas == [vma(A, A + 3 * P, rss: 12)])
    #expect(p.pages(A, 3) == [plain, plain, plain])
    #expect(p.counters == Counters())
    #expect(p.vmLck == 0)
}

@Test func adjacentAnonymousMappingsWithTheSameFlagsMergeIntoOneVMA() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mapAnon(A + 2 * P, 3))
    #expect(p.vmas == [vma(A, A + 5 * P)])
}

@Test func adjacentMappingsDifferingOnlyInVMLockedStayApart() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mapAnon(A + 2 * P, 2, .rw, .locked))
    #expect(p.vmas == [vma(A, A + 2 * P), vma(A + 2 * P, A + 4 * P, locked: true, rss: 8, lockedKB: 8)])
}

@Test func memfdMappedTwiceAtContiguousOffsetsMergesIntoOneVMA() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .memfd, pages: 8, filled: false))
    p.run(mapObject(A, 4, slot: 1, shared: true, offset: 0))
    p.run(mapObject(A + 4 * P, 4, slot: 1, shared: true, offset: 4))
    p.run(mapObject(A + 8 * P, 4, slot: 1, shared: true, offset: 0))   // offsets do not continue
    #expect(p.vmas == [vma(A, A + 8 * P, shared: true), vma(A + 8 * P, A + 12 * P, shared: true)])
}

@Test func sharedAnonymousMappingsNeverMergeWithEachOther() {
    var p = Proc()
    p.run(mapSharedAnon(A, 2))
    p.run(mapSharedAnon(A + 2 * P, 2))
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true), vma(A + 2 * P, A + 4 * P, shared: true)])
}

@Test func mmapOfAnUnknownObjectSlotIsEBADF() {
    var p = Proc()
    #expect(p.run(mapObject(A, 1, slot: 9, shared: true)) == .fail(Err.EBADF))
}

@Test func separatelyFaultedNeighboursKeepTwoAnonVmasAndDoNotMergeAfterUnlock() {
    // The first page gets its anon_vma while locked; the second cannot reuse it
    // (flags differ in VM_LOCKED) and gets its own, so unlocking cannot merge them.
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mlock(A, 1))
    p.run(write(A, 2))
    p.run(munlock(A, 1))
    #expect(p.vmas == [vma(A, A + P, rss: 4), vma(A + P, A + 2 * P, rss: 4)])
}

@Test func pagesOfAVMASplitBeforeAnyFaultShareNothingButStillMerge() {
    // No anon_vma yet on either side: the pieces re-merge.
    var p = Proc()
    p.run(mapAnon(A, 3))
    p.run(mlockOnFault(A + P, 1))
    #expect(p.vmas.count == 3)
    p.run(munlock(A + P, 1))
    #expect(p.vmas == [vma(A, A + 3 * P)])
}

@Test func createObjectRefusesABadSlotAndASlotInUseLikeTheAgent() {
    var p = Proc()
    #expect(p.run(.createObject(slot: 1, kind: .memfd, pages: 1, filled: false)) == .ok)
    #expect(p.run(.createObject(slot: 1, kind: .file, pages: 1, filled: false)) == .fail(Err.EBUSY))
    #expect(p.run(.createObject(slot: 16, kind: .memfd, pages: 1, filled: false)) == .fail(Err.EINVAL))
}

@Test func hugeRangesCostNothingWhenLittleIsMapped() {
    // One page mapped; a 1 TiB munlock/madvise/munmap must not walk every page.
    var p = Proc()
    p.run(mapAnon(A, 1, .rw, .locked))
    #expect(p.run(madvise(A, 1, UAPI.MADV_DONTNEED_LOCKED)) == .ok)
    #expect(p.run(.madvise(addr: A, length: Arena.size, advice: UAPI.MADV_DONTNEED_LOCKED)) == .fail(Err.ENOMEM))
    #expect(p.run(.munmap(addr: A, length: Arena.size)) == .ok)
    #expect(p.vmas.isEmpty && p.vmLck == 0)
}
