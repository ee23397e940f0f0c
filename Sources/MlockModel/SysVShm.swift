// SysV shared memory (ipc/shm.c) and SHM_LOCK (mm/shmem.c shmem_lock, mm/mlock.c
// user_shm_lock): a segment is a shmem file; SHM_LOCK makes its mapping unevictable,
// which is not mlock: no VM_LOCKED, no locked_vm, no PG_mlocked. Pages that enter the
// page cache of a locked segment go straight to the unevictable list (Unevictable +1,
// unevictable_pgs_culled +1); pages already cached stay where they are until reclaim
// scans them (nothing moves at SHM_LOCK time); SHM_UNLOCK rescues every unevictable,
// not mlocked page of the segment at once (shmem_unlock_mapping).

/// One SysV segment of the model.
struct SysVSegment: Sendable {
    /// Its shmem file (BackingObject of kind .sysv).
    var object: Int
    /// Size in pages (shmget's size rounded up).
    var pages: UInt64
    /// shm_perm.uid and cuid: the uid that created it.
    var owner: UInt32
    /// SHM_LOCKED, and the uid whose ucounts carry the charge (shp->mlock_ucounts).
    var lockedBy: UInt32?
    /// IPC_RMID was called (SHM_DEST): destroyed at the last detach.
    var removed = false
}

extension KernelModel {
    /// The suite's segment numbers (the runner turns each into one of its keys).
    public static let sysvSegments = 16

    /// ksys_shmget(key, size, IPC_CREAT|IPC_EXCL|0600) -> newseg(): a key in use ->
    /// EEXIST; size < SHMMIN (1 byte) -> EINVAL. A segment whose key was made private by
    /// IPC_RMID no longer holds the key. On success the shmid, which the model cannot
    /// know: it predicts 0.
    mutating func shmget(segment n: Int, pages: UInt64) -> OpResult {
        if n < 0 || n >= Self.sysvSegments { return .fail(Err.EINVAL) }
        if let old = segmentForNumber[n], let s = sysv[old], !s.removed { return .fail(Err.EEXIST) }
        if pages == 0 { return .fail(Err.EINVAL) }
        let id = newID()
        objects[id] = BackingObject(kind: .sysv, pages: pages)
        sysv[id] = SysVSegment(object: id, pages: pages, owner: uid)
        segmentForNumber[n] = id
        return .ok
    }

    /// do_shmat(): an unknown or destroyed shmid -> EINVAL; no permission (0600, not the
    /// owner and no CAP_IPC_OWNER) -> EACCES; an address not SHMLBA (page) aligned ->
    /// EINVAL; without SHM_REMAP an address range overlapping a VMA -> EINVAL; then
    /// do_mmap(MAP_SHARED|MAP_FIXED) of a new struct file for this attach, with the
    /// mm's def_flags (MCL_FUTURE: VM_LOCKED, mlock_future_ok -> EAGAIN, populated).
    mutating func shmat(segment n: Int, addr: UInt64, readOnly: Bool) -> OpResult {
        guard let oid = segmentForNumber[n], let seg = sysv[oid] else { return .fail(Err.EINVAL) }
        if seg.owner != uid && !capIpcOwner { return .fail(Err.EACCES) }
        if offsetInPage(addr) != 0 { return .fail(Err.EINVAL) }
        let len = seg.pages << pageShift
        if addr &+ len < addr || intersects(addr, addr + len) { return .fail(Err.EINVAL) }
        var flags: VMFlags = readOnly ? [.read, .shared] : [.read, .write, .shared]
        flags.formUnion(defFlags)
        if !mlockFutureOK(locked: flags.contains(.locked), bytes: len) { return .fail(Err.EAGAIN) }
        insertVMA(VMA(start: addr, end: addr + len, flags: flags, file: .shm(object: oid, attach: newID()),
                      pgoff: 0, anonVma: nil))
        if flags.contains(.locked) {
            lockedVM += seg.pages
            _ = mmPopulate(addr, len, ignoreErrors: true)
        }
        return OpResult(ret: Int64(bitPattern: addr), errno: 0)
    }

    /// ksys_shmdt(): addr not page aligned -> EINVAL; from find_vma(addr) on, the first
    /// shm VMA that starts `vm_pgoff` pages after addr is unmapped, then every later VMA
    /// of the same attach within the segment's size from addr; none found -> EINVAL.
    mutating func shmdt(addr: UInt64) -> Int32 {
        if offsetInPage(addr) != 0 { return Err.EINVAL }
        var found: (FileRef, UInt64)?
        for v in vmas where v.end > addr {
            guard case let .shm(oid, _)? = v.file else { continue }
            if v.start >= addr && (v.start - addr) >> pageShift == v.pgoff {
                found = (v.file!, (sysv[oid]?.pages ?? 0) << pageShift)
                break
            }
        }
        guard let (file, size) = found else { return Err.EINVAL }
        let targets = vmas.filter {
            $0.file == file && $0.start >= addr && ($0.start - addr) >> pageShift == $0.pgoff && $0.end - addr <= size
        }
        for v in targets { unmapRange(v.start, v.end) }
        return 0
    }

