// Migration of locked pages: compaction (/proc/sys/vm/compact_memory), move_pages(2)
// and mbind(2) with MPOL_MF_MOVE (mm/compaction.c, mm/migrate.c, mm/mempolicy.c).
//
// The page-layer rules of one migrated folio (5.18 on; migrate_pages -> migrate_folio_move):
// - the old folio is isolated from its LRU (folio_isolate_lru: off the unevictable list,
//   PG_unevictable kept), then unmapped: try_to_migrate_one -> the rmap removal munlocks
//   it and, the VMA being VM_LOCKED, drains the mlock batch at once (mlock_drain_local).
//   __munlock_folio finds it off the LRU: PG_mlocked cleared, NR_MLOCK -1, and, the folio
//   being PG_unevictable but not isolated by that function, unevictable_pgs_stranded +1;
// - folio_migrate_flags moves PG_unevictable (not PG_mlocked) to the new folio, which is
//   put on the LRU at once (folio_add_lru + lru_add_drain): lru_add() finds it
//   evictable (PG_mlocked not set), clears PG_unevictable and counts
//   unevictable_pgs_rescued +1;
// - remove_migration_pte maps it again: the rmap add in a VM_LOCKED VMA mlocks it
//   (mlock_folio: PG_mlocked, NR_MLOCK +1, unevictable_pgs_mlocked +1) and the batch,
//   drained there, moves it to the unevictable list (mlock_count 1, culled +1), then
//   raises mlock_count once per further locked mapping: "remove_migration_ptes() will
//   automatically build up the correct newpage->mlock_count" (Hugh Dickins, 5.18 series).
// Net: Mlocked and Unevictable unchanged; per migrated mlocked folio stranded +1,
// rescued +1, mlocked +1, culled +1; the page keeps PG_mlocked and PG_unevictable at a
// new PFN.
// Before 5.18 migrate_page_states copied the flags and no event was counted (the rmap
// walk era's unevictable-lru.rst: "the new page ... inherits the mlocked state").

/// What an op guarantees about page frames (PFNs) of the arena's present pages:
/// `kept` must still be on the same frame after the step, `moved` must be on another
/// one (and `nodes` says on which node); the rest may do either.
public struct FramePrediction: Hashable, Sendable {
    public var kept: Set<UInt64>
    public var moved: Set<UInt64>
    public init(kept: Set<UInt64> = [], moved: Set<UInt64> = []) { self.kept = kept; self.moved = moved }
}

extension KernelModel {
    /// The frame guarantees of the last op, when it was a migrating one (nil otherwise).
    public var frames: FramePrediction? { lastFrames }

    /// The NUMA node of every present arena page other than the zero page (nil on a
    /// machine of one node, where there is nothing to tell).
    public var pageNodes: [UInt64: Int]? {
        guard numa != nil else { return nil }
        var out: [UInt64: Int] = [:]
        for (a, pte) in ptes where Arena.contains(a) {
            if case let .folio(id) = pte, let f = folios[id] { out[a] = f.node }
        }
        return out
    }

    /// The node a new folio of `vma` is allocated on: its VMA policy's node (MPOL_BIND or
    /// MPOL_PREFERRED of one node), else the node of the process's CPU (the default,
    /// local allocation). Page-cache folios (vma nil) are allocated locally (shmem shared
    /// policies are not modelled: scenarios mbind private anonymous memory only).
    func allocationNode(_ vma: VMA?) -> Int {
        if let p = vma?.policy, p.mode == UAPI.MPOL_BIND || p.mode == UAPI.MPOL_PREFERRED { return p.node }
        return numa?.local ?? 0
    }

    // MARK: - compaction

    /// compact_memory: compact_nodes() -> compact_zone() with cc->order -1 over every
    /// zone. isolate_migratepages_block() skips a folio on the unevictable LRU unless
    /// compact_unevictable_allowed (ISOLATE_UNEVICTABLE), so with the setting at 0 every
    /// unevictable page keeps its frame; at 1 any present page may move (which ones
    /// depends on where the scanners meet), and those that move keep PG_mlocked and
    /// PG_unevictable with Mlocked and Unevictable unchanged (see the file comment).
    /// The zero page is never migrated. Always succeeds (the write returns its length).
    mutating func compactMemory() -> OpResult {
        var kept = Set<UInt64>()
        for (a, pte) in ptes where Arena.contains(a) {
            switch pte {
            case .zero: kept.insert(a)
            case let .folio(id):
                if !compactUnevictableAllowed, folios[id]?.unevictable == true { kept.insert(a) }
                // isolate_migratepages_block(): a compound page is skipped when
                // skip_isolation_on_order() says so; for compact_memory (order -1) that is
                // order >= pageblock_order (9 on x86_64): a PMD THP is never compacted.
                if let f = folios[id], f.order >= pmdOrder { kept.insert(a) }
            }
        }
        lastFrames = FramePrediction(kept: kept)
        return .ok
    }

