import KernelInterface
import KernelObserver
import MlockModel

/// What the machine offers the live suite, probed once per run.
public struct LiveEnvironment: Codable, Sendable {
    public var kernelRelease: String
    public var root: Bool
    /// /proc/self/pagemap gives PFNs and /proc/kpageflags is readable.
    public var kpageflags: Bool
    /// /proc/sys/vm/stat_refresh is writable.
    public var statRefresh: Bool
    /// The model profile chosen, and why (uname and the calibration probe).
    public var profile: String
    public var profileReason: String
    /// Features this kernel lacks (probed): scenarios that need one are skipped.
    public var features = KernelFeatures()
    /// The simulated kernel bug the scenario processes run under (`selfcheck`), if any.
    public var simulated: String?
    /// Why memfd_secret(2) cannot be used here, or nil when it can.
    public var memfdSecretUnavailable: String? = nil
    /// The profile `uname -r` implies.
    public var profileByRelease: String = ""
    /// Stable-backport facts the model takes for this version (`VersionFacts.names`), and why.
    public var versionFacts: [String] = []
    public var versionFactsReason: String = ""
    /// The calibration probe's findings and the profile they imply (nil: not run).
    public var profileProbe: ProfileProbe?
    /// Set when the release and the probe disagree (the probe wins), or the probe
    /// could not tell.
    public var profileWarning: String?
    /// NUMA nodes with memory.
    public var memoryNodes: [Int] = [0]
    /// Why per-page flags (PFNs + kpageflags) cannot be read, or nil when they can.
    public var pageFlagsUnavailable: String? {
        if !root { return "not root: no PFNs in pagemap, no kpageflags" }
        if !kpageflags { return "/proc/kpageflags cannot be read (CONFIG_PROC_PAGE_MONITOR off, or hidden)" }
        return nil
    }
    /// Why per-CPU vmstat diffs cannot be folded, or nil when they can.
    public var foldUnavailable: String? {
        if !root { return "not root: no stat_refresh, Mlocked/Unevictable keep per-CPU vmstat diffs" }
        if !statRefresh { return "kernel has no /proc/sys/vm/stat_refresh: Mlocked/Unevictable keep per-CPU vmstat diffs" }
        return nil
    }
    /// Why the page layer is not checked exactly, or nil when it is.
    public var pageLayerUnavailable: String? {
        if !root { return "not root: no PFNs in pagemap, no kpageflags, no stat_refresh" }
        let missing = [pageFlagsUnavailable, foldUnavailable].compactMap { $0 }
        return missing.isEmpty ? nil : missing.joined(separator: "; ")
    }
}

public struct RunnerOptions: Sendable {
    /// Force a model profile instead of choosing by uname and probe.
    public var profile: KernelProfile?
    /// Path of lockstep-agent; by default next to the running executable.
    public var agentPath: String?
    /// Wrong model rules planted on purpose (`--plant`): the suite must then fail.
    public var planted: Set<PlantedRule>
    /// A simulated kernel bug (a seccomp filter, `ls_simulation_name`) installed in every
    /// scenario process, never in the runner: `selfcheck` proves the suite fails on it.
    public var simulate: String?
    public init(profile: KernelProfile? = nil, agentPath: String? = nil, planted: Set<PlantedRule> = [],
                simulate: String? = nil) {
        self.profile = profile; self.agentPath = agentPath; self.planted = planted; self.simulate = simulate
    }
}

public struct RunnerSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Runs scenarios on the live kernel and on the model in lockstep, one fresh
/// lockstep-agent process per scenario, and compares every observable after every step.
/// Used from one thread at a time: every run holds `Exclusive`.
public final class LiveRunner: @unchecked Sendable {
    public private(set) var environment: LiveEnvironment
    public let options: RunnerOptions
    let profile: KernelProfile
    /// Rules stable backports changed within the series, by full version.
    let facts: VersionFacts
    let agentPath: String
    let tmpdir: String
    /// The measuring thread and every agent run on this CPU, so that the agent's
    /// per-CPU batches and our reads do not race a migration.
    let cpu: Int
    let settler: Settler
    let counters: GlobalCountersReader
    /// read_ahead_kb of the device under `tmpdir`: regular-file faults read around.
    let readAheadKB: UInt64
    /// The suite never locks more than a quarter of MemAvailable (read at start).
    let lockBudget: UInt64
    /// The local and another node, on a machine with two nodes with memory or more.
    let numa: NUMANodes?
    /// $LOCKSTEP_THP=never: every THP size is set to `never` while a THP scenario runs
    /// (to see the THP scenarios skip when the kernel makes no huge page).
    let forcedTHPNever: Bool

