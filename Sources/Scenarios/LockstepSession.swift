import KernelInterface
import KernelObserver
import MlockModel

/// One scenario's processes (a fresh lockstep-agent and what it forks) and the model,
/// advanced together one step at a time: the per-step engine of the runner, the fuzzer
/// and replay.
///
/// Each `step` predicts the op's result on the model, runs it in the agent, settles,
/// observes every living process (VMA layer, every arena page, credentials, frames and
/// nodes where asked), the global counter deltas with what the processes' own pages
/// outside the arena did, and compares every observable.
final class LockstepSession {
    let runner: LiveRunner
    let scenario: Scenario
    let agent: Agent
    /// SysV segments get the suite's keys, journaled before they exist; they are removed
    /// after the agent is gone (a removed segment still attached dies with it).
    let sysv = SysVResources()
    private(set) var model: KernelModel
    private(set) var comparison: StepComparison
    /// The first process's limits and capabilities at start (the model's inputs).
    let start: ProcessStart
    /// Steps run so far (the index of the next one).
    private(set) var index = 0
    /// What the run noticed on the way (compaction moves), for the scenario's reason.
    private(set) var notes: [String] = []
    /// Set when a step found nothing to check (the kernel made no large folio where the
    /// step exists for one): the scenario is skipped with this reason.
    private(set) var skipped: String?
    /// The steps checked eventually (reclaim), each with its rounds, time and bound.
    private(set) var eventual: [String] = []
    /// The scenario's own memory cgroup (reclaim scenarios), the agent moved in.
    private var memcg: ScenarioMemcg?

    /// One observer per process of the scenario, by the model's process index (0: the
    /// agent; fork adds the next); nil once the process has exited.
    private var observers: [ProcessObserver?]
    private let pageLayer: PageLayer
    private let checkNodes: Bool
    private var expectedBefore: Counters
    private var globalBefore: GlobalCounters
    private var foreignBefore: [UInt64: PageView] = [:]
    private var foreignLockedBefore: Bool

    /// `scenario` gives the settings and requirements (its steps are not run: `step` runs
    /// what it is given). `keepChecks` false: passing checks are only counted.
    init(runner: LiveRunner, scenario: Scenario, keepChecks: Bool = true) throws {
        self.runner = runner
        self.scenario = scenario
        agent = try Agent(executable: runner.agentPath, cpu: runner.cpu, tmpdir: runner.tmpdir,
                          simulate: runner.options.simulate)
        do {
            if scenario.requirements.contains(.reclaim) {
                runner.memcgSerial += 1
                let m = try ScenarioMemcg(name: "lockstep.\(Sys.pid).\(runner.memcgSerial)")
                memcg = m
                runner.activeMemcg = m
                // Before its first op: what it faults from now on is charged there.
                try m.moveIn(pid: agent.pid)
            }
            let first = try ProcessObserver(pid: agent.pid)
            observers = [first]
            let start = try first.start()
            self.start = start
            var m = KernelModel(profile: runner.profile, setup: ProcessSetup(
                foreign: start.state.foreign.map { ForeignVMA(start: $0.start, end: $0.end, prot: $0.prot,
                                                        special: $0.special, locked: $0.locked) },
                memlockSoft: start.memlockSoft, memlockHard: start.memlockHard, capIpcLock: start.capIpcLock,
                fileReadAheadKB: runner.readAheadKB, capSysResource: start.capSysResource, capSetuid: start.capSetuid,
                uid: start.uid, settings: scenario.settings, numa: runner.numa, thp: THPSysfs.read()))
            m.planted = runner.options.planted
            m.facts = runner.facts
            model = m
            comparison = StepComparison(keepPassing: keepChecks)
            pageLayer = runner.environment.pageFlagsUnavailable.map { .presenceOnly($0) } ?? .exact
            checkNodes = scenario.requirements.contains(.numaNodes) && runner.numa != nil
            expectedBefore = m.predictedCounters
            try runner.settle()
            globalBefore = try runner.counters.read()
            foreignLockedBefore = start.state.foreign.contains { $0.locked }
            foreignBefore = try foreignPages([start.state])
        } catch {
            agent.kill()
            sysv.removeAll()
            memcg?.remove()
            runner.activeMemcg = nil
            throw error
        }
    }

