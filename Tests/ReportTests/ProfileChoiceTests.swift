import Testing
import MlockModel
import Scenarios

// How a run picks its model profile from uname -r and the calibration probe.

let release618 = Profiles.choose(release: "6.18.44-fc-v782")
let release61 = Profiles.choose(release: "6.1.0-56-amd64")

@Test func aConclusiveProbeThatAgreesGivesNoWarning() {
    let probe = ProfileProbe(fileFaultMlocked: true, pteMappedTHPMlocked: true, splitKeepsMlock: true)
    #expect(probe.profile == .rmapLargeFolio)
    let d = Profiles.decide(release: "6.18.44", byRelease: release618, probe: probe, probeUnavailable: nil, forced: nil)
    #expect(d.profile == .rmapLargeFolio)
    #expect(d.warning == nil)
}

@Test func aProbeThatDisagreesWinsAndWarns() {
    // A 6.1 kernel with the large-folio mlock backported would show this.
    let probe = ProfileProbe(fileFaultMlocked: true, pteMappedTHPMlocked: true, splitKeepsMlock: false)
    let d = Profiles.decide(release: "6.1.0", byRelease: release61, probe: probe, probeUnavailable: nil, forced: nil)
    #expect(release61.0 == .mlockCount)
    #expect(d.profile == .largeFolio)
    #expect(d.warning?.contains("uname -r implies profile 5.18 but the calibration probe shows 6.7") == true)
}

@Test func aProbeWithoutTHPLeavesTheReleaseToChooseWhenConsistent() {
    let probe = ProfileProbe(fileFaultMlocked: true, pteMappedTHPMlocked: nil, notes: ["no THP"])
    #expect(probe.profile == nil)
    #expect(probe.consistent == [.mlockCount, .largeFolio, .rmapLargeFolio])
    let d = Profiles.decide(release: "6.1.0", byRelease: release61, probe: probe, probeUnavailable: nil, forced: nil)
    #expect(d.profile == .mlockCount)
    #expect(d.warning == nil)
    // A release before 5.18 that behaves like 5.18 on: the probe's oldest profile, warned.
    let old = Profiles.choose(release: "5.10.0")
    let e = Profiles.decide(release: "5.10.0", byRelease: old, probe: probe, probeUnavailable: nil, forced: nil)
    #expect(e.profile == .mlockCount)
    #expect(e.warning != nil)
}

@Test func aLockedTHPThatStaysMlockedThroughAPMDSplitMeans618() {
    let probe = ProfileProbe(fileFaultMlocked: true, pteMappedTHPMlocked: true, splitKeepsMlock: true)
    #expect(probe.profile == .rmapLargeFolio)
    let kernel617 = Profiles.choose(release: "6.17.1")
    #expect(kernel617.0 == .largeFolio)
    let d = Profiles.decide(release: "6.17.1", byRelease: kernel617, probe: probe, probeUnavailable: nil, forced: nil)
    #expect(d.profile == .rmapLargeFolio)
    #expect(d.warning != nil)
}

@Test func aFileFaultThatIsNotMlockedMeansBefore518() {
    let probe = ProfileProbe(fileFaultMlocked: false, pteMappedTHPMlocked: false)
    #expect(probe.profile == .pre518)
}

@Test func forcingKeepsTheProbeAndReleaseInTheReason() {
    let probe = ProfileProbe(fileFaultMlocked: true, pteMappedTHPMlocked: true, splitKeepsMlock: true)
    let d = Profiles.decide(release: "6.18", byRelease: release618, probe: probe, probeUnavailable: nil, forced: .mlockCount)
    #expect(d.profile == .mlockCount)
    #expect(d.reason.hasPrefix("forced by --profile (uname and probe give 6.18)"))
}

@Test func noProbeFallsBackToTheReleaseAndSaysWhy() {
    let d = Profiles.decide(release: "6.18", byRelease: release618, probe: nil, probeUnavailable: "not root", forced: nil)
    #expect(d.profile == .rmapLargeFolio)
    #expect(d.reason.contains("probe not run: not root"))
}

@Test(arguments: KernelProfile.allCases)
func theProbeTableNamesEachProfileByItsOwnFindings(_ p: KernelProfile) {
    let probe = ProfileProbe(fileFaultMlocked: ProfileProbe.expectsFileFaultMlocked(p),
                             pteMappedTHPMlocked: ProfileProbe.expectsPTEMappedTHPMlocked(p),
                             splitKeepsMlock: ProfileProbe.expectsSplitKeepsMlock(p))
    #expect(probe.profile == p)
}

// Stable-backport facts by full version: "mm/secretmem: properly account locked pages"
// is in 6.12.113 and 6.1.191 (Debian changelogs), not in 6.18.44 (this host).

@Test func secretmemChargeFollowsTheStableBoundaries() {
    func charges(_ release: String, _ version: String = "") -> Bool {
        Profiles.versionFacts(release: release, version: version).0.secretmemChargesUserOnFault
    }
    #expect(!charges("6.12.111+deb12-amd64"))
    #expect(charges("6.12.113+deb12-amd64"))
    #expect(charges("6.12.117+deb12-amd64"))
    #expect(!charges("6.18.44-fc-v782"))
    #expect(charges("7.3.0"))
    // Debian 6.1: uname -r is the ABI name, uname -v has the upstream version.
    #expect(charges("6.1.0-56-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)"))
    #expect(!charges("6.1.0-55-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.190-1 (2026-10-16)"))
    #expect(!charges("6.1.0-56-amd64"))                               // no uname -v: 6.1.0
}

// "mm/memory: do not populate page table entries beyond i_size": mainline 6.18, stable
// 6.12.59 (Debian 6.12.117 changelog), not in Debian 6.1.192's.
@Test func faultAroundAtEOFFollowsTheStableBoundaries() {
    func has(_ release: String, _ version: String = "") -> Bool {
        Profiles.versionFacts(release: release, version: version).0.faultAroundMapsNoTableAtEOF
    }
    #expect(!has("6.12.58"))
    #expect(has("6.12.59"))
    #expect(has("6.12.100+deb12-amd64"))
    #expect(has("6.18.44-fc-v782"))
    #expect(!has("6.1.0-56-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)"))
    #expect(!has("6.11.5"))
}

@Test func debianABINamesTakeTheUpstreamVersionFromUnameV() {
    #expect(Profiles.fullVersion(release: "6.1.0-56-amd64", version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)")! == (6, 1, 192))
    #expect(Profiles.fullVersion(release: "6.12.117+deb12-amd64", version: "#1 SMP Debian 6.12.117-1~deb12u1")! == (6, 12, 117))
    #expect(Profiles.fullVersion(release: "6.1.0-56-amd64", version: "#1 SMP Debian 6.12.1-1")! == (6, 1, 0))  // another series: ignored
}
