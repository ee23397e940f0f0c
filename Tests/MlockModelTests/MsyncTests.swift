import Testing
import MlockModel

// msync (mm/msync.c): argument checks, EBUSY for MS_INVALIDATE on VM_LOCKED VMAs, holes.
// msync never changes a VMA, a page or a counter.

let asyncInvalidate = UAPI.MS_ASYNC | UAPI.MS_INVALIDATE
let syncInvalidate = UAPI.MS_SYNC | UAPI.MS_INVALIDATE

func msync(_ addr: UInt64, _ pages: UInt64, _ flags: Int32) -> Op {
    .msync(addr: addr, length: pages * P, flags: flags)
}

@Test func msyncInvalidateOfALockedPageIsEBUSYAndOfAnUnlockedOneSucceeds() {
    var p = Proc()
    p.run(mapAnon(A, 1))
    p.run(mlock(A, 1))
    let before = p.view
    #expect(p.run(msync(A, 1, asyncInvalidate)) == .fail(Err.EBUSY))
    #expect(p.run(msync(A, 1, syncInvalidate)) == .fail(Err.EBUSY))
    #expect(p.vmas == before.vmas)
    #expect(p.vmLck == 4)
    #expect(p.page(A) == mlockedPage)
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
    p.run(munlock(A, 1))
    #expect(p.run(msync(A, 1, asyncInvalidate)) == .ok)
    #expect(p.run(msync(A, 1, syncInvalidate)) == .ok)
    #expect(p.vmas == [vma(A, A + P, rss: 4)])
    #expect(p.page(A) == plain)
}

@Test func msyncWithoutInvalidateOfALockedPageSucceeds() {
    var p = Proc()
    p.run(mapAnon(A, 2, .rw, .locked))
    #expect(p.run(msync(A, 2, UAPI.MS_ASYNC)) == .ok)
    #expect(p.run(msync(A, 2, UAPI.MS_SYNC)) == .ok)
    #expect(p.run(msync(A, 2, 0)) == .ok)
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8)])
}

@Test func msyncInvalidateAloneOfAnOnFaultLockedRangeIsEBUSY() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mlockOnFault(A, 2))                          // VM_LOCKED|VM_LOCKONFAULT, nothing present
    #expect(p.run(msync(A, 2, UAPI.MS_INVALIDATE)) == .fail(Err.EBUSY))
    #expect(p.pages(A, 2) == [absent, absent])
    #expect(p.vmLck == 8)
}

@Test func msyncRejectsUnknownFlagsAsyncWithSyncAndAnUnalignedStartWithEINVAL() {
    var p = Proc()
    p.run(mapAnon(A, 1))
    #expect(p.run(msync(A, 1, 8)) == .fail(Err.EINVAL))
    #expect(p.run(msync(A, 1, -1)) == .fail(Err.EINVAL))
    #expect(p.run(msync(A, 1, UAPI.MS_ASYNC | UAPI.MS_SYNC)) == .fail(Err.EINVAL))
    #expect(p.run(.msync(addr: A + 1, length: P, flags: UAPI.MS_ASYNC)) == .fail(Err.EINVAL))
    // Before any look at the address space: EINVAL even where nothing is mapped,
    // and even for a length of 0.
    #expect(p.run(msync(A + 8 * P, 1, UAPI.MS_ASYNC | UAPI.MS_SYNC)) == .fail(Err.EINVAL))
    #expect(p.run(.msync(addr: A, length: 0, flags: 16)) == .fail(Err.EINVAL))
}

@Test func msyncLengthsZeroAndWrappingToZeroSucceedAndWrappingPastTheEndIsENOMEM() {
    var p = Proc()
    p.run(mapAnon(A, 1, .rw, .locked))
    #expect(p.run(.msync(addr: A, length: 0, flags: syncInvalidate)) == .ok)
    #expect(p.run(.msync(addr: A + 8 * P, length: 0, flags: 0)) == .ok)          // unmapped, nothing to do
    #expect(p.run(.msync(addr: A, length: UInt64.max, flags: syncInvalidate)) == .ok)   // PAGE_ALIGN wraps to 0
    #expect(p.run(.msync(addr: A, length: UInt64.max & ~(P - 1), flags: 0)) == .fail(Err.ENOMEM))   // end < start
}