    /// Ends the agent (and what it forked), then removes the SysV segments and the
    /// memory cgroup.
    func close() {
        agent.kill()
        sysv.removeAll()
        removeMemcg()
    }

    private func removeMemcg() {
        guard let m = memcg else { return }
        m.remove()
        memcg = nil
        runner.activeMemcg = nil
    }

    /// Runs the step; a reclaim step is run in rounds until the kernel shows the state
    /// the model predicts once reclaim has scanned everything, within the runner's bound
    /// (`LiveRunner.reclaimRounds` rounds, `reclaimMilliseconds`). Each round starts
    /// again from the state before the step (model, comparison, baselines), so that
    /// only the last round's observations count; its checks are marked "@eventual". A
    /// bound reached is a failure showing the last observed state, never a pass.
    func step(_ step: Step) throws -> [String]? {
        guard case .reclaim = step.op else { return try stepOnce(step) }
        let savedModel = model, savedComparison = comparison, savedIndex = index, savedNotes = notes
        let clock = ContinuousClock()
        let start = clock.now
        var round = 0
        while true {
            round += 1
            model = savedModel; comparison = savedComparison; index = savedIndex; notes = savedNotes
            var map = try stepOnce(step)
            var confirmed = false
            if map == nil && skipped == nil {
                // The eventual state is a fixed point: one more round must change nothing
                // (a "no change" prediction met at once would otherwise prove little).
                model = savedModel; comparison = savedComparison; index = savedIndex; notes = savedNotes
                map = try stepOnce(step)
                confirmed = map == nil
            }
            let ms = Int((clock.now - start).seconds * 1000)
            let bound = "bound: \(LiveRunner.reclaimRounds) rounds, \(LiveRunner.reclaimMilliseconds) ms"
            if map == nil || skipped != nil || round >= LiveRunner.reclaimRounds || ms >= LiveRunner.reclaimMilliseconds {
                if map == nil, skipped == nil, scenario.checksMemcgStat, let memcg {
                    try checkMemcgStat(memcg, step: savedIndex, label: step.op.description)
                    if !comparison.divergences.isEmpty {
                        comparison.markEventual(step: savedIndex)
                        return ["memcg memory.stat: see the divergence"]
                    }
                    try rebaseAfterIdleWait()
                }
                comparison.markEventual(step: savedIndex)
                eventual.append(map == nil
                    ? "step \(savedIndex) eventual: reached after \(round) round(s) of reclaim and unchanged by one more\(confirmed ? "" : "?"), \(ms) ms (\(bound))"
                    : "step \(savedIndex) eventual: NOT reached after \(round) round(s) of reclaim, \(ms) ms (\(bound)); the last observed state is shown")
                return map
            }
        }
    }

    /// Every process's pages outside the arena, keyed by PFN so that a page shared by
    /// two of them is counted once. With one process only its locked VMAs matter; once
    /// there are several, every VMA (a child's VMAs are unlocked but share pages a
    /// parent may lock).
    private func foreignPages(_ states: [ProcessState?]) throws -> [UInt64: PageView] {
        var out: [UInt64: PageView] = [:]
        for (p, (o, st)) in zip(observers, states).enumerated() {
            guard let o, let st else { continue }
            let foreign = Self.clip(st.foreign, removing: model.ownRangesOutsideArena(process: p))
            out.merge(try o.foreignPages(foreign, all: observers.count > 1, enabled: pageLayer.isExact)) { a, _ in a }
        }
        return out
    }