    // MARK: - move_pages

    /// SYSCALL move_pages -> kernel_move_pages -> do_pages_move (every page to one node).
    /// Flags other than MPOL_MF_MOVE/MOVE_ALL: EINVAL; a node without memory: ENODEV
    /// (before any page is looked at). Per page (add_folio_for_migration), reported in
    /// the status array: no VMA -> -EFAULT; nothing mapped -> -ENOENT; the zero page ->
    /// -EFAULT; already on the node -> the node; mapped more than once (a forked parent's
    /// copy, a second mapping) without MPOL_MF_MOVE_ALL -> -EACCES; otherwise isolated
    /// and migrated -> the node. Returns 0 when every isolated page moved.
    ///
    /// Kernels before 6.12 looked pages up with follow_page(FOLL_DUMP): an untouched page
    /// of an anonymous VMA was -EFAULT there, not -ENOENT (no_page_table). The model
    /// follows 6.12 on for `.largeFolio` and the older rule before; 6.7-6.11 would need a
    /// finer profile, so the catalog asks only about absent pages of shmem.
    mutating func movePages(addr: UInt64, pages: UInt64, to target: NodeTarget, flags: UInt32) -> OpResult {
        if flags & ~(UAPI.MPOL_MF_MOVE | UAPI.MPOL_MF_MOVE_ALL) != 0 { return .fail(Err.EINVAL) }
        guard let node = nodeID(target) else { return .fail(Err.ENODEV) }
        var status: [Int32] = []
        var kept = Set<UInt64>(), moved = Set<UInt64>()
        // do_pages_move() queues isolated folios and migrates the queue whenever a page
        // is not queued (move_pages_and_store_status) and at the end. A large folio is
        // isolated (off the LRU) by its first page; its next page then fails
        // folio_isolate_lru(): -EBUSY, and the queue migrates; its later pages find it
        // on the node: the node.
        var queued: Int? = nil
        func flush() {
            if let q = queued, let f = folios[q] { moved.formUnion(f.maps); migrateFolio(q, to: node) }
            queued = nil
        }
        for i in 0..<pages {
            var queuedNow = false
            defer { if !queuedNow { flush() } }
            let a = addr &+ i * pageSize
            guard let vi = indexContaining(a), !vmas[vi].flags.contains(.special) else { status.append(-Err.EFAULT); continue }
            switch ptes[a] {
            case nil:
                let oldAnonRule = profile != .largeFolio && vmas[vi].isPrivateAnon
                status.append(-(oldAnonRule ? Err.EFAULT : Err.ENOENT))
            case .zero?:
                kept.insert(a)
                status.append(-Err.EFAULT)
            case let .folio(id)?:
                let f = folios[id]!
                // folio_likely_mapped_shared(): a large folio by whether another mm maps it.
                let shared = f.large ? f.frozenMaps > 0 : f.mapcount > 1
                if queued == id {
                    status.append(-Err.EBUSY)
                } else if f.node == node {
                    kept.insert(a); status.append(Int32(node))
                } else if shared && flags & UAPI.MPOL_MF_MOVE_ALL == 0 {
                    kept.insert(a); status.append(-Err.EACCES)
                } else if f.large {
                    flush()
                    queued = id
                    queuedNow = true
                    status.append(Int32(node))
                } else {
                    migrateFolio(id, to: node)
                    moved.formUnion(f.maps)
                    status.append(Int32(node))
                }
            }
        }
        flush()
        lastFrames = FramePrediction(kept: kept.subtracting(moved), moved: moved)
        return OpResult(ret: 0, errno: 0, status: status)
    }

    func nodeID(_ t: NodeTarget) -> Int? {
        if let n = numa { return n.id(t) }
        return t == .local ? 0 : nil
    }

