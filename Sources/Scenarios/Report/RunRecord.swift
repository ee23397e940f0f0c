/// What one run leaves under results/<kernel release>/<run id>/record.json. Plain
/// Codable values: the front end fills them in and encodes them (sorted keys, pretty).
public struct RunRecord: Codable, Sendable {
    /// Bumped when a field changes meaning.
    public var format = 1
    public var tool = "lockstep"
    /// UTC timestamp and pid, e.g. "20261123T112233Z-4242".
    public var runID: String
    public var command: [String]
    /// `uname -r`, and what `uname -a` prints.
    public var kernelRelease: String
    public var uname: String
    public var profile: String
    public var profileReason: String
    public var profileForced: Bool
    /// The profile `uname -r` implies, the calibration probe's findings (nil when it did
    /// not run), and the warning when the two disagree.
    public var profileByRelease: String?
    public var profileProbe: ProfileProbe?
    public var profileWarning: String?
    /// Stable-backport facts the model took for the full version (`VersionFacts.names`),
    /// and why (nil in records made before they existed).
    public var versionFacts: [String]?
    public var versionFactsReason: String?
    public var machine: Machine
    public var thp: THPSettings
    public var root: Bool
    public var pageLayer: PageLayerStatus
    /// ISO 8601, UTC.
    public var startTime: String
    public var durationSeconds: Double
    /// Set when the runner could not start: every scenario is then an error with this reason.
    public var setupError: String?
    public var totals: Tally
    public var exitCode: Int32
    public var scenarios: [ScenarioResult]

    public init(runID: String, command: [String], kernelRelease: String, uname: String, profile: String,
                profileReason: String, profileForced: Bool, machine: Machine, thp: THPSettings, root: Bool,
                pageLayer: PageLayerStatus, startTime: String, durationSeconds: Double, setupError: String?,
                scenarios: [ScenarioResult]) {
        self.runID = runID; self.command = command; self.kernelRelease = kernelRelease; self.uname = uname
        self.profile = profile; self.profileReason = profileReason; self.profileForced = profileForced
        self.machine = machine; self.thp = thp; self.root = root; self.pageLayer = pageLayer
        self.startTime = startTime; self.durationSeconds = durationSeconds; self.setupError = setupError
        self.scenarios = scenarios
        totals = Tally(scenarios)
        exitCode = totals.exitCode.rawValue
    }

    public struct Machine: Codable, Sendable {
        public var nproc: Int
        public var memTotalKB: UInt64?
        public var memAvailableKB: UInt64?
        public init(nproc: Int, memTotalKB: UInt64?, memAvailableKB: UInt64?) {
            self.nproc = nproc; self.memTotalKB = memTotalKB; self.memAvailableKB = memAvailableKB
        }
    }

    /// /sys/kernel/mm/transparent_hugepage/{enabled,defrag,shmem_enabled} as the kernel
    /// prints them ("always [madvise] never"); nil when the file is absent.
    public struct THPSettings: Codable, Sendable {
        public var enabled: String?
        public var defrag: String?
        public var shmemEnabled: String?
        /// mTHP: hugepages-<size>kB/enabled for each size the kernel offers (6.8 on).
        public var sizes: [String: String]
        public init(enabled: String?, defrag: String?, shmemEnabled: String?, sizes: [String: String] = [:]) {
            self.enabled = enabled; self.defrag = defrag; self.shmemEnabled = shmemEnabled; self.sizes = sizes
        }
    }

    public struct PageLayerStatus: Codable, Sendable {
        /// PFNs + kpageflags + stat_refresh: the page layer is checked exactly.
        public var exact: Bool
        public var kpageflags: Bool
        public var statRefresh: Bool
        /// Why it is not exact; nil when it is.
        public var unavailable: String?
        public init(exact: Bool, kpageflags: Bool, statRefresh: Bool, unavailable: String?) {
            self.exact = exact; self.kpageflags = kpageflags; self.statRefresh = statRefresh
            self.unavailable = unavailable
        }
    }
}

/// A run in brief: the record without the individual checks. `summary.json` beside
/// each record; a verified kernel's one is kept in git as results/<release>/reference.json.
public struct RunSummary: Codable, Sendable {
    public struct Scenario: Codable, Sendable {
        public var id: String
        public var verdict: Verdict
        public var reason: String
        public var checksMade: Int
        public var checksNotMade: Int
        public var divergences: [Divergence]
        public var retries: Int
    }
    public var format = 1
    public var runID: String
    public var kernelRelease: String
    public var uname: String
    public var profile: String
    public var profileReason: String
    public var profileByRelease: String?
    public var profileProbe: ProfileProbe?
    public var profileWarning: String?
    public var versionFacts: [String]?
    public var versionFactsReason: String?
    public var machine: RunRecord.Machine
    public var thp: RunRecord.THPSettings
    public var root: Bool
    public var pageLayer: RunRecord.PageLayerStatus
    public var startTime: String
    public var durationSeconds: Double
    public var totals: Tally
    public var exitCode: Int32
    public var scenarios: [Scenario]

    public init(_ r: RunRecord) {
        runID = r.runID; kernelRelease = r.kernelRelease; uname = r.uname; profile = r.profile
        profileReason = r.profileReason; machine = r.machine; thp = r.thp; root = r.root
        profileByRelease = r.profileByRelease; profileProbe = r.profileProbe; profileWarning = r.profileWarning
        versionFacts = r.versionFacts; versionFactsReason = r.versionFactsReason
        pageLayer = r.pageLayer; startTime = r.startTime; durationSeconds = r.durationSeconds
        totals = r.totals; exitCode = r.exitCode
        scenarios = r.scenarios.map { s in
            let made = s.checks.filter { $0.skipped == nil }.count
            return Scenario(id: s.id, verdict: s.verdict, reason: s.reason, checksMade: made,
                            checksNotMade: s.checks.count - made, divergences: s.divergences, retries: s.retries)
        }
    }
}
