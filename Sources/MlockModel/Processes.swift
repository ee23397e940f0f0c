// More than one process: fork makes a second address space, and any living process can
// act again. The model keeps one address space "active" in its fields (vmas, ptes,
// lockedVM, ...) and parks the others. A parked process cannot act, so its PTEs are
// folded into its folios as frozen mappings (counted in the mapcount, keeping the folio
// alive, and, in a VM_LOCKED VMA, found by the pre-5.18 rmap walk): every rule written
// for one process then sees the others exactly as the kernel's rmap does. Switching
// unfolds the arriving process's PTEs and folds the departing one's.

/// What a process may do, as /proc/PID/status shows it (Uid, CapEff bits 7, 14, 24).
public struct Credentials: Hashable, Sendable, CustomStringConvertible {
    public var uid: UInt32
    public var capIpcLock: Bool
    public var capSysResource: Bool
    public var capSetuid: Bool
    public init(uid: UInt32, capIpcLock: Bool, capSysResource: Bool, capSetuid: Bool) {
        self.uid = uid; self.capIpcLock = capIpcLock; self.capSysResource = capSysResource; self.capSetuid = capSetuid
    }
    public var description: String {
        "uid \(uid) IPC_LOCK=\(capIpcLock ? 1 : 0) SYS_RESOURCE=\(capSysResource ? 1 : 0) SETUID=\(capSetuid ? 1 : 0)"
    }
}

/// One process's mm and credentials, while it is parked.
struct AddressSpace: Sendable {
    var vmas: [VMA]
    var ptes: [UInt64: PTE]
    var lockedVM: UInt64
    var defFlags: VMFlags
    var memlockSoft: UInt64
    var memlockHard: UInt64
    var capIpcLock: Bool
    var capSysResource: Bool
    var capSetuid: Bool
    var uid: UInt32
    var objectForSlot: [Int: Int]
    /// Page-table state for large folios: blocks with a PTE table, blocks mapped by the
    /// huge zero page, and the large folios this mm maps by a PMD.
    var pteTables: Set<UInt64> = []
    var hugeZero: Set<UInt64> = []
    var pmdFolios: Set<Int> = []
}

extension KernelModel {
    /// The newest process that has not exited: where a step without a process name goes.
    public var newestLiving: Int? {
        (0..<processCount).last { !exited.contains($0) }
    }

    /// The ranges of process `p`'s own mappings outside the arena (moved there by an
    /// mremap to an address the kernel chose): the model follows them, so what a reader of
    /// the process's other mappings finds there is not foreign.
    public func ownRangesOutsideArena(process p: Int) -> [(start: UInt64, end: UInt64, locked: Bool)] {
        guard isLiving(p) else { return [] }
        let list = p == active ? vmas : parked[p]?.vmas ?? []
        return list.filter { !$0.isForeign && !Arena.contains($0.start) }.map { ($0.start, $0.end, $0.flags.contains(.locked)) }
    }

    /// Whether process `p` exists and has not exited.
    public func isLiving(_ p: Int) -> Bool { p >= 0 && p < processCount && !exited.contains(p) }

    /// The settled view of process `p` (nil once it has exited); the counters are global.
    public func view(result: OpResult, process p: Int) -> StepView? {
        guard isLiving(p) else { return nil }
        if p == active { return view(result: result) }
        var copy = self
        copy.switchTo(p)
        return copy.view(result: result)
    }

    /// Process `p`'s uid and the capabilities the model follows (nil once it has exited).
    public func credentials(process p: Int) -> Credentials? {
        guard isLiving(p) else { return nil }
        if p == active {
            return Credentials(uid: uid, capIpcLock: capIpcLock, capSysResource: capSysResource, capSetuid: capSetuid)
        }
        let s = parked[p]!
        return Credentials(uid: s.uid, capIpcLock: s.capIpcLock, capSysResource: s.capSysResource, capSetuid: s.capSetuid)
    }

    var activeSpace: AddressSpace {
        AddressSpace(vmas: vmas, ptes: ptes, lockedVM: lockedVM, defFlags: defFlags, memlockSoft: memlockSoft,
                     memlockHard: memlockHard, capIpcLock: capIpcLock, capSysResource: capSysResource,
                     capSetuid: capSetuid, uid: uid, objectForSlot: objectForSlot,
                     pteTables: pteTables, hugeZero: hugeZero,
                     pmdFolios: Set(ptes.values.compactMap { $0.folioID }.filter { folios[$0]?.pmdMapped == true }))
    }

    /// The mappings of the active mm as its folios count them: one per page of a small
    /// folio; one per large folio (whole or part), locked when any of its pages here is
    /// in an mlock VMA. Freezing and unfreezing use the same count.
    func activeMappingCounts() -> [Int: (maps: Int, locked: Int)] {
        var out: [Int: (maps: Int, locked: Int)] = [:]
        for (addr, pte) in ptes {
            guard case let .folio(id) = pte, let f = folios[id] else { continue }
            let locked = indexContaining(addr).map { isMlockVMA(vmas[$0]) } ?? false
            var c = out[id] ?? (0, 0)
            if f.large {
                c.maps = 1
                if locked { c.locked = 1 }
            } else {
                c.maps += 1
                if locked { c.locked += 1 }
            }
            out[id] = c
        }
        return out
    }