    /// `mappings` without the given ranges (the model's own mappings outside the arena,
    /// whose pages it counts itself).
    static func clip(_ mappings: [ForeignMapping], removing own: [(start: UInt64, end: UInt64, locked: Bool)]) -> [ForeignMapping] {
        guard !own.isEmpty else { return mappings }
        var out: [ForeignMapping] = []
        for m in mappings {
            var pieces = [m]
            for r in own {
                pieces = pieces.flatMap { x -> [ForeignMapping] in
                    guard r.start < x.end && x.start < r.end else { return [x] }
                    var left = x, right = x
                    left.end = r.start
                    right.start = r.end
                    return [left, right].filter { $0.start < $0.end }
                }
            }
            out += pieces
        }
        return out
    }

    /// Runs the step on the model and in the agent and compares every observable.
    /// Returns nil when they agree, else the page map of the arena (predicted above
    /// observed); `comparison.divergences` then says where.
    /// The scenario memcg's memory.stat `unevictable` (bytes; v1: this cgroup only)
    /// against the model's unevictable pages: every page the scenario made is charged
    /// there (the agent was moved in before its first op) and the agent's own pages are
    /// never unevictable in these scenarios. The reading is eventual: memory.stat
    /// flushes the per-CPU memcg statistics only once more than MEMCG_CHARGE_BATCH (64)
    /// x CPUs updates are pending, and otherwise the periodic flush does it every 2 s
    /// (FLUSH_TIME, mm/memcontrol.c); so it is polled every 50 ms for at most
    /// `memcgStatMilliseconds` (2 s + one period of slack), and a mismatch then is a
    /// divergence showing the last reading.
    static let memcgStatMilliseconds = 2500

    /// The wait for memory.stat (up to 2.5 s, every process of ours idle and every page
    /// of ours settled and just compared) would otherwise fall into the next step's
    /// window, and the global counters count every process's pages: a daemon on the
    /// machine with mlockall(MCL_FUTURE) faulting 2 pages in (and out) then shows as the
    /// next step's +2 mlocked and culled (munlocked and rescued), or Mlocked +2 if it
    /// keeps them (seen in CI and in a 20-run loop, at lazy.shm-lock-and-mlock's
    /// SHM_UNLOCK). So the global baseline is read again after the wait. What a page of
    /// ours might do while idle is still seen: the next step compares every page's
    /// flags absolutely (kpageflags), and the memcg's own unevictable total, which no
    /// other process touches, is what the wait checked.
    private func rebaseAfterIdleWait() throws {
        try runner.settle()
        globalBefore = try runner.counters.read()
    }

    private func checkMemcgStat(_ memcg: ScenarioMemcg, step: Int, label: String) throws {
        let expected = UInt64(max(0, model.predictedCounters.unevictable)) * pageSize
        let clock = ContinuousClock()
        let start = clock.now
        var observed: UInt64?
        while true {
            observed = MemoryCgroup.unevictableBytes(try memcg.cgroup.readStat())
            let ms = Int((clock.now - start).seconds * 1000)
            if observed == expected || ms >= Self.memcgStatMilliseconds {
                comparison.record(step, label, "memcg.unevictable", expected: "\(expected / 1024) kB",
                                  observed: observed.map { "\($0 / 1024) kB" } ?? "absent")
                eventual.append("step \(step) memcg v\(memcg.cgroup.version) memory.stat unevictable: \(observed == expected ? "matched" : "NOT matched") after \(ms) ms (bound \(Self.memcgStatMilliseconds) ms: the 2 s periodic stats flush)")
                return
            }
            Sys.sleepMilliseconds(50)
        }
    }