    /// A global divergence must reproduce identically before it is reported; a
    /// scenario whose global counters moved differently is run again, at most this often.
    static let maxAttempts = 4

    /// The zram swap device of a reclaim scenario (zram allocates only what is written:
    /// the scenario's evictable pages and the agent's own).
    static let swapMegabytes = 256
    /// The reclaim step's bound: at most this many rounds of reclaim in the scenario's
    /// memcg, and no new round after `reclaimMilliseconds`. One round (force_empty or
    /// memory.reclaim) already scans every list of the cgroup whole, at least 16 times
    /// over once nothing more can go; a folio misses a round only while someone else
    /// holds it off the LRU (a per-CPU batch, a migration), so a few rounds are plenty,
    /// and more would only hide a kernel that never gets there.
    static let reclaimRounds = 6
    static let reclaimMilliseconds = 3000
    /// Other processes' locked memory, looked at around every attempt.
    let lockingWatch = LockingWatch()
    /// The memory cgroup of the scenario run in progress (reclaim scenarios).
    var activeMemcg: ScenarioMemcg?
    var memcgSerial = 0

    public init(options: RunnerOptions = RunnerOptions()) throws {
        self.options = options
        let release = (try? Sys.unameRelease()) ?? "unknown"
        let root = Sys.geteuid() == 0
        let kpf = root && Self.kpageflagsWork()
        let refresh = Sys.canWrite("/proc/sys/vm/stat_refresh")
        if let path = options.agentPath {
            agentPath = path
        } else {
            agentPath = Sys.executableDirectory() + "/lockstep-agent"
        }
        guard Sys.canExecute(agentPath) else {
            throw RunnerSetupError("lockstep-agent not found at \(agentPath) (build it with `swift build`)")
        }
        tmpdir = "/tmp"
        readAheadKB = Sys.readAheadKB(of: tmpdir) ?? 128
        // The first CPU this process may run on (CPU 0 is not always allowed).
        cpu = (try? Sys.affinity())?.first ?? 0
        try Sys.pinToCPU(cpu)
        numa = NUMATopology.nodes(cpu: cpu)

        // The profile: by release, by the calibration probe (page layer needed), or forced.
        let byRelease = Profiles.choose(release: release)
        let probe = kpf ? ProfileProbe.run(agentPath: agentPath, cpu: cpu, tmpdir: tmpdir) : nil
        let chosen = Profiles.decide(release: release, byRelease: byRelease, probe: probe,
                                     probeUnavailable: kpf ? nil : "the probe reads kpageflags (root and CONFIG_PROC_PAGE_MONITOR)",
                                     forced: options.profile)
        profile = chosen.profile
        let versionFacts = Profiles.versionFacts(release: release, version: (try? Sys.unameVersion()) ?? "")
        facts = versionFacts.0
        var env = LiveEnvironment(kernelRelease: release, root: root, kpageflags: kpf, statRefresh: refresh,
                                  profile: chosen.profile.rawValue, profileReason: chosen.reason,
                                  memfdSecretUnavailable: Sys.memfdSecretUnavailable())
        env.profileByRelease = byRelease.0.rawValue
        env.versionFacts = versionFacts.0.names
        env.versionFactsReason = versionFacts.1
        env.profileProbe = probe
        env.profileWarning = chosen.warning
        env.memoryNodes = NUMATopology.memoryNodes()
        environment = env
        settler = try Settler()
        counters = try GlobalCountersReader()
        let available = (try? counters.readAll().meminfo["MemAvailable"]) ?? nil
        lockBudget = (available ?? 0) * 1024 / 4
        let probeAgent = try Agent(executable: agentPath, cpu: cpu, tmpdir: tmpdir, simulate: options.simulate)
        defer { probeAgent.kill() }
        environment.features = try KernelFeatures.probe(agent: probeAgent, release: release)
        environment.simulated = options.simulate
        forcedTHPNever = Sys.environment("LOCKSTEP_THP") == "never"
    }

