import Foundation
import Testing
import Scenarios

@Suite("Run record")
struct RunRecordTests {
    func record(setupError: String? = nil) -> RunRecord {
        RunRecord(
            runID: "20261123T112233Z-4242", command: ["lockstep", "run", "--json", "out.json"],
            kernelRelease: "6.12.0", uname: "Linux host 6.12.0 #1 SMP x86_64 GNU/Linux",
            profile: "largeFolio", profileReason: "6.12", profileForced: false,
            machine: .init(nproc: 8, memTotalKB: 16_000_000, memAvailableKB: nil),
            thp: .init(enabled: "always [madvise] never", defrag: nil, shmemEnabled: "[never]",
                       sizes: ["64": "[inherit]"]),
            root: false,
            pageLayer: .init(exact: false, kpageflags: false, statRefresh: false, unavailable: "not root"),
            startTime: "2026-11-23T11:22:33Z", durationSeconds: 1.25, setupError: setupError,
            scenarios: fixtureResults)
    }

    func encoder() -> JSONEncoder {
        // As the front end writes record.json.
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }

    @Test func totalsAndExitCodeFollowTheScenarios() {
        let r = record()
        #expect(r.totals == Tally(fixtureResults))
        #expect(r.exitCode == 1)
        #expect(r.format == 1 && r.tool == "lockstep")
    }

    @Test func roundTripsThroughJSON() throws {
        let original = record()
        let data = try encoder().encode(original)
        let back = try JSONDecoder().decode(RunRecord.self, from: data)

        #expect(back.format == 1 && back.tool == "lockstep")
        #expect(back.runID == original.runID && back.command == original.command)
        #expect(back.kernelRelease == "6.12.0" && back.uname == original.uname)
        #expect(back.profile == "largeFolio" && back.profileReason == "6.12" && !back.profileForced)
        #expect(back.machine.nproc == 8 && back.machine.memTotalKB == 16_000_000 && back.machine.memAvailableKB == nil)
        #expect(back.thp.enabled == "always [madvise] never" && back.thp.defrag == nil)
        #expect(back.thp.shmemEnabled == "[never]" && back.thp.sizes == ["64": "[inherit]"])
        #expect(!back.root)
        #expect(!back.pageLayer.exact && back.pageLayer.unavailable == "not root")
        #expect(back.startTime == original.startTime && back.durationSeconds == 1.25)
        #expect(back.setupError == nil)
        #expect(back.totals == original.totals && back.exitCode == 1)

        // The scenarios, verdicts and everything the reports are drawn from.
        #expect(back.scenarios.map(\.id) == fixtureResults.map(\.id))
        #expect(back.scenarios.map(\.verdict) == [.pass, .fail, .skip, .error])
        #expect(back.scenarios.map(\.reason) == fixtureResults.map(\.reason))
        for (b, o) in zip(back.scenarios, fixtureResults) {
            #expect(b.checks.map(\.step) == o.checks.map(\.step))
            #expect(b.checks.map(\.observable) == o.checks.map(\.observable))
            #expect(b.checks.map(\.passed) == o.checks.map(\.passed))
            #expect(b.checks.map(\.skipped) == o.checks.map(\.skipped))
            #expect(b.divergences.map(\.step) == o.divergences.map(\.step))
            #expect(b.divergences.map(\.op) == o.divergences.map(\.op))
            #expect(b.divergences.map(\.observable) == o.divergences.map(\.observable))
            #expect(b.divergences.map(\.expected) == o.divergences.map(\.expected))
            #expect(b.divergences.map(\.observed) == o.divergences.map(\.observed))
            #expect(b.pageMap == o.pageMap && b.retries == o.retries && b.seconds == o.seconds)
        }
        // Re-rendering the decoded results gives the same KTAP.
        #expect(renderKTAP(back.scenarios) == renderKTAP(fixtureResults))

        // Encoding again is byte-for-byte stable (sorted keys).
        #expect(try encoder().encode(back) == data)
    }

    @Test func setupErrorRoundTrips() throws {
        let data = try encoder().encode(record(setupError: "agent: exec failed"))
        let back = try JSONDecoder().decode(RunRecord.self, from: data)
        #expect(back.setupError == "agent: exec failed")
    }

    @Test func jsonShapeForScripts() throws {
        // What jq-style consumers read: verdicts as lowercase strings, totals, exit code.
        let data = try encoder().encode(record())
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["exitCode"] as? Int == 1)
        #expect(json["format"] as? Int == 1)
        let totals = try #require(json["totals"] as? [String: Any])
        #expect(totals["passed"] as? Int == 1 && totals["failed"] as? Int == 1)
        #expect(totals["skipped"] as? Int == 1 && totals["errors"] as? Int == 1)
        let scenarios = try #require(json["scenarios"] as? [[String: Any]])
        #expect(scenarios.compactMap { $0["verdict"] as? String } == ["pass", "fail", "skip", "error"])
        #expect(scenarios.compactMap { $0["id"] as? String } == fixtureResults.map(\.id))
    }

    @Test func verdictRawValues() throws {
        let data = try JSONEncoder().encode([Verdict.pass, .fail, .skip, .error])
        #expect(String(decoding: data, as: UTF8.self) == #"["pass","fail","skip","error"]"#)
        #expect(try JSONDecoder().decode([Verdict].self, from: Data(#"["error","skip"]"#.utf8)) == [.error, .skip])
    }
}
