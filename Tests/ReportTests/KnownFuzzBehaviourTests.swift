import Testing
import MlockModel
import Scenarios

/// The fuzzer's known kernel behaviours: each matcher takes the divergences its written-up
/// case showed, and nothing that differs in any other observable or by other amounts.
@Suite("Known fuzz behaviours")
struct KnownFuzzBehaviourTests {
    static let fixedGrow = Op.mremap(old: 0x2000_0140_8000, oldLength: 4096, newLength: 5 * 4096,
                                     flags: UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED, newAddr: 0x2000_0003_4000)
    static let touch = Op.touch(addr: 0x2000_0180_0000, length: 4 * 4096, write: true)
    static let dontunmap = Op.mremap(old: 0x2000_0000_1000, oldLength: 6 * 4096, newLength: 6 * 4096,
                                     flags: UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED | UAPI.MREMAP_DONTUNMAP,
                                     newAddr: 0x2000_0143_4000)

    static func div(_ observable: String, _ expected: String, _ observed: String) -> Divergence {
        Divergence(step: 4, op: "op", observable: observable, expected: expected, observed: observed)
    }
    /// The model's locked ranges at the step: sequence 21940's two locked mappings.
    static let lockedRanges: [String: [Range<UInt64>]] = ["": [0x2000_0043_4000..<0x2000_0045_4000,
                                                              0x2000_0080_1000..<0x2000_0080_7000]]
    static func classify(_ op: Op, _ ds: [Divergence], lockedRanges: [String: [Range<UInt64>]]? = lockedRanges,
                         release: String = "6.18.44") -> String? {
        KnownFuzzBehaviour.classify(op, ds, lockedRanges: lockedRanges, release: release)?.id
    }

    /// The lost mlock as the 25-minute run of this tree found it again (sequence 934).
    static let lostMlock = [
        div("pages", "A+0x37000 M", "A+0x37000 p"),
        div("Mlocked", "+0", "-1"), div("Unevictable", "+0", "-1"),
        div("unevictable_pgs_mlocked", "+1", "+0"), div("unevictable_pgs_culled", "+1", "+0"),
    ]
    static let coalesced = [
        div("unevictable_pgs_mlocked", "+8", "+7"), div("unevictable_pgs_munlocked", "+3", "+2"),
        div("unevictable_pgs_culled", "+8", "+7"), div("unevictable_pgs_rescued", "+3", "+2"),
    ]

    @Test func theWrittenUpCasesAreRecognised() {
        #expect(Self.classify(Self.fixedGrow, Self.lostMlock) == "lost-mlock")
        #expect(Self.classify(Self.touch, Self.coalesced) == "coalesced-mlock-events")
        #expect(Self.classify(Self.dontunmap, [Self.div("VmLck", "1244 kB", "1248 kB")]) == "dontunmap-locked-vm-leak")
    }

    @Test func aLostMlockOfTwoPagesMustMoveEveryCounterByTwo() {
        let two = [Self.div("pages", "A+0x37000 M A+0x38000 M", "A+0x37000 p A+0x38000 p"),
                   Self.div("Mlocked", "+0", "-2"), Self.div("Unevictable", "+0", "-2"),
                   Self.div("unevictable_pgs_mlocked", "+2", "+0"), Self.div("unevictable_pgs_culled", "+2", "+0")]
        #expect(Self.classify(Self.fixedGrow, two) == "lost-mlock")
        var wrong = two
        wrong[1] = Self.div("Mlocked", "+0", "-1")
        #expect(Self.classify(Self.fixedGrow, wrong) == nil)
    }