    /// Writes the forced `never` (LOCKSTEP_THP=never) through the journal, after the
    /// scenario's own settings; returns the paths written, for `restoreTHP`.
    func applyTHP(_ s: Scenario) throws -> [String] {
        guard s.requirements.contains(.thp), forcedTHPNever else { return [] }
        var written: [String] = []
        let values = (THPSysfs.enabledFiles() + THPSysfs.shmemFiles()).map { ($0, "never") }
        for (file, value) in values {
            let path = THPSysfs.base + "/" + file
            try SettingsJournal.shared.set(path, to: value)
            written.append(path)
        }
        return written
    }

    func restoreTHP(_ paths: [String]) {
        for p in Set(paths) { try? SettingsJournal.shared.restore(p) }
    }

    /// Runs one scenario; never throws: setup failures become `.error` results.
    public func run(_ scenario: Scenario) -> ScenarioResult {
        Exclusive.run { runAlone(scenario) }
    }

    func runAlone(_ scenario: Scenario) -> ScenarioResult {
        // The measuring thread shares the agent's CPU (tests may call from any thread).
        try? Sys.pinToCPU(cpu)
        let clock = ContinuousClock()
        let started = clock.now
        if let why = skipReason(scenario) {
            return ScenarioResult(id: scenario.id, verdict: .skip, reason: why)
        }
        // Huge pages for MAP_HUGETLB: grow the pool for this scenario only.
        let huge = scenario.requirements.contains(.hugePages) ? scenario.hugePagesNeeded : 0
        if huge > 0 {
            if let why = HugePages.reserve(huge) {
                return ScenarioResult(id: scenario.id, verdict: .skip, reason: "needs \(huge) free 2 MiB huge pages: \(why)")
            }
        }
        defer { if huge > 0 { HugePages.release() } }
        // The scenario's machine-wide settings, journaled, for all its attempts.
        var settings = AppliedSettings()
        if let why = settings.apply(scenario.settings) {
            return ScenarioResult(id: scenario.id, verdict: .skip, reason: why)
        }
        defer { settings.restore() }
        let written: [String]
        do {
            written = try applyTHP(scenario)
        } catch {
            return ScenarioResult(id: scenario.id, verdict: .error, reason: "cannot write THP settings: \(error)")
        }
        defer { restoreTHP(written) }
        // Swap for reclaim to scan anon and shmem: on for this scenario only.
        var swap: SettingsJournal.Entry?
        if scenario.requirements.contains(.reclaim) {
            do {
                swap = try ZramSwap.enable(megabytes: Self.swapMegabytes)
            } catch {
                return ScenarioResult(id: scenario.id, verdict: .skip, reason: "cannot set up swap on zram: \(error)")
            }
        }
        defer { if let swap { SettingsJournal.shared.release(swap) } }
        var previous: [Divergence]?
        var attempt = 0
        while true {
            attempt += 1
            var result: ScenarioResult
            var onlyNoisy = false
            let migratedBefore = MigrationActivity.read()
            let lockingBefore = lockingWatch.snapshot()
            do {
                (result, onlyNoisy) = try runOnce(scenario)
            } catch {
                result = ScenarioResult(id: scenario.id, verdict: .error, reason: "\(error)")
            }
            // Pages migrated or collapsed by someone else (kcompactd, khugepaged, another process) while this
            // scenario ran: its page layer was disturbed; run it again, never excuse it.
            let migrated = result.verdict == .fail && !scenario.migratesPages
                && MigrationActivity.read() != migratedBefore
            // Global counters only, while another process's locked memory moved: they
            // count its pages too; run it again, and never take it for the kernel's.
            let lockedElsewhere = result.verdict == .fail && onlyNoisy
                ? lockingWatch.fullScan().changes(since: lockingBefore) : []
            let disturbed = migrated || !lockedElsewhere.isEmpty
            result.retries = attempt - 1
            result.seconds = (clock.now - started).seconds
            if let known = scenario.knownDivergence, known.applies(toRelease: environment.kernelRelease) {
                result = Self.judgeKnown(result, known)
                if result.verdict == .xfail { return result }
            }
            guard onlyNoisy || disturbed, attempt < Self.maxAttempts else {
                if migrated {
                    result.reason = "pages were migrated or collapsed on the machine during each of \(attempt) attempts (compaction, khugepaged?); the last attempt's divergences stand"
                } else if disturbed {
                    result.reason = "other processes' locked memory moved during each of \(attempt) attempts (last: "
                        + lockedElsewhere.joined(separator: "; ") + "); the last attempt's divergences stand"
                } else if onlyNoisy {
                    result.reason = "global counters diverged on \(attempt) attempts, differently each time (another process moving them?)"
                }
                return result
            }
            if disturbed { previous = nil; continue }
            // The same divergence twice is the kernel's, not noise.
            if let p = previous, p.map(\.description) == result.divergences.map(\.description) {
                result.reason = "global counter divergence reproduced on a second run"
                return result
            }
            previous = result.divergences
        }
    }

