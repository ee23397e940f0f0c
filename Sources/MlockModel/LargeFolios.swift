// Large anonymous folios: PMD-mapped THPs and mTHPs (PTE-mapped folios of order 2-8),
// how faults make them, how a PMD mapping is split, and how mlock and munlock treat a
// folio of more than one page. See ModelNotes.swift "LARGE FOLIOS" for the rules and
// their sources.

extension KernelModel {
    /// The 2 MiB block (one PMD, one page table) holding `a`.
    @inline(__always) func block(_ a: UInt64) -> UInt64 { a & ~(pmdSize - 1) }

    // MARK: - eligibility (mm/huge_memory.c __thp_vma_allowable_orders)

    /// The folio orders a fault may allocate in an anonymous VMA, highest first:
    /// per size, `always`, `madvise` with VM_HUGEPAGE, or `inherit` following the
    /// top-level setting (always, or madvise with VM_HUGEPAGE). VM_NOHUGEPAGE, special
    /// and file/shmem VMAs get none (shmem and page-cache folios are order 0 here:
    /// shmem_enabled=never and no large page-cache folios, see ModelNotes).
    func allowedAnonOrders(_ v: VMA) -> [Int] {
        guard v.isPrivateAnon, !v.isForeign, !v.flags.contains(.noHugepage), !v.flags.contains(.special) else { return [] }
        let madvised = v.flags.contains(.hugepage)
        return thp.anonOrders.keys.sorted(by: >).filter { order in
            switch thp.anonOrders[order]! {
            case .always: return true
            case .madvise: return madvised
            case .inherit: return thp.enabled == .always || (thp.enabled == .madvise && madvised)
            case .never: return false
            }
        }
    }

    /// thp_vma_suitable_order(): the naturally aligned range of the order around `a` lies
    /// inside the VMA, and the VMA's page offset keeps that alignment.
    func suitable(_ v: VMA, _ a: UInt64, order: Int) -> Bool {
        let size = pageSize << UInt64(order)
        let base = a & ~(size - 1)
        guard base >= v.start, base + size <= v.end else { return false }
        let nr = UInt64(1) << UInt64(order)
        return ((v.start >> pageShift) &- v.pgoff) % nr == 0
    }

    // MARK: - faults (mm/memory.c __handle_mm_fault, do_anonymous_page)

    /// A fault at `addr` in the private anonymous VMA `i` that a large folio or the huge
    /// zero page handles; false when the small-page path applies.
    ///  - pmd_none (no page table in the block) and the PMD order allowed and suitable:
    ///    a read maps the huge zero page (use_zero_page), a write makes a PMD-mapped THP
    ///    (do_huge_pmd_anonymous_page; a new folio in a VM_LOCKED VMA is mlocked by
    ///    folio_add_lru_vma -> mlock_new_folio, all its pages at once).
    ///  - a write to the huge zero page: do_huge_zero_wp_pmd() makes a THP in its place.
    ///  - otherwise a write to an absent page: alloc_anon_folio() takes the highest
    ///    allowed mTHP order whose aligned range is inside the VMA and has no PTE at all
    ///    (pte_range_none). A read maps the small zero page.
    mutating func faultLarge(_ addr: UInt64, vmaIndex i: Int, write: Bool) -> Bool {
        let v = vmas[i]
        let b = block(addr)
        let orders = allowedAnonOrders(v)
        if hugeZero.contains(b) {
            guard write, ptes[addr] == .zero else { return false }
            hugeZero.remove(b)
            for k in 0..<UInt64(1 << pmdOrder) { ptes[b + k * pageSize] = nil }
            newAnonFolio(at: b, order: pmdOrder, vmaIndex: i, pmd: true)
            return true
        }
        guard ptes[addr] == nil else { return false }
        if !pteTables.contains(b), orders.contains(pmdOrder), suitable(v, addr, order: pmdOrder) {
            if write {
                newAnonFolio(at: b, order: pmdOrder, vmaIndex: i, pmd: true)
            } else {
                guard thp.useZeroPage else { return false }
                anonVmaPrepare(i)   // vmf_anon_prepare() comes before the zero-page choice
                hugeZero.insert(b)
                for k in 0..<UInt64(1 << pmdOrder) { ptes[b + k * pageSize] = .zero }
            }
            return true
        }
        pteTables.insert(b)
        guard write else { return false }
        for order in orders where order < pmdOrder && suitable(v, addr, order: order) {
            let size = pageSize << UInt64(order)
            let base = addr & ~(size - 1)
            if presentPTEs(base, base + size).isEmpty {
                newAnonFolio(at: base, order: order, vmaIndex: i, pmd: false)
                return true
            }
        }
        return false
    }

    /// A new anonymous folio of `order` mapped at `base` (aligned) in VMA `i`.
    mutating func newAnonFolio(at base: UInt64, order: Int, vmaIndex i: Int, pmd: Bool) {
        anonVmaPrepare(i)
        let id = newID()
        let count = UInt64(1) << UInt64(order)
        var f = Folio(anon: true, file: nil, index: vmas[i].index(of: base))
        f.order = order
        f.pmdMapped = pmd
        for k in 0..<count {
            let a = base + k * pageSize
            ptes[a] = .folio(id)
            f.maps.insert(a)
        }
        folios[id] = f
        if !pmd { pteTables.insert(block(base)) }
        if isMlockVMA(vmas[i]) { mlockNewFolio(id) }
    }

