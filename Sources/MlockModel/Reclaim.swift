// Reclaim in the scenario's own memory cgroup, with swap: the eventual state once the
// LRU scan has visited every folio the scenario charged there. This is where the rules
// that make a page unevictable or mlocked "only later" take effect:
//
// - A folio of an unevictable mapping (SHM_LOCK'd segment, ramfs) still on an
//   evictable list -- it was cached before SHM_LOCK, which moves nothing -- is put
//   back on the unevictable list when reclaim meets it: shrink_folio_list() and
//   shrink_active_list() see !folio_evictable() and put it back, and lru_add() sets
//   PG_unevictable with mlock_count 0 (unevictable_pgs_culled). No PG_mlocked.
//   (Documentation/mm/unevictable-lru.rst: "vmscan will do this if and when it
//   encounters the pages".) shmem is swap-backed: its folios are on the anon lists,
//   which reclaim scans only when swap exists -- hence the suite's zram swap.
// - A folio mapped in a VM_LOCKED VMA but not PG_mlocked: folio_referenced_one() (and
//   try_to_unmap_one() for small folios) "restore the mlock which got missed" with
//   mlock_vma_folio() -- for a small folio, a PMD-mapped one, or (6.7 on) a large
//   folio all of whose pages are mapped by PTEs of that one VMA; then the folio, off
//   the LRU while reclaim holds it, is put back on the unevictable list by lru_add()
//   with mlock_count 0: unevictable_pgs_mlocked and unevictable_pgs_culled, NR_MLOCK.
//   A PTE-mapped large folio straddling a VM_LOCKED edge is never mlocked this way.
// - Such a straddling folio is not split either: shrink_folio_list() adds it to the
//   swap cache whole, then try_to_unmap() walks its mappings in the anon_vma interval
//   tree's order (by page offset, here by address) and stops at the first VM_LOCKED
//   VMA (try_to_unmap_one: "must not swap it out", no mlock for a large folio). The
//   unlocked VMAs met before it lose their PTEs (swap entries: not present); the
//   folio, now partially mapped but in the swap cache, is not split by later passes
//   (the split of partially mapped folios is only tried before add_to_swap) and stays,
//   not mlocked, on an evictable list. Measured on 6.18: the same after 6 rounds.
//   Before 6.12 (KernelProfile.reclaimSplitsPTEMappedLargeFolios) shrink_folio_list()
//   splits an anonymous folio that no PMD maps before add_to_swap: its pages are then
//   small folios, mlocked by the rmap walk in a VM_LOCKED VMA, swapped out elsewhere.
// - Everything else the scenario made is evictable: small anonymous and shmem folios
//   go to swap (their PTEs are cleared: pagemap shows them not present, smaps Rss
//   drops). Regular-file folios are left as they are: pages written with pwrite are
//   dirty and memcg reclaim does not write them back (only the flusher does, later);
//   the catalog leaves no evictable file page in a scenario that reclaims.
//
// The model applies all of this at once; the runner reclaims in rounds until the
// kernel shows the same, within a stated bound (LiveRunner.reclaimRounds), and reports
// the step as eventual.

extension KernelModel {
    mutating func reclaimEventually() -> OpResult {
        for id in folios.keys.sorted() {
            guard let f = folios[id], !f.hugetlb, !f.mlocked else { continue }
            if f.unevictable { continue }   // on the unevictable list: never scanned
            if f.large, f.anon, !f.pmdMapped, f.frozenMaps == 0, profile.reclaimSplitsPTEMappedLargeFolios,
               !mappingUnevictable(f), !mlockMissed(f) {
                // Split before add_to_swap; the small folios go back on the list scanned.
                for small in splitToSmallFolios(id) { reclaimSmall(small) }
                continue
            }
            if mappingUnevictable(f) {
                cullToUnevictable(id)
                continue
            }
            if mlockMissed(f) {
                mlockFolio(id)
                folios[id]?.mlockCount = 0
                continue
            }
            if f.frozenMaps > 0 { continue }
            if f.large { unmapLargeUntilLocked(id) } else { evict(id) }
        }
        return .ok
    }

