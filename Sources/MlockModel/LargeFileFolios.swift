// Large shmem and page-cache folios: shmem THPs (shmem_enabled, per-size shmem_enabled
// for anonymous shmem) and PMD-sized page-cache folios read ahead for VM_HUGEPAGE file
// VMAs; how a fault maps them (one PMD, or PTEs), how a PMD split treats them, and when
// the rmap mlocks them. See ModelNotes.swift "LARGE FILE FOLIOS" for the sources.

extension KernelModel {
    // MARK: - which folio a fault allocates

    /// Whether shmem_get_folio_gfp() allocates a PMD-sized folio for `index` of the shmem
    /// object `obj` faulted through VMA `v` (6.18 shmem_allowable_huge_orders):
    ///  - memfd, SysV (the internal mount, not anonymous shmem): the mount's huge option,
    ///    which follows shmem_enabled (shmem_enabled_store); deny none, force always;
    ///  - anonymous shmem: the per-size hugepages-2048kB/shmem_enabled: always, advise
    ///    with VM_HUGEPAGE, inherit when the top level allows; deny none, force inherit.
    /// always: yes; advise: VM_HUGEPAGE; within_size: the folio ends by i_size
    /// (shmem_get_orders_within_size). Then shmem_suitable_orders(): the aligned range
    /// lies in the VMA with a matching pgoff (thp_vma_suitable_order) and no page of it
    /// is cached yet (xa_find). A folio reaching past i_size is not predicted (TODO).
    func shmemAllocatesPMDFolio(_ v: VMA, _ obj: BackingObject, index: UInt64, addr: UInt64) -> Bool {
        guard obj.kind == .memfd || obj.kind == .sharedAnon || obj.kind == .sysv else { return false }
        guard !v.flags.contains(.noHugepage) else { return false }
        let nr = UInt64(1) << UInt64(pmdOrder)
        let first = index & ~(nr - 1)
        guard first + nr <= obj.pages else { return false }
        func allows(_ m: ShmemHuge) -> Bool {
            switch m {
            case .always, .force: return true
            case .withinSize: return first + nr <= obj.pages
            case .advise: return v.flags.contains(.hugepage)
            case .never, .deny, .inherit: return false
            }
        }
        let top = thp.shmemEnabled
        if top == .deny { return false }
        let allowed: Bool
        if obj.kind == .sharedAnon {
            if top == .force { allowed = thp.shmemPMD == .inherit }
            else if thp.shmemPMD == .inherit { allowed = allows(top) }
            else { allowed = allows(thp.shmemPMD) }
        } else {
            allowed = allows(top)
        }
        guard allowed, suitable(v, addr, order: pmdOrder) else { return false }
        return !(first..<(first + nr)).contains { obj.cache[$0] != nil }
    }

    /// A new large page-cache/shmem folio of `order` over [first, first + 2^order) of the
    /// object (every index of it names the folio in the cache).
    mutating func cacheLargeFolio(_ ref: FileRef, first: UInt64, order: Int) -> Int {
        let oid = objectID(ref)!
        let id = newID()
        var f = Folio(anon: false, file: ref, index: first)
        f.order = order
        f.node = allocationNode(nil)
        folios[id] = f
        for k in 0..<(UInt64(1) << UInt64(order)) { objects[oid]?.cache[first + k] = id }
        if objects[oid]?.unevictable == true { lruAddUnevictable(id) }
        return id
    }

