/// Runs of several kernels side by side: scenario by kernel, and for every scenario whose
/// verdict is not the same clean pass everywhere, the observables that diverged on each
/// kernel. Rendered as markdown (stdout) and as one self-contained HTML page.

/// One kernel's run as the report needs it: read from a record.json, summary.json or
/// reference.json (they share these fields), or only from a VM's verdict when the guest
/// never produced a record (a panic, a hang, a kernel that did not boot).
public struct ComparedRun: Sendable {
    public struct Scenario: Codable, Sendable {
        public var id: String
        public var verdict: Verdict
        public var reason: String
        public var divergences: [Divergence]
        public init(id: String, verdict: Verdict, reason: String, divergences: [Divergence]) {
            self.id = id; self.verdict = verdict; self.reason = reason; self.divergences = divergences
        }
    }

    public var kernelRelease: String
    public var runID: String
    public var profile: String
    public var profileReason: String
    /// "pass", "fail", "kernel-error", "hang", "no-boot"...: the run as a whole.
    public var status: String
    /// Why the run as a whole ended as it did (the VM's message), if not a plain suite run.
    public var note: String
    /// Where it ran: "host" or "vm (tcg)".
    public var place: String
    public var seconds: Double?
    public var scenarios: [Scenario]

    public init(kernelRelease: String, runID: String, profile: String, profileReason: String, status: String,
                note: String, place: String, seconds: Double?, scenarios: [Scenario]) {
        self.kernelRelease = kernelRelease; self.runID = runID; self.profile = profile
        self.profileReason = profileReason; self.status = status; self.note = note; self.place = place
        self.seconds = seconds; self.scenarios = scenarios
    }

    /// The fields shared by record.json, summary.json and reference.json.
    public struct Stored: Codable, Sendable {
        public var kernelRelease: String
        public var runID: String
        public var profile: String
        public var profileReason: String
        public var durationSeconds: Double?
        public var exitCode: Int32?
        public var scenarios: [Scenario]
    }

    public init(stored s: Stored, place: String) {
        let status: String
        switch s.exitCode {
        case 0: status = "pass"
        case 4: status = "skip"
        default: status = "fail"
        }
        self.init(kernelRelease: s.kernelRelease, runID: s.runID, profile: s.profile, profileReason: s.profileReason,
                  status: status, note: "", place: place, seconds: s.durationSeconds, scenarios: s.scenarios)
    }

    func scenario(_ id: String) -> Scenario? { byID[id] }
    var byID: [String: Scenario] { Dictionary(scenarios.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }) }

    var counts: [Verdict: Int] { scenarios.reduce(into: [:]) { $0[$1.verdict, default: 0] += 1 } }
    var countsText: String {
        let c = counts
        if scenarios.isEmpty { return "no record" }
        return [(Verdict.pass, "passed"), (.fail, "failed"), (.xfail, "xfail"), (.error, "errors"), (.skip, "skipped")]
            .compactMap { v, word in (c[v] ?? 0) > 0 || v == .pass || v == .fail ? "\(c[v] ?? 0) \(word)" : nil }
            .joined(separator: ", ")
    }
}

public struct CompareReport: Sendable {
    public var runs: [ComparedRun]
    public init(runs: [ComparedRun]) { self.runs = runs }

    /// Every scenario id, in first-seen order.
    public var ids: [String] {
        var seen = Set<String>(), out: [String] = []
        for r in runs { for s in r.scenarios where seen.insert(s.id).inserted { out.append(s.id) } }
        return out
    }

    /// A cell: the verdict, or "-" when the run has no such scenario (or no record).
    public func cell(_ run: ComparedRun, _ id: String) -> String {
        if let s = run.scenario(id) { return s.verdict.rawValue.uppercased() }
        return run.scenarios.isEmpty ? run.status.uppercased() : "-"
    }

    /// Scenarios that are not a pass on every kernel (different verdicts, or the same
    /// non-pass everywhere).
    public var differing: [String] {
        ids.filter { id in
            let cells = runs.map { cell($0, id) }
            return Set(cells).count > 1 || cells.first != "PASS"
        }
    }

    /// The observables that diverged on each kernel for one scenario: "observable" ->
    /// per-run text ("" when that run had no divergence there).
    public func observables(_ id: String) -> [(observable: String, perRun: [String])] {
        var order: [String] = []
        var table: [String: [String]] = [:]
        for (k, run) in runs.enumerated() {
            for d in run.scenario(id)?.divergences ?? [] {
                if table[d.observable] == nil { order.append(d.observable); table[d.observable] = Array(repeating: "", count: runs.count) }
                let text = "step \(d.step) \(d.op): expected \(d.expected), observed \(d.observed)"
                table[d.observable]![k] += (table[d.observable]![k].isEmpty ? "" : "; ") + text
            }
        }
        return order.map { ($0, table[$0]!) }
    }

    static func header(_ r: ComparedRun) -> String { r.kernelRelease }

    // MARK: markdown

