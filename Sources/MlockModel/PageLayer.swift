// The page layer: PG_mlocked, PG_unevictable and mlock_count of each folio, the
// unevictable_pgs_* events, and the faults that create and map folios.
//
// The model applies each deferred batch operation at once, in the order the settled
// kernel ends up applying them. This is exact for order-0 folios when every step
// starts with empty per-CPU batches (the runner settles with lru_add_drain_all):
// lru_add_drain_cpu() drains the lru_add batch before mlock_drain_local(), so a new
// page-cache folio mapped into a VM_LOCKED VMA is first put on the unevictable list by
// lru_add() (mlock_count = 0, culled) and then __mlock_folio() raises mlock_count to 1,
// which is what the immediate model computes.

extension KernelModel {
    // MARK: - mm/mlock.c primitives (5.18+)

    /// mlock_folio(): TestSet PG_mlocked (NR_MLOCK and unevictable_pgs_mlocked on 0->1),
    /// then, from the batch, __mlock_folio(): a folio already unevictable and mlocked
    /// gets mlock_count++; otherwise it moves to the unevictable list with
    /// mlock_count = 1 (unevictable_pgs_culled).
    mutating func mlockFolio(_ id: Int) {
        guard var f = folios[id] else { return }
        if !f.mlocked {
            f.mlocked = true
            counters.mlocked += f.nr
            counters.pgMlocked += f.nr
        }
        if f.unevictable {
            f.mlockCount += 1
        } else {
            f.unevictable = true
            f.mlockCount = 1
            counters.unevictable += f.nr
            counters.pgCulled += f.nr
        }
        folios[id] = f
    }

    /// mlock_new_folio() for a new anonymous folio mapped into a VM_LOCKED VMA
    /// (folio_add_lru_vma): PG_mlocked set (mlocked +1), then __mlock_new_folio() puts
    /// it on the unevictable list with mlock_count 1 (culled +1).
    mutating func mlockNewFolio(_ id: Int) {
        guard var f = folios[id] else { return }
        f.mlocked = true
        f.unevictable = true
        f.mlockCount = 1
        counters.mlocked += f.nr
        counters.pgMlocked += f.nr
        counters.unevictable += f.nr
        counters.pgCulled += f.nr
        folios[id] = f
    }

    /// munlock_folio() -> __munlock_folio() (folio on the LRU, so isolated): an
    /// unevictable folio has mlock_count decremented and stays mlocked while it is
    /// non-zero; otherwise PG_mlocked is cleared (NR_MLOCK -1, unevictable_pgs_munlocked)
    /// and the now evictable folio leaves the unevictable list (unevictable_pgs_rescued).
    ///
    /// `.pre518` (munlock_vma_page + try_to_munlock): PG_mlocked is cleared, then the
    /// rmap walk finds another VM_LOCKED mapping and mlocks the page again: net no
    /// change but unevictable_pgs_mlocked +1 and no munlocked event.
    mutating func munlockFolio(_ id: Int, otherLockedMapping: Bool) {
        guard var f = folios[id] else { return }
        if profile == .pre518 {
            guard f.mlocked else { return }
            if otherLockedMapping {
                counters.pgMlocked += f.nr
                return
            }
            f.mlockCount = 0
        } else if f.unevictable {
            if f.mlockCount > 0 { f.mlockCount -= 1 }
            if f.mlockCount > 0 { folios[id] = f; return }
        }
        if f.mlocked {
            f.mlocked = false
            counters.mlocked -= f.nr
            counters.pgMunlocked += f.nr
        }
        // folio_evictable() is checked after PG_mlocked is cleared: a folio of an
        // unevictable mapping (SHM_LOCK, ramfs, secretmem) stays on the unevictable list.
        if f.unevictable && !mappingUnevictable(f) {
            f.unevictable = false
            counters.unevictable -= f.nr
            counters.pgRescued += f.nr
        }
        folios[id] = f
    }

    /// mapping_unevictable(folio_mapping(folio)): the folio's page cache is AS_UNEVICTABLE.
    func mappingUnevictable(_ f: Folio) -> Bool {
        guard !f.anon, let oid = objectID(f.file), let obj = objects[oid] else { return false }
        return obj.unevictable
    }