    /// One small folio met by reclaim: mlocked by the rmap walk when a VM_LOCKED VMA
    /// maps it, otherwise swapped out.
    mutating func reclaimSmall(_ id: Int) {
        guard let f = folios[id] else { return }
        if mlockMissed(f) {
            mlockFolio(id)
            folios[id]?.mlockCount = 0
        } else {
            evict(id)
        }
    }

    /// split_folio_to_list() of an anonymous PTE-mapped large folio: each mapped page
    /// becomes a small folio of its own (same node, not mlocked, evictable); returns
    /// their IDs in address order.
    mutating func splitToSmallFolios(_ id: Int) -> [Int] {
        guard let f = folios[id] else { return [] }
        folios[id] = nil
        var made: [Int] = []
        for a in f.maps.sorted() {
            guard let i = indexContaining(a) else { continue }
            let small = newID()
            var piece = Folio(anon: true, file: nil, index: vmas[i].index(of: a))
            piece.maps = [a]
            piece.node = f.node
            piece.dirty = f.dirty
            folios[small] = piece
            ptes[a] = .folio(small)
            made.append(small)
        }
        return made
    }

    /// Reclaim puts a folio it cannot evict back on the unevictable list (lru_add with
    /// !folio_evictable): PG_unevictable, mlock_count 0, unevictable_pgs_culled.
    mutating func cullToUnevictable(_ id: Int) {
        guard var f = folios[id], !f.unevictable else { return }
        f.unevictable = true
        f.mlockCount = 0
        counters.unevictable += f.nr
        counters.pgCulled += f.nr
        folios[id] = f
    }

    /// Whether the rmap walk of reclaim finds a VM_LOCKED mapping that mlocks the folio
    /// (folio_referenced_one / try_to_unmap_one, mm/rmap.c).
    func mlockMissed(_ f: Folio) -> Bool {
        if !f.large || f.pmdMapped {
            if f.frozenLockedMaps > 0 { return true }
            return f.maps.contains { a in indexContaining(a).map { isMlockVMA(vmas[$0]) } ?? false }
        }
        // A PTE-mapped large folio: every page mapped in one VM_LOCKED VMA (6.7 on).
        guard profile.mlocksPTEMappedLargeFolios, f.maps.count == Int(f.nr),
              let a = f.maps.first, let i = indexContaining(a), isMlockVMA(vmas[i]) else { return false }
        return f.maps.allSatisfy { vmas[i].contains($0) }
    }

    /// An evictable small folio goes: anonymous ones to swap, shmem ones to swap out of
    /// the page cache; its PTEs are cleared everywhere. Regular-file folios stay (dirty).
    mutating func evict(_ id: Int) {
        guard let f = folios[id] else { return }
        if !f.anon {
            guard let oid = objectID(f.file), let obj = objects[oid], obj.kind != .file else { return }
            objects[oid]?.cache[f.index] = nil
        }
        for a in f.maps { ptes[a] = nil }
        folios[id] = nil
    }

    /// An evictable large folio (no page of it mlocked by the rmap walk): try_to_unmap()
    /// visits its mappings in address order and stops at the first VM_LOCKED VMA; the
    /// PTEs before it are cleared (swapped out). With no locked mapping at all it goes
    /// whole.
    mutating func unmapLargeUntilLocked(_ id: Int) {
        guard let f = folios[id] else { return }
        var gone: [UInt64] = []
        for a in f.maps.sorted() {
            if let i = indexContaining(a), isMlockVMA(vmas[i]) {
                for g in gone { ptes[g] = nil; folios[id]?.maps.remove(g) }
                return
            }
            gone.append(a)
        }
        evictWhole(id)
    }

    mutating func evictWhole(_ id: Int) {
        guard let f = folios[id] else { return }
        for a in f.maps { ptes[a] = nil }
        folios[id] = nil
    }
}
