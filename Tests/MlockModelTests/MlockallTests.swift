import Testing
import MlockModel

// mlockall / munlockall, MCL_FUTURE and mm->def_flags, foreign VMAs.

/// A process image outside the arena: text (1 page), data (2 pages, already locked
/// elsewhere: no), a special VMA such as [vvar] (2 pages) that is never locked.
let text = ForeignVMA(start: 0x40_0000, end: 0x40_1000, prot: [.read, .exec], special: false, locked: false)
let data = ForeignVMA(start: 0x60_0000, end: 0x60_2000, prot: .rw, special: false, locked: false)
let vvar = ForeignVMA(start: 0x7fff_f000_0000, end: 0x7fff_f000_2000, prot: .read, special: true, locked: false)

struct MlockallCase: Sendable, CustomStringConvertible {
    var flags: Int32
    var result: OpResult
    var existingLocked: Bool
    var existingPopulated: Bool
    var newLocked: Bool
    var newPopulated: Bool
    var description: String { "mlockall(\(flags))" }
}

// The 8 combinations of MCL_CURRENT (1), MCL_FUTURE (2), MCL_ONFAULT (4):
// 0 and MCL_ONFAULT alone are EINVAL; ONFAULT makes the locks lock-on-fault.
let mlockallCases: [MlockallCase] = [
    MlockallCase(flags: 0, result: .fail(Err.EINVAL), existingLocked: false, existingPopulated: false, newLocked: false, newPopulated: false),
    MlockallCase(flags: 1, result: .ok, existingLocked: true, existingPopulated: true, newLocked: false, newPopulated: false),
    MlockallCase(flags: 2, result: .ok, existingLocked: false, existingPopulated: false, newLocked: true, newPopulated: true),
    MlockallCase(flags: 3, result: .ok, existingLocked: true, existingPopulated: true, newLocked: true, newPopulated: true),
    MlockallCase(flags: 4, result: .fail(Err.EINVAL), existingLocked: false, existingPopulated: false, newLocked: false, newPopulated: false),
    MlockallCase(flags: 5, result: .ok, existingLocked: true, existingPopulated: false, newLocked: false, newPopulated: false),
    MlockallCase(flags: 6, result: .ok, existingLocked: false, existingPopulated: false, newLocked: true, newPopulated: false),
    MlockallCase(flags: 7, result: .ok, existingLocked: true, existingPopulated: false, newLocked: true, newPopulated: false),
]

@Test(arguments: mlockallCases)
func mlockallFlagCombinations(_ c: MlockallCase) {
    var p = Proc()
    let B = A + 16 * P
    p.run(mapAnon(A, 2))
    #expect(p.run(.mlockall(flags: c.flags)) == c.result)
    p.run(mapAnon(B, 2))
    #expect(p.vmas[0].locked == c.existingLocked)
    #expect(p.pages(A, 2) == Array(repeating: c.existingPopulated ? mlockedPage : absent, count: 2))
    #expect(p.vmas[1].locked == c.newLocked)
    #expect(p.pages(B, 2) == Array(repeating: c.newPopulated ? mlockedPage : absent, count: 2))
    #expect(p.vmLck == (c.existingLocked ? 8 : 0) + (c.newLocked ? 8 : 0))
}

@Test(arguments: [Int32(8), 16, 9, Int32.min, -1])
func mlockallWithUnknownFlagBitsIsEINVAL(_ flags: Int32) {
    var p = Proc()
    p.run(mapAnon(A, 1))
    #expect(p.run(.mlockall(flags: flags)) == .fail(Err.EINVAL))
    #expect(p.vmLck == 0)
}

@Test func mlockallCurrentLocksForeignVMAsButNeverSpecialOnes() {
    var p = Proc(foreign: [text, data, vvar])
    p.run(mapAnon(A, 4))
    #expect(p.run(.mlockall(flags: UAPI.MCL_CURRENT)) == .ok)
    #expect(p.vmLck == (4 + 1 + 2) * 4)     // arena + text + data, not [vvar]
    #expect(p.counters == counts(mlocked: 4, unevictable: 4, pgMlocked: 4, culled: 4))
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true, rss: 16, lockedKB: 16)])   // arena only
    #expect(p.view.pages.count == 4)
}

@Test func aForeignVMALockedAtStartIsCountedInVmLck() {
    let lockedData = ForeignVMA(start: 0x60_0000, end: 0x60_2000, prot: .rw, special: false, locked: true)
    var p = Proc(foreign: [text, lockedData])
    #expect(p.vmLck == 8)
    p.run(.munlockall)
    #expect(p.vmLck == 0)
}