    // MARK: - PMD split (mm/huge_memory.c __split_huge_pmd_locked)

    /// The folio mapped by a PMD over the block at `b`, if any.
    func pmdFolio(_ b: UInt64) -> Int? {
        guard case let .folio(id)? = ptes[b], let f = folios[id], f.pmdMapped, f.large else { return nil }
        return id
    }

    /// Replaces the PMD mapping of block `b` with PTEs. Huge zero page: zero PTEs. A THP:
    /// folio_add_anon_rmap_ptes() maps all its pages in one call (6.18: mlocked if the
    /// VMA is VM_LOCKED, mlock_count +1), then folio_remove_rmap_pmd() ->
    /// munlock_vma_folio() when the VMA is VM_LOCKED (mlock_count -1, munlocked at 0).
    /// So a split in a locked VMA munlocks the whole folio on 5.18-6.17 and leaves it
    /// mlocked on 6.18. Before 5.18: clear_page_mlock() (cleared, not munlocked).
    mutating func splitPMD(_ b: UInt64) {
        if hugeZero.remove(b) != nil {
            pteTables.insert(b)
            return
        }
        guard let id = pmdFolio(b), let i = indexContaining(b) else { return }
        let v = vmas[i]
        if folios[id]?.anon == false { zapFilePMD(id, b, vma: v); return }
        folios[id]?.pmdMapped = false
        pteTables.insert(b)
        if profile == .pre518 {
            clearMlock(id, countedIn: \.pgCleared)
            return
        }
        if profile.rmapMlocksWholeLargeFolio && isMlockVMA(v) { mlockFolio(id) }
        if v.flags.contains(.locked) { munlockFolio(id, otherLockedMapping: false) }
    }

    /// Splits the PMD mappings (THP or huge zero page) of the blocks that [start, end)
    /// covers only in part: an edge of the range falls inside them.
    mutating func splitPMDs(cutBy start: UInt64, _ end: UInt64) {
        for edge in [start, end] where edge & (pmdSize - 1) != 0 {
            splitPMD(block(edge))
        }
    }

    // MARK: - rmap walks over large folios

    /// Which page of its folio the page mapped at `a` is (its VMA gives the index).
    func subpage(_ f: Folio, at a: UInt64) -> Int64? {
        guard f.large, let i = indexContaining(a) else { return f.large ? nil : 0 }
        let k = Int64(bitPattern: vmas[i].index(of: a) &- f.index)
        return k >= 0 && k < f.nr ? k : nil
    }

    /// Splits ascending page addresses into batches of PTEs that map consecutive pages
    /// of one folio inside one page table (folio_pte_batch); a small folio's PTE and any
    /// zero-page PTE is a batch of its own.
    func pteBatches(_ addrs: [UInt64]) -> [[UInt64]] {
        var out: [[UInt64]] = []
        for a in addrs {
            if var last = out.last, let prev = last.last, prev + pageSize == a, block(prev) == block(a),
               case let .folio(id)? = ptes[a], case let .folio(pid)? = ptes[prev], id == pid,
               let f = folios[id], f.large, let k = subpage(f, at: a), let pk = subpage(f, at: prev), k == pk + 1 {
                last.append(a)
                out[out.count - 1] = last
            } else {
                out.append([a])
            }
        }
        return out
    }

    /// folio_within_range(): the folio's first page, placed by its index in the VMA,
    /// is at or after `start` (clamped to the VMA) and the folio ends by `end`.
    func folioWithinRange(_ f: Folio, _ v: VMA, _ start: UInt64, _ end: UInt64) -> Bool {
        let s = max(start, v.start), e = min(end, v.end)
        guard f.index >= v.pgoff, f.index - v.pgoff < v.pages else { return false }
        let addr = v.start + (f.index - v.pgoff) * pageSize
        return addr >= s && e >= addr && e - addr >= UInt64(f.nr) * pageSize
    }

    /// mlock_vma_pages_range() -> walk_page_range() -> mlock_pte_range() over [start, end)
    /// of VMA `i`, which now has its new flags. Per page table (2 MiB block) of the range:
    /// a PMD-mapped THP is mlocked or munlocked whole (the huge zero page skipped); PTEs
    /// go in batches of one folio (folio_mlock_step); allow_mlock_munlock() lets a
    /// munlock through always but mlocks a large folio only when it lies within the
    /// block's part of the range and the batch maps all of it (6.7 on; before, PTE
    /// mappings of a large folio were skipped both ways). The zero page is skipped.
    mutating func mlockWalk(_ i: Int, _ start: UInt64, _ end: UInt64, lock: Bool) {
        let v = vmas[i]
        var b = block(start)
        while b < end {
            let ws = max(start, b), we = min(end, b + pmdSize)
            for batch in pteBatches(presentPTEs(ws, we)) {
                guard case let .folio(id)? = ptes[batch[0]], let f = folios[id] else { continue }
                if f.large && !f.pmdMapped {
                    if profile.mlocksPTEMappedLargeFolios {
                        if lock && !(folioWithinRange(f, v, ws, we) && Int64(batch.count) == f.nr) { continue }
                    } else {
                        continue   // 5.18: "ptes of a THP are ignored"; pre-5.18 munlock_vma_pages_range skipped them too
                    }
                }
                if lock {
                    mlockFolio(id)
                } else if !planted.contains(.munlockKeepsPagesMlocked) {
                    munlockFolio(id, otherLockedMapping: profile == .pre518 && mappedLockedElsewhere(id, except: nil))
                }
            }
            b += pmdSize
        }
    }