    /// The 30-minute run's other shapes: a COW then a fault-around in one write; one folio
    /// mapped at two addresses (2 pages, counters -1); a list cut short.
    @Test func theLostMlockOfOtherOpsAndShapes() {
        #expect(Self.classify(Self.touch, Self.lostMlock) == "lost-mlock")
        let twoAddresses = [Self.div("pages", "A+0x432000 M A+0x80d000 M", "A+0x432000 p A+0x80d000 p"),
                            Self.div("Mlocked", "-1", "-2"), Self.div("Unevictable", "-1", "-2"),
                            Self.div("unevictable_pgs_mlocked", "+1", "+0"), Self.div("unevictable_pgs_culled", "+1", "+0")]
        #expect(Self.classify(Self.fixedGrow, twoAddresses) == "lost-mlock")
        let cut = [Self.div("pages", "A+0xc36000 M A+0xc39000 M (+8 more)", "A+0xc36000 p A+0xc39000 p (+8 more)"),
                   Self.div("Mlocked", "-1", "-11"), Self.div("Unevictable", "-1", "-11"),
                   Self.div("unevictable_pgs_mlocked", "+11", "+1"), Self.div("unevictable_pgs_culled", "+11", "+1")]
        #expect(Self.classify(Self.fixedGrow, cut) == "lost-mlock")
        var tooMany = cut
        tooMany[1] = Self.div("Mlocked", "-1", "-12")
        tooMany[2] = Self.div("Unevictable", "-1", "-12")
        tooMany[3] = Self.div("unevictable_pgs_mlocked", "+11", "+0")
        tooMany[4] = Self.div("unevictable_pgs_culled", "+11", "+0")
        #expect(Self.classify(Self.fixedGrow, tooMany) == nil)      // 11 short, 10 pages shown
    }

    @Test func eventsOfAnMlockBatchFilledBeforeLruAdd() {
        let batch = [Self.div("unevictable_pgs_culled", "+22", "+13"), Self.div("unevictable_pgs_rescued", "+9", "+0")]
        #expect(Self.classify(Self.touch, batch) == "mlock-batch-full-before-lru-add")
        #expect(Self.classify(Self.touch, [batch[0]]) == nil)
        #expect(Self.classify(Self.touch, [batch[0], Self.div("unevictable_pgs_rescued", "+9", "+1")]) == nil)
        #expect(Self.classify(Self.touch, batch + [Self.div("Unevictable", "+4", "+3")]) == nil)
    }

    /// The 30-minute run of 2026-12-07 (sequence 21940, shrunk to 5 ops): mlockall populated
    /// a shmem range mapped twice, the mlock batch was applied while the new folios waited in
    /// the lru_add batch, and shrinking one mapping by mremap munlocked page 7 the other
    /// locked VMA still maps.
    static let shrink = Op.mremap(old: 0x2000_0080_6000, oldLength: 2 * 4096, newLength: 4096, flags: 0, newAddr: 0)
    static let underestimated = [
        div("pages", "A+0x43b000 M", "A+0x43b000 p"),
        div("Mlocked", "+0", "-1"), div("Unevictable", "+0", "-1"),
        div("unevictable_pgs_munlocked", "+0", "+1"), div("unevictable_pgs_rescued", "+0", "+1"),
    ]

