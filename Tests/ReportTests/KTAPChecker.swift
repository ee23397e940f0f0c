// A small KTAP v1 structure checker (Documentation/dev-tools/ktap.rst): version line,
// plan, result lines numbered 1..N in order matching the plan, diagnostics, subtests
// one indentation level deeper, each followed by its parent's result line.

struct KTAPTest {
    var ok: Bool
    var number: Int
    var description: String
    /// "SKIP not root" for "... # SKIP not root".
    var directive: String?
    /// The subtest that ran just before this result line, if any.
    var subtest: KTAPBlock?
    /// Diagnostic lines ("# " stripped) at this test's level since the previous result line.
    var diagnostics: [String]
}

struct KTAPBlock {
    var plan: Int
    var planDirective: String?
    var tests: [KTAPTest]
    /// Diagnostics after the last result line.
    var trailing: [String]
}

struct KTAPParse {
    var document: KTAPBlock?
    var errors: [String]
}

func parseKTAP(_ lines: [String], indentUnit: Int = 4) -> KTAPParse {
    var p = KTAPParser(lines: lines, unit: indentUnit)
    let block = p.block(depth: 0)
    if p.index < lines.count {
        p.errors.append("line \(p.index + 1): trailing text after the top-level block: \(lines[p.index])")
    }
    return KTAPParse(document: block, errors: p.errors)
}

private struct KTAPParser {
    let lines: [String]
    let unit: Int
    var index = 0
    var errors: [String] = []

    init(lines: [String], unit: Int) { self.lines = lines; self.unit = unit }

    mutating func error(_ s: String) { errors.append("line \(index + 1): \(s)") }

    /// Leading spaces and the rest; nil level when the indentation is not whole units.
    func split(_ line: String) -> (level: Int?, body: Substring) {
        let spaces = line.prefix { $0 == " " }.count
        let body = line.dropFirst(spaces)
        return (spaces % unit == 0 ? spaces / unit : nil, body)
    }

    mutating func block(depth: Int) -> KTAPBlock? {
        guard index < lines.count else { error("missing version line"); return nil }
        let (level, body) = split(lines[index])
        guard level == depth, body == "KTAP version 1" else {
            error("expected 'KTAP version 1' at depth \(depth), got '\(lines[index])'"); return nil
        }
        index += 1
        guard index < lines.count else { error("missing plan"); return nil }
        let (planLevel, planBody) = split(lines[index])
        guard planLevel == depth, let plan = parsePlan(planBody) else {
            error("expected plan '1..N' at depth \(depth), got '\(lines[index])'"); return nil
        }
        index += 1

        var tests: [KTAPTest] = []
        var diagnostics: [String] = []
        var pendingSubtest: KTAPBlock?
        while index < lines.count {
            let line = lines[index]
            let (lvl, body) = split(line)
            guard let level = lvl else { error("indentation is not a multiple of \(unit): '\(line)'"); index += 1; continue }
            if level < depth { break }
            if level > depth + 1 { error("indented too deep: '\(line)'"); index += 1; continue }
            if level == depth + 1 {
                if pendingSubtest != nil { error("two subtests without a result line between them") }
                guard body == "KTAP version 1" else {
                    error("indented line outside a subtest: '\(line)'"); index += 1; continue
                }
                pendingSubtest = block(depth: depth + 1)
                continue
            }
            if body == "#" || body.hasPrefix("# ") {
                diagnostics.append(String(body.dropFirst(body == "#" ? 1 : 2)))
                index += 1
                continue
            }
            guard var test = parseResult(body) else {
                error("not a version, plan, result or diagnostic line: '\(line)'"); index += 1; continue
            }
            if test.number != tests.count + 1 {
                error("result numbered \(test.number), expected \(tests.count + 1)")
            }
            test.subtest = pendingSubtest
            test.diagnostics = diagnostics
            pendingSubtest = nil
            diagnostics = []
            tests.append(test)
            index += 1
        }
        if pendingSubtest != nil { error("subtest at depth \(depth + 1) has no result line") }
        if tests.count != plan { error("plan 1..\(plan) at depth \(depth) but \(tests.count) result lines") }
        return KTAPBlock(plan: plan, planDirective: planDirective(planBody), tests: tests, trailing: diagnostics)
    }

    func parsePlan(_ body: Substring) -> Int? {
        guard body.hasPrefix("1..") else { return nil }
        let n = body.dropFirst(3).prefix { $0.isNumber }
        guard !n.isEmpty else { return nil }
        let rest = body.dropFirst(3 + n.count)
        guard rest.isEmpty || rest.hasPrefix(" # ") else { return nil }
        return Int(n)
    }

    func planDirective(_ body: Substring) -> String? {
        guard let r = body.firstRange(of: " # ") else { return nil }
        return String(body[r.upperBound...])
    }

    mutating func parseResult(_ body: Substring) -> KTAPTest? {
        let ok: Bool
        var rest: Substring
        if body.hasPrefix("ok ") { ok = true; rest = body.dropFirst(3) }
        else if body.hasPrefix("not ok ") { ok = false; rest = body.dropFirst(7) }
        else { return nil }
        let digits = rest.prefix { $0.isNumber }
        guard let number = Int(digits) else { return nil }
        rest = rest.dropFirst(digits.count)
        guard rest.isEmpty || rest.hasPrefix(" ") else { return nil }
        rest = rest.drop { $0 == " " }
        var description = rest
        var directive: String?
        if let r = rest.firstRange(of: " # ") {
            description = rest[..<r.lowerBound]
            directive = String(rest[r.upperBound...])
        } else if rest.hasPrefix("# ") {
            description = ""
            directive = String(rest.dropFirst(2))
        }
        if description.contains("#") { error("'#' in a description: '\(body)'") }
        if let d = directive {
            let word = d.prefix { !$0.isWhitespace }
            if !["SKIP", "TODO", "XFAIL", "TIMEOUT", "ERROR"].contains(word) {
                error("unknown directive '\(word)' in '\(body)'")
            }
        }
        return KTAPTest(ok: ok, number: number, description: String(description), directive: directive,
                        subtest: nil, diagnostics: [])
    }
}