    private func stepOnce(_ step: Step) throws -> [String]? {
        let i = index
        index += 1
        let target = step.process ?? model.newestLiving ?? 0
        let label = (observers.count > 1 || step.process != nil ? "p\(target): " : "") + step.op.description
        // Frames before an op that may migrate pages, to see which moved.
        let targetObserver = target < observers.count ? observers[target] : nil
        let framesBefore = step.op.migrates && pageLayer.isExact
            ? try targetObserver.map { try $0.frames(covering: try $0.read().arena) } : nil
        let beforeOp: KernelModel? = if case .mremap = step.op { model } else { nil }
        var predictedResult = model.apply(step.op, process: step.process)
        let observedResult = try runner.execute(step.op, on: agent, process: target, sysv: sysv)
        // A mapping the kernel placed where it chose: the address is the model's input,
        // read from the result (kernelChosenAddress); the op is applied again with it.
        if var m = beforeOp, predictedResult.errno == 0, observedResult.errno == 0,
           UInt64(bitPattern: predictedResult.ret) >= KernelModel.kernelChosenAddressBase {
            m.chosenAddress = UInt64(bitPattern: observedResult.ret)
            predictedResult = m.apply(step.op, process: step.process)
            model = m
        }
        runner.pauseIfAsked(scenario, step: i, agent: agent, sysv: sysv)
        if case .fork = step.op, observedResult.errno == 0, let pid = agent.pid(ofProcess: observers.count) {
            observers.append(try ProcessObserver(pid: pid))
        }
        if case .exit = step.op, target < observers.count { observers[target] = nil }
        // With several processes, what each shows at once, before settling: the VMA
        // layer (smaps Rss and Locked, VmLck) and which pages are present or the zero
        // page follow the page tables and are final already. PG_mlocked and
        // PG_unevictable of the pages and the counters are not: the per-CPU mlock and
        // LRU batches decide when they move, and any lru_add_drain_all() on the
        // machine (any mlock() elsewhere) drains them, so they are compared settled only.
        // Each process's predicted view, made once for both comparisons below (a parked
        // process's view costs a copy of the model switched to it).
        let predictedViews = (0..<model.processCount).map { model.view(result: predictedResult, process: $0) }
        var atOnce: [Int: (ProcessState, [UInt64: PageView])] = [:]
        if observers.count > 1 {
            for (p, o) in observers.enumerated() {
                guard let o, p < predictedViews.count, let v = predictedViews[p] else { continue }
                let st = try o.read()
                atOnce[p] = (st, try o.pages(covering: v.vmas, st.arena, exact: false, zeroPages: pageLayer.isExact))
            }
        }
        try runner.settle()
        if let expect = step.expectsFolios, let o = observers[target],
           let why = try runner.missingFolios(expect, o, observedResult) {
            skipped = "step \(i) \(label): \(why)"
            return nil
        }
        let states = try observers.map { try $0?.read() }
        let globalAfter = try runner.counters.read()
        let foreignAfter = try foreignPages(states)
        let foreignLocked = states.contains { $0?.foreign.contains { $0.locked } ?? false }
        // mlockall and munlockall reach the agent's own mappings too; without the
        // page layer what their pages did cannot be read, so no counter is attributable.
        let countersUnattributable: String? = !pageLayer.isExact && (foreignLocked || foreignLockedBefore)
            ? "the step (un)locked the agent's own mappings, whose pages cannot be read without the page layer"
            : nil

        comparison.record(i, label, "result", same: predictedResult == observedResult,
                          expected: predictedResult.description, observed: observedResult.description)
        // Each living process's VMA and page layers; with several, named p0., p1., ...
        var shownPredicted: StepView?
        var shownObserved: StepView?
        for p in 0..<model.processCount {
            let predictedView = predictedViews[p]
            let observer = p < observers.count ? observers[p] : nil
            guard let predicted = predictedView, let observer, let now = states[p] else {
                comparison.record(i, label, "p\(p).alive", expected: predictedView == nil ? "exited" : "living",
                                  observed: observer == nil ? "exited" : "living")
                continue
            }
            let observed = StepView(result: observedResult, vmas: now.arena, vmLckKB: now.vmLckKB,
                                    pages: try observer.pages(covering: predicted.vmas, now.arena, exact: pageLayer.isExact),
                                    counters: Counters())
            let prefix = model.processCount > 1 ? "p\(p)." : ""
            comparison.compareProcess(step: i, label: label, prefix: prefix,
                                      predicted: predicted, observed: observed, pageLayer: pageLayer)
            if let (early, earlyPages) = atOnce[p] {
                let name = "p\(p)."
                comparison.record(i, label, name + "vmas@once", expected: StepComparison.layout(predicted.vmas),
                                  observed: StepComparison.layout(early.arena))
                comparison.record(i, label, name + "smaps@once", expected: StepComparison.smaps(predicted.vmas),
                                  observed: StepComparison.smaps(early.arena))
                comparison.record(i, label, name + "VmLck@once", expected: "\(predicted.vmLckKB) kB",
                                  observed: "\(early.vmLckKB) kB")
                let mapped = predicted.pages.mapValues { PageView(present: $0.present, zero: pageLayer.isExact && $0.zero) }
                comparison.record(i, label, name + "pages.mapped@once",
                                  expected: StepComparison.pageDiff(mapped, against: earlyPages, exact: true),
                                  observed: StepComparison.pageDiff(earlyPages, against: mapped, exact: true))
            }
            if let creds = model.credentials(process: p) {
                comparison.record(i, label, prefix + "creds", same: creds == now.credentials,
                                  expected: creds.description, observed: now.credentials.description)
            }
            if p == target || shownPredicted == nil { shownPredicted = predicted; shownObserved = observed }
            guard p == target else { continue }
            // Migration: which frames the op had to keep or move, and where pages are.
            if let before = framesBefore, let frames = model.frames {
                let moved = comparison.compareFrames(step: i, label: label, predicted: frames, before: before,
                                                     after: try observer.frames(covering: now.arena))
                if case .compactMemory = step.op { notes.append("step \(i): compaction moved \(moved) of \(before.count) present pages") }
            }
            if checkNodes, let nodes = model.pageNodes {
                let present = observed.pages.filter { $0.value.present && !$0.value.zero }.map(\.key)
                let located = try observer.nodes(of: Array(Set(present).union(nodes.keys)).sorted())
                comparison.compareNodes(step: i, label: label, predicted: nodes, observed: located)
            }
        }
        // Compaction migrates pages of every process (PID 1's locked ones too): which
        // moved, and so the unevictable_pgs_* events, cannot be attributed; Mlocked
        // and Unevictable must still come out unchanged.
        let eventsUnattributable: String? = {
            if case .compactMemory = step.op {
                return "compaction migrates an unknown share of every process's pages (each migrated mlocked page: stranded, rescued, mlocked and culled +1)"
            }
            return nil
        }()
        let predictedCounters = model.predictedCounters
        let expectedDelta = (predictedCounters - expectedBefore) + ForeignPages.delta(from: foreignBefore, to: foreignAfter)
        comparison.compareCounters(step: i, label: label, expected: expectedDelta,
                                   observed: globalAfter.counters - globalBefore.counters,
                                   foldUnavailable: runner.environment.foldUnavailable, unattributable: countersUnattributable,
                                   eventsUnattributable: eventsUnattributable)
        if !comparison.divergences.isEmpty {
            let empty = StepView(result: predictedResult, vmas: [], vmLckKB: 0, pages: [:], counters: Counters())
            return pageMap(predicted: shownPredicted ?? empty, observed: shownObserved ?? empty,
                           presenceOnly: !pageLayer.isExact)
        }
        expectedBefore = predictedCounters
        globalBefore = globalAfter
        foreignBefore = foreignAfter
        foreignLockedBefore = foreignLocked
        return nil
    }

    /// The model's VM_LOCKED ranges of every living process now, keyed as the
    /// observables are prefixed ("" while there is one process, "pN." without the dot after).
    func predictedLockedRanges() -> [String: [Range<UInt64>]] {
        var out: [String: [Range<UInt64>]] = [:]
        for p in 0..<model.processCount {
            guard let v = model.view(result: .ok, process: p) else { continue }
            out[model.processCount > 1 ? "p\(p)" : ""] = v.vmas.filter(\.locked).map { $0.start..<$0.end }
        }
        return out
    }
}