@Test func mlockallCurrentComparesTotalVMNotLockedVMWithTheLimit() {
    // total_vm = 4 arena + 5 foreign pages (the special one too) = 9 > 8.
    var p = Proc(soft: 8 * P, hard: 8 * P, cap: false, foreign: [text, data, vvar])
    p.run(mapAnon(A, 4))
    #expect(p.run(.mlockall(flags: UAPI.MCL_CURRENT)) == .fail(Err.ENOMEM))
    #expect(p.vmLck == 0)
    #expect(p.vmas == [vma(A, A + 4 * P)])
    #expect(p.run(.mlockall(flags: UAPI.MCL_FUTURE)) == .ok)   // FUTURE alone has no such check
    p.run(munmap(A, 1))                                       // total_vm 8
    #expect(p.run(.mlockall(flags: UAPI.MCL_CURRENT)) == .ok)
    #expect(p.vmLck == (3 + 3) * 4)
}

@Test func mlockallWithAZeroLimitAndNoCapIsEPERMButBadFlagsComeFirst() {
    var p = Proc(soft: 0, hard: 0, cap: false)
    #expect(p.run(.mlockall(flags: 0)) == .fail(Err.EINVAL))
    #expect(p.run(.mlockall(flags: UAPI.MCL_CURRENT)) == .fail(Err.EPERM))
    #expect(p.run(.munlockall) == .ok)
}

@Test func mclFutureMakesALaterMmapLockedAndPopulated() {
    var p = Proc()
    p.run(.mlockall(flags: UAPI.MCL_FUTURE))
    p.run(mapAnon(A, 3))
    #expect(p.vmas == [vma(A, A + 3 * P, locked: true, rss: 12, lockedKB: 12)])
    #expect(p.vmLck == 12)
    #expect(p.counters == counts(mlocked: 3, unevictable: 3, pgMlocked: 3, culled: 3))
}

@Test func mclFutureOnFaultMakesLaterMappingsLockOnFault() {
    var p = Proc()
    p.run(.mlockall(flags: UAPI.MCL_FUTURE | UAPI.MCL_ONFAULT))
    p.run(mapAnon(A, 4))
    #expect(p.vmas == [vma(A, A + 4 * P, locked: true)])
    #expect(p.vmLck == 16)
    p.run(write(A + P, 1))
    #expect(p.counters == counts(mlocked: 1, unevictable: 1, pgMlocked: 1, culled: 1))
}

@Test func anMmapUnderMclFutureOverTheLimitIsEAGAIN() {
    var p = Proc(soft: 4 * P, hard: 4 * P, cap: false)
    p.run(.mlockall(flags: UAPI.MCL_FUTURE))
    #expect(p.run(mapAnon(A, 5)) == .fail(Err.EAGAIN))
    #expect(p.run(mapAnon(A, 4)) == ok(A))
    #expect(p.run(mapAnon(A + 8 * P, 1)) == .fail(Err.EAGAIN))   // 1 + 4 locked > 4
}

@Test func mlockallWithoutMclFutureClearsTheFutureLock() {
    var p = Proc()
    p.run(.mlockall(flags: UAPI.MCL_FUTURE))
    p.run(.mlockall(flags: UAPI.MCL_CURRENT))
    p.run(mapAnon(A, 2))
    #expect(p.vmas == [vma(A, A + 2 * P)])
}

@Test func munlockallClearsDefFlagsAndUnlocksEveryVMA() {
    var p = Proc(foreign: [data])
    p.run(mapAnon(A, 2))
    p.run(.mlockall(flags: UAPI.MCL_CURRENT | UAPI.MCL_FUTURE))
    #expect(p.vmLck == 16)
    #expect(p.run(.munlockall) == .ok)
    #expect(p.vmLck == 0)
    #expect(p.counters == counts(mlocked: 0, unevictable: 0, pgMlocked: 2, pgMunlocked: 2, culled: 2, rescued: 2))
    p.run(mapAnon(A + 8 * P, 1))
    #expect(p.vmas == [vma(A, A + 2 * P, rss: 8), vma(A + 8 * P, A + 9 * P)])
}

@Test func mlockallCurrentOnFaultTurnsLockedVMAsIntoOnFaultWithoutPageWork() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(.mlockall(flags: UAPI.MCL_CURRENT))
    let before = p.counters
    #expect(p.run(.mlockall(flags: UAPI.MCL_CURRENT | UAPI.MCL_ONFAULT)) == .ok)
    #expect(p.counters == before)
    #expect(p.vmLck == 8)
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8)])
}

@Test func mlockallMergesNeighboursThatDifferedOnlyInTheirLock() {
    var p = Proc()
    p.run(mapAnon(A, 2))
    p.run(mlockOnFault(A, 1))       // split before any fault: no anon_vma
    p.run(.mlockall(flags: UAPI.MCL_CURRENT))
    #expect(p.vmas == [vma(A, A + 2 * P, locked: true, rss: 8, lockedKB: 8)])
    #expect(p.vmLck == 8)
}