    public func markdown() -> [String] {
        var out = ["# lockstep: \(runs.count) kernel\(runs.count == 1 ? "" : "s") side by side", ""]
        out.append("| kernel | where | profile | run | verdict | scenarios | seconds |")
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        for r in runs {
            let secs = r.seconds.map { String(format1($0)) } ?? "-"
            out.append("| \(md(r.kernelRelease)) | \(r.place) | \(md(r.profile)) | \(md(r.runID)) | \(r.status.uppercased())\(r.note.isEmpty ? "" : ": " + md(r.note)) | \(r.countsText) | \(secs) |")
        }
        out.append("")
        let diff = differing
        let same = ids.count - diff.count
        out.append("\(ids.count) scenarios; \(same) pass on every kernel; \(diff.count) differ or do not pass everywhere.")
        guard !diff.isEmpty else { return out }
        out.append("")
        out.append("| scenario | " + runs.map { md(Self.header($0)) }.joined(separator: " | ") + " |")
        out.append("| --- |" + String(repeating: " --- |", count: runs.count))
        for id in diff {
            out.append("| \(md(id)) | " + runs.map { cell($0, id) }.joined(separator: " | ") + " |")
        }
        out.append("")
        out.append("## Observables that differ")
        for id in diff {
            let obs = observables(id)
            let reasons = runs.compactMap { r -> String? in
                guard let s = r.scenario(id), !s.reason.isEmpty, s.verdict != .pass else { return nil }
                return "\(r.kernelRelease): \(s.reason)"
            }
            guard !obs.isEmpty || !reasons.isEmpty else { continue }
            out.append("")
            out.append("### \(id)")
            for line in reasons { out.append("- " + md(line)) }
            if !obs.isEmpty {
                out.append("")
                out.append("| observable | " + runs.map { md(Self.header($0)) }.joined(separator: " | ") + " |")
                out.append("| --- |" + String(repeating: " --- |", count: runs.count))
                for o in obs { out.append("| \(md(o.observable)) | " + o.perRun.map { $0.isEmpty ? "as predicted" : md($0) }.joined(separator: " | ") + " |") }
            }
        }
        return out
    }

    private func md(_ s: String) -> String {
        s.replacingAll("|", with: "\\|").replacingAll("\n", with: " ")
    }

    // MARK: HTML

    /// One page, no external resource: inline CSS, every scenario a row, differing rows
    /// first and expandable to their divergences.
    public func html(title: String = "lockstep: kernels side by side") -> String {
        var h: [String] = []
        h.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(esc(title))</title><style>")
        h.append("""
            body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
            h1{font-size:20px}h2{font-size:16px;margin-top:28px}
            table{border-collapse:collapse;margin:8px 0}
            th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
            th{background:#f3f3f3;white-space:nowrap}td.v{text-align:center;font-weight:600;white-space:nowrap}
            .PASS{background:#d9f2d9;color:#145214}.FAIL{background:#f8d0d0;color:#7a0b0b}
            .XFAIL{background:#fde9c8;color:#7a4a00}.SKIP{background:#e8e8e8;color:#555}
            .ERROR,.KERNEL-ERROR,.HANG,.NO-BOOT,.NO-RESULT{background:#e7c6f0;color:#4b0a5c}
            code,.obs{font:12px/1.3 ui-monospace,monospace;white-space:pre-wrap}
            details summary{cursor:pointer}.muted{color:#777}
            """)
        h.append("</style></head><body>")
        h.append("<h1>\(esc(title))</h1>")
        h.append("<table><tr><th>kernel</th><th>where</th><th>profile</th><th>run</th><th>verdict</th><th>scenarios</th><th>seconds</th></tr>")
        for r in runs {
            let st = r.status.uppercased()
            h.append("<tr><td><b>\(esc(r.kernelRelease))</b></td><td>\(esc(r.place))</td><td title=\"\(esc(r.profileReason))\">\(esc(r.profile))</td><td><code>\(esc(r.runID))</code></td>"
                     + "<td class=\"v \(st)\">\(esc(st))</td><td>\(esc(r.countsText))\(r.note.isEmpty ? "" : "<br><span class=muted>\(esc(r.note))</span>")</td>"
                     + "<td>\(r.seconds.map(format1) ?? "-")</td></tr>")
        }
        h.append("</table>")
        let diff = differing
        let diffSet = Set(diff)
        h.append("<p>\(ids.count) scenarios: <b>\(diff.count)</b> differ between kernels or do not pass everywhere (listed first, click one for the observables); \(ids.count - diff.count) pass on every kernel.</p>")
        h.append("<table><tr><th>scenario</th>" + runs.map { "<th>\(esc(Self.header($0)))</th>" }.joined() + "</tr>")
        for id in diff + ids.filter({ !diffSet.contains($0) }) {
            let cells = runs.map { r -> String in
                let c = cell(r, id)
                return "<td class=\"v \(c)\">\(esc(c))</td>"
            }.joined()
            let obs = diffSet.contains(id) ? observables(id) : []
            let reasons = runs.compactMap { r -> String? in
                guard let s = r.scenario(id), !s.reason.isEmpty, s.verdict != .pass else { return nil }
                return "<b>\(esc(r.kernelRelease))</b>: \(esc(s.reason))"
            }
            if obs.isEmpty && reasons.isEmpty {
                h.append("<tr><td><code>\(esc(id))</code></td>\(cells)</tr>")
            } else {
                var inner = reasons.map { "<div>\($0)</div>" }.joined()
                if !obs.isEmpty {
                    inner += "<table><tr><th>observable</th>" + runs.map { "<th>\(esc(Self.header($0)))</th>" }.joined() + "</tr>"
                    for o in obs {
                        inner += "<tr><td><code>\(esc(o.observable))</code></td>" + o.perRun.map {
                            $0.isEmpty ? "<td class=muted>as predicted</td>" : "<td class=obs>\(esc($0))</td>"
                        }.joined() + "</tr>"
                    }
                    inner += "</table>"
                }
                h.append("<tr><td><details><summary><code>\(esc(id))</code></summary>\(inner)</details></td>\(cells)</tr>")
            }
        }
        h.append("</table></body></html>")
        return h.joined(separator: "\n") + "\n"
    }

    private func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }
}

private func format1(_ x: Double) -> String {
    let t = (x * 10).rounded() / 10
    return t == t.rounded() ? "\(Int(t)).0" : "\(t)"
}

extension String {
    func replacingAll(_ a: String, with b: String) -> String {
        split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }
}
