// Files and special mappings: ftruncate, fallocate(PUNCH_HOLE), and the hugetlb fault.

extension KernelModel {
    /// ftruncate(): a missing object -> EBADF; secretmem takes its size once
    /// (secretmem_setattr: a size already set -> EINVAL). Shrinking runs
    /// truncate_pagecache(): unmap_mapping_range(holebegin, 0, even_cows = 1) -- every
    /// PTE at or past the new end in any mapping of the file, private COW copies
    /// included, each munlocked where its VMA is VM_LOCKED -- then the page cache past
    /// the end is dropped (truncate_inode_pages).
    mutating func truncate(slot: Int, pages: UInt64) -> Int32 {
        guard let oid = objectForSlot[slot], let obj = objects[oid] else { return Err.EBADF }
        if obj.kind == .secret { return Err.EINVAL }
        if pages < obj.pages {
            // Out of the page cache before the mlock batch runs (see punchHole); before
            // 6.14 the zap's TLB flush ran the batch while they were still in the cache
            // (munlockBatchOutlivesTLBFlush): a ramfs page stays unevictable, no rescue.
            let late = profile.munlockBatchOutlivesTLBFlush
            if late { for (index, fid) in obj.cache where index >= pages { folios[fid]?.file = nil } }
            for v in vmas where objectID(v.file) == oid {
                let end = v.index(of: v.start) >= pages ? v.start
                    : min(v.end, v.start + (pages - v.index(of: v.start)) * pageSize)
                for a in presentPTEs(end, v.end) { unmapPTE(at: a, vma: v) }
            }
            if !late { for (index, fid) in obj.cache where index >= pages { folios[fid]?.file = nil } }
            punchHole(.object(oid), pages, obj.pages - pages)
        }
        objects[oid]?.pages = pages
        return 0
    }

    /// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) over whole pages:
    /// vfs_fallocate(): len 0 -> EINVAL; no ->fallocate (secretmem, ramfs) ->
    /// EOPNOTSUPP; then shmem_fallocate / ext4_punch_hole: unmap_mapping_range(even_cows
    /// = 0) -- page-cache PTEs only, private COW copies stay -- and the cache of the
    /// hole is dropped (as MADV_REMOVE, see punchHole).
    mutating func fallocatePunchHole(slot: Int, firstPage: UInt64, pages: UInt64) -> Int32 {
        guard let oid = objectForSlot[slot], let obj = objects[oid] else { return Err.EBADF }
        if pages == 0 { return Err.EINVAL }
        if obj.kind == .secret || obj.kind == .ramfs { return Err.EOPNOTSUPP }
        let last = min(firstPage &+ pages, obj.pages)
        if firstPage < last { punchHole(.object(oid), firstPage, last - firstPage) }
        return 0
    }

    /// hugetlb_fault() -> hugetlb_no_page(): the first touch of a 2 MiB page maps all
    /// of it (one folio from the pool, never on an LRU; a private mapping gets an
    /// anon_vma). Read and write faults alike: hugetlb has no zero page.
    mutating func hugetlbFault(_ addr: UInt64, vmaIndex i: Int) {
        let base = addr & ~(hugePageSize - 1)
        if ptes[base] != nil { return }
        anonVmaPrepare(i)
        let v = vmas[i]
        let id = newID()
        var f = Folio(anon: true, file: nil, index: 0)
        f.hugetlb = true
        var a = max(base, v.start)
        while a < min(base + hugePageSize, v.end) {
            ptes[a] = .folio(id)
            f.maps.insert(a)
            a += pageSize
        }
        folios[id] = f
    }
}
