import MlockModel
import Scenarios

// Hand-built results: no live kernel. One scenario of each verdict, the failure with
// two divergences (one of them multi-line) and a page map.

let A = Arena.base
let P = pageSize

/// The steps of every fixture scenario: step 0 mlock, step 1 munlock, step 2 munlockall.
let fixtureOps: [Op] = [
    .mlock(addr: A, length: 4 * P),
    .munlock(addr: A, length: 4 * P),
    .munlockall,
]

let passed = ScenarioResult(
    id: "selftests.mlock2.lock", verdict: .pass,
    checks: [
        Check(step: 0, observable: "result", passed: true),
        Check(step: 0, observable: "VmLck", passed: true),
        Check(step: 0, observable: "pages", passed: false, skipped: "page layer not exact: not root"),
    ],
    seconds: 0.003)

let vmLckDivergence = Divergence(step: 1, op: "munlock(A+0x0, 4p)", observable: "VmLck",
                                 expected: "0 kB", observed: "16 kB")
let vmasDivergence = Divergence(step: 1, op: "munlock(A+0x0, 4p)", observable: "vmas",
                                expected: "A+0x0-A+0x4000 rw-p\nA+0x4000-A+0x8000 rw-p L",
                                observed: "A+0x0-A+0x8000 rw-p L")

let failed = ScenarioResult(
    id: "edges.munlock.partial", verdict: .fail,
    checks: [
        Check(step: 0, observable: "result", passed: true),
        Check(step: 1, observable: "VmLck", passed: false),
        Check(step: 1, observable: "vmas", passed: false),
        Check(step: -1, observable: "Mlocked", passed: true),
    ],
    divergences: [vmLckDivergence, vmasDivergence],
    pageMap: ["A+0x0-A+0x8000 expected ....LLLL", "               observed LLLLLLLL"],
    retries: 1, seconds: 0.012)

let skipped = ScenarioResult(id: "ltp.mlock.root", verdict: .skip, reason: "not root")

let errored = ScenarioResult(id: "gvisor.mlock.rlimit", verdict: .error, reason: "agent died: SIGKILL")

let fixtureResults = [passed, failed, skipped, errored]

/// The whole KTAP document for `results`, assembled the way the `lockstep --ktap`
/// front end does: header, each scenario's lines, footer.
func renderKTAP(_ results: [ScenarioResult], headerDiagnostics: [String] = [],
                footerDiagnostics: [String] = []) -> [String] {
    let ktap = KTAPReport()
    var out = ktap.header(count: results.count, diagnostics: headerDiagnostics)
    for (i, r) in results.enumerated() {
        out += ktap.lines(for: r, number: i + 1, ops: fixtureOps)
    }
    out += ktap.footer(Tally(results), diagnostics: footerDiagnostics)
    return out
}
