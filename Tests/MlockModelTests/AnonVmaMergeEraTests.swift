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
