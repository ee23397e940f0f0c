import Testing
import MlockModel
import Scenarios

@Suite("KTAP report")
struct KTAPReportTests {
    /// The document for a pass, a fail with two divergences, a skip and an error.
    let document = renderKTAP(fixtureResults,
                              headerDiagnostics: ["lockstep: kernel 6.12.0, model profile largeFolio (6.12)"],
                              footerDiagnostics: ["record: results/6.12.0/x/record.json"])

    @Test func structureIsValidKTAP() throws {
        let parse = parseKTAP(document)
        #expect(parse.errors == [])
        let doc = try #require(parse.document)

        // Plan 1..N with one result line per scenario, numbered in order.
        #expect(doc.plan == fixtureResults.count)
        #expect(doc.tests.map(\.number) == [1, 2, 3, 4])
        #expect(doc.tests.map(\.description) == fixtureResults.map(\.id))
        #expect(doc.tests.map(\.ok) == [true, false, true, false])

        // Scenarios that made checks carry a subtest: own plan = number of checks = number of result lines.
        for (test, result) in zip(doc.tests, fixtureResults) where !result.checks.isEmpty {
            let sub = try #require(test.subtest, "\(result.id) has no subtest")
            #expect(sub.plan == result.checks.count)
            #expect(sub.tests.count == result.checks.count)
            #expect(sub.tests.map(\.number) == Array(1...result.checks.count))
            #expect(sub.tests.allSatisfy { $0.subtest == nil })
        }
    }

    @Test func headerAndFooter() {
        #expect(document.first == "KTAP version 1")
        #expect(document[1] == "1..4")
        #expect(document[2] == "# lockstep: kernel 6.12.0, model profile largeFolio (6.12)")
        #expect(document.last == "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1")
        #expect(document.dropLast().last == "# record: results/6.12.0/x/record.json")
    }

    @Test func passedScenario() throws {
        let doc = try #require(parseKTAP(document).document)
        let t = doc.tests[0]
        #expect(t.ok && t.directive == nil)
        let sub = try #require(t.subtest)
        #expect(sub.tests.map(\.ok) == [true, true, true])
        #expect(sub.tests.map(\.description) == ["step 0 mlock: result", "step 0 mlock: VmLck", "step 0 mlock: pages"])
        // A check that was not made is "ok ... # SKIP why".
        #expect(sub.tests.map(\.directive) == [nil, nil, "SKIP page layer not exact: not root"])
    }