    /// lru_add() (mm/swap.c) of a new page-cache folio of an unevictable mapping:
    /// folio_evictable() is false, so it goes to the unevictable list with mlock_count 0
    /// (unevictable_pgs_culled, NR_UNEVICTABLE +1) without PG_mlocked.
    mutating func lruAddUnevictable(_ id: Int) {
        guard var f = folios[id], !f.unevictable else { return }
        f.unevictable = true
        f.mlockCount = 0
        counters.unevictable += 1
        counters.pgCulled += 1
        folios[id] = f
    }

    /// Whether the folio is mapped at some address other than `except` inside a VMA that
    /// is VM_LOCKED (for the `.pre518` rmap walk).
    func mappedLockedElsewhere(_ id: Int, except: UInt64?) -> Bool {
        guard let f = folios[id] else { return false }
        // A parked process's VM_LOCKED mapping is found by the same rmap walk.
        if f.frozenLockedMaps > 0 { return true }
        for a in f.maps where a != except {
            if let i = indexContaining(a), isMlockVMA(vmas[i]) { return true }
        }
        return false
    }

    /// (vm_flags & (VM_LOCKED | VM_SPECIAL)) == VM_LOCKED.
    func isMlockVMA(_ v: VMA) -> Bool { v.flags.contains(.locked) && !v.flags.contains(.special) }

    /// Frees a folio that nothing maps and no page cache holds. A folio still PG_mlocked
    /// at free is counted as unevictable_pgs_cleared (__folio_put / free_pages_prepare).
    mutating func freeFolio(_ id: Int) {
        guard let f = folios[id] else { return }
        if f.mlocked {
            counters.mlocked -= f.nr
            counters.pgCleared += f.nr
        }
        if f.unevictable { counters.unevictable -= f.nr }
        folios[id] = nil
    }

    // MARK: - rmap

    /// Maps a page-cache folio at `addr` (set_pte_range -> folio_add_file_rmap_ptes).
    /// In a VM_LOCKED VMA the rmap hook mlocks it (mlock_vma_folio). `.pre518`:
    /// page_add_file_rmap did not mlock; only populate (FOLL_MLOCK) did.
    mutating func mapFileFolio(_ id: Int, at addr: UInt64, vma: VMA, populate: Bool) {
        ptes[addr] = .folio(id)
        pteTables.insert(block(addr))
        folios[id]?.maps.insert(addr)
        pteTables.insert(block(addr))
        // A PTE of a large folio: the rmap add maps part of it, never mlocked there
        // (6.7 on: small folios only; 5.18: compound mappings only).
        let large = folios[id]?.large ?? false
        if isMlockVMA(vma) && !large && (profile != .pre518 || populate) { mlockFolio(id) }
    }

    /// Maps a new anonymous folio at `addr` in the VMA at index `i` (do_anonymous_page,
    /// wp_page_copy, do_cow_fault): anon_vma_prepare, then folio_add_lru_vma, which
    /// mlocks it when the VMA is VM_LOCKED.
    mutating func mapNewAnonFolio(at addr: UInt64, vmaIndex i: Int) {
        anonVmaPrepare(i)
        let id = newID()
        var f = Folio(anon: true, file: nil, index: vmas[i].index(of: addr), maps: [addr])
        f.node = allocationNode(vmas[i])
        folios[id] = f
        ptes[addr] = .folio(id)
        pteTables.insert(block(addr))
        if isMlockVMA(vmas[i]) { mlockNewFolio(id) }
    }

    /// Removes the PTE at `addr` (zap / COW of the old page): folio_remove_rmap_pte ->
    /// munlock_vma_folio when the VMA is VM_LOCKED; an anonymous folio is freed with
    /// its last mapping (after the munlock: tlb flush drains the mlock batch first, so
    /// unevictable_pgs_cleared stays 0).
    mutating func unmapPTE(at addr: UInt64, vma: VMA) {
        unmapPTEs([addr], vma: vma)
    }

    /// Removes a batch of PTEs mapping one folio (zap_present_folio_ptes ->
    /// folio_remove_rmap_ptes): one munlock_vma_folio for the whole batch.
    mutating func unmapPTEs(_ addrs: [UInt64], vma: VMA) {
        guard let first = addrs.first, case let .folio(id)? = ptes[first] else {
            for a in addrs { ptes[a] = nil }
            return
        }
        for a in addrs {
            ptes[a] = nil
            folios[id]?.maps.remove(a)
        }
        // Before 6.7 PTE mappings of a large folio were not munlocked (munlock_vma_page
        // only for `compound || !PageTransCompound`); a PMD mapping always.
        let f = folios[id]
        let counted = f.map { !$0.large || $0.pmdMapped || profile.mlocksPTEMappedLargeFolios } ?? false
        if isMlockVMA(vma) && counted {
            munlockFolio(id, otherLockedMapping: profile == .pre518 && mappedLockedElsewhere(id, except: first))
        }
        if folios[id]?.maps.isEmpty == true { folios[id]?.pmdMapped = false }
        if let f = folios[id], f.anon, f.unmapped { freeFolio(id) }
    }

