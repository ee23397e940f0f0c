// mmap, munmap, mprotect and touch.

extension KernelModel {
    // MARK: - mmap (mm/mmap.c do_mmap, mm/vma.c __mmap_region)

    mutating func mmap(addr: UInt64, length: UInt64, prot: Prot, backing: Backing, flags: MapFlags) -> OpResult {
        // do_mmap: len 0 -> EINVAL; PAGE_ALIGN(len) wrapping to 0 -> ENOMEM.
        if length == 0 { return .fail(Err.EINVAL) }
        // ksys_mmap_pgoff: MAP_HUGETLB rounds the length up to the huge page size.
        let len = flags.contains(.hugetlb) ? (length &+ (hugePageSize - 1)) & ~(hugePageSize - 1) : pageAlign(length)
        if len == 0 { return .fail(Err.ENOMEM) }
        // __get_unmapped_area (MAP_FIXED_NOREPLACE implies MAP_FIXED): too long or past
        // TASK_SIZE -> ENOMEM; then an unaligned address -> EINVAL.
        if len > taskSize || addr > taskSize - len { return .fail(Err.ENOMEM) }
        if offsetInPage(addr) != 0 { return .fail(Err.EINVAL) }
        // MAP_FIXED_NOREPLACE: any overlap -> EEXIST.
        if intersects(addr, addr + len) { return .fail(Err.EEXIST) }
        // MAP_LOCKED needs can_do_mlock() -> EPERM.
        if flags.contains(.locked) && !canDoMlock { return .fail(Err.EPERM) }
        // vm_flags = prot | MAP_LOCKED->VM_LOCKED | mm->def_flags (MCL_FUTURE).
        var vmFlags = VMFlags(prot: prot)
        if flags.contains(.locked) { vmFlags.insert(.locked) }
        vmFlags.formUnion(defFlags)
        // mlock_future_ok(): VM_LOCKED over RLIMIT_MEMLOCK without CAP_IPC_LOCK -> EAGAIN.
        if !mlockFutureOK(locked: vmFlags.contains(.locked), bytes: len) { return .fail(Err.EAGAIN) }

        var file: FileRef? = nil
        var pgoff = addr >> pageShift              // private anon: pgoff = addr >> PAGE_SHIFT
        // MAP_DROPPABLE is a mapping type (0x08 in place of MAP_PRIVATE): with MAP_SHARED or
        // a file the type is unknown -> EINVAL; do_mmap's MAP_DROPPABLE case (VM_DROPPABLE
        // exists on 64-bit): MAP_LOCKED -> EINVAL; VM_DROPPABLE | VM_NORESERVE |
        // VM_WIPEONFORK | VM_DONTDUMP, then as MAP_PRIVATE. VM_LOCKED from def_flags
        // (MCL_FUTURE) stays in vm_flags for mlock_future_ok above and for the populate
        // decision below.
        // TODO(profile): MAP_DROPPABLE needs 6.11+ (older kernels: EINVAL, unknown type).
        if flags.contains(.droppable) {
            guard case .privateAnon = backing, !flags.contains(.locked) else {
                if case let .object(slot, _, _) = backing, objectForSlot[slot] == nil { return .fail(Err.EBADF) }
                return .fail(Err.EINVAL)
            }
            vmFlags.formUnion([.droppable, .noreserve, .wipeOnFork, .dontDump])
        }
        // MAP_GROWSDOWN -> VM_GROWSDOWN (calc_vm_flag_bits); do_mmap's MAP_TYPE switch then
        // refuses VM_GROWSDOWN|VM_GROWSUP with a file (MAP_SHARED and MAP_PRIVATE alike),
        // with MAP_SHARED|MAP_ANONYMOUS and with MAP_DROPPABLE -> EINVAL, after the
        // EEXIST/EPERM/EAGAIN checks above. A missing object is EBADF first (fget).
        if flags.contains(.growsdown) {
            guard case .privateAnon = backing, !flags.contains(.droppable) else {
                if case let .object(slot, _, _) = backing, objectForSlot[slot] == nil { return .fail(Err.EBADF) }
                return .fail(Err.EINVAL)
            }
            vmFlags.insert(.growsDown)
        }
        // MAP_HUGETLB: hugetlb_file_setup() gives the mapping a hugetlbfs file; a fixed
        // address must be huge-page aligned (hugetlb_get_unmapped_area) -> EINVAL.
        // hugetlbfs_file_mmap adds VM_HUGETLB | VM_DONTEXPAND. Scenarios use it on private
        // anonymous memory only, with the pool holding enough free huge pages.
        if flags.contains(.hugetlb) {
            guard case .privateAnon = backing, !flags.contains(.droppable), !flags.contains(.growsdown) else {
                return .fail(Err.EINVAL)
            }
            if addr % hugePageSize != 0 { return .fail(Err.EINVAL) }
            vmFlags.insert(.hugetlb)
        }
        // do_mmap decides on populate from its own vm_flags, before f_op->mmap adds any.
        let populateFlags = vmFlags
        switch backing {
        case .privateAnon:
            break
        case .sharedAnon:
            vmFlags.insert(.shared)                // shmem_zero_setup: a new shmem file
            let id = newID()
            objects[id] = BackingObject(kind: .sharedAnon, pages: len >> pageShift)
            file = .sharedAnon(id)
            pgoff = 0
        case let .object(slot, shared, pageOffset):
            guard let id = objectForSlot[slot] else { return .fail(Err.EBADF) }
            if shared { vmFlags.insert(.shared) }
            file = .object(id)
            pgoff = pageOffset
            if objects[id]?.kind == .secret {
                // secretmem_mmap_prepare(): MAP_SHARED only -> EINVAL; mlock_future_ok()
                // with VM_LOCKED -> EAGAIN; then VM_LOCKED | VM_DONTDUMP on the VMA (but
                // not in do_mmap's vm_flags: no populate unless asked for). Since "properly
                // account locked pages" only VM_DONTDUMP: the pages are charged at fault.
                if !shared { return .fail(Err.EINVAL) }
                if facts.secretmemChargesUserOnFault {
                    vmFlags.insert(.dontDump)
                } else {
                    if !mlockFutureOK(locked: true, bytes: len) { return .fail(Err.EAGAIN) }
                    vmFlags.formUnion([.locked, .dontDump])
                }
            }
        }
        // MAP_NORESERVE -> VM_NORESERVE (overcommit heuristic mode); accountable_mapping():
        // private writable mappings without VM_NORESERVE get VM_ACCOUNT.
        if flags.contains(.noreserve) { vmFlags.insert(.noreserve) }
        if vmFlags.intersection([.noreserve, .shared, .write]) == .write { vmFlags.insert(.account) }

        // __mmap_region: merge with a compatible neighbour, else a new VMA.
        let v = VMA(start: addr, end: addr + len, flags: vmFlags, file: file, pgoff: pgoff, anonVma: nil)
        let j = insertVMA(v)
        // __mmap_complete: locked_vm += pages of a VM_LOCKED mapping that supports mlock;
        // one that does not (vma_supports_mlock(): VM_DROPPABLE here) loses VM_LOCKED_MASK
        // after the merge attempt, so it stays a VMA of its own.
        // TODO(profile): before d239462787b0 ("mm: prevent droppable mappings from being
        // locked", 2026, in 6.18.y stable) __mmap_complete missed VM_DROPPABLE: under
        // MCL_FUTURE a droppable mapping kept VM_LOCKED, counted in locked_vm for good.
        // Narrowed for 6.12.y: stable 6.12.86 has it (Debian changelog 6.12.86-1; the
        // 6.12.113 source's vma_supports_mlock() tests VM_DROPPABLE), so every Debian 6.12
        // the VM runs (6.12.100+) follows this rule; 6.11-6.12.85 and unpatched 6.13-6.17
        // do not (MAP_DROPPABLE is 6.11+, so 6.1 never reaches here).
        if vmFlags.contains(.locked) {
            if vmFlags.contains(.droppable) || vmFlags.contains(.hugetlb) {
                vmas[j].flags.subtract(.lockedMask)
            } else {
                lockedVM += len >> pageShift
            }
        }
        // do_mmap -> vm_mmap_pgoff: populate when VM_LOCKED (do_mmap's vm_flags, even when
        // the VMA lost it) or MAP_POPULATE, ignoring errors (mm_populate);
        // populate_vma_page_range skips VM_LOCKONFAULT VMAs.
        if populateFlags.contains(.locked) || flags.contains(.populate) {
            _ = mmPopulate(addr, len, ignoreErrors: true)
        }
        return OpResult(ret: Int64(bitPattern: addr), errno: 0)
    }