    /// Reads the flags of a page of our own: kpageflags must exist, answer, and see a PFN.
    static func kpageflagsWork() -> Bool {
        guard let page = try? ScratchPage(), let reader = try? PageFlagsReader(pid: Sys.pid) else { return false }
        page.touch()
        let address = UInt64(UInt(bitPattern: page.address))
        guard let range = try? reader.read(start: address, pages: 1), let p = range.first else { return false }
        return p.present && p.pfn != 0 && p.raw != 0
    }

    /// A failure confined to the observables of a known kernel bug is that bug.
    static func judgeKnown(_ r: ScenarioResult, _ known: KnownDivergence) -> ScenarioResult {
        var r = r
        switch r.verdict {
        case .fail where r.divergences.allSatisfy({ known.observables.contains($0.observable) }):
            r.verdict = .xfail
            r.reason = "known kernel divergence: \(known.explanation)"
        case .pass:
            r.reason = "the known kernel divergence did not show on this kernel (fixed?): \(known.explanation)"
        default:
            break
        }
        return r
    }

    func skipReason(_ s: Scenario) -> String? {
        if s.requirements.contains(.root) && !environment.root { return "needs root" }
        if s.requirements.contains(.pageLayer), let why = environment.pageFlagsUnavailable { return why }
        if let why = environment.features.skipReason(s) { return why }
        if s.requirements.contains(.memfdSecret), let why = environment.memfdSecretUnavailable { return why }
        if s.requirements.contains(.hugePages) && !environment.root { return "needs root to reserve huge pages (vm.nr_hugepages)" }
        if s.requirements.contains(.numaNodes) && numa == nil {
            let n = environment.memoryNodes.count
            return "needs 2 NUMA nodes, host has \(n)"
        }
        if s.requirements.contains(.thp) {
            if !THPSysfs.available { return "the kernel has no transparent huge pages (no \(THPSysfs.base))" }
            if !environment.root { return "needs root (writes THP settings)" }
            for file in s.thpFiles where (try? readWholeFile(THPSysfs.base + "/" + file)) == nil {
                return "the kernel has no \(THPSysfs.base)/\(file)"
            }
        }
        if s.requirements.contains(.reclaim) {
            if let why = ScenarioMemcg.unavailable() { return why }
            if let why = ZramSwap.unavailable() { return why }
        }
        let need = s.maxLockableBytes + (1 << 20)
        if need > lockBudget {
            return "would lock up to \(need >> 20) MiB, more than a quarter of MemAvailable (\(lockBudget >> 20) MiB)"
        }
        return nil
    }

    /// One run of a scenario in a fresh agent. Returns the result and whether its only
    /// divergences were in global counters (candidates for noise).
    func runOnce(_ scenario: Scenario) throws -> (ScenarioResult, Bool) {
        let session = try LockstepSession(runner: self, scenario: scenario)
        defer { session.close() }
        for step in scenario.steps {
            let pageMap = try session.step(step)
            if let why = session.skipped {
                return (ScenarioResult(id: scenario.id, verdict: .skip, reason: why), false)
            }
            if let pageMap {
                let c = session.comparison
                var result = ScenarioResult(id: scenario.id, verdict: .fail, reason: session.notes.joined(separator: "; "),
                                            checks: c.checks, divergences: c.divergences, pageMap: pageMap)
                result.eventual = session.eventual.isEmpty ? nil : session.eventual.joined(separator: "; ")
                return (result, c.onlyNoisyDiverged)
            }
        }
        var result = ScenarioResult(id: scenario.id, verdict: .pass, reason: session.notes.joined(separator: "; "),
                                    checks: session.comparison.checks)
        result.eventual = session.eventual.isEmpty ? nil : session.eventual.joined(separator: "; ")
        return (result, false)
    }

