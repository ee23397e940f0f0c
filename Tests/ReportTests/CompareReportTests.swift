import Testing
import Scenarios

// Two hand-built kernels: 6.1 fails one scenario where 6.12 passes; one scenario passes
// on both; a third kernel never produced a record (it panicked in the VM).

private func run(_ release: String, _ scenarios: [ComparedRun.Scenario], status: String = "fail", note: String = "") -> ComparedRun {
    ComparedRun(kernelRelease: release, runID: "r-\(release)", profile: "5.18", profileReason: "test",
                status: status, note: note, place: "vm (tcg)", seconds: 20, scenarios: scenarios)
}

private let merge = Divergence(step: 2, op: "munlock(A+0x64, 1p)", observable: "vmas",
                               expected: "A+0x0-A+0x4000 rw-p", observed: "A+0x0-A+0x2000 rw-p, A+0x2000-A+0x4000 rw-p")
private let old = run("6.1.0-56-amd64", [
    .init(id: "a.same", verdict: .pass, reason: "", divergences: []),
    .init(id: "b.merge", verdict: .fail, reason: "", divergences: [merge]),
])
private let new = run("6.12.117", [
    .init(id: "a.same", verdict: .pass, reason: "", divergences: []),
    .init(id: "b.merge", verdict: .pass, reason: "", divergences: []),
], status: "pass")
private let panicked = run("6.13-bad", [], status: "kernel-error", note: "kernel ERROR: Kernel panic - not syncing")

@Suite struct CompareReportTests {
    @Test func onlyScenariosThatDoNotPassEverywhereDiffer() {
        let r = CompareReport(runs: [old, new])
        #expect(r.ids == ["a.same", "b.merge"])
        #expect(r.differing == ["b.merge"])
        #expect(r.cell(old, "b.merge") == "FAIL")
        #expect(r.cell(new, "b.merge") == "PASS")
    }

    @Test func theObservableThatDivergedIsNamedPerKernel() {
        let obs = CompareReport(runs: [old, new]).observables("b.merge")
        #expect(obs.count == 1)
        #expect(obs[0].observable == "vmas")
        #expect(obs[0].perRun[0].contains("observed A+0x0-A+0x2000 rw-p, A+0x2000-A+0x4000 rw-p"))
        #expect(obs[0].perRun[1] == "")
    }

    @Test func aKernelWithoutARecordShowsItsVMVerdictInEveryRow() {
        let r = CompareReport(runs: [old, panicked])
        #expect(r.cell(panicked, "a.same") == "KERNEL-ERROR")
        #expect(r.differing == ["a.same", "b.merge"])
        let md = r.markdown().joined(separator: "\n")
        #expect(md.contains("| 6.13-bad | vm (tcg) | 5.18 | r-6.13-bad | KERNEL-ERROR: kernel ERROR: Kernel panic - not syncing | no record | 20.0 |"))
        #expect(md.contains("| b.merge | FAIL | KERNEL-ERROR |"))
    }

    @Test func theHTMLPageIsSelfContainedAndEscaped() {
        let html = CompareReport(runs: [old, new]).html()
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(!html.contains("<script src") && !html.contains("<link"))
        #expect(html.contains("<td class=\"v FAIL\">FAIL</td><td class=\"v PASS\">PASS</td>"))
        #expect(html.contains("A+0x0-A+0x2000 rw-p, A+0x2000-A+0x4000 rw-p"))
        let tricky = run("x<y>&\"", [.init(id: "s", verdict: .pass, reason: "", divergences: [])], status: "pass")
        #expect(CompareReport(runs: [tricky]).html().contains("x&lt;y&gt;&amp;&quot;"))
    }
}
