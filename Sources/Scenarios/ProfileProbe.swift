import KernelInterface
import KernelObserver
import MlockModel

/// The calibration probe: a few syscalls in a fresh agent whose outcome tells the kernel's
/// mlock era apart, read from the pages' kpageflags (immune to other processes). Each
/// discriminator is a rule that changed in a known release:
///
/// - `fileFaultMlocked`: a memfd page first faulted into a range locked with
///   mlock2(MLOCK_ONFAULT). 5.18 on, the rmap add of a file page in a VM_LOCKED VMA
///   mlocks it (page_add_file_rmap -> mlock_vma_page, Hugh Dickins' munlock rework);
///   before, only populate (FOLL_MLOCK) mlocked file pages, and ONFAULT never populates:
///   the page stays unlocked until reclaim finds it.
/// - `pteMappedTHPMlocked`: a THP made PTE-mapped (its PMD split by mprotect of its first
///   page and the protection restored, so one VMA maps it whole through one page table),
///   then mlock()ed. 6.7 on, mlock_pte_range() mlocks a large folio wholly inside the
///   range and mapped by one page table ("support large folio for mlock", Yin Fengwei);
///   before, it skipped every PTE-mapped compound page.
/// - `splitKeepsMlock`: a THP mlocked while PMD-mapped, then mprotect()ed on one page
///   (the VMA split splits the PMD inside the locked VMA). 6.18 on, the rmap add of the
///   512 PTEs maps the whole folio into a VM_LOCKED VMA and mlocks it (Kiryl Shutsemau,
///   "mm/rmap: mlock large folios ...", folio_nr_pages(folio) == nr_pages) before the PMD's
///   removal munlocks it: it stays mlocked; 5.18-6.17 munlock it, pre-5.18 clears it.
///
/// It takes a few milliseconds (one 2 MiB THP fault). A discriminator that cannot be
/// read (no THP could be made) is nil with the reason in `notes`.
public struct ProfileProbe: Codable, Sendable, Equatable {
    public var fileFaultMlocked: Bool?
    public var pteMappedTHPMlocked: Bool?
    public var splitKeepsMlock: Bool?
    public var notes: [String]
    public var milliseconds: Double

    public init(fileFaultMlocked: Bool?, pteMappedTHPMlocked: Bool?, splitKeepsMlock: Bool? = nil,
                notes: [String] = [], milliseconds: Double = 0) {
        self.fileFaultMlocked = fileFaultMlocked; self.pteMappedTHPMlocked = pteMappedTHPMlocked
        self.splitKeepsMlock = splitKeepsMlock
        self.notes = notes; self.milliseconds = milliseconds
    }

    /// The profiles these findings are consistent with, oldest first.
    public var consistent: [KernelProfile] {
        KernelProfile.allCases.filter { p in
            if let f = fileFaultMlocked, f != Self.expectsFileFaultMlocked(p) { return false }
            if let t = pteMappedTHPMlocked, t != Self.expectsPTEMappedTHPMlocked(p) { return false }
            if let k = splitKeepsMlock, k != Self.expectsSplitKeepsMlock(p) { return false }
            return true
        }
    }

    /// The one profile the findings imply, or nil when they leave more than one open.
    public var profile: KernelProfile? {
        let c = consistent
        return c.count == 1 ? c[0] : nil
    }

    public static func expectsFileFaultMlocked(_ p: KernelProfile) -> Bool { p != .pre518 }
    public static func expectsPTEMappedTHPMlocked(_ p: KernelProfile) -> Bool { p.mlocksPTEMappedLargeFolios }
    public static func expectsSplitKeepsMlock(_ p: KernelProfile) -> Bool { p.rmapMlocksWholeLargeFolio }

    /// "file fault mlocked: yes, PTE-mapped THP mlocked: no" (or "not read").
    public var summary: String {
        func yn(_ b: Bool?) -> String { b.map { $0 ? "yes" : "no" } ?? "not read" }
        return "file fault in ONFAULT range mlocked: \(yn(fileFaultMlocked)), PTE-mapped THP mlocked: \(yn(pteMappedTHPMlocked)), "
            + "locked THP split by mprotect stays mlocked: \(yn(splitKeepsMlock))"
    }

