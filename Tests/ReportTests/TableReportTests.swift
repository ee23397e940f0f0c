import Testing
import Scenarios

private func sp(_ n: Int) -> String { String(repeating: " ", count: n) }

@Suite("Table report")
struct TableReportTests {
    let table = TableReport(ids: fixtureResults.map(\.id))   // longest id: 21 characters

    @Test func passLine() {
        #expect(table.lines(for: passed) == ["PASS  selftests.mlock2.lock  (3 checks, 1 not made, 3 ms)"])
    }

    @Test func skipAndErrorShowTheReason() {
        #expect(table.lines(for: skipped) == ["SKIP  ltp.mlock.root" + sp(7) + "  not root"])
        #expect(table.lines(for: errored) == ["ERROR gvisor.mlock.rlimit" + sp(2) + "  agent died: SIGKILL"])
        // A skip without a reason leaves no trailing blanks.
        #expect(table.lines(for: ScenarioResult(id: "ltp.mlock.root", verdict: .skip))
                == ["SKIP  ltp.mlock.root"])
    }

    @Test func failureShowsDivergenceTableAndPageMap() {
        let lines = table.lines(for: failed, summary: "munlock of the first half of a locked range")
        let t = sp(6)
        #expect(lines == [
            "FAIL  edges.munlock.partial  (2 of 4 checks failed, 12 ms, 1 retry)",
            t + "munlock of the first half of a locked range",
            t + "step  op                  observable  expected" + sp(18) + "observed",
            t + "1" + sp(5) + "munlock(A+0x0, 4p)  VmLck" + sp(7) + "0 kB" + sp(22) + "16 kB",
            t + "1" + sp(5) + "munlock(A+0x0, 4p)  vmas" + sp(8) + "A+0x0-A+0x4000 rw-p" + sp(7) + "A+0x0-A+0x8000 rw-p L",
            t + sp(38) + "A+0x4000-A+0x8000 rw-p L",
            t + "page map:",
            t + "  A+0x0-A+0x8000 expected ....LLLL",
            t + "                 observed LLLLLLLL",
        ])
    }

    @Test func failureReasonPrecedesTheTable() {
        var r = failed
        r.reason = "kernel moved VmLck on munlock"
        let lines = table.lines(for: r)
        #expect(lines.count > 2)
        #expect(lines.count > 2 && lines[1] == "      kernel moved VmLck on munlock")
        #expect(lines.count > 2 && lines[2].hasPrefix("      step  op"))
    }

    @Test func divergenceTableColumnsLineUp() throws {
        let rows = table.divergenceTable([vmLckDivergence, vmasDivergence,
                                          Divergence(step: -1, op: "(scenario)", observable: "Mlocked",
                                                     expected: "16 kB", observed: "0 kB")])
        let header = try #require(rows.first)
        let names = ["step", "op", "observable", "expected", "observed"]
        let starts = try names.map { name in
            try #require(header.firstRange(of: name)).lowerBound.utf16Offset(in: header)
        }
        #expect(starts == starts.sorted())
        func cell(_ line: String, _ column: Int) -> String {
            let chars = Array(line)
            let from = starts[column]
            let to = column + 1 < starts.count ? starts[column + 1] : Int.max
            guard from < chars.count else { return "" }
            return String(chars[from..<min(to, chars.count)]).trimmingCharacters()
        }
        #expect(names.indices.map { cell(rows[1], $0) } == ["1", "munlock(A+0x0, 4p)", "VmLck", "0 kB", "16 kB"])
        #expect(names.indices.map { cell(rows[2], $0) }
                == ["1", "munlock(A+0x0, 4p)", "vmas", "A+0x0-A+0x4000 rw-p", "A+0x0-A+0x8000 rw-p L"])
        #expect(names.indices.map { cell(rows[3], $0) } == ["", "", "", "A+0x4000-A+0x8000 rw-p L", ""])
        // A whole-scenario divergence (step -1) shows "-" in the step column.
        #expect(names.indices.map { cell(rows[4], $0) } == ["-", "(scenario)", "Mlocked", "16 kB", "0 kB"])
        #expect(rows.count == 5)
        #expect(rows.allSatisfy { $0.last != " " })
    }

    @Test func longCellsWrapInsideTheirColumn() throws {
        let narrow = TableReport(ids: ["x"], cellWidth: 12)
        let d = Divergence(step: 3, op: "mlock", observable: "pages",
                           expected: "0 kB, 4 kB, 8 kB, 12 kB", observed: "0 kB")
        let rows = narrow.divergenceTable([d])
        let header = try #require(rows.first)
        let col = try #require(header.firstRange(of: "expected")).lowerBound.utf16Offset(in: header)
        #expect(rows.count == 3)
        #expect(rows.count == 3 && rows[1].dropFirst(col).hasPrefix("0 kB, 4 kB,"))
        #expect(rows.count == 3 && rows[2] == sp(col) + "8 kB, 12 kB")
    }

    @Test func noDivergencesNoTable() {
        #expect(table.divergenceTable([]) == [])
        let r = ScenarioResult(id: "edges.x", verdict: .fail, checks: [Check(step: 0, observable: "result", passed: false)])
        #expect(table.lines(for: r) == ["FAIL  edges.x" + sp(14) + "  (1 of 1 check failed, 0 ms)"])
    }

    @Test func preambleSaysWhatWasNotChecked() {
        #expect(TableReport.preamble(kernelRelease: "6.12.0", profile: "largeFolio", profileReason: "6.12",
                                     pageLayerUnavailable: "not root")
                == ["lockstep: kernel 6.12.0, model profile largeFolio (6.12)",
                    "lockstep: page layer not checked exactly: not root"])
        #expect(TableReport.preamble(kernelRelease: "6.12.0", profile: "largeFolio", profileReason: "6.12",
                                     pageLayerUnavailable: nil).count == 1)
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