    /// One folio migrated to `node` (see the file comment for the rules).
    mutating func migrateFolio(_ id: Int, to node: Int) {
        guard var f = folios[id] else { return }
        f.node = node
        if f.mlocked && profile != .pre518 {
            counters.pgStranded += f.nr
            counters.pgRescued += f.nr
            // remove_migration_pmd/_pte: the rmap add mlocks a small folio, and a large one
            // only when the call maps it whole: a PMD on 6.18 (whole-folio rmap mlock) and
            // 5.18-6.6 (compound); 6.7-6.17 mlock only small folios there, and PTE-mapped
            // pieces are mapped one PTE per call. Otherwise the new folio stays munlocked
            // and evictable (lru_add rescued it) until reclaim.
            let remlocked = !f.large || (f.pmdMapped && (profile.rmapMlocksWholeLargeFolio || profile == .mlockCount))
            if remlocked {
                counters.pgMlocked += f.nr
                counters.pgCulled += f.nr
                // remove_migration_ptes: one mlock per VM_LOCKED mapping (a PMD is one).
                let addrs = f.large ? Set(f.maps.map { block($0) }) : f.maps
                let locked = addrs.filter { a in indexContaining(a).map { isMlockVMA(vmas[$0]) } ?? false }.count
                f.mlockCount = locked + f.frozenLockedMaps
            } else {
                f.mlocked = false
                f.unevictable = false
                f.mlockCount = 0
                counters.mlocked -= f.nr
                counters.unevictable -= f.nr
            }
        }
        folios[id] = f
    }

    // MARK: - mbind

    /// SYSCALL mbind -> do_mbind (mm/mempolicy.c), for MPOL_BIND / MPOL_PREFERRED of one
    /// node and MPOL_DEFAULT. Checks in order: flags outside STRICT|MOVE|MOVE_ALL ->
    /// EINVAL; an unaligned start -> EINVAL; len rounded up to pages, an empty range ->
    /// 0; MPOL_BIND/PREFERRED without a node, MPOL_DEFAULT with one -> EINVAL. Then
    /// queue_pages_range() walks [start, end): a hole anywhere in it -> EFAULT with
    /// nothing changed. Otherwise every VMA piece gets the policy (mbind_range ->
    /// vma_modify_policy: split at the edges, merge with neighbours of the same policy),
    /// and with MPOL_MF_MOVE the present pages not on the node and mapped once (any
    /// mapcount with MOVE_ALL) migrate to it; the zero page is skipped. With
    /// MPOL_MF_STRICT a page that had to stay makes it EIO.
    mutating func mbind(start: UInt64, length: UInt64, mode: Int32, node target: NodeTarget?, flags: UInt32) -> OpResult {
        if flags & ~(UAPI.MPOL_MF_STRICT | UAPI.MPOL_MF_MOVE | UAPI.MPOL_MF_MOVE_ALL) != 0 { return .fail(Err.EINVAL) }
        if offsetInPage(start) != 0 { return .fail(Err.EINVAL) }
        let end = start &+ pageAlign(length)
        if end < start { return .fail(Err.EINVAL) }
        if end == start { return .ok }
        let policy: MemPolicy?
        switch (mode, target) {
        case (UAPI.MPOL_DEFAULT, nil): policy = nil
        case (UAPI.MPOL_BIND, let t?), (UAPI.MPOL_PREFERRED, let t?):
            guard let n = nodeID(t) else { return .fail(Err.EINVAL) }
            policy = MemPolicy(mode: mode, node: n)
        default: return .fail(Err.EINVAL)
        }
        // queue_pages_test_walk: the range must be mapped without holes.
        var a = start
        while a < end {
            guard let i = indexContaining(a) else { return .fail(Err.EFAULT) }
            a = vmas[i].end
        }
        // Pages to move, found before the policy changes (queue_pages_range runs first).
        var toMove: [Int] = []
        var kept = Set<UInt64>(), moved = Set<UInt64>()
        var failed = false
        if let p = policy {
            for addr in presentPTEs(start, end) {
                guard case let .folio(id)? = ptes[addr], let f = folios[id] else { kept.insert(addr); continue }
                if toMove.contains(id) { continue }
                if f.node == p.node { kept.insert(addr); continue }
                if flags & (UAPI.MPOL_MF_MOVE | UAPI.MPOL_MF_MOVE_ALL) != 0
                    && (!(f.large ? f.frozenMaps > 0 : f.mapcount > 1) || flags & UAPI.MPOL_MF_MOVE_ALL != 0) {
                    toMove.append(id)
                } else {
                    kept.insert(addr)
                    if flags & UAPI.MPOL_MF_STRICT != 0 { failed = true }
                }
            }
        }
        splitAround(start, end)
        var i = indexContaining(start)!
        while i < vmas.count && vmas[i].start < end {
            vmas[i].policy = policy
            i = mergeNeighbours(i) + 1
        }
        for id in toMove {
            moved.formUnion(folios[id]?.maps ?? [])
            migrateFolio(id, to: policy!.node)
        }
        lastFrames = FramePrediction(kept: kept.subtracting(moved), moved: moved)
        return failed ? .fail(Err.EIO) : .ok
    }
}