    /// shmctl(SHM_LOCK / SHM_UNLOCK / IPC_RMID).
    /// - shmctl_do_lock(): unknown shmid -> EINVAL; without CAP_IPC_LOCK: not the owner
    ///   or creator -> EPERM, and SHM_LOCK with RLIMIT_MEMLOCK 0 -> EPERM. SHM_LOCK ->
    ///   shmem_lock(1): once per segment, user_shm_lock(i_size) adds its pages to the
    ///   uid's UCOUNT_RLIMIT_MEMLOCK and fails (ENOMEM) over RLIMIT_MEMLOCK without
    ///   CAP_IPC_LOCK (unlimited: never); then mapping_set_unevictable. SHM_UNLOCK of a
    ///   locked segment: the charge goes, mapping_clear_unevictable, then
    ///   shmem_unlock_mapping() -> check_move_unevictable_folios() rescues every cached
    ///   folio that is unevictable and now evictable (not mlocked). SHM_UNLOCK of an
    ///   unlocked segment does nothing.
    /// - IPC_RMID (shmctl_down): not the owner/creator and no CAP_SYS_ADMIN -> EPERM;
    ///   do_shm_rmid(): destroyed now if nothing attaches it, else SHM_DEST.
    mutating func shmctl(segment n: Int, command: ShmCommand) -> Int32 {
        guard let oid = segmentForNumber[n], var seg = sysv[oid] else { return Err.EINVAL }
        switch command {
        case .remove:
            if seg.owner != uid && uid != 0 { return Err.EPERM }
            seg.removed = true
            sysv[oid] = seg
            destroySegmentIfDetached(oid)
            return 0
        case .lock, .unlock:
            if !capIpcLock {
                if seg.owner != uid { return Err.EPERM }
                if command == .lock && memlockSoft == 0 { return Err.EPERM }
            }
            if command == .lock {
                if seg.lockedBy == nil {
                    let charged = (shmLockedPages[uid] ?? 0) + seg.pages
                    if memlockSoft != UAPI.RLIM_INFINITY && charged > lockLimitPages && !capIpcLock { return Err.ENOMEM }
                    shmLockedPages[uid] = charged
                    seg.lockedBy = uid
                    objects[oid]?.unevictable = true
                }
                sysv[oid] = seg
                return 0
            }
            guard let by = seg.lockedBy else { return 0 }
            shmLockedPages[by] = (shmLockedPages[by] ?? 0) - seg.pages
            seg.lockedBy = nil
            sysv[oid] = seg
            objects[oid]?.unevictable = false
            rescueEvictable(oid)
            return 0
        }
    }

    /// check_move_unevictable_folios() over an object's page cache (cache order):
    /// a folio on the unevictable list that is now evictable moves back
    /// (unevictable_pgs_rescued, NR_UNEVICTABLE -1).
    mutating func rescueEvictable(_ oid: Int) {
        guard let obj = objects[oid] else { return }
        for (_, fid) in obj.cache {
            guard var f = folios[fid], f.unevictable, !f.mlocked, !mappingUnevictable(f) else { continue }
            f.unevictable = false
            f.mlockCount = 0
            folios[fid] = f
            counters.unevictable -= 1
            counters.pgRescued += 1
        }
    }

    /// shm_close() -> shm_may_destroy(): a segment marked SHM_DEST with no attach left
    /// (here, or in a frozen parent) is destroyed: shm_destroy() -> shmem_lock(0) (charge
    /// and AS_UNEVICTABLE go, nothing is rescued), then the file's last fput truncates
    /// its page cache: the folios are freed, an unevictable one leaving the unevictable
    /// list without any event. The munlocks of a locked attach's pages are applied after
    /// AS_UNEVICTABLE is cleared (see unmapRange), so those pages were rescued first.
    mutating func destroySegmentIfDetached(_ oid: Int) {
        guard let seg = sysv[oid], seg.removed else { return }
        let attached = vmas.contains { if case .shm(oid, _)? = $0.file { return true }; return false }
            || frozenFiles.contains { if case .shm(oid, _) = $0 { return true }; return false }
        if attached { return }
        if let by = seg.lockedBy { shmLockedPages[by] = (shmLockedPages[by] ?? 0) - seg.pages }
        objects[oid]?.unevictable = false
        for (_, fid) in objects[oid]?.cache ?? [:] {
            if let f = folios[fid], f.unmapped { freeFolio(fid) }
        }
        objects[oid] = nil
        sysv[oid] = nil
    }

    /// Removed segments whose every attach lies inside [start, end): unmapping the
    /// range destroys them.
    func segmentsDestroyedByUnmap(_ start: UInt64, _ end: UInt64) -> [Int] {
        var out: [Int] = []
        for (oid, seg) in sysv where seg.removed {
            if frozenFiles.contains(where: { if case .shm(oid, _) = $0 { return true }; return false }) { continue }
            let attaches = vmas.filter { if case .shm(oid, _)? = $0.file { return true }; return false }
            if !attaches.isEmpty && attaches.allSatisfy({ $0.start >= start && $0.end <= end }) { out.append(oid) }
        }
        return out
    }

    /// CAP_IPC_OWNER (ipcperms): root's, gone with the rest once setuid leaves uid 0.
    var capIpcOwner: Bool { uid == 0 }
}