    /// Addresses of the present PTEs in [start, end), ascending, in time proportional to
    /// whichever is smaller: the range or the number of PTEs.
    func presentPTEs(_ start: UInt64, _ end: UInt64) -> [UInt64] {
        guard start < end else { return [] }
        if (end - start) >> pageShift <= UInt64(ptes.count) {
            return stride(from: start, to: end, by: Int(pageSize)).filter { ptes[$0] != nil }
        }
        return ptes.keys.filter { $0 >= start && $0 < end }.sorted()
    }

    /// zap_page_range over [start, end) (munmap, MADV_DONTNEED[_LOCKED]).
    /// A PMD-mapped THP only partly inside the range has its PMD split first
    /// (zap_pmd_range -> __split_huge_pmd); one wholly inside goes at once (zap_huge_pmd),
    /// and PTEs mapping consecutive pages of one large folio go in one batch.
    mutating func zap(_ start: UInt64, _ end: UInt64) {
        splitPMDs(cutBy: start, end)
        for batch in pteBatches(presentPTEs(start, end)) {
            if let i = indexContaining(batch[0]) { unmapPTEs(batch, vma: vmas[i]) }
        }
        for block in Array(hugeZero) where block >= pageDown(start) && block + pmdSize <= end {
            hugeZero.remove(block)
        }
    }

    // MARK: - objects

    func object(_ ref: FileRef?) -> BackingObject? {
        switch ref {
        case let .object(id)?: return objects[id]
        case let .sharedAnon(id)?: return objects[id]
        case let .shm(id, _)?: return objects[id]
        default: return nil
        }
    }

    func objectID(_ ref: FileRef?) -> Int? {
        switch ref {
        case let .object(id)?: return id
        case let .sharedAnon(id)?: return id
        case let .shm(id, _)?: return id
        default: return nil
        }
    }

    /// The page-cache folio at `index`, creating it (shmem_get_folio / filemap read of a
    /// hole: a new, evictable, uptodate folio) if absent.
    mutating func cacheFolio(_ ref: FileRef, _ index: UInt64) -> Int {
        let oid = objectID(ref)!
        if let id = objects[oid]?.cache[index] { return id }
        let id = newID()
        var f = Folio(anon: false, file: ref, index: index)
        f.node = allocationNode(nil)
        folios[id] = f
        objects[oid]?.cache[index] = id
        if objects[oid]?.unevictable == true { lruAddUnevictable(id) }
        return id
    }

    /// secretmem_fault() adding a page with `facts.secretmemChargesUserOnFault`
    /// (__secretmem_account_pages): the creator's user->locked_vm + 1 against the
    /// faulting task's RLIMIT_MEMLOCK, no CAP_IPC_LOCK exemption; false: SIGBUS.
    mutating func chargeSecretPage(_ obj: BackingObject) -> Bool {
        guard let owner = obj.chargedUID else { return true }
        let charged = userLockedVM[owner, default: 0] + 1
        if charged > lockLimitPages { return false }
        userLockedVM[owner] = charged
        return true
    }