    // MARK: - running it

    static let memfdAt = Arena.base + (8 << 20)
    static let thpAt = Arena.base            // 2 MiB aligned
    static let thpSize: UInt64 = 2 << 20

    /// Runs the probe; nil when the agent cannot even start.
    public static func run(agentPath: String, cpu: Int, tmpdir: String) -> ProfileProbe? {
        let t0 = Kernel.monotonicNanoseconds()
        guard let agent = try? Agent(executable: agentPath, cpu: cpu, tmpdir: tmpdir) else { return nil }
        defer { agent.kill() }
        guard let flags = try? PageFlagsReader(pid: agent.pid) else { return nil }
        var notes: [String] = []
        let file = fileFault(agent, flags, &notes)
        let thp = pteMappedTHP(agent, flags, &notes)
        let split = lockedSplit(agent, flags, &notes)
        return ProfileProbe(fileFaultMlocked: file, pteMappedTHPMlocked: thp, splitKeepsMlock: split, notes: notes,
                            milliseconds: Double(Kernel.monotonicNanoseconds() - t0) / 1e6)
    }

    static func ok(_ r: AgentReply?) -> Bool { r.map { $0.errno == 0 } ?? false }

    static func fileFault(_ agent: Agent, _ flags: PageFlagsReader, _ notes: inout [String]) -> Bool? {
        let prot = UInt64(Prot.rw.rawValue)
        let mapFlags = UInt64(UInt32(bitPattern: MAP_SHARED | LS_MAP_FIXED_NOREPLACE))
        guard ok(try? agent.call(LS_CREATE_OBJECT, [0, 0, pageSize, 0])),
              ok(try? agent.call(LS_MMAP, [memfdAt, pageSize, prot, mapFlags, 0, 0])),
              ok(try? agent.call(LS_MLOCK2, [memfdAt, pageSize, UInt64(UAPI.MLOCK_ONFAULT)])),
              ok(try? agent.call(LS_TOUCH, [memfdAt, pageSize, 0])) else {
            notes.append("file-fault discriminator: a memfd/mlock2/touch step failed")
            return nil
        }
        guard let p = try? flags.read(start: memfdAt, pages: 1).first, p.present else {
            notes.append("file-fault discriminator: the memfd page is not mapped after the fault")
            return nil
        }
        return p.mlocked
    }

    static func pteMappedTHP(_ agent: Agent, _ flags: PageFlagsReader, _ notes: inout [String]) -> Bool? {
        let rw = UInt64(Prot.rw.rawValue)
        let mapFlags = UInt64(UInt32(bitPattern: MAP_PRIVATE | MAP_ANONYMOUS | LS_MAP_FIXED_NOREPLACE))
        guard ok(try? agent.call(LS_MMAP, [thpAt, thpSize, rw, mapFlags, UInt64.max, 0])),
              ok(try? agent.call(LS_MADVISE, [thpAt, thpSize, UInt64(UAPI.MADV_HUGEPAGE)])),
              ok(try? agent.call(LS_TOUCH, [thpAt, pageSize, 1])) else {
            notes.append("THP discriminator: mmap/madvise(MADV_HUGEPAGE)/touch failed")
            return nil
        }
        guard let head = try? flags.read(start: thpAt, pages: 1).first, head.present, head.thp, head.compoundHead else {
            notes.append("THP discriminator: no THP was made (transparent_hugepage/enabled never, or no free 2 MiB block)")
            return nil
        }
        // Split the PMD, keep the folio: mprotect the first page away and back.
        guard ok(try? agent.call(LS_MPROTECT, [thpAt, pageSize, UInt64(Prot.read.rawValue)])),
              ok(try? agent.call(LS_MPROTECT, [thpAt, pageSize, rw])),
              ok(try? agent.call(LS_MLOCK, [thpAt, thpSize])) else {
            notes.append("THP discriminator: mprotect/mlock failed")
            return nil
        }
        guard let pages = try? flags.read(start: thpAt, pages: Int(thpSize / pageSize)),
              let first = pages.first, first.present, first.thp, first.compoundHead, first.pfn == head.pfn,
              pages.allSatisfy({ $0.present && $0.thp }) else {
            notes.append("THP discriminator: the THP did not stay one PTE-mapped folio")
            return nil
        }
        // 6.1 marks only the head page; read the head.
        return first.mlocked
    }