    /// Why the kernel did not make the large folios the step exists for, or nil when it
    /// did: every page of the range present in a large folio (KPF_THP) of the expected
    /// order (a head page every 2^order pages, tails between).
    func missingFolios(_ e: LargeFolioExpectation, _ observer: ProcessObserver, _ result: OpResult) throws -> String? {
        let pages = try observer.pages.read(start: e.addr, pages: Int(e.pages))
        let nr = 1 << e.order
        let size = e.order == pmdOrder ? "PMD THP (2 MiB)" : "\((4 << e.order)) kB folio"
        var small = 0, wrongShape = 0, absent = 0
        for (k, p) in pages.enumerated() {
            if !p.present { absent += 1; continue }
            if !p.thp || p.zeroPage { small += 1; continue }
            if p.compoundHead != (k % nr == 0) || p.compoundTail != (k % nr != 0) { wrongShape += 1 }
        }
        if small == 0 && absent == 0 && wrongShape == 0 { return nil }
        let thp = THPSysfs.read()
        let setting = "enabled=\(thp.enabled.rawValue), \(e.order == pmdOrder ? "hugepages-2048kB" : "hugepages-\(4 << e.order)kB")=\(thp.anonOrders[e.order]?.rawValue ?? "absent"), shmem_enabled=\(thp.shmemEnabled.rawValue)"
        return "the kernel made no \(size) at \(Arena.describe(e.addr)) (\(e.pages) pages: \(small) small, \(absent) absent, "
            + "\(wrongShape) in folios of another order; call returned \(result); \(setting)\(forcedTHPNever ? ", forced by LOCKSTEP_THP=never" : ""))"
            + ": THP could not be made, nothing to check"
    }

    func settle() throws {
        let report = try settler.settle()
        if !report.drained {
            throw RunnerSetupError("settle could not drain the per-CPU batches: \(report.why ?? "unknown")")
        }
        if report.drainMethod != .movePages, settleFallback == nil {
            settleFallback = report.why ?? "move_pages not used"
        }
    }

    /// Why settle once drained by compact_memory instead of move_pages (a move_pages that
    /// did not do its work is noticed by its status array), or nil: the front end says so.
    public private(set) var settleFallback: String?