    /// filemap_fault() on a regular-file page that is not cached:
    /// do_sync_mmap_readahead() reads around it -- ra->start = index - ra_pages/2,
    /// ra->size = ra_pages, clipped to the file -- (none with VM_RAND_READ; from the
    /// index on with VM_SEQ_READ), then the fault drops mmap_lock for the I/O and is
    /// retried, so the retried read fault finds the window cached and fault-around maps
    /// it. shmem (memfd, shared anon) has no readahead: shmem_fault allocates one page.
    mutating func readAround(_ v: VMA, _ index: UInt64) {
        // ramfs has no readahead: its super block's bdi is noop_backing_dev_info, set up
        // by bdi_init(), which leaves ra_pages 0 (VM_READAHEAD_PAGES is given only by
        // bdi_alloc()); its faults add one page, as shmem's.
        if readAheadLarge(v, index) { return }
        guard let oid = objectID(v.file), let obj = objects[oid], obj.kind == .file,
              obj.cache[index] == nil, index < obj.pages else { return }
        var first = index, count: UInt64 = 1
        var last = obj.pages
        if !v.flags.contains(.randRead) && readAroundPages > 0 {
            first = v.flags.contains(.seqRead) ? index : index - min(index, readAroundPages / 2)
            count = readAroundPages
            // do_sync_mmap_readahead(), VM_EXEC (6.16+; exec_folio_order() 0 on x86):
            // read from the faulting index, at most ra_pages, and not past the VMA's end
            // ("executable memory rarely benefits from readahead"; async_size 0). Found
            // by the fuzzer (an r-x piece of a file mapping); measured on 6.18 with a
            // probe (a fault at index 17 of an r-x VMA over 10-17 caches page 17 only).
            if v.flags.contains(.exec) && !v.flags.contains(.seqRead) && profile == .rmapLargeFolio {
                first = index
                last = min(last, v.pgoff + v.pages)
            }
        }
        last = min(first + count, last)
        noteSyncReadahead(v, oid, index)
        for i in first..<last where objects[oid]?.cache[i] == nil { _ = cacheFolio(v.file!, i) }
    }

    // MARK: - faults (mm/memory.c handle_mm_fault, simplified to order-0 folios)

    /// One fault at page `addr` in the VMA at index `i`. Permission checks are the
    /// caller's. `populate` marks faults taken by __mm_populate / populate_vma_page_range.
    mutating func fault(_ addr: UInt64, vmaIndex i: Int, write: Bool, populate: Bool) -> FaultResult {
        let v = vmas[i]
        if v.flags.contains(.hugetlb) { hugetlbFault(addr, vmaIndex: i); return .ok }
        if v.isPrivateAnon {
            if faultLarge(addr, vmaIndex: i, write: write) { return .ok }
            switch ptes[addr] {
            case nil:
                if write {
                    mapNewAnonFolio(at: addr, vmaIndex: i)          // do_anonymous_page
                } else {
                    ptes[addr] = .zero                              // zero page, no anon_vma
                    pteTables.insert(block(addr))
                }
            case .zero?:
                if write { ptes[addr] = nil; mapNewAnonFolio(at: addr, vmaIndex: i) }  // wp_page_copy
            case let .folio(id)?:
                // do_wp_page(): after fork the anon page is no longer PageAnonExclusive and
                // another (parked) process still holds a reference, so wp_can_reuse_anon_folio()
                // refuses and wp_page_copy() gives this mm a new folio; the old one stays
                // mapped (and, in a locked parent VMA, mlocked) in the parent.
                // A PMD-mapped THP is split first (do_huge_pmd_wp_page -> __split_huge_pmd,
                // VM_FAULT_FALLBACK), then the one page is copied into a small folio.
                if write, let f = folios[id], f.frozenMaps > 0 {
                    if f.pmdMapped { splitPMD(block(addr)) }
                    unmapPTE(at: addr, vma: vmas[i])
                    mapNewAnonFolio(at: addr, vmaIndex: i)
                }
            }
            return .ok
        }
        guard let obj = object(v.file) else { return .sigbus }
        let index = v.index(of: addr)
        // Beyond i_size the fault is a SIGBUS (filemap_fault / shmem_fault, no read-around),
        // but a read fault first maps what is cached around it: do_read_fault() calls
        // do_fault_around() before __do_fault() -> ->fault(), and filemap_map_pages()
        // clamps its window to the file's last page, not to the faulting one.
        // A write fault in a private mapping goes to do_cow_fault(), which prepares the
        // anon_vma (vmf_anon_prepare) before ->fault() finds the page beyond i_size: the
        // VMA keeps that anon_vma, and with it refuses merges (found by the fuzzer: two
        // pieces locked beyond EOF got two anon_vmas and stayed apart after munlockall).
        if ptes[addr] == nil && index >= obj.pages {
            if !write { faultAround(addr, vmaIndex: i, populate: populate) }
            if write && !v.isShared { anonVmaPrepare(i) }
            return .sigbus
        }
        // A large shmem/page-cache folio found or allocated here, mapped whole.
        if ptes[addr] == nil && (v.isShared || !write) && faultLargeFile(addr, vmaIndex: i, populate: populate, write: write) {
            return .ok
        }
        if v.isShared {
            if ptes[addr] != nil { return .ok }
            readAround(v, index)
            // do_read_fault: fault-around needs vm_ops->map_pages, which secretmem lacks.
            if !write && obj.kind != .secret { faultAround(addr, vmaIndex: i, populate: populate) }
            if ptes[addr] == nil {
                if obj.kind == .secret && obj.cache[index] == nil && !chargeSecretPage(obj) { return .sigbus }
                let id = cacheFolio(v.file!, index)                 // __do_fault
                faultedOnCachedFolio(id, v, index: index)
                mapFileFolio(id, at: addr, vma: v, populate: populate)
            }
            return .ok
        }
        // Private file mapping.
        switch ptes[addr] {
        case nil:
            readAround(v, index)
            if write {
                faultedOnCachedFolio(cacheFolio(v.file!, index), v, index: index)  // do_cow_fault reads it,
                mapNewAnonFolio(at: addr, vmaIndex: i)               // maps a private copy
            } else {
                faultAround(addr, vmaIndex: i, populate: populate)
                if ptes[addr] == nil {
                    let id = cacheFolio(v.file!, index)
                    faultedOnCachedFolio(id, v, index: index)
                    mapFileFolio(id, at: addr, vma: v, populate: populate)
                }
            }
        case let .folio(id)?:
            // COW of a page-cache page, or of an anon copy shared with a frozen parent
            // (do_wp_page -> wp_page_copy, as above).
            if write, let f = folios[id], !f.anon || f.frozenMaps > 0 {
                unmapPTE(at: addr, vma: v)
                mapNewAnonFolio(at: addr, vmaIndex: i)
            }
        case .zero?:
            break
        }
        return .ok
    }