@Test func msyncOfAnUnalignedLengthCoversTheWholeLastPage() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mlock(A + P, 1))
    #expect(p.run(.msync(addr: A, length: P, flags: UAPI.MS_INVALIDATE)) == .ok)
    #expect(p.run(.msync(addr: A, length: P + 1, flags: UAPI.MS_INVALIDATE)) == .fail(Err.EBUSY))
}

@Test func msyncOverUnlockedThenLockedVMAsIsEBUSYOnlyWhereTheLockedOneIsReached() {
    var p = Proc()
    p.run(mapAnon(A, 4))
    p.run(mlock(A + 2 * P, 2))                         // split: [A, A+2P) unlocked, [A+2P, A+4P) locked
    #expect(p.vmas.count == 2)
    #expect(p.run(msync(A, 2, asyncInvalidate)) == .ok)
    #expect(p.run(msync(A, 3, asyncInvalidate)) == .fail(Err.EBUSY))
    #expect(p.run(msync(A + 3 * P, 1, syncInvalidate)) == .fail(Err.EBUSY))
    #expect(p.run(msync(A, 4, UAPI.MS_SYNC)) == .ok)
    #expect(p.vmLck == 8)
}

@Test func msyncOfAHoleIsENOMEMAndMsAsyncAloneStopsAtTheHole() {
    var p = Proc()
    p.run(mapAnon(A, 1))
    p.run(mapAnon(A + 2 * P, 1, .rw, .locked))          // hole at A+P
    // MS_ASYNC alone: ENOMEM as soon as the hole is met.
    #expect(p.run(msync(A, 3, UAPI.MS_ASYNC)) == .fail(Err.ENOMEM))
    // Other flags walk on: ENOMEM at the end, unless an error came first.
    #expect(p.run(msync(A, 3, UAPI.MS_SYNC)) == .fail(Err.ENOMEM))
    #expect(p.run(msync(A, 3, 0)) == .fail(Err.ENOMEM))
    #expect(p.run(msync(A, 3, UAPI.MS_INVALIDATE)) == .fail(Err.EBUSY))
    #expect(p.run(msync(A, 3, asyncInvalidate)) == .fail(Err.EBUSY))
    // Only the hole: the next VMA starts at end -> ENOMEM; past every VMA -> ENOMEM.
    #expect(p.run(msync(A + P, 1, syncInvalidate)) == .fail(Err.ENOMEM))
    #expect(p.run(msync(A + 8 * P, 1, 0)) == .fail(Err.ENOMEM))
    // A hole before the range's only VMA, which is unlocked: ENOMEM.
    #expect(p.run(msync(A - P, 2, syncInvalidate)) == .fail(Err.ENOMEM))
    #expect(p.vmas == [vma(A, A + P), vma(A + 2 * P, A + 3 * P, locked: true, rss: 4, lockedKB: 4)])
}

@Test func msyncOfALockedSharedFileMappingIsEBUSYWithInvalidateAndSyncsWithout() {
    var p = Proc()
    p.run(.createObject(slot: 1, kind: .file, pages: 2, filled: true))
    p.run(mapObject(A, 2, slot: 1, shared: true))
    p.run(mlock(A, 2))
    let before = p.view
    #expect(p.run(msync(A, 2, syncInvalidate)) == .fail(Err.EBUSY))
    #expect(p.run(msync(A, 2, UAPI.MS_SYNC)) == .ok)
    #expect(p.view.vmas == before.vmas)
    #expect(p.view.pages == before.pages)
    #expect(p.counters == before.counters)
    p.run(munlock(A, 2))
    #expect(p.run(msync(A, 2, syncInvalidate)) == .ok)
    #expect(p.run(msync(A, 2, asyncInvalidate)) == .ok)
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true, rss: 8)])
}