    /// Sends one op to the agent; the agent runs exactly one syscall (or touch loop).
    func execute(_ op: Op, on agent: Agent, process: Int, sysv: SysVResources = SysVResources()) throws -> OpResult {
        // A process that has exited cannot be asked anything (the model says ESRCH).
        guard let _ = agent.pid(ofProcess: process), agent.isServing(process) else { return .fail(Err.ESRCH) }
        func call(_ op: ls_op, _ args: [UInt64]) throws -> AgentReply {
            try agent.call(process: process, op.rawValue, args)
        }
        let r: AgentReply
        switch op {
        case let .createObject(slot, kind, pages, filled):
            switch kind {
            case .memfd, .file:
                r = try call(LS_CREATE_OBJECT, [UInt64(slot), kind == .memfd ? 0 : 1, pages * pageSize, filled ? 1 : 0])
            case .ramfs, .secret:
                r = try call(LS_CREATE_SPECIAL, [UInt64(slot), kind == .ramfs ? 0 : 1, pages * pageSize, filled ? 1 : 0])
            }
            // The fd number is the agent's business; the op succeeds or fails.
            if r.errno == 0 { return .ok }
        case let .map(addr, len, prot, backing, flags):
            let m = Self.mmapArguments(backing: backing, flags: flags)
            r = try call(LS_MMAP, [addr, len, UInt64(prot.rawValue), UInt64(UInt32(bitPattern: m.flags)),
                                   UInt64(bitPattern: m.slot), m.offset])
        case let .munmap(addr, len): r = try call(LS_MUNMAP, [addr, len])
        case let .mprotect(addr, len, prot): r = try call(LS_MPROTECT, [addr, len, UInt64(prot.rawValue)])
        case let .mremap(old, oldLen, newLen, flags, newAddr):
            r = try call(LS_MREMAP, [old, oldLen, newLen, UInt64(UInt32(bitPattern: flags)), newAddr])
        case let .touch(addr, len, write):
            r = try call(LS_TOUCH, [addr, len, write ? 1 : 0])
        case let .mlock(addr, len): r = try call(LS_MLOCK, [addr, len])
        case let .mlock2(addr, len, flags): r = try call(LS_MLOCK2, [addr, len, UInt64(flags)])
        case let .munlock(addr, len): r = try call(LS_MUNLOCK, [addr, len])
        case let .mlockall(flags): r = try call(LS_MLOCKALL, [UInt64(UInt32(bitPattern: flags))])
        case .munlockall: r = try call(LS_MUNLOCKALL, [])
        case let .madvise(addr, len, advice): r = try call(LS_MADVISE, [addr, len, UInt64(UInt32(bitPattern: advice))])
        case let .msync(addr, len, flags): r = try call(LS_MSYNC, [addr, len, UInt64(UInt32(bitPattern: flags))])
        case let .setMemlockLimit(soft, hard): r = try call(LS_SETRLIMIT, [UInt64(RLIMIT_MEMLOCK_RESOURCE), soft, hard])
        case .dropCapIpcLock: r = try call(LS_DROP_CAP, [UInt64(CAP_IPC_LOCK_NUMBER)])
        case .fork:
            r = try agent.forkServing(from: process)
            // The child's pid is the runner's business (it observes that process from now
            // on); the model predicts 0 for success.
            if r.errno == 0 { return .ok }
        case let .setuid(uid): r = try call(LS_SETUID, [UInt64(uid)])
        case .exit:
            try agent.exitProcess(process)
            return .ok
        case let .shmget(n, pages):
            // A number outside the suite's 16 has no key: never sent (the model says EINVAL).
            guard n >= 0 && n < KernelModel.sysvSegments else { return .fail(Err.EINVAL) }
            let key = try sysv.key(for: n)
            r = try call(LS_SHMGET, [UInt64(UInt32(bitPattern: key)), pages * pageSize,
                                           UInt64(SysVConst.IPC_CREAT | SysVConst.IPC_EXCL | 0o600)])
            // The shmid is the runner's business (it addresses the segment from now on).
            if r.errno == 0 { sysv.shmids[n] = Int32(r.ret); return .ok }
        case let .shmat(n, addr, readOnly):
            r = try call(LS_SHMAT, [sysv.shmid(n), addr, readOnly ? UInt64(SysVConst.SHM_RDONLY) : 0])
        case let .shmdt(addr): r = try call(LS_SHMDT, [addr])
        case let .shmctl(n, command):
            r = try call(LS_SHMCTL, [sysv.shmid(n), UInt64(UInt32(bitPattern: command.rawValue))])
        case let .truncate(slot, pages): r = try call(LS_FTRUNCATE, [UInt64(slot), pages * pageSize])
        case let .punchHole(slot, first, pages):
            // FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
            r = try call(LS_FALLOCATE, [UInt64(slot), 0x03, first * pageSize, pages * pageSize])
        case .reclaim:
            guard let memcg = activeMemcg else { return .fail(Err.ENODEV) }
            do { try memcg.reclaim() } catch let e as Errno { return .fail(e.rawValue) }
            return .ok
        case .compactMemory:
            // Machine-wide: the runner writes it (the agent stays at rest meanwhile).
            do { try writeFile("/proc/sys/vm/compact_memory", "1") } catch let e as Errno { return .fail(e.rawValue) }
            return .ok
        case let .movePages(addr, pages, to, flags):
            let node = numa?.id(to) ?? (to == .local ? 0 : 1)
            r = try call(LS_MOVE_PAGES, [addr, pages, UInt64(node), UInt64(flags)])
            guard pages <= UInt64(LS_MOVE_PAGES_MAX) else { break }
            let status = try agent.readPayload(process: process, int32s: Int(pages))
            // The status array is meaningful once the call got to the pages.
            return OpResult(ret: r.ret, errno: r.errno, status: r.errno == 0 ? status : nil)
        case let .mbind(addr, len, mode, node, flags):
            let n: UInt64 = node.map { UInt64(numa?.id($0) ?? ($0 == .local ? 0 : 1)) } ?? UInt64.max
            r = try call(LS_MBIND, [addr, len, UInt64(UInt32(bitPattern: mode)), n, UInt64(flags)])
        }
        return OpResult(ret: r.ret, errno: r.errno)
    }
}