    // MARK: - munmap (mm/vma.c do_vmi_munmap)

    mutating func munmapSyscall(addr: UInt64, length: UInt64) -> Int32 {
        // Unaligned start, start past TASK_SIZE, len > TASK_SIZE - start -> EINVAL;
        // PAGE_ALIGN(len) == 0 -> EINVAL. Holes are fine.
        if offsetInPage(addr) != 0 || addr > taskSize || length > taskSize - addr { return Err.EINVAL }
        let end = addr + pageAlign(length)
        if end == addr { return Err.EINVAL }
        unmapRange(addr, end)
        return 0
    }

    /// Unmaps [start, end): zap the pages (munlocking those of VM_LOCKED VMAs), split
    /// the edge VMAs, drop the rest; locked_vm -= pages of VM_LOCKED parts removed
    /// (vms_gather_munmap_vmas / vms_complete_munmap_vmas).
    mutating func unmapRange(_ start: UInt64, _ end: UInt64) {
        guard intersects(start, end) else { return }
        // The munlocks of the zap sit in the per-CPU mlock batch until the next
        // lru_add_drain (the folio-batch free_pages_and_swap_cache() no longer drains at
        // TLB flush), so they run after remove_vma -> shm_close -> shm_destroy has cleared
        // AS_UNEVICTABLE: the pages of the last attach of a removed SHM_LOCKed segment
        // are rescued (unevictable_pgs_rescued) before they are freed.
        // Before 6.14 the flush drained them first: munlocked while still SHM_LOCKed,
        // they stay unevictable until freed (munlockBatchOutlivesTLBFlush).
        if profile.munlockBatchOutlivesTLBFlush {
            for oid in segmentsDestroyedByUnmap(start, end) { objects[oid]?.unevictable = false }
        }
        zap(start, end)
        splitAround(start, end)
        var i = firstIndex(endAbove: start) ?? vmas.count
        var closedSegments: [Int] = []
        while i < vmas.count && vmas[i].start < end {
            let v = vmas[i]
            if v.flags.contains(.locked) { lockedVM -= v.pages }
            if case let .shm(oid, _)? = v.file { closedSegments.append(oid) }
            if case let .sharedAnon(id)? = v.file, !frozenFiles.contains(v.file!),
               !vmas.contains(where: { $0.file == v.file && $0.start != v.start }) {
                dropSharedAnonObject(id)
            }
            vmas.remove(at: i)
            i = firstIndex(endAbove: start) ?? vmas.count
        }
        // shm_close() of each SysV VMA removed: the last detach of a removed segment
        // destroys it.
        for oid in closedSegments { destroySegmentIfDetached(oid) }
        dropUnusedPageTables()
    }