    /// filemap_fault() found the folio cached: do_async_mmap_readahead() sees
    /// PG_readahead (here PG_reclaim, left by reclaim) and page_cache_async_ra() clears
    /// it, unless the VMA is VM_RAND_READ or the file has no readahead (ra_pages 0).
    /// shmem_fault has no such step (and shmem folios never keep PG_reclaim).
    mutating func faultedOnCachedFolio(_ id: Int, _ v: VMA, index: UInt64) {
        guard let f = folios[id], f.reclaimMark, !v.flags.contains(.randRead), readAroundPages > 0 else { return }
        folios[id]?.reclaimMark = false
        if case let .object(oid)? = v.file { asyncReadahead(oid, index: index, folioPages: UInt64(f.nr)) }
    }

    /// A store at `a` (a write fault, a write to a page already mapped writable, or GUP
    /// FOLL_WRITE|FOLL_TOUCH on it): through a shared mapping it dirties the page-cache
    /// folio; on an anonymous folio it dirties the PTE (or, through GUP, the folio), so a
    /// MADV_FREE'd folio can no longer be discarded (see Folio.lazyfree).
    mutating func markWritten(_ a: UInt64) {
        guard let i = indexContaining(a), case let .folio(id)? = ptes[a], let f = folios[id] else { return }
        if f.anon {
            folios[id]?.lazyfree = false
        } else if vmas[i].isShared {
            folios[id]?.dirty = true
        }
    }

