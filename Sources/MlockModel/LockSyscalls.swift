// mlock, mlock2, munlock, mlockall, munlockall (mm/mlock.c).

extension KernelModel {
    /// do_mlock(): can_do_mlock() -> EPERM; len = PAGE_ALIGN(len + offset_in_page(start))
    /// and start rounded down, both in 64-bit wrapping arithmetic (len = ULONG_MAX wraps
    /// to 0 and locks nothing); the RLIMIT_MEMLOCK check counts pages of the range that
    /// are already VM_LOCKED only once (count_mm_mlocked_page_nr) -> ENOMEM;
    /// apply_vma_lock_flags(); then __mm_populate() whose errors become ENOMEM (EFAULT)
    /// or EAGAIN (ENOMEM) (__mlock_posix_error_return).
    mutating func doMlock(start rawStart: UInt64, length: UInt64, flags: VMFlags) -> Int32 {
        if !canDoMlock { return Err.EPERM }
        let len = pageAlign(length &+ offsetInPage(rawStart))
        let start = pageDown(rawStart)
        let limit = lockLimitPages
        var locked = (len >> pageShift) &+ lockedVM
        if locked > limit && !capIpcLock {
            locked = locked &- countMlockedPageNr(start, len)
        }
        guard locked <= limit || capIpcLock else { return Err.ENOMEM }
        let err = applyVmaLockFlags(start, len, flags)
        if err != 0 { return err }
        let perr = mmPopulate(start, len, ignoreErrors: false)
        switch perr {
        case 0: return 0
        case Err.EFAULT: return Err.ENOMEM
        case Err.ENOMEM: return Err.EAGAIN
        default: return perr
        }
    }

    /// SYSCALL munlock: same rounding as mlock, no permission or limit checks, no populate.
    mutating func munlock(start rawStart: UInt64, length: UInt64) -> Int32 {
        let len = pageAlign(length &+ offsetInPage(rawStart))
        return applyVmaLockFlags(pageDown(rawStart), len, [])
    }

    /// count_mm_mlocked_page_nr(): pages of [start, start+len) inside VM_LOCKED VMAs
    /// (the end clamped to ULONG_MAX), with the kernel's unsigned arithmetic.
    func countMlockedPageNr(_ start: UInt64, _ len: UInt64) -> UInt64 {
        let end: UInt64 = UInt64.max - len < start ? UInt64.max : start + len
        var count: UInt64 = 0
        var i = firstIndex(endAbove: start) ?? vmas.count
        while i < vmas.count && vmas[i].start < end {
            let v = vmas[i]
            if v.flags.contains(.locked) {
                if start > v.start { count = count &- (start - v.start) }
                if end < v.end {
                    count = count &+ (end - v.start)
                    break
                }
                count = count &+ (v.end - v.start)
            }
            i += 1
        }
        return count >> pageShift
    }

    /// apply_vma_lock_flags(): end < start -> EINVAL; end == start -> 0; start in a hole
    /// -> ENOMEM with nothing changed; each VMA piece of the range gets
    /// (flags & ~VM_LOCKED_MASK) | `lockFlags` through mlock_fixup(); a hole after the
    /// first VMA -> ENOMEM, the VMAs before it already changed.
    mutating func applyVmaLockFlags(_ start: UInt64, _ len: UInt64, _ lockFlags: VMFlags) -> Int32 {
        let end = start &+ len
        if end < start { return Err.EINVAL }
        if end == start { return 0 }
        guard let first = indexContaining(start) else { return Err.ENOMEM }
        var tmp = vmas[first].start
        var nstart = start
        while let i = firstIndex(endAbove: nstart), vmas[i].start < end {
            if vmas[i].start != tmp { return Err.ENOMEM }
            let pieceEnd = min(vmas[i].end, end)
            let newFlags = vmas[i].flags.subtracting(.lockedMask).union(lockFlags)
            let j = mlockFixup(i, nstart, pieceEnd, newFlags)
            tmp = vmas[j].end      // vma_iter_end() after a possible merge
            nstart = tmp
        }
        if tmp < end { return Err.ENOMEM }
        return 0
    }