    /// do_sync_mmap_readahead() in a VM_HUGEPAGE VMA of a regular file whose mapping takes
    /// large folios: ra->size = 2 x HPAGE_PMD_NR (one with VM_RAND_READ) from the fault's
    /// index aligned down to the PMD, ra->order = HPAGE_PMD_ORDER, whatever the THP sysfs
    /// settings. page_cache_ra_order() then allocates folios from there, each of the
    /// highest order that is aligned to its index and ends by the file's last page (order
    /// 1 included since 6.8, "mm: support order-1 folios in the page cache"), and stops at the first index already
    /// cached (filemap_add_folio -EEXIST). Returns false when the rule does not apply.
    mutating func readAheadLarge(_ v: VMA, _ index: UInt64) -> Bool {
        guard thp.fileLargeFolios, v.flags.contains(.hugepage), !v.flags.contains(.noHugepage),
              let oid = objectID(v.file), let obj = objects[oid], obj.kind == .file,
              obj.cache[index] == nil, index < obj.pages else { return false }
        let nr = UInt64(1) << UInt64(pmdOrder)
        var at = index & ~(nr - 1)
        let end = min(at + (v.flags.contains(.randRead) ? nr : 2 * nr), obj.pages)
        while at < end {
            if objects[oid]?.cache[at] != nil { break }
            var order = pmdOrder
            while order > 0 && (at & ((UInt64(1) << UInt64(order)) - 1) != 0 || at + (UInt64(1) << UInt64(order)) > end) {
                order -= 1
            }
            if order == 0 {
                _ = cacheFolio(v.file!, at)
            } else {
                _ = cacheLargeFolio(v.file!, first: at, order: order)
            }
            at += UInt64(1) << UInt64(order)
        }
        // The state it leaves: ra->size and async_size as above, ra->order the PMD
        // order; ra->start is not set on this path.
        objects[oid]?.ra.size = v.flags.contains(.randRead) ? nr : 2 * nr
        objects[oid]?.ra.asyncSize = nr
        objects[oid]?.ra.order = pmdOrder
        return true
    }

    // MARK: - mapping

    /// Maps the large cached folio `id` for a fault at `addr` in VMA `i`, if it can be
    /// mapped as a whole; returns false when only the faulting page (and the
    /// fault-around window) is mapped, page by page, by the caller.
    ///  - A PMD-sized folio whose block has no page table and lies in the VMA with a
    ///    matching pgoff: one PMD (do_set_pmd, from finish_fault or filemap_map_pmd).
    ///    folio_add_file_rmap_pmd() maps the whole folio: in a VM_LOCKED VMA it is
    ///    mlocked on 6.18 (rmap add of a whole large folio) and 5.18-6.6
    ///    (mlock_vma_folio(..., compound)); 6.7-6.17 mlock only small folios there.
    ///  - 6.18: a folio that fits in the VMA and in one page table is mapped whole by
    ///    PTEs (finish_fault and filemap_map_pages map the entire folio), and its rmap
    ///    add mlocks it in a VM_LOCKED VMA. Older kernels map the faulting page only.
    mutating func mapLargeFileFolio(_ id: Int, at addr: UInt64, vmaIndex i: Int, populate: Bool, write: Bool = false) -> Bool {
        let v = vmas[i]
        guard let f = folios[id], f.large, !f.anon else { return false }
        let b = block(addr)
        // Where the folio's first page would be mapped in this VMA.
        let headIndex = f.index
        guard headIndex >= v.pgoff else { return false }
        let headAddr = v.start &+ (headIndex - v.pgoff) * pageSize
        let size = UInt64(f.nr) * pageSize
        guard headAddr >= v.start, headAddr + size <= v.end else { return false }
        let mlocks = isMlockVMA(v) && (profile.rmapMlocksWholeLargeFolio || profile == .mlockCount
                                       || (profile == .pre518 && populate))
        if f.order == pmdOrder && headAddr == b && !pteTables.contains(b) && suitable(v, addr, order: pmdOrder) {
            for k in 0..<UInt64(f.nr) {
                ptes[b + k * pageSize] = .folio(id)
                folios[id]?.maps.insert(b + k * pageSize)
            }
            folios[id]?.pmdMapped = true
            // vm_page_prot is writable in a shared writable VMA that needs no write
            // notification (shmem); a regular file has ->page_mkwrite, so a read
            // fault's PMD is read-only (vma_wants_writenotify).
            let shmemObject = object(v.file).map { $0.kind != .file } ?? false
            folios[id]?.pmdWritable = write || (v.isShared && v.flags.contains(.write) && shmemObject)
            if mlocks { mlockFolio(id) }
            return true
        }
        guard profile.rmapMlocksWholeLargeFolio, block(headAddr) == block(headAddr + size - 1) else { return false }
        var mapped = 0
        for k in 0..<UInt64(f.nr) where ptes[headAddr + k * pageSize] == nil {
            ptes[headAddr + k * pageSize] = .folio(id)
            folios[id]?.maps.insert(headAddr + k * pageSize)
            mapped += 1
        }
        pteTables.insert(block(headAddr))
        if isMlockVMA(v) && Int64(mapped) == f.nr { mlockFolio(id) }
        return true
    }