    @Test func failedScenarioCarriesDivergencesAsDiagnostics() throws {
        let doc = try #require(parseKTAP(document).document)
        let t = doc.tests[1]
        #expect(!t.ok && t.directive == nil)
        let sub = try #require(t.subtest)
        #expect(sub.tests.map(\.ok) == [true, false, false, true])
        #expect(sub.tests.map(\.description)
                == ["step 0 mlock: result", "step 1 munlock: VmLck", "step 1 munlock: vmas", "scenario: Mlocked"])
        // Each divergence is reported right before the result line of its check.
        #expect(sub.tests[0].diagnostics == [])
        #expect(sub.tests[1].diagnostics == [
            "step 1 munlock(A+0x0, 4p): VmLck",
            "  expected: 0 kB",
            "  observed: 16 kB",
        ])
        #expect(sub.tests[2].diagnostics == [
            "step 1 munlock(A+0x0, 4p): vmas",
            "  expected: A+0x0-A+0x4000 rw-p",
            "            A+0x4000-A+0x8000 rw-p L",
            "  observed: A+0x0-A+0x8000 rw-p L",
        ])
        #expect(sub.tests[3].diagnostics == [])
        // The page map closes the subtest.
        #expect(sub.trailing == [
            "page map:",
            "  A+0x0-A+0x8000 expected ....LLLL",
            "                 observed LLLLLLLL",
        ])
    }

    @Test func skippedAndErroredScenarios() throws {
        let doc = try #require(parseKTAP(document).document)
        #expect(doc.tests[2].ok)
        #expect(doc.tests[2].directive == "SKIP not root")
        #expect(doc.tests[2].subtest == nil)        // no checks made, so no subtest
        #expect(!doc.tests[3].ok)
        #expect(doc.tests[3].directive == "ERROR agent died: SIGKILL")
        #expect(doc.tests[3].subtest == nil)
        #expect(doc.trailing == ["record: results/6.12.0/x/record.json",
                                 "Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1"])
    }

    @Test func exactDocument() {
        let i = KTAPReport.indent
        #expect(i == "    ")
        let expected = [
            "KTAP version 1",
            "1..4",
            "# lockstep: kernel 6.12.0, model profile largeFolio (6.12)",
            i + "KTAP version 1",
            i + "1..3",
            i + "ok 1 step 0 mlock: result",
            i + "ok 2 step 0 mlock: VmLck",
            i + "ok 3 step 0 mlock: pages # SKIP page layer not exact: not root",
            "ok 1 selftests.mlock2.lock",
            i + "KTAP version 1",
            i + "1..4",
            i + "ok 1 step 0 mlock: result",
            i + "# step 1 munlock(A+0x0, 4p): VmLck",
            i + "#   expected: 0 kB",
            i + "#   observed: 16 kB",
            i + "not ok 2 step 1 munlock: VmLck",
            i + "# step 1 munlock(A+0x0, 4p): vmas",
            i + "#   expected: A+0x0-A+0x4000 rw-p",
            i + "#             A+0x4000-A+0x8000 rw-p L",
            i + "#   observed: A+0x0-A+0x8000 rw-p L",
            i + "not ok 3 step 1 munlock: vmas",
            i + "ok 4 scenario: Mlocked",
            i + "# page map:",
            i + "#   A+0x0-A+0x8000 expected ....LLLL",
            i + "#                  observed LLLLLLLL",
            "not ok 2 edges.munlock.partial",
            "ok 3 ltp.mlock.root # SKIP not root",
            "not ok 4 gvisor.mlock.rlimit # ERROR agent died: SIGKILL",
            "# record: results/6.12.0/x/record.json",
            "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:1",
        ]
        #expect(document == expected)
    }

    @Test func failureReasonAndUnmatchedDivergences() throws {
        // A divergence whose check passed (or is absent) is still reported, after the
        // subtest's result lines; a failure's reason is a diagnostic before "not ok".
        var r = failed
        r.reason = "model and kernel disagree"
        r.divergences.append(Divergence(step: 2, op: "munlockall()", observable: "Unevictable",
                                        expected: "0 kB", observed: "4 kB"))
        r.pageMap = []
        let lines = renderKTAP([r])
        let parse = parseKTAP(lines)
        #expect(parse.errors == [])
        let doc = try #require(parse.document)
        #expect(doc.tests.count == 1)
        #expect(doc.tests[0].diagnostics == ["model and kernel disagree"])
        let sub = try #require(doc.tests[0].subtest)
        #expect(sub.trailing == ["step 2 munlockall(): Unevictable", "  expected: 0 kB", "  observed: 4 kB"])
    }

    @Test func scenarioWithoutChecksKeepsDivergencesAtTopLevel() throws {
        let r = ScenarioResult(id: "edges.setup", verdict: .fail, divergences: [vmLckDivergence])
        let lines = renderKTAP([r])
        let parse = parseKTAP(lines)
        #expect(parse.errors == [])
        let doc = try #require(parse.document)
        #expect(doc.tests[0].subtest == nil)
        #expect(doc.tests[0].diagnostics == ["step 1 munlock(A+0x0, 4p): VmLck", "  expected: 0 kB", "  observed: 16 kB"])
    }

    @Test func emptyPlanSaysWhy() {
        let lines = renderKTAP([])
        #expect(lines == ["KTAP version 1", "1..0 # SKIP no scenarios selected",
                          "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0"])
        let parse = parseKTAP(lines)
        #expect(parse.errors == [])
        #expect(parse.document?.plan == 0)
        #expect(parse.document?.planDirective == "SKIP no scenarios selected")
    }

    @Test func descriptionsAndDirectivesStayOnOneLine() {
        // '#' would start a directive and a newline would end the line: neither may leak.
        let r = ScenarioResult(id: "odd#id", verdict: .skip, reason: "line one\nline two")
        let e = ScenarioResult(id: "x", verdict: .error, reason: "")
        let c = ScenarioResult(id: "y", verdict: .fail, reason: "two\nlines",
                               checks: [Check(step: 0, observable: "pages#2", passed: true)])
        let lines = renderKTAP([r, e, c])
        #expect(lines.allSatisfy { !$0.contains("\n") })
        #expect(lines.contains("ok 1 oddno.id # SKIP line one line two"))
        #expect(lines.contains("not ok 2 x # ERROR (no reason given)"))
        #expect(lines.contains(KTAPReport.indent + "ok 1 step 0 mlock: pagesno.2"))
        #expect(lines.contains("# two lines"))
        #expect(parseKTAP(lines).errors == [])
    }

    @Test func checkerRejectsBrokenStructure() {
        // The checker itself: wrong plan, numbering, indentation and a dangling subtest.
        #expect(!parseKTAP(["KTAP version 1", "1..2", "ok 1 a"]).errors.isEmpty)
        #expect(!parseKTAP(["KTAP version 1", "1..2", "ok 1 a", "ok 3 b"]).errors.isEmpty)
        #expect(!parseKTAP(["KTAP version 1", "1..1", "  ok 1 a"]).errors.isEmpty)
        #expect(!parseKTAP(["KTAP version 1", "1..1", "    KTAP version 1", "    1..1", "    ok 1 x"]).errors.isEmpty)
        #expect(!parseKTAP(["KTAP version 1", "1..1",
                            "    KTAP version 1", "    1..2", "    ok 1 x", "ok 1 a"]).errors.isEmpty)
        #expect(!parseKTAP(["KTAP version 1", "1..1", "        ok 1 x", "ok 1 a"]).errors.isEmpty)
        #expect(parseKTAP(["KTAP version 1", "1..1",
                           "    KTAP version 1", "    1..1", "    ok 1 x", "ok 1 a"]).errors == [])
    }
}
