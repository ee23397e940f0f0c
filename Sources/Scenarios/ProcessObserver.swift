import KernelInterface
import KernelObserver
import MlockModel

/// A VMA of the scenario process outside the arena (its binary, stack, vdso...).
struct ForeignMapping {
    var start: UInt64
    var end: UInt64
    var prot: Prot
    /// VM_IO / VM_PFNMAP / VM_DONTEXPAND / VM_MIXEDMAP: mlock never sets VM_LOCKED on it.
    var special: Bool
    var locked: Bool
}

/// The scenario process as the runner sees it after a step.
struct ProcessState {
    var arena: [VMAView]
    var foreign: [ForeignMapping]
    var vmLckKB: UInt64
    /// Real uid and effective capabilities (status Uid, CapEff).
    var credentials: Credentials
}

/// The agent's initial credentials and limits: input to the model, read once.
struct ProcessStart {
    var state: ProcessState
    var memlockSoft: UInt64
    var memlockHard: UInt64
    var capIpcLock: Bool
    var capSysResource: Bool
    var capSetuid: Bool
    var uid: UInt32
}

/// Reads the agent's VMA layer (smaps, status) and page layer (pagemap + kpageflags).
final class ProcessObserver {
    let reader: ProcessReader
    let pages: PageFlagsReader

    init(pid: Int32) throws {
        reader = try ProcessReader(pid: pid)
        pages = try PageFlagsReader(pid: pid)
    }

    /// VM_IO, VM_PFNMAP, VM_DONTEXPAND, VM_MIXEDMAP.
    static let specialFlags: VMFlagBits = ["io", "pf", "de", "mm"].reduce([]) { $0.union(VMFlagBits(mnemonic: $1)!) }
    /// The mnemonics of `VMAView.adviceMnemonics` as bits.
    static let adviceFlags: VMFlagBits = VMAView.adviceMnemonics.reduce([]) { $0.union(VMFlagBits(mnemonic: $1)!) }
    /// smaps as last read (the array's storage is reused from step to step).
    private var vmas: [SmapsVMA] = []

    func read() throws -> ProcessState {
        try reader.readVMAs(into: &vmas)
        let st = try reader.readStatusSummary()
        var arena: [VMAView] = []
        var foreign: [ForeignMapping] = []
        for e in vmas {
            let prot = Prot(rawValue: (e.readable ? 1 : 0) | (e.writable ? 2 : 0) | (e.executable ? 4 : 0))
            if Arena.contains(e.start) {
                let advice = e.flags.intersection(Self.adviceFlags)
                arena.append(VMAView(start: e.start, end: e.end, prot: prot, shared: e.shared,
                                     locked: e.isLocked, rssKB: e.rssKB, lockedKB: e.lockedKB,
                                     advice: advice.isEmpty ? [] : advice.names.sorted(),
                                     anonHugeKB: e.anonHugePagesKB,
                                     filePmdKB: e.shmemPmdMappedKB + e.filePmdMappedKB))
            } else if !e.isVsyscall {  // the gate area is not a VMA of the mm
                foreign.append(ForeignMapping(start: e.start, end: e.end, prot: prot,
                                              special: !e.flags.isDisjoint(with: Self.specialFlags),
                                              locked: e.isLocked))
            }
        }
        return ProcessState(arena: arena, foreign: foreign, vmLckKB: st.vmLckKB,
                            credentials: Credentials(uid: st.uid, capIpcLock: st.hasCapability(14),
                                                     capSysResource: st.hasCapability(24),
                                                     capSetuid: st.hasCapability(7)))
    }

    func start() throws -> ProcessStart {
        let state = try read()
        let limits = try reader.readLimits()
        let status = try reader.readStatus()
        guard let memlock = limits.memlock else { throw ObserverError("no 'Max locked memory' in /proc/\(reader.pid)/limits") }
        return ProcessStart(state: state, memlockSoft: memlock.soft, memlockHard: memlock.hard,
                            capIpcLock: status.hasCapability(14), capSysResource: status.hasCapability(24),
                            capSetuid: status.hasCapability(7), uid: status.uids.first ?? 0)
    }

    /// Every page of the given VMAs (predicted and observed, so that a page present on
    /// one side only is seen). With `exact` false only pagemap's present bit is read.
    /// With `zeroPages` (and not `exact`), presence and the zero page only (PFNs and
    /// KPF_ZERO_PAGE), PG_mlocked and PG_unevictable left false.
    func pages(covering a: [VMAView], _ b: [VMAView], exact: Bool, zeroPages: Bool = false) throws -> [UInt64: PageView] {
        var out: [UInt64: PageView] = [:]
        let ranges = Self.union((a + b).map { ($0.start, $0.end) })
        out.reserveCapacity(ranges.reduce(0) { $0 + Int(($1.1 - $1.0) / pageSize) })
        for (start, end) in ranges {
            let n = Int((end - start) / pageSize)
            if zeroPages && !exact {
                for p in try pages.read(start: start, pages: n) {
                    out[p.address] = p.present ? PageView(present: true, zero: p.zeroPage) : .absent
                }
            } else if exact {
                continue   // below, all ranges at once
            } else {
                let entries = try pages.readPagemap(start: start, pages: n)
                for (i, e) in entries.enumerated() {
                    out[start + UInt64(i) * pageSize] = PageView(present: e >> 63 == 1)
                }
            }
        }
        if exact {
            for range in try pages.read(ranges: ranges.map { ($0.0, Int(($0.1 - $0.0) / pageSize)) }) {
                for p in range {
                    out[p.address] = p.present
                        ? PageView(present: true, zero: p.zeroPage, mlocked: p.mlocked, unevictable: p.unevictable,
                                   thp: p.thp, head: p.compoundHead, tail: p.compoundTail)
                        : .absent
                }
            }
        }
        return out
    }

