// msync (mm/msync.c).

extension KernelModel {
    /// SYSCALL msync(start, len, flags), in the kernel's order:
    /// - flags outside MS_ASYNC|MS_INVALIDATE|MS_SYNC -> EINVAL; an unaligned start ->
    ///   EINVAL; MS_ASYNC and MS_SYNC together -> EINVAL (flags 0 is valid);
    /// - len = PAGE_ALIGN(len) (64-bit wrapping: ULONG_MAX becomes 0); end < start ->
    ///   ENOMEM; end == start -> 0;
    /// - then find_vma(start) and a walk over the VMAs of [start, end): no VMA left ->
    ///   ENOMEM; a hole before the next VMA -> ENOMEM at once when flags == MS_ASYNC
    ///   exactly, and also when that VMA starts at or past end; otherwise the hole is
    ///   remembered (unmapped_error) and the walk goes on. A VMA with VM_LOCKED (also
    ///   with VM_LOCKONFAULT) under MS_INVALIDATE -> EBUSY, stopping the walk; VMAs
    ///   before it were already handled. MS_SYNC on a shared file VMA calls
    ///   vfs_fsync_range() on its part of the file (writeback of dirty pages; never an
    ///   error here: shmem's fsync is a no-op, regular files are on a local disk).
    /// - the result is the error, else ENOMEM if a hole was skipped, else 0.
    /// msync never changes a VMA, a PTE, a folio's mlock state or a counter: writeback
    /// only cleans folios, which decides what a later MADV_PAGEOUT drops (pageout).
    mutating func msync(start rawStart: UInt64, length: UInt64, flags: Int32) -> Int32 {
        if flags & ~(UAPI.MS_ASYNC | UAPI.MS_INVALIDATE | UAPI.MS_SYNC) != 0 { return Err.EINVAL }
        if offsetInPage(rawStart) != 0 { return Err.EINVAL }
        if flags & UAPI.MS_ASYNC != 0 && flags & UAPI.MS_SYNC != 0 { return Err.EINVAL }
        let len = pageAlign(length)
        let end = rawStart &+ len
        if end < rawStart { return Err.ENOMEM }
        if end == rawStart { return 0 }
        var start = rawStart
        var unmappedError: Int32 = 0
        while true {
            // find_vma(mm, start): the first VMA ending above start.
            guard let i = firstIndex(endAbove: start) else { return Err.ENOMEM }
            let v = vmas[i]
            if start < v.start {
                if flags == UAPI.MS_ASYNC { return Err.ENOMEM }
                start = v.start
                if start >= end { return Err.ENOMEM }
                unmappedError = Err.ENOMEM
            }
            if flags & UAPI.MS_INVALIDATE != 0 && v.flags.contains(.locked) { return Err.EBUSY }
            // MS_SYNC && vm_file && VM_SHARED: vfs_fsync_range(file, fstart, fend, 1)
            // writes a regular file's dirty folios of that part back: clean, and
            // folio_end_writeback clears PG_reclaim (shmem's fsync does nothing).
            if flags & UAPI.MS_SYNC != 0 && v.isShared, let oid = objectID(v.file), objects[oid]?.kind == .file {
                let first = v.index(of: start), last = v.index(of: min(end, v.end) - pageSize)
                for (idx, id) in objects[oid]!.cache where idx >= first && idx <= last {
                    folios[id]?.dirty = false
                    folios[id]?.reclaimMark = false
                }
            }
            start = v.end
            if start >= end { return unmappedError }
        }
    }
}