    /// do_fault_around() -> filemap_map_pages(): a read fault on a file/shmem VMA first
    /// maps every page already in the page cache in a fault_around_pages window around
    /// the address, clamped to the VMA, the page table and the file size.
    mutating func faultAround(_ addr: UInt64, vmaIndex i: Int, populate: Bool) {
        let v = vmas[i]
        guard let obj = object(v.file) else { return }
        let pteOff = (addr >> pageShift) & (ptrsPerPTE - 1)
        let vmaOff = (addr - v.start) >> pageShift
        let fromPTE = max(pteOff & ~(faultAroundPages - 1), pteOff - min(pteOff, vmaOff))
        let toPTE = min(fromPTE + faultAroundPages, ptrsPerPTE, pteOff + v.pages - vmaOff) - 1
        guard fromPTE <= toPTE else { return }
        let tableBase = addr - pteOff * pageSize
        // 6.18 and 6.12.59 on ("mm/memory: do not populate page table entries beyond
        // i_size", VersionFacts.faultAroundMapsNoTableAtEOF):
        // filemap_map_pages() installs the preallocated page table only through
        // filemap_map_pmd(), which it now calls only when the first folio it finds may be
        // mapped large: on shmem always, elsewhere when that folio ends before the file's
        // last page (file_end >= folio_next_index). So with no page table in the block,
        // a window whose first cached folio is a regular file's last page maps nothing.
        if profile == .rmapLargeFolio || facts.faultAroundMapsNoTableAtEOF, !pteTables.contains(block(addr)),
           obj.kind == .file || obj.kind == .ramfs {
            for p in fromPTE...toPTE {
                let index = v.index(of: tableBase + p * pageSize)
                guard index < obj.pages, let id = obj.cache[index], folios[id]?.reclaimMark != true else { continue }
                if let f = folios[id], f.index + UInt64(f.nr) >= obj.pages { return }   // !can_map_large
                break
            }
        }
        for p in fromPTE...toPTE {
            let a = tableBase + p * pageSize
            guard ptes[a] == nil else { continue }
            let index = v.index(of: a)
            guard index < obj.pages, let id = objects[objectID(v.file)!]?.cache[index] else { continue }
            // next_uptodate_folio() skips a folio with PG_readahead, which is PG_reclaim.
            if folios[id]?.reclaimMark == true { continue }
            // 6.18 filemap_map_pages maps a large folio that fits whole; else this page.
            if folios[id]?.large == true && mapLargeFileFolio(id, at: a, vmaIndex: i, populate: populate) { continue }
            mapFileFolio(id, at: a, vma: v, populate: populate)
        }
    }

    // MARK: - populate (mm/gup.c)

    /// populate_vma_page_range(): VM_LOCKONFAULT -> nothing to do; PROT_NONE -> -EFAULT;
    /// private writable VMAs get write faults (COW broken), the rest read faults with
    /// FOLL_FORCE. Returns the pages done and the error (EFAULT for SIGBUS) if it stopped.
    mutating func populateVMARange(_ i: Int, _ start: UInt64, _ end: UInt64) -> (done: UInt64, errno: Int32) {
        let v = vmas[i]
        if v.flags.contains(.lockOnFault) { return ((end - start) >> pageShift, 0) }
        if !v.flags.accessible { return (0, Err.EFAULT) }
        // check_vma_flags(): GUP refuses secretmem (vma_is_secretmem) -> EFAULT.
        if object(v.file)?.kind == .secret { return (0, Err.EFAULT) }
        let write = v.flags.contains(.write) && !v.isShared
        var a = start
        var done: UInt64 = 0
        while a < end {
            guard let j = indexContaining(a) else { return (done, Err.EFAULT) }
            if needsFault(a, write: write) {
                if fault(a, vmaIndex: j, write: write, populate: true) == .sigbus { return (done, Err.EFAULT) }
            }
            if write { markWritten(a) }   // FOLL_WRITE|FOLL_TOUCH: a present clean page is dirtied
            done += 1
            a += pageSize
        }
        return (done, 0)
    }

    /// Whether GUP must fault at `a` (follow_page_mask fails): no PTE, or a write to a
    /// page that is not writable privately (zero page or page-cache page in a private VMA,
    /// or an anon page still shared with a frozen parent: can_follow_write_pte() wants
    /// PageAnonExclusive, which fork cleared).
    func needsFault(_ a: UInt64, write: Bool) -> Bool {
        switch ptes[a] {
        case nil: return true
        case .zero?: return write
        case let .folio(id)?:
            guard write, let f = folios[id], let i = indexContaining(a) else { return false }
            return (!f.anon || f.frozenMaps > 0) && !vmas[i].isShared
        }
    }

    /// __mm_populate(start, len, ignore_errors): walk the VMAs of the range, skipping
    /// VM_IO/VM_PFNMAP (special); with ignore_errors (mmap, mlockall, mremap) an error
    /// moves on to the next VMA, otherwise it is returned (mlock).
    mutating func mmPopulate(_ start: UInt64, _ len: UInt64, ignoreErrors: Bool) -> Int32 {
        let end = start &+ len
        var nstart = start
        while nstart < end {
            guard let i = firstIndex(endAbove: nstart), vmas[i].start < end else { break }
            let v = vmas[i]
            var nend = min(end, v.end)
            if v.flags.contains(.special) || v.isForeign { nstart = nend; continue }
            if nstart < v.start { nstart = v.start }
            let (done, err) = populateVMARange(i, nstart, nend)
            if err != 0 {
                if ignoreErrors { nstart = nend; continue }
                return err
            }
            nend = nstart + done * pageSize
            nstart = nend
        }
        return 0
    }
}