    /// PG_mlocked / PG_unevictable of the pages of the locked foreign VMAs (mlockall
    /// reaches them), keyed by PFN: a file page can be mapped at two addresses (an ELF
    /// segment boundary) and is still one page to the counters. Empty when none is
    /// locked or the page layer is unavailable.
    /// With `all`, every non-special foreign VMA is read, locked or not (after a fork).
    func foreignPages(_ vmas: [ForeignMapping], all: Bool = false, enabled: Bool) throws -> [UInt64: PageView] {
        guard enabled else { return [:] }
        var out: [UInt64: PageView] = [:]
        let read = vmas.filter { (v: ForeignMapping) in (v.locked || all) && !v.special }
        if read.isEmpty { return out }
        let ranges = try pages.read(ranges: read.map { ($0.start, Int(($0.end - $0.start) / pageSize)) })
        out.reserveCapacity(ranges.reduce(0) { $0 + $1.count })
        for range in ranges {
            for p in range where p.present {
                out[p.pfn] = PageView(present: true, zero: p.zeroPage, mlocked: p.mlocked, unevictable: p.unevictable)
            }
        }
        return out
    }

    /// The page frame (PFN) of every present page of the given VMAs (root: pagemap
    /// shows PFNs), for the frame checks of migrating ops.
    func frames(covering vmas: [VMAView]) throws -> [UInt64: UInt64] {
        var out: [UInt64: UInt64] = [:]
        for (start, end) in Self.union(vmas.map { ($0.start, $0.end) }) {
            for (i, e) in try pages.readPagemap(start: start, pages: Int((end - start) / pageSize)).enumerated() {
                let entry = PagemapEntry(rawValue: e)
                if entry.present { out[start + UInt64(i) * pageSize] = entry.pfn }
            }
        }
        return out
    }

    /// The NUMA node of each given page (move_pages query of the observed process);
    /// pages the kernel reports no node for (absent, zero page) are left out.
    func nodes(of addresses: [UInt64]) throws -> [UInt64: Int] {
        var out: [UInt64: Int] = [:]
        var i = 0
        while i < addresses.count {
            let chunk = Array(addresses[i..<min(i + 4096, addresses.count)])
            for (a, s) in zip(chunk, try Kernel.pageNodes(pid: reader.pid, addresses: chunk)) where s >= 0 {
                out[a] = Int(s)
            }
            i += chunk.count
        }
        return out
    }

    /// Merges overlapping or touching ranges.
    static func union(_ ranges: [(UInt64, UInt64)]) -> [(UInt64, UInt64)] {
        var out: [(UInt64, UInt64)] = []
        for r in ranges.sorted(by: { $0.0 < $1.0 }) {
            if let last = out.last, r.0 <= last.1 { out[out.count - 1].1 = max(last.1, r.1) } else { out.append(r) }
        }
        return out
    }
}

/// The scenario process's own pages outside the arena also move the global counters
/// when mlockall locks its binary and stack. The model predicts the arena; what those
/// pages did is read from their kpageflags and turned into counter deltas by the same
/// rules (a page newly PG_mlocked: Mlocked +1 and unevictable_pgs_mlocked +1; newly
/// unevictable: culled +1; the reverse: munlocked +1, rescued +1).
enum ForeignPages {
    static func delta(from before: [UInt64: PageView], to after: [UInt64: PageView]) -> Counters {
        var c = Counters()
        if before == after { return c }   // no page changed: nothing to count
        for pfn in Set(before.keys).union(after.keys) {
            let a = before[pfn] ?? .absent, b = after[pfn] ?? .absent
            switch (a.mlocked, b.mlocked) {
            case (false, true): c.mlocked += 1; c.pgMlocked += 1
            case (true, false): c.mlocked -= 1; c.pgMunlocked += 1
            default: break
            }
            switch (a.unevictable, b.unevictable) {
            case (false, true): c.unevictable += 1; c.pgCulled += 1
            case (true, false): c.unevictable -= 1; c.pgRescued += 1
            default: break
            }
        }
        return c
    }
}

extension GlobalCounters {
    /// The page-layer counters in pages, as the model counts them.
    var counters: Counters {
        var c = Counters()
        c.mlocked = Int64(mlockedKB / 4)
        c.unevictable = Int64(unevictableKB / 4)
        if let e = events {
            c.pgMlocked = Int64(e.mlocked); c.pgMunlocked = Int64(e.munlocked)
            c.pgCulled = Int64(e.culled); c.pgRescued = Int64(e.rescued)
            c.pgCleared = Int64(e.cleared); c.pgStranded = Int64(e.stranded)
        }
        return c
    }
}

extension Counters {
    static func + (a: Counters, b: Counters) -> Counters { a - (Counters() - b) }
}