extension LiveRunner {
    /// The agent request making a plain op of one process (one syscall or touch loop);
    /// nil for the ops `execute` handles otherwise. The fuzzer's C loop and C reproducers
    /// use it.
    static func agentRequest(_ op: Op) -> (ls_op, [UInt64])? {
        switch op {
        case let .createObject(slot, kind, pages, filled) where kind == .memfd || kind == .file:
            return (LS_CREATE_OBJECT, [UInt64(slot), kind == .memfd ? 0 : 1, pages * pageSize, filled ? 1 : 0])
        case let .map(addr, len, prot, backing, flags):
            let m = mmapArguments(backing: backing, flags: flags)
            return (LS_MMAP, [addr, len, UInt64(prot.rawValue), UInt64(UInt32(bitPattern: m.flags)),
                              UInt64(bitPattern: m.slot), m.offset])
        case let .munmap(addr, len): return (LS_MUNMAP, [addr, len])
        case let .mprotect(addr, len, prot): return (LS_MPROTECT, [addr, len, UInt64(prot.rawValue)])
        case let .mremap(old, oldLen, newLen, flags, newAddr):
            return (LS_MREMAP, [old, oldLen, newLen, UInt64(UInt32(bitPattern: flags)), newAddr])
        case let .touch(addr, len, write): return (LS_TOUCH, [addr, len, write ? 1 : 0])
        case let .mlock(addr, len): return (LS_MLOCK, [addr, len])
        case let .mlock2(addr, len, flags): return (LS_MLOCK2, [addr, len, UInt64(flags)])
        case let .munlock(addr, len): return (LS_MUNLOCK, [addr, len])
        case let .mlockall(flags): return (LS_MLOCKALL, [UInt64(UInt32(bitPattern: flags))])
        case .munlockall: return (LS_MUNLOCKALL, [])
        case let .madvise(addr, len, advice): return (LS_MADVISE, [addr, len, UInt64(UInt32(bitPattern: advice))])
        case let .msync(addr, len, flags): return (LS_MSYNC, [addr, len, UInt64(UInt32(bitPattern: flags))])
        case let .setMemlockLimit(soft, hard): return (LS_SETRLIMIT, [UInt64(RLIMIT_MEMLOCK_RESOURCE), soft, hard])
        case .dropCapIpcLock: return (LS_DROP_CAP, [UInt64(CAP_IPC_LOCK_NUMBER)])
        case let .setuid(uid): return (LS_SETUID, [UInt64(uid)])
        default: return nil
        }
    }

    /// The raw mmap flags (MAP_FIXED_NOREPLACE included), object slot (-1: none) and byte
    /// offset of a map op, as `execute` composes them.
    static func mmapArguments(backing: Backing, flags: MapFlags) -> (flags: Int32, slot: Int64, offset: UInt64) {
        var f: Int32 = LS_MAP_FIXED_NOREPLACE
        var slot: Int64 = -1
        var offset: UInt64 = 0
        // MAP_DROPPABLE (0x08) is a mapping type: it takes MAP_PRIVATE's place.
        let privateType: Int32 = flags.contains(.droppable) ? 0x08 : MAP_PRIVATE
        switch backing {
        case .privateAnon: f |= privateType | MAP_ANONYMOUS
        case .sharedAnon: f |= MAP_SHARED | MAP_ANONYMOUS | (flags.contains(.droppable) ? 0x08 : 0)
        case let .object(s, shared, pageOffset):
            f |= shared ? MAP_SHARED | (flags.contains(.droppable) ? 0x08 : 0) : privateType
            slot = Int64(s); offset = pageOffset * pageSize
        }
        if flags.contains(.locked) { f |= MAP_LOCKED }
        if flags.contains(.populate) { f |= MAP_POPULATE }
        if flags.contains(.noreserve) { f |= MAP_NORESERVE }
        if flags.contains(.growsdown) { f |= 0x0100 }   // MAP_GROWSDOWN
        if flags.contains(.hugetlb) { f |= 0x40000 }    // MAP_HUGETLB, default size
        return (f, slot, offset)
    }
}