    // MARK: - MADV_COLLAPSE (mm/khugepaged.c madvise_collapse, collapse_huge_page)

    /// MADV_COLLAPSE over [start, end) of VMA `i`: every 2 MiB block wholly inside the
    /// range and the VMA is collapsed into a new PMD-mapped THP, whatever the sysfs
    /// settings (only VM_NOHUGEPAGE and non-anonymous VMAs refuse: EINVAL). A block
    /// already PMD-mapped is left alone. Collapsing copies each present page into the
    /// new folio; each old small folio leaves the VMA (folio_remove_rmap_pte ->
    /// munlock_vma_folio in a VM_LOCKED VMA) and is freed; the new folio joins the LRU
    /// by folio_add_lru_vma() (mlock_new_folio in a VM_LOCKED VMA). Absent pages are
    /// zero-filled (max_ptes_none does not limit MADV_COLLAPSE).
    /// TODO: file/shmem collapse, and blocks with pages shared with a frozen parent
    /// (max_ptes_shared, COW-shared pages) are not modelled.
    mutating func collapse(_ i: Int, _ start: UInt64, _ end: UInt64) -> Int32 {
        let v = vmas[i]
        guard v.isPrivateAnon, !v.flags.contains(.noHugepage), !v.flags.contains(.special) else { return Err.EINVAL }
        var b = (start + pmdSize - 1) & ~(pmdSize - 1)
        while b + pmdSize <= end {
            defer { b += pmdSize }
            guard b >= v.start, b + pmdSize <= v.end, suitable(v, b, order: pmdOrder), pmdFolio(b) == nil else { continue }
            // No page (or only zero pages) to collapse: SCAN_PMD_NULL / SCAN_PAGE_RO ->
            // EINVAL (madvise_collapse_errno), the blocks before it stay collapsed.
            let present = presentPTEs(b, b + pmdSize)
            if !present.contains(where: { if case .folio? = ptes[$0] { return true }; return false }) { return Err.EINVAL }
            // __collapse_huge_page_copy_succeeded(): per small page, release_pte_folio()
            // (putback: the lru_add batch) and then folio_remove_rmap_pte() (munlock: the
            // mlock batch), both batches of folioBatchSize flushing in step, so each full
            // batch finds its pages back on the LRU (munlocked, rescued). The last
            // n % folioBatchSize munlocks are flushed by the new THP's mlock_new_folio
            // (a large folio flushes the batch) while their pages still wait in the
            // lru_add batch: off the LRU, so stranded, then rescued by lru_add.
            let small = present.filter { if case let .folio(id)? = ptes[$0] { return folios[id]?.large == false }; return false }
            let strandedFrom = small.count - small.count % profile.folioBatchSize
            for batch in pteBatches(present) {
                if let k = small.firstIndex(of: batch[0]), k >= strandedFrom, v.flags.contains(.locked),
                   case let .folio(id)? = ptes[batch[0]], let f = folios[id], f.mlocked, f.mlockCount <= 1 {
                    strand(id)
                }
                unmapPTEs(batch, vma: v)
            }
            hugeZero.remove(b)
            pteTables.remove(b)
            newAnonFolio(at: b, order: pmdOrder, vmaIndex: i, pmd: true)
        }
        return 0
    }


    /// __munlock_folio() on a folio off the LRU: PG_mlocked cleared and counted as
    /// stranded (no rescue there); lru_add() later finds it evictable and rescues it.
    mutating func strand(_ id: Int) {
        clearMlock(id, countedIn: \.pgStranded)
    }

    /// PG_mlocked cleared outside the munlock path, counted in `event` (cleared,
    /// stranded); an unevictable folio goes back to an evictable list (rescued).
    mutating func clearMlock(_ id: Int, countedIn event: WritableKeyPath<Counters, Int64>) {
        guard var f = folios[id], f.mlocked else { return }
        f.mlocked = false
        f.mlockCount = 0
        counters.mlocked -= f.nr
        counters[keyPath: event] += f.nr
        if f.unevictable {
            f.unevictable = false
            counters.unevictable -= f.nr
            counters.pgRescued += f.nr
        }
        folios[id] = f
    }

    /// Page-table blocks no VMA covers any more lose their page table (free_pgtables
    /// at munmap), so a later fault there may get a PMD THP again.
    mutating func dropUnusedPageTables() {
        for b in pteTables where !intersects(b, b + pmdSize) { pteTables.remove(b) }
    }
}
