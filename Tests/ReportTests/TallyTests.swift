import Testing
import Scenarios

@Suite("Tally")
struct TallyTests {
    @Test func kselftestExitCodeValues() {
        // tools/testing/selftests/kselftest.h: KSFT_PASS 0, KSFT_FAIL 1, KSFT_SKIP 4.
        #expect(KselftestExit.pass.rawValue == 0)
        #expect(KselftestExit.fail.rawValue == 1)
        #expect(KselftestExit.skip.rawValue == 4)
    }

    static let exitCases: [([Verdict], Int32)] = [
        ([.pass], 0),
        ([.pass, .pass], 0),
        ([.pass, .skip, .skip], 0),          // skips allowed when something passed
        ([.skip], 4),
        ([.skip, .skip, .skip], 4),          // everything skipped
        ([], 4),                             // nothing ran: never a vacuous pass
        ([.fail], 1),
        ([.pass, .fail], 1),
        ([.pass, .skip, .fail], 1),
        ([.error], 1),
        ([.pass, .error], 1),                // an error is a failure
        ([.skip, .error], 1),                // ... even when everything else skipped
        ([.pass, .fail, .skip, .error], 1),
    ]

    @Test(arguments: exitCases)
    func exitCode(_ verdicts: [Verdict], _ code: Int32) {
        let results = verdicts.enumerated().map { ScenarioResult(id: "s\($0.offset)", verdict: $0.element) }
        #expect(Tally(results).exitCode.rawValue == code)
    }

    @Test func countsEachVerdict() {
        let t = Tally(fixtureResults + [passed, skipped, skipped])
        #expect(t.passed == 2 && t.failed == 1 && t.skipped == 3 && t.errors == 1)
        #expect(t.total == 7)

        var incremental = Tally()
        for r in fixtureResults + [passed, skipped, skipped] { incremental.add(r.verdict) }
        #expect(incremental == t)
    }

    @Test func summaryLineCountsErrorsAsFailed() {
        let t = Tally(fixtureResults + [passed])   // 2 pass, 1 fail, 1 skip, 1 error
        #expect(t.summaryLine == "2 passed, 2 failed, 1 skipped")
        #expect(t.errorNote == "errors: 1 (could not run to a verdict; counted as failed below)")
    }

    @Test func summaryLineWithoutErrors() {
        let t = Tally([passed, passed, passed, failed, skipped])
        #expect(t.summaryLine == "3 passed, 1 failed, 1 skipped")
        #expect(t.errorNote == nil)
        #expect(Tally().summaryLine == "0 passed, 0 failed, 0 skipped")
    }

    @Test func summaryLineShape() {
        // What CI greps for: exactly "N passed, N failed, N skipped", nothing else on the line.
        let line = Tally([passed, failed, skipped, errored]).summaryLine
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        #expect(words.count == 6)
        #expect(words.count == 6 && Int(words[0]) != nil && words[1] == "passed,"
                && Int(words[2]) != nil && words[3] == "failed,"
                && Int(words[4]) != nil && words[5] == "skipped")
    }

    @Test func tableFooterEndsWithSummaryLine() {
        let t = Tally(fixtureResults)
        let lines = TableReport.footer(t, recordPath: "results/6.12.0/20261123T112233Z-4242/record.json")
        #expect(lines == [
            "errors: 1 (could not run to a verdict; counted as failed below)",
            "record: results/6.12.0/20261123T112233Z-4242/record.json",
            "1 passed, 2 failed, 1 skipped",
        ])
        #expect(TableReport.footer(Tally([passed]), recordPath: nil) == ["1 passed, 0 failed, 0 skipped"])
    }

    @Test func durationsAndFixedDecimals() {
        // The time in a table line: milliseconds under ten seconds, else seconds with two places.
        #expect(ReportText.duration(0.003) == "3 ms")
        #expect(ReportText.duration(0.0124) == "12 ms")
        #expect(ReportText.duration(12.5) == "12.50 s")
        #expect(ReportText.duration(.nan) == "nan s")
        #expect(ReportText.fixed(-0.001, 2) == "0.00")
        #expect(ReportText.fixed(-1.5, 1) == "-1.5")
        #expect(ReportText.fixed(3.14159, 3) == "3.142")
        #expect(ReportText.fixed(2.5, 0) == "3")
    }
}