    @Test func anMlockCountLostOffTheLruShowsAtTheNextUnmap() {
        #expect(Self.classify(Self.shrink, Self.underestimated) == "mlock-count-underestimated-off-lru")
        #expect(Self.classify(.munlock(addr: 0x2000_0080_7000, length: 4096), Self.underestimated)
                == "mlock-count-underestimated-off-lru")
        // Only at an op that unmaps or unlocks: a fault or an mlock that munlocks is something else.
        #expect(Self.classify(Self.touch, Self.underestimated) == nil)
        #expect(Self.classify(.mlock(addr: 0x2000_0080_7000, length: 4096), Self.underestimated) == nil)
        // Every size tied to the same k, at most the pages shown.
        var wrong = Self.underestimated
        wrong[4] = Self.div("unevictable_pgs_rescued", "+0", "+0")
        #expect(Self.classify(Self.shrink, wrong) == nil)
        wrong = Self.underestimated
        wrong[1] = Self.div("Mlocked", "+0", "-2"); wrong[2] = Self.div("Unevictable", "+0", "-2")
        wrong[3] = Self.div("unevictable_pgs_munlocked", "+0", "+2"); wrong[4] = Self.div("unevictable_pgs_rescued", "+0", "+2")
        #expect(Self.classify(Self.shrink, wrong) == nil)      // 2 short, 1 page shown
        // Counters moved the other way (a page mlocked too many) is not it.
        wrong = Self.underestimated
        wrong[3] = Self.div("unevictable_pgs_munlocked", "+1", "+0")
        #expect(Self.classify(Self.shrink, wrong) == nil)
        #expect(Self.classify(Self.shrink, Self.underestimated + [Self.div("VmLck", "20 kB", "16 kB")]) == nil)
        // The lock must still be there in the model: a page the model keeps mlocked after
        // its VMA was unlocked (a wrong munlock rule) is not a lost count.
        #expect(Self.classify(Self.shrink, Self.underestimated, lockedRanges: ["": []]) == nil)
        #expect(Self.classify(Self.shrink, Self.underestimated, lockedRanges: nil) == nil)
        #expect(Self.classify(Self.shrink, Self.underestimated,
                              lockedRanges: ["": [0x2000_0043_4000..<0x2000_0043_b000]]) == nil)
    }

    /// The 30-minute run of 2026-12-07 (sequence 1551, did not reproduce): a read in a fork
    /// child's unlocked shared file mapping; fault-around left 2 pages of its window unmapped.
    static let read = Op.touch(addr: 0x2000_0045_8000, length: 2 * 4096, write: true)
    static let skipped = [
        div("p1.smaps", "Rss=36 Locked=0, Rss=28 Locked=28, Rss=0 Locked=0", "Rss=28 Locked=0, Rss=28 Locked=28, Rss=0 Locked=0"),
        div("p1.pages", "A+0x452000 p A+0x456000 p", "A+0x452000 . A+0x456000 ."),
        div("p1.smaps@once", "Rss=36 Locked=0, Rss=28 Locked=28, Rss=0 Locked=0", "Rss=28 Locked=0, Rss=28 Locked=28, Rss=0 Locked=0"),
        div("p1.pages.mapped@once", "A+0x452000 p A+0x456000 p", "A+0x452000 . A+0x456000 ."),
    ]

    @Test func faultAroundThatSkippedBusyFoliosIsTakenOnlyWithRssShortByThosePages() {
        let known = KnownFuzzBehaviour.classify(Self.read, Self.skipped, release: "6.18.44")
        #expect(known?.id == "fault-around-skips-folio-under-writeback")
        #expect(known?.onlyIfNotReproduced == true)     // the fuzzer runs the ops again first
        #expect(Self.classify(Self.read, Array(Self.skipped.prefix(2))) == "fault-around-skips-folio-under-writeback")
        // Only at a touch.
        #expect(Self.classify(.munmap(addr: 0x2000_0045_8000, length: 4096), Self.skipped) == nil)
        // Rss short by other than 4 kB a page, Locked moved, or a page gone from a locked VMA: not it.
        var wrong = Self.skipped
        wrong[0] = Self.div("p1.smaps", "Rss=36 Locked=0, Rss=28 Locked=28", "Rss=32 Locked=0, Rss=28 Locked=28")
        #expect(Self.classify(Self.read, wrong) == nil)
        wrong[0] = Self.div("p1.smaps", "Rss=36 Locked=0, Rss=28 Locked=28", "Rss=28 Locked=0, Rss=28 Locked=24")
        #expect(Self.classify(Self.read, wrong) == nil)
        wrong = Self.skipped
        wrong[1] = Self.div("p1.pages", "A+0x452000 M A+0x456000 p", "A+0x452000 . A+0x456000 .")
        #expect(Self.classify(Self.read, wrong) == nil)
        // Pages without their Rss, or anything else moving too.
        #expect(Self.classify(Self.read, [Self.skipped[1]]) == nil)
        #expect(Self.classify(Self.read, Self.skipped + [Self.div("Mlocked", "+0", "-2")]) == nil)
    }

    /// The second 30-minute run (sequence 39544, did not reproduce in 8 replays): the same in
    /// a private file mapping locked on fault by mlockall(MCL_ONFAULT): the skipped page stays
    /// absent, so it is also missing from Locked, Mlocked, Unevictable and the events.
    static let lockedOnFault = [
        div("smaps", "Rss=28 Locked=28, Rss=64 Locked=64", "Rss=28 Locked=28, Rss=60 Locked=60"),
        div("pages", "A+0x1817000 M", "A+0x1817000 ."),
        div("Mlocked", "+16", "+15"), div("Unevictable", "+16", "+15"),
        div("unevictable_pgs_mlocked", "+18", "+17"), div("unevictable_pgs_culled", "+18", "+17"),
    ]

    @Test func faultAroundThatSkippedABusyFolioInAVMALockedOnFault() {
        let write = Op.touch(addr: 0x2000_0181_e000, length: 33 * 4096, write: true)
        #expect(Self.classify(write, Self.lockedOnFault) == "fault-around-skips-folio-under-writeback")
        // The lock counters must all fall short by the locked pages, Locked with them.
        var wrong = Self.lockedOnFault
        wrong[5] = Self.div("unevictable_pgs_culled", "+18", "+18")
        #expect(Self.classify(write, wrong) == nil)
        #expect(Self.classify(write, Array(Self.lockedOnFault.prefix(2))) == nil)
        wrong = Self.lockedOnFault
        wrong[0] = Self.div("smaps", "Rss=28 Locked=28, Rss=64 Locked=64", "Rss=28 Locked=28, Rss=60 Locked=64")
        #expect(Self.classify(write, wrong) == nil)
        // An unlocked skip moves no lock counter.
        #expect(Self.classify(Self.read, Self.skipped + [Self.div("Mlocked", "+0", "-1")]) == nil)
    }

    @Test func anythingMoreOrElseIsUnexplained() {
        #expect(Self.classify(Self.fixedGrow, Self.lostMlock + [Self.div("VmLck", "20 kB", "16 kB")]) == nil)
        #expect(Self.classify(Self.fixedGrow, Array(Self.lostMlock.dropLast())) == nil)   // culled agrees
        var mOnly = Self.lostMlock
        mOnly[0] = Self.div("pages", "A+0x37000 M", "A+0x37000 m")              // mlocked, not unevictable
        #expect(Self.classify(Self.fixedGrow, mOnly) == nil)
        #expect(Self.classify(Self.fixedGrow, [Self.div("pages", "A+0x37000 M A+0x38000 M (+9 more)",
                                                        "A+0x37000 p A+0x38000 p (+9 more)")]) == nil)
        var uneven = Self.coalesced
        uneven[3] = Self.div("unevictable_pgs_rescued", "+3", "+3")
        #expect(Self.classify(Self.touch, uneven) == nil)
        #expect(Self.classify(Self.touch, Self.coalesced + [Self.div("Mlocked", "+1", "+0")]) == nil)
        #expect(Self.classify(Self.touch, Self.coalesced.map { Self.div($0.observable, $0.observed, $0.expected) }) == nil)
    }

    @Test func theDontunmapLeakIsKnownFrom616AndOnlyUpToTheMovedLength() {
        let leak = [Self.div("VmLck", "1244 kB", "1248 kB")]
        #expect(Self.classify(Self.dontunmap, leak, release: "6.12.117+deb12-amd64") == nil)
        #expect(Self.classify(Self.dontunmap, leak, release: "6.16.0") == "dontunmap-locked-vm-leak")
        #expect(Self.classify(Self.dontunmap, [Self.div("VmLck", "1244 kB", "1272 kB")]) == nil)   // 28 kB > 24 kB moved
        #expect(Self.classify(Self.dontunmap, [Self.div("VmLck", "1244 kB", "1240 kB")]) == nil)
        #expect(Self.classify(Self.fixedGrow, leak) == nil)
    }
}