let RLIMIT_MEMLOCK_RESOURCE = 8
let CAP_IPC_LOCK_NUMBER = 14
let MAP_SHARED: Int32 = 0x01
let MAP_PRIVATE: Int32 = 0x02
let MAP_ANONYMOUS: Int32 = 0x20
let MAP_LOCKED: Int32 = 0x2000
let MAP_NORESERVE: Int32 = 0x4000
let MAP_POPULATE: Int32 = 0x8000
let LS_MAP_FIXED_NOREPLACE: Int32 = 0x100000

extension PageLayer {
    var isExact: Bool { if case .exact = self { return true } else { return false } }
}

extension Divergence: CustomStringConvertible {
    public var description: String { "\(step) \(observable) \(expected) \(observed)" }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}

/// The SysV segments of one scenario run: the suite key of each segment number,
/// journaled before the segment can exist, and the shmid the kernel gave it.
final class SysVResources {
    var shmids: [Int: Int32] = [:]
    private(set) var keys: [Int32] = []

    /// The suite key of segment `n`, noted in the settings journal (once).
    func key(for n: Int) throws -> Int32 {
        let key = SettingsJournal.sysvKey(UInt16(n))
        if !keys.contains(key) {
            try SettingsJournal.shared.note(.sysvShm(key: key))
            keys.append(key)
        }
        return key
    }

    /// The shmid of segment `n` as a raw argument, or -1 (EINVAL) when it has none.
    func shmid(_ n: Int) -> UInt64 { UInt64(bitPattern: Int64(shmids[n] ?? -1)) }

    /// Removes every segment still holding one of our keys, and forgets the keys.
    func removeAll() {
        for key in keys { SettingsJournal.shared.release(.sysvShm(key: key)) }
        keys = []
        shmids = [:]
    }
}

extension LiveRunner {
    /// LOCKSTEP_PAUSE_IN=<scenario id>[:seconds[:step]]: after that step of that scenario
    /// (by default its first successful shmget, or step 0 of a scenario with settings and
    /// no shmget) sleep (default 30 s), so that the run can be killed there: the cleanup
    /// demonstration (the next run undoes what it left, a SysV segment, a raised
    /// vm.nr_hugepages or a scenario's setting, and says so).
    func pauseIfAsked(_ scenario: Scenario, step: Int, agent: Agent, sysv: SysVResources) {
        guard let raw = Sys.environment("LOCKSTEP_PAUSE_IN") else { return }
        let parts = raw.split(separator: ":").map(String.init)
        guard parts[0] == scenario.id else { return }
        let hasShmget = scenario.steps.contains { if case .shmget = $0.op { return true }; return false }
        if parts.count > 2 {
            guard Int(parts[2]) == step else { return }
        } else if !scenario.settings.isEmpty && !hasShmget {
            guard step == 0 else { return }
        } else {
            guard case .shmget = scenario.steps[step].op, !sysv.shmids.isEmpty else { return }
        }
        let seconds = parts.count > 1 ? UInt32(parts[1]) ?? 30 : 30
        let keys = sysv.keys.map { "0x" + String(UInt32(bitPattern: $0), radix: 16) }.joined(separator: ", ")
        let held = (keys.isEmpty ? [] : ["SysV keys \(keys)"])
            + scenario.settings.map { "\($0.path) = \($0.value)" }
        Sys.say("LOCKSTEP_PAUSE_IN: \(scenario.id) paused \(seconds) s after step \(step) (runner pid \(Sys.pid), agent pid \(agent.livePid)\(held.isEmpty ? "" : ", " + held.joined(separator: ", ")))")
        Sys.sleepSeconds(seconds)
    }
}