    /// mlock_fixup(): nothing for unchanged flags, secretmem, VM_SPECIAL, VM_DROPPABLE or VM_HUGETLB VMAs (never
    /// VM_LOCKED, not counted: `!vma_supports_mlock()`; mlock/mlock2 still return 0 and
    /// then populate the range, mlockall(MCL_CURRENT) too); otherwise vma_modify_flags()
    /// splits/merges, locked_vm changes by the piece's size (+ on unlocked->locked, - on
    /// ->unlocked, 0 on locked->locked, e.g. ONFAULT<->full), and unless the VMA was and
    /// stays VM_LOCKED ("mlocking twice would be wrong") mlock_vma_pages_range() walks the
    /// present pages: mlock_folio() when locking, munlock_folio() when unlocking. The zero
    /// page is skipped (vm_normal_folio). Returns the index of the VMA covering `start`.
    @discardableResult
    mutating func mlockFixup(_ i: Int, _ start: UInt64, _ end: UInt64, _ newFlags: VMFlags) -> Int {
        let old = vmas[i].flags
        if newFlags == old || old.contains(.special) || old.contains(.droppable) || old.contains(.hugetlb) { return i }
        // vma_is_secretmem(): "don't allow the memory to be unlocked" -- munlock and
        // munlockall leave a memfd_secret VMA VM_LOCKED and counted.
        if object(vmas[i].file)?.kind == .secret { return i }
        let j = modifyFlags(i, start, end, newFlags)
        let pages = (end - start) >> pageShift
        if !newFlags.contains(.locked) {
            lockedVM -= pages
        } else if !old.contains(.locked) {
            lockedVM += pages
        }
        if newFlags.contains(.locked) && old.contains(.locked) { return j }
        // mlock_vma_pages_range(): lru_add_drain(); walk_page_range(); lru_add_drain().
        mlockWalk(indexContaining(start) ?? j, start, end, lock: newFlags.contains(.locked))
        return indexContaining(start) ?? j
    }

    /// SYSCALL mlockall: flags 0, unknown bits, or MCL_ONFAULT alone -> EINVAL;
    /// can_do_mlock() -> EPERM; MCL_CURRENT with total_vm (every VMA, not locked_vm) over
    /// the limit without CAP_IPC_LOCK -> ENOMEM; then apply_mlockall_flags() and, for
    /// MCL_CURRENT, mm_populate(0, TASK_SIZE) ignoring errors.
    mutating func mlockall(flags: Int32) -> Int32 {
        let known = UAPI.MCL_CURRENT | UAPI.MCL_FUTURE | UAPI.MCL_ONFAULT
        if flags == 0 || flags & ~known != 0 || flags == UAPI.MCL_ONFAULT { return Err.EINVAL }
        if !canDoMlock { return Err.EPERM }
        if flags & UAPI.MCL_CURRENT != 0 && totalVMPages > lockLimitPages && !capIpcLock { return Err.ENOMEM }
        applyMlockallFlags(flags)
        if flags & UAPI.MCL_CURRENT != 0 { _ = mmPopulate(0, taskSize, ignoreErrors: true) }
        return 0
    }

    /// apply_mlockall_flags(): def_flags loses VM_LOCKED_MASK, regains VM_LOCKED (and
    /// VM_LOCKONFAULT with MCL_ONFAULT) for MCL_FUTURE; MCL_FUTURE alone stops there.
    /// Otherwise every VMA goes through mlock_fixup() with VM_LOCKED(|VM_LOCKONFAULT)
    /// for MCL_CURRENT, or with no lock flags (munlockall, flags 0).
    mutating func applyMlockallFlags(_ flags: Int32) {
        defFlags = []
        if flags & UAPI.MCL_FUTURE != 0 {
            defFlags.insert(.locked)
            if flags & UAPI.MCL_ONFAULT != 0 { defFlags.insert(.lockOnFault) }
            if flags & UAPI.MCL_CURRENT == 0 { return }
        }
        var toAdd: VMFlags = []
        if flags & UAPI.MCL_CURRENT != 0 {
            toAdd.insert(.locked)
            if flags & UAPI.MCL_ONFAULT != 0 { toAdd.insert(.lockOnFault) }
        }
        var cursor: UInt64 = 0
        while let i = firstIndex(endAbove: cursor) {
            let v = vmas[i]
            let start = max(v.start, cursor)
            let newFlags = v.flags.subtracting(.lockedMask).union(toAdd)
            let j = mlockFixup(i, start, v.end, newFlags)
            cursor = vmas[j].end
        }
    }
}