    /// Folds the active process's PTEs into its folios as frozen mappings.
    mutating func freezeActiveMappings() {
        for (id, c) in activeMappingCounts() {
            folios[id]?.frozenMaps += c.maps
            folios[id]?.frozenLockedMaps += c.locked
        }
        for (addr, pte) in ptes {
            guard case let .folio(id) = pte, let f = folios[id] else { continue }
            folios[id]?.maps.remove(addr)
            if f.large, let k = subpage(f, at: addr) { folios[id]?.frozenPageMaps[k, default: 0] += 1 }
        }
    }

    /// Makes process `p` the active one (it must be living).
    mutating func switchTo(_ p: Int) {
        guard p != active else { return }
        if !exited.contains(active) {
            freezeActiveMappings()
            parked[active] = activeSpace
        }
        let s = parked.removeValue(forKey: p)!
        vmas = s.vmas; ptes = s.ptes; lockedVM = s.lockedVM; defFlags = s.defFlags
        memlockSoft = s.memlockSoft; memlockHard = s.memlockHard; capIpcLock = s.capIpcLock
        capSysResource = s.capSysResource; capSetuid = s.capSetuid; uid = s.uid
        objectForSlot = s.objectForSlot
        pteTables = s.pteTables; hugeZero = s.hugeZero
        for id in folios.keys where folios[id]!.large { folios[id]!.pmdMapped = s.pmdFolios.contains(id) }
        active = p
        for (id, c) in activeMappingCounts() {
            folios[id]?.frozenMaps -= c.maps
            folios[id]?.frozenLockedMaps -= c.locked
        }
        for (addr, pte) in ptes {
            guard case let .folio(id) = pte, let f = folios[id] else { continue }
            folios[id]?.maps.insert(addr)
            if f.large, let k = subpage(f, at: addr) {
                let n = (f.frozenPageMaps[k] ?? 1) - 1
                folios[id]?.frozenPageMaps[k] = n > 0 ? n : nil
            }
        }
        recomputeFrozenFiles()
    }

    /// The shmem files the parked processes still map: they outlive the active
    /// process's last mapping of them.
    mutating func recomputeFrozenFiles() {
        frozenFiles = []
        for s in parked.values {
            for v in s.vmas where v.file != nil && !v.isForeign { frozenFiles.insert(v.file!) }
        }
    }

    /// setresuid(uid, uid, uid) (kernel/sys.c __sys_setresuid): the same uid is always
    /// allowed; another needs CAP_SETUID -> EPERM. Leaving uid 0 for a non-zero uid with
    /// every one of real, effective and saved uid clears the permitted and effective
    /// capability sets (security/commoncap.c cap_emulate_setxuid; SECBIT_KEEP_CAPS is
    /// never set here): CAP_IPC_LOCK, CAP_SYS_RESOURCE and CAP_SETUID go. RLIMIT_MEMLOCK
    /// and locked_vm (per mm, not per user) are unchanged.
    mutating func setuid(_ newUID: UInt32) -> Int32 {
        if newUID == uid { return 0 }
        if !capSetuid { return Err.EPERM }
        if uid == 0 && newUID != 0 {
            capIpcLock = false
            capSysResource = false
            capSetuid = false
        }
        uid = newUID
        return 0
    }

    /// do_exit() -> exit_mm() -> mmput() -> exit_mmap() (mm/mmap.c, 6.18): unmap_vmas()
    /// zaps every VMA, VM_LOCKED ones munlocking each present page on the way
    /// (zap_present_ptes -> folio_remove_rmap_ptes -> munlock_vma_folio). The mlock
    /// batch holds its own reference to each folio it queues (mlock_folio_batch), so a
    /// page is not freed before the batch's munlock has cleared PG_mlocked, even though
    /// 6.18's free_pages_and_swap_cache() no longer drains it: unevictable_pgs_cleared
    /// does not grow. Then the VMAs go; a shmem file (shared anon) whose last mapping this
    /// was is released with its pages. Before 5.18 exit_mmap first called
    /// munlock_vma_pages_all() on each VM_LOCKED VMA (try_to_munlock finds another
    /// locker through the rmap): the same pages end up munlocked, as unmapPTE's
    /// `.pre518` path computes. Page-cache pages of files stay cached.
    mutating func exitProcess() {
        if planted.contains(.exitSkipsMunlock) {
            for i in vmas.indices { vmas[i].flags.subtract(.lockedMask) }
        }
        while let v = vmas.last {
            unmapRange(v.start, v.end)
        }
        ptes = [:]
        pteTables = []
        hugeZero = []
        lockedVM = 0
        defFlags = []
        exited.insert(active)
        // The exited process's fds are closed; memfd pages still cached keep no lock.
    }
}
