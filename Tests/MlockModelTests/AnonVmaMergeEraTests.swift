import Testing
import MlockModel

/// edge.unaligned-start on either side of 879bca0a2c4f (6.16): mlock populates pages 0-1
/// (their VMA gets an anon_vma), pages 2-3 stay unfaulted (none); munlock makes the flags
/// equal again. The faulted range merges into its unfaulted neighbour only from 6.16.
@Suite("anon_vma merge rule by era")
struct AnonVmaMergeEraTests {
    static func unlockedAfterLockingTheFirstHalf(_ profile: KernelProfile) -> [VMAView] {
        var p = Proc(profile: profile)
        p.run(mapAnon(A, 4))
        p.run(mlock(A, 2))
        p.run(munlock(A, 2))
        return p.vmas
    }

    @Test func since616AFaultedRangeMergesIntoAnUnfaultedNeighbour() {
        #expect(Self.unlockedAfterLockingTheFirstHalf(.rmapLargeFolio) == [vma(A, A + 4 * P, rss: 8)])
    }

    @Test func before616AnUnfaultedNeighbourRefusesAFaultedRange() {
        for profile in [KernelProfile.largeFolio, .mlockCount] {
            #expect(Self.unlockedAfterLockingTheFirstHalf(profile) == [vma(A, A + 2 * P, rss: 8), vma(A + 2 * P, A + 4 * P)])
        }
    }

    @Test func beforeAndSince616AnUnfaultedRangeMergesIntoAFaultedNeighbour() {
        for profile in [KernelProfile.largeFolio, .rmapLargeFolio] {
            var p = Proc(profile: profile)
            p.run(mapAnon(A, 4))
            p.run(write(A, 2))
            p.run(mlock(A + 2 * P, 2))
            p.run(munlock(A + 2 * P, 2))
            #expect(p.vmas == [vma(A, A + 4 * P, rss: 16)])
        }
    }
}

/// MADV_COLLAPSE of 512 locked small pages: the munlocks left over after the last full
/// folio batch are stranded (FOLIO_BATCH_SIZE 31 from 6.9, 15 before).
@Suite("folio batch size by era")
struct FolioBatchEraTests {
    static func collapseLocked(_ profile: KernelProfile) -> Counters {
        var p = Proc(profile: profile)
        p.run(mapAnon(A, 512))
        p.run(mlock(A, 512))
        let before = p.counters
        p.run(madvise(A, 512, UAPI.MADV_COLLAPSE))
        var d = p.counters
        d.pgMunlocked -= before.pgMunlocked; d.pgStranded -= before.pgStranded
        return d
    }

    @Test func since69ThirtyOneFolioBatchesStrandSixteen() {
        let d = Self.collapseLocked(.largeFolio)
        #expect(d.pgMunlocked == 496 && d.pgStranded == 16)
    }

    @Test func before69FifteenFolioBatchesStrandTwo() {
        let d = Self.collapseLocked(.mlockCount)
        #expect(d.pgMunlocked == 510 && d.pgStranded == 2)
    }
}