    /// The large-folio part of a fault on a shared shmem/file VMA or a read fault on a
    /// private file VMA, at an address with no PTE: the folio the fault finds or
    /// allocates is large and mapped whole. False: the small-page path applies (the
    /// cache may now hold large folios, which it maps page by page).
    mutating func faultLargeFile(_ addr: UInt64, vmaIndex i: Int, populate: Bool, write: Bool) -> Bool {
        let v = vmas[i]
        guard ptes[addr] == nil, let oid = objectID(v.file), let obj = objects[oid] else { return false }
        let index = v.index(of: addr)
        guard index < obj.pages else { return false }
        let wasCached = obj.cache[index] != nil
        if !wasCached {
            if shmemAllocatesPMDFolio(v, obj, index: index, addr: addr) {
                _ = cacheLargeFolio(v.file!, first: index & ~((UInt64(1) << UInt64(pmdOrder)) - 1), order: pmdOrder)
            } else if !readAheadLarge(v, index) {
                return false
            }
        }
        guard let id = objects[oid]?.cache[index], folios[id]?.large == true,
              mapLargeFileFolio(id, at: addr, vmaIndex: i, populate: populate, write: write) else { return false }
        // filemap_fault() found it cached: its PG_readahead (PG_reclaim) is met here too.
        if wasCached { faultedOnCachedFolio(id, v, index: index) }
        return true
    }

    /// A write to a read-only PMD mapping of a shmem/page-cache folio in a shared VMA:
    /// wp_huge_pmd() has no ->huge_fault to call (shmem, regular files), so it splits the
    /// PMD -- for a file PMD that clears it, munlocking the folio in a VM_LOCKED VMA --
    /// and falls back: the write fault then finds pmd_none and maps the folio by a
    /// writable PMD again (do_set_pmd), mlocking it again at the rmap add.
    mutating func writeToReadOnlyFilePMD(_ addr: UInt64, vmaIndex i: Int) -> Bool {
        guard case let .folio(id)? = ptes[addr], let f = folios[id], !f.anon, f.pmdMapped, !f.pmdWritable,
              vmas[i].isShared else { return false }
        splitPMD(block(addr))
        _ = fault(addr, vmaIndex: i, write: true, populate: false)
        return true
    }

    /// __split_huge_pmd_locked() on a PMD mapping a shmem/page-cache folio: the PMD is
    /// cleared, not replaced by PTEs (the pages fault back in later), and
    /// folio_remove_rmap_pmd() -> munlock_vma_folio() munlocks the folio when the VMA
    /// (still with its old flags) is VM_LOCKED.
    mutating func zapFilePMD(_ id: Int, _ b: UInt64, vma v: VMA) {
        for k in 0..<UInt64(1 << pmdOrder) {
            let a = b + k * pageSize
            ptes[a] = nil
            folios[id]?.maps.remove(a)
        }
        folios[id]?.pmdMapped = false
        folios[id]?.pmdWritable = false
        if v.flags.contains(.locked) { munlockFolio(id, otherLockedMapping: false) }
    }
}