    static let splitAt = Arena.base + (4 << 20)   // 2 MiB aligned, apart from the others

    static func lockedSplit(_ agent: Agent, _ flags: PageFlagsReader, _ notes: inout [String]) -> Bool? {
        let rw = UInt64(Prot.rw.rawValue)
        let mapFlags = UInt64(UInt32(bitPattern: MAP_PRIVATE | MAP_ANONYMOUS | LS_MAP_FIXED_NOREPLACE))
        guard ok(try? agent.call(LS_MMAP, [splitAt, thpSize, rw, mapFlags, UInt64.max, 0])),
              ok(try? agent.call(LS_MADVISE, [splitAt, thpSize, UInt64(UAPI.MADV_HUGEPAGE)])),
              ok(try? agent.call(LS_TOUCH, [splitAt, pageSize, 1])),
              ok(try? agent.call(LS_MLOCK, [splitAt, thpSize])) else {
            notes.append("split discriminator: mmap/madvise/touch/mlock failed")
            return nil
        }
        guard let head = try? flags.read(start: splitAt, pages: 1).first, head.present, head.thp, head.compoundHead,
              head.mlocked else {
            notes.append("split discriminator: no mlocked THP was made")
            return nil
        }
        // The VMA split at page 1 splits the PMD while the VMA is still VM_LOCKED.
        guard ok(try? agent.call(LS_MPROTECT, [splitAt + pageSize, pageSize, UInt64(Prot.read.rawValue)])),
              let after = try? flags.read(start: splitAt, pages: 1).first, after.pfn == head.pfn, after.thp else {
            notes.append("split discriminator: mprotect failed or the folio changed")
            return nil
        }
        return after.mlocked
    }
}


extension Profiles {
    /// The profile a run uses: forced, else the probe's when it names one, else the
    /// release's when the probe agrees with it (or did not run), else the oldest one the
    /// probe allows. A probe that disagrees with the release is reported as a warning.
    public static func decide(release: String, byRelease: (KernelProfile, String), probe: ProfileProbe?,
                              probeUnavailable: String?, forced: KernelProfile?)
        -> (profile: KernelProfile, reason: String, warning: String?) {
        let probeText = probe.map { "probe: \($0.summary)" } ?? "probe not run: \(probeUnavailable ?? "agent did not start")"
        var warning: String?
        let chosen: (KernelProfile, String)
        if let p = probe {
            let allowed = p.consistent
            if allowed.isEmpty {
                warning = "the calibration probe fits no profile (\(p.summary)); using \(byRelease.0.rawValue) from uname -r"
                chosen = (byRelease.0, byRelease.1 + "; " + probeText)
            } else if let one = p.profile {
                if one != byRelease.0 {
                    warning = "uname -r implies profile \(byRelease.0.rawValue) but the calibration probe shows \(one.rawValue) (\(p.summary)): using \(one.rawValue)"
                }
                chosen = (one, "probe shows \(one.rawValue) (\(p.summary)); \(byRelease.1)")
            } else if allowed.contains(byRelease.0) {
                chosen = (byRelease.0, byRelease.1 + "; probe agrees (\(p.summary); " + p.notes.joined(separator: "; ") + ")")
            } else {
                warning = "uname -r implies profile \(byRelease.0.rawValue) but the calibration probe allows only \(allowed.map(\.rawValue).joined(separator: ", ")): using \(allowed[0].rawValue)"
                chosen = (allowed[0], "probe allows \(allowed.map(\.rawValue).joined(separator: ", ")) (\(p.summary)); \(byRelease.1)")
            }
        } else {
            chosen = (byRelease.0, byRelease.1 + "; " + probeText)
        }
        if let f = forced {
            let differs = f != chosen.0 ? " (uname and probe give \(chosen.0.rawValue))" : ""
            return (f, "forced by --profile\(differs); " + chosen.1, warning)
        }
        return (chosen.0, chosen.1, warning)
    }
}