    /// The last VMA of a MAP_SHARED|MAP_ANONYMOUS mapping is gone: its shmem file is
    /// released and its page cache freed.
    mutating func dropSharedAnonObject(_ id: Int) {
        guard let obj = objects[id] else { return }
        for (_, fid) in obj.cache {
            if let f = folios[fid], f.unmapped { freeFolio(fid) }
        }
        objects[id] = nil
    }

    // MARK: - mprotect (mm/mprotect.c do_mprotect_pkey, mprotect_fixup)

    mutating func mprotect(start: UInt64, length: UInt64, prot: Prot) -> Int32 {
        if offsetInPage(start) != 0 { return Err.EINVAL }
        if length == 0 { return 0 }
        let len = pageAlign(length)
        let end = start &+ len
        if end <= start { return Err.ENOMEM }
        if prot.rawValue & ~Int32(7) != 0 { return Err.EINVAL }   // arch_validate_prot
        // The first VMA must contain start -> ENOMEM. PROT_GROWSDOWN (which would extend a
        // grows-down VMA downwards) is not modelled: arch_validate_prot above refuses it.
        guard let first = firstIndex(endAbove: start), vmas[first].start < end else { return Err.ENOMEM }
        if vmas[first].start > start { return Err.ENOMEM }
        var tmp = vmas[first].start
        var nstart = start
        while let i = firstIndex(endAbove: nstart), vmas[i].start < end {
            // A hole after VMAs already changed -> ENOMEM, the changes stay.
            if vmas[i].start != tmp { return Err.ENOMEM }
            let pieceEnd = min(vmas[i].end, end)
            // newflags: the requested rwx replace the old ones, the rest is kept.
            let newFlags = vmas[i].flags.subtracting(.access).union(VMFlags(prot: prot))
            let j = mprotectFixup(i, nstart, pieceEnd, newFlags)
            tmp = vmas[j].end
            nstart = tmp
        }
        if tmp < end { return Err.ENOMEM }
        return 0
    }

