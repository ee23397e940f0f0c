/// The human report: one line per scenario, and for each failure a divergence table
/// and the page map. Built line by line so that the front end can print each scenario
/// as soon as it finishes.
public struct TableReport: Sendable {
    /// Width of the scenario-id column (the longest id of the run).
    public var idWidth: Int
    /// Widest expected/observed cell before it wraps.
    public var cellWidth: Int

    public init(ids: [String], cellWidth: Int = 56) {
        idWidth = ids.map(\.count).max() ?? 0
        self.cellWidth = cellWidth
    }

    static func label(_ v: Verdict) -> String {
        switch v {
        case .pass: return "PASS "
        case .fail: return "FAIL "
        case .skip: return "SKIP "
        case .error: return "ERROR"
        case .xfail: return "XFAIL"
        }
    }

    /// The lines for one scenario: its verdict line, then for a failure the reason,
    /// the divergence table and the page map, indented.
    /// `summary`, the scenario's one-line description, is shown under a failure.
    public func lines(for r: ScenarioResult, summary: String? = nil) -> [String] {
        let head = Self.label(r.verdict) + " " + ReportText.pad(r.id, idWidth) + "  "
        switch r.verdict {
        case .skip, .error:
            return [(head + r.reason).trimmingTrailingSpaces()]
        case .pass:
            return [head + "(" + Self.counts(r) + ")" + (r.reason.isEmpty ? "" : "  " + r.reason)]
        case .fail, .xfail:
            var out = [head + "(" + Self.counts(r) + ")"]
            if let s = summary, !s.isEmpty { out.append("      " + s) }
            if !r.reason.isEmpty { out.append("      " + r.reason) }
            out += divergenceTable(r.divergences).map { "      " + $0 }
            if !r.pageMap.isEmpty {
                out.append("      page map:")
                out += r.pageMap.map { "        " + $0 }
            }
            return out
        }
    }

    /// "12 checks, 3 ms", "2 of 12 checks failed, 4 not made, 3 ms, 1 retry".
    static func counts(_ r: ScenarioResult) -> String {
        let made = r.checks.filter { $0.skipped == nil }
        let failed = made.filter { !$0.passed }.count
        let notMade = r.checks.count - made.count
        var parts: [String] = []
        let n = r.checks.count
        let noun = n == 1 ? "check" : "checks"
        parts.append(failed > 0 ? "\(failed) of \(n) \(noun) failed" : "\(n) \(noun)")
        if notMade > 0 { parts.append("\(notMade) not made") }
        let eventual = r.checks.filter { $0.observable.hasSuffix("@eventual") }.count
        if eventual > 0 { parts.append("\(eventual) eventual") }
        parts.append(ReportText.duration(r.seconds))
        if r.retries > 0 { parts.append("\(r.retries) \(r.retries == 1 ? "retry" : "retries")") }
        return parts.joined(separator: ", ")
    }

    /// step, op, observable, expected, observed; long cells wrap inside their column.
    public func divergenceTable(_ ds: [Divergence]) -> [String] {
        guard !ds.isEmpty else { return [] }
        let header = ["step", "op", "observable", "expected", "observed"]
        let rows: [[[String]]] = ds.map { d in
            [[d.step < 0 ? "-" : "\(d.step)"],
             ReportText.wrap(d.op, width: cellWidth),
             [d.observable],
             ReportText.wrap(d.expected, width: cellWidth),
             ReportText.wrap(d.observed, width: cellWidth)]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() {
                widths[i] = max(widths[i], cell.map(\.count).max() ?? 0)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : ReportText.pad(c, widths[i]) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = [line(header)]
        for row in rows {
            let height = row.map(\.count).max() ?? 1
            for k in 0..<height {
                out.append(line(row.map { k < $0.count ? $0[k] : "" }))
            }
        }
        return out
    }

    /// What the run could not check and why, said once before the scenarios.
    public static func preamble(kernelRelease: String, profile: String, profileReason: String,
                                pageLayerUnavailable: String?) -> [String] {
        var out = ["lockstep: kernel \(kernelRelease), model profile \(profile) (\(profileReason))"]
        if let why = pageLayerUnavailable {
            out.append("lockstep: page layer not checked exactly: \(why)")
        }
        return out
    }

    /// The closing lines; the last one is exactly "N passed, N failed, N skipped".
    public static func footer(_ tally: Tally, recordPath: String?) -> [String] {
        var out: [String] = []
        if let note = tally.errorNote { out.append(note) }
        if let note = tally.xfailNote { out.append(note) }
        if let p = recordPath { out.append("record: \(p)") }
        out.append(tally.summaryLine)
        return out
    }
}