    /// mprotect_fixup(): VM_ACCOUNT is charged when a private mapping first becomes
    /// writable and dropped from an anonymous VMA made read-only before it has an
    /// anon_vma; then vma_modify_flags splits/merges. A private VM_LOCKED VMA becoming
    /// writable is populated (populate_vma_page_range) to break COW, so zero pages and
    /// page-cache pages get private copies, and absent pages are faulted in.
    /// Returns the index of the VMA now covering `start`.
    mutating func mprotectFixup(_ i: Int, _ start: UInt64, _ end: UInt64, _ requested: VMFlags) -> Int {
        let old = vmas[i].flags
        var newFlags = requested
        if newFlags == old { return i }
        if newFlags.contains(.write) {
            if old.intersection([.account, .write, .shared, .noreserve]).isEmpty { newFlags.insert(.account) }
        } else if old.contains(.account) && vmas[i].isPrivateAnon && vmas[i].anonVma == nil {
            newFlags.remove(.account)
        }
        let j = modifyFlags(i, start, end, newFlags)
        if old.intersection([.write, .shared, .locked]) == .locked && newFlags.contains(.write) {
            _ = populateVMARange(j, start, end)
        }
        return indexContaining(start) ?? j
    }

    // MARK: - touch (the agent's loop)

    /// The agent touches `(length + 4095) / 4096` pages (64-bit wrapping) at addr, addr+4096, ... with
    /// `(void)*p` (read) or `*p = *p` (write: a load, then a store). The load of an
    /// absent page takes a read fault first -- mapping the zero page, or a file/shmem
    /// page with fault-around -- even when the store then fails. Any SIGSEGV (no VMA,
    /// PROT_NONE, a store to a VMA without PROT_WRITE) or SIGBUS (beyond the end of the
    /// file) stops the loop: -1 EFAULT, with the pages before it touched. Otherwise the
    /// result is the number of pages touched.
    mutating func touch(addr: UInt64, length: UInt64, write: Bool) -> OpResult {
        // lockstep-agent op_touch: pages = (len + page_size - 1) / page_size, in uint64_t.
        let count = (length &+ (pageSize - 1)) / pageSize
        var touched: Int64 = 0
        var k: UInt64 = 0
        while k < count {
            let a = pageDown(addr &+ k &* pageSize)
            guard let i = indexContaining(a) else { return .fail(Err.EFAULT) }
            let v = vmas[i]
            // x86 access_error(): a load needs any of VM_READ|VM_WRITE|VM_EXEC.
            if !v.flags.accessible { return .fail(Err.EFAULT) }
            if v.isForeign { return .fail(Err.EFAULT) }   // not modelled: scenarios touch the arena
            if ptes[a] == nil, fault(a, vmaIndex: i, write: false, populate: false) == .sigbus {
                return .fail(Err.EFAULT)
            }
            if write {
                if !v.flags.contains(.write) { return .fail(Err.EFAULT) }
                if writeToReadOnlyFilePMD(a, vmaIndex: i) { touched += 1; k += 1; continue }
                if needsFault(a, write: true), let j = indexContaining(a),
                   fault(a, vmaIndex: j, write: true, populate: false) == .sigbus {
                    return .fail(Err.EFAULT)
                }
                markWritten(a)
            }
            touched += 1
            k += 1
        }
        return OpResult(ret: touched, errno: 0)
    }
}
