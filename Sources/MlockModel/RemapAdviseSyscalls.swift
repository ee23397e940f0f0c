// mremap (mm/mremap.c, 6.17+ shape) and madvise (mm/madvise.c).

extension KernelModel {
    // MARK: - mremap

    mutating func mremap(addr: UInt64, oldLength: UInt64, newLength: UInt64, flags: Int32, newAddr: UInt64) -> OpResult {
        let maymove = flags & UAPI.MREMAP_MAYMOVE != 0
        let fixed = flags & UAPI.MREMAP_FIXED != 0
        let dontunmap = flags & UAPI.MREMAP_DONTUNMAP != 0
        let oldLen = pageAlign(oldLength)
        let newLen = pageAlign(newLength)
        // check_mremap_params()
        if flags & ~(UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED | UAPI.MREMAP_DONTUNMAP) != 0 { return .fail(Err.EINVAL) }
        if offsetInPage(addr) != 0 { return .fail(Err.EINVAL) }
        if newLen == 0 || newLen > taskSize { return .fail(Err.EINVAL) }
        let impliesNewAddr = fixed || dontunmap
        if impliesNewAddr {
            if newAddr > taskSize - newLen { return .fail(Err.EINVAL) }
            if offsetInPage(newAddr) != 0 { return .fail(Err.EINVAL) }
            if !maymove { return .fail(Err.EINVAL) }
            if dontunmap && oldLen != newLen { return .fail(Err.EINVAL) }
            if addr &+ oldLen > newAddr && newAddr &+ newLen > addr { return .fail(Err.EINVAL) }
        }
        var req = RemapRequest(addr: addr, oldLen: oldLen, newLen: newLen, newAddr: newAddr,
                               fixed: fixed, maymove: maymove, dontunmap: dontunmap)
        let res: Result<UInt64, RemapError>
        if fixed && oldLen == newLen && hasMultiVMAMove {
            res = remapMove(&req)                        // vrm_move_only -> remap_move (6.17+)
        } else {
            if let err = checkPrepVMA(&req) { return .fail(err.errno) }
            res = impliesNewAddr ? remapTo(&req) : remapAt(&req)
        }
        switch res {
        case let .failure(e): return .fail(e.errno)
        case let .success(a):
            // do_mremap: a VM_LOCKED VMA that grew has its new part populated.
            if req.populateExpand && req.newLen > req.oldLen {
                _ = mmPopulate(req.newAddr + req.oldLen, req.newLen - req.oldLen, ignoreErrors: true)
            }
            return OpResult(ret: Int64(bitPattern: a), errno: 0)
        }
    }

    struct RemapRequest {
        var addr: UInt64, oldLen: UInt64, newLen: UInt64, newAddr: UInt64
        var fixed: Bool, maymove: Bool, dontunmap: Bool
        var populateExpand = false
    }
    struct RemapError: Error { var errno: Int32 }

    /// check_prep_vma(): the VMA must contain addr (EFAULT); for a grow or a move: a
    /// private old_len 0 -> EINVAL; the range may not run past the VMA end (EFAULT,
    /// except the part a shrink unmaps); a growing VM_LOCKED VMA must pass
    /// mlock_future_ok() -> EAGAIN, and will be populated.
    func checkPrepVMA(_ r: inout RemapRequest) -> RemapError? {
        guard let i = indexContaining(r.addr) else { return RemapError(errno: Err.EFAULT) }
        let v = vmas[i]
        let impliesNewAddr = r.fixed || r.dontunmap
        if !impliesNewAddr { r.newAddr = r.addr }
        let expand = r.newLen > r.oldLen
        if !(expand || impliesNewAddr) { return nil }
        if r.oldLen == 0 && !v.isShared { return RemapError(errno: Err.EINVAL) }
        if r.dontunmap && v.flags.contains(.special) { return RemapError(errno: Err.EINVAL) }
        let checkLen = r.newLen < r.oldLen ? r.newLen : r.oldLen
        if checkLen > v.end - r.addr { return RemapError(errno: Err.EFAULT) }
        if r.newLen == checkLen { return nil }
        if v.flags.contains(.locked) { r.populateExpand = true }
        if v.flags.contains(.special) { return RemapError(errno: Err.EFAULT) }
        if !mlockFutureOK(locked: v.flags.contains(.locked), bytes: r.newLen - r.oldLen) {
            return RemapError(errno: Err.EAGAIN)
        }
        return nil
    }

    /// mremap_at(): same size -> addr; shrink -> unmap the tail; grow -> in place when
    /// [addr, addr+old_len) ends the VMA and the space after it is free
    /// (vma_merge_extend, locked_vm += delta if VM_LOCKED), else move if MREMAP_MAYMOVE,
    /// else ENOMEM.
    mutating func remapAt(_ r: inout RemapRequest) -> Result<UInt64, RemapError> {
        if r.newLen == r.oldLen { return .success(r.addr) }
        if r.newLen < r.oldLen {
            if let e = shrink(&r) { return .failure(e) }
            return .success(r.addr)
        }
        let i = indexContaining(r.addr)!
        let delta = r.newLen - r.oldLen
        let v = vmas[i]
        let newEnd = v.end &+ delta
        if v.end - r.addr == r.oldLen && newEnd > v.end && newEnd <= taskSize && !intersects(v.end, newEnd) {
            vmas[i].end = newEnd
            // vma_merge_extend() merges the new range [end, end + delta) with middle NULL
            // and the VMA's anon_vma: is_mergeable_anon_vma() then has no source VMA whose
            // uncowed parents could refuse, only the next VMA's own (a fork child's VMA
            // grows into an unfaulted neighbour and merges with it). Found by the fuzzer.
            var range = vmas[i]
            range.uncowedParents = false
            if i + 1 < vmas.count, canMerge(range, vmas[i + 1], neighbourIsB: true) {
                vmas[i].end = vmas[i + 1].end
                vmas[i].anonVma = vmas[i].anonVma ?? vmas[i + 1].anonVma
                vmas.remove(at: i + 1)
            }
            if v.flags.contains(.locked) { lockedVM += delta >> pageShift }
            return .success(r.addr)
        }
        if !r.maymove { return .failure(RemapError(errno: Err.ENOMEM)) }
        r.newAddr = kernelChosenAddress(r.newLen)
        return moveVMA(&r)
    }

    /// mremap_to(): MREMAP_FIXED first unmaps the target range; a shrink unmaps the
    /// tail; then the (possibly shrunk) range moves.
    mutating func remapTo(_ r: inout RemapRequest) -> Result<UInt64, RemapError> {
        if r.fixed {
            unmapRange(r.newAddr, r.newAddr + r.newLen)
            if indexContaining(r.addr) == nil { return .failure(RemapError(errno: Err.EFAULT)) }
        }
        if r.newLen < r.oldLen {
            if let e = shrink(&r) { return .failure(e) }
            if indexContaining(r.addr) == nil { return .failure(RemapError(errno: Err.EFAULT)) }
            r.oldLen = r.newLen
        }
        if !r.fixed {
            // DONTUNMAP without FIXED: new_addr is only a hint.
            if r.newAddr == 0 || intersects(r.newAddr, r.newAddr &+ r.newLen) {
                r.newAddr = kernelChosenAddress(r.newLen)
            }
        }
        return moveVMA(&r)
    }

    /// shrink_vma(): do_vmi_munmap(addr + new_len, old_len - new_len), with its EINVAL
    /// for a range past TASK_SIZE.
    mutating func shrink(_ r: inout RemapRequest) -> RemapError? {
        let unmapStart = r.addr + r.newLen
        let delta = r.oldLen - r.newLen
        if unmapStart > taskSize || delta > taskSize - unmapStart { return RemapError(errno: Err.EINVAL) }
        unmapRange(unmapStart, unmapStart + delta)
        return nil
    }

    /// remap_move(): MREMAP_FIXED without resize moves every VMA of the source range,
    /// keeping the gaps between them; a gap at the start -> EFAULT.
    mutating func remapMove(_ r: inout RemapRequest) -> Result<UInt64, RemapError> {
        let start = r.addr, end = r.addr &+ r.oldLen
        if end < start { return .failure(RemapError(errno: Err.EFAULT)) }   // no VMA below a wrapped end
        var target = r.newAddr
        var seen = false
        var lastEnd: UInt64 = 0
        var res: Result<UInt64, RemapError> = .failure(RemapError(errno: Err.EFAULT))
        var cursor = start
        // for_each_vma_range: the iterator resumes after the previous VMA and stops once
        // that VMA reached the end of the range.
        while cursor < end, let i = firstIndex(endAbove: cursor), vmas[i].start < end {
            let v = vmas[i]
            if !seen && start < v.start { return .failure(RemapError(errno: Err.EFAULT)) }
            let offset = seen ? v.start - lastEnd : 0
            lastEnd = v.end
            let pieceAddr = max(v.start, start)
            let pieceLen = min(end, v.end) - pieceAddr
            var sub = RemapRequest(addr: pieceAddr, oldLen: pieceLen, newLen: pieceLen,
                                   newAddr: target + offset, fixed: true, maymove: true, dontunmap: r.dontunmap)
            if let e = checkPrepVMA(&sub) { return .failure(e) }
            let one = remapTo(&sub)
            guard case let .success(a) = one else { return one }
            if !seen { res = .success(a) }
            seen = true
            target = a + pieceLen
            cursor = v.end     // the VMA iterator moves past this VMA (a DONTUNMAP source stays)
        }
        return res
    }

    /// move_vma(): copy_vma() creates the destination VMA (same flags, file, anon_vma;
    /// an unfaulted anonymous VMA takes pgoff = new_addr >> PAGE_SHIFT) and merges it
    /// with compatible neighbours; the PTEs move without any rmap change, so pages are
    /// neither mlocked nor munlocked; locked_vm += new_len if VM_LOCKED
    /// (vrm_stat_account). Then the source range is unmapped (locked_vm -= old_len),
    /// or with MREMAP_DONTUNMAP the source VMA stays and loses VM_LOCKED|VM_LOCKONFAULT
    /// (dontunmap_complete), so the locked range just changed VMA: locked_vm unchanged.
    /// That is the rule (locked_vm = the pages of VM_LOCKED VMAs) and what move_vma()
    /// did before 6.16. Since the 6.16 mremap rework, vrm_stat_account() adds new_len
    /// before the DONTUNMAP exit and nothing takes it back: the range is counted twice
    /// and the extra count outlives both VMAs. The model keeps the rule; the catalog
    /// marks the kernel's leak as a known divergence (edge.mremap-locked.dontunmap).
    mutating func moveVMA(_ r: inout RemapRequest) -> Result<UInt64, RemapError> {
        guard let i = indexContaining(r.addr) else { return .failure(RemapError(errno: Err.EFAULT)) }
        let src = vmas[i]
        var dst = src
        dst.start = r.newAddr
        dst.end = r.newAddr + r.newLen
        dst.pgoff = src.pgoff &+ ((r.addr - src.start) >> pageShift)
        if src.isPrivateAnon && src.anonVma == nil { dst.pgoff = r.newAddr >> pageShift }
        // move_page_tables(): a PMD moves whole only when source and destination are
        // both PMD-aligned over the whole block; otherwise it is split first.
        if (r.addr &- r.newAddr) & (pmdSize - 1) != 0 {
            var b = block(r.addr)
            while b < r.addr + r.oldLen { splitPMD(b); b += pmdSize }
        } else {
            splitPMDs(cutBy: r.addr, r.addr + r.oldLen)
        }
        for b in Array(hugeZero) where b >= r.addr && b < r.addr + r.oldLen {
            hugeZero.remove(b)
            hugeZero.insert(b - r.addr + r.newAddr)
        }
        // Move the PTEs and their rmap entries.
        let sourceTables = pteTables
        var moved: [(UInt64, PTE)] = []
        for a in presentPTEs(r.addr, r.addr + r.oldLen) {
            if let p = ptes.removeValue(forKey: a) { moved.append((a, p)) }
        }
        for (old, p) in moved {
            let new = old - r.addr + r.newAddr
            ptes[new] = p
            if case let .folio(id) = p {
                folios[id]?.maps.remove(old)
                folios[id]?.maps.insert(new)
            }
        }
        let k = insertVMA(dst)
        movePageTables(r.addr, r.oldLen, to: r.newAddr, source: src, destination: vmas[k], sourceTables: sourceTables)
        if src.flags.contains(.locked) && !r.dontunmap {
            lockedVM += r.newLen >> pageShift
        }
        if r.dontunmap {
            // locked_vm follows the VMAs that are VM_LOCKED afterwards (the destination
            // may even have merged with its source, which then loses VM_LOCKED whole).
            let lockedBefore = lockedPagesOfVMAs
            if let k = indexContaining(r.addr) {
                vmas[k].flags.subtract(.lockedMask)
                // The whole VMA was emptied: unlink_anon_vmas() frees its whole
                // anon_vma_chain (a fork child's link to the parent's anon_vma too) and
                // sets anon_vma = NULL. The source is then a VMA that never faulted: its
                // next fault gets an anon_vma of its own (or a neighbour's), with a
                // singular chain, so it merges with unfaulted neighbours again.
                if r.addr == src.start && r.addr + r.oldLen == src.end && vmas[k].start == src.start {
                    vmas[k].anonVma = nil
                    vmas[k].uncowedParents = false
                }
            }
            // lockedBefore already counts the destination, which locked_vm does not yet.
            let destination = src.flags.contains(.locked) ? r.newLen >> pageShift : 0
            lockedVM = lockedVM + destination + lockedPagesOfVMAs - lockedBefore
        } else {
            unmapRange(r.addr, r.addr + r.oldLen)
        }
        return .success(r.newAddr)
    }

    /// move_page_tables(): which 2 MiB blocks have a page table after [old, old+len)
    /// moved to `new` (the PTEs themselves are already moved). Extents end at a PMD
    /// boundary of either side (get_extent). An extent whose source PMD is empty is
    /// skipped; otherwise the destination gets a page table, pte_alloc(), even when no
    /// PTE of the extent is present: a later fault-around there then finds a table (the
    /// 6.18 EOF rule in faultAround) and a later anonymous fault no pmd_none (no PMD
    /// THP). A whole PMD-sized extent moves the table itself (move_normal_pmd, x86
    /// HAVE_MOVE_PMD), so the source block loses it, unless the destination already has
    /// one. 6.7 on (af8ca1c14906 "mm/mremap: optimize the start addresses in
    /// move_page_tables()") first aligns both starts down to their PMD when they share
    /// the offset in it, the range starts its VMA and reaches the next boundary, and no
    /// VMA lies between either aligned start and its VMA (try_realign_addr): then the
    /// first block's table moves whole too. PMD-mapped THPs and huge zero pages moved
    /// or split before this are not page tables.
    mutating func movePageTables(_ old: UInt64, _ len: UInt64, to new: UInt64,
                                 source: VMA, destination: VMA, sourceTables: Set<UInt64>) {
        var from = old, to = new
        let end = old + len
        let inBlock = old & (pmdSize - 1)
        if profile == .largeFolio || profile == .rmapLargeFolio, inBlock != 0,
           len >= pmdSize - inBlock, inBlock == new & (pmdSize - 1),
           source.start == old, destination.start == new,
           !intersects(block(old), old), !intersects(block(new), new) {
            from = block(old)
            to = block(new)
        }
        while from < end {
            let extent = min(block(from) + pmdSize - from, end - from, block(to) + pmdSize - to)
            defer { from += extent; to += extent }
            guard sourceTables.contains(block(from)) else { continue }
            if extent == pmdSize && !pteTables.contains(block(to)) {
                pteTables.remove(block(from))
            }
            pteTables.insert(block(to))
        }
    }

    /// mremap behaviour of the host kernel (6.18) that older kernels lack. The profiles
    /// are mlock eras, so `.largeFolio` (6.7 on) is taken to mean the host's mremap;
    /// 6.7-6.15 kernels have neither (TODO: a finer profile or a kernel version).
    /// 6.17 on: MREMAP_FIXED without resize moves every VMA of the range (remap_move).
    var hasMultiVMAMove: Bool { profile == .largeFolio || profile == .rmapLargeFolio }

    /// Pages of the VMAs that are VM_LOCKED now.
    var lockedPagesOfVMAs: UInt64 { vmas.reduce(0) { $0 + ($1.flags.contains(.locked) ? $1.pages : 0) } }

    /// Where a moved mapping goes when the kernel chooses (get_unmapped_area without a
    /// hint: top-down below mmap_base, an address the rules cannot know). The caller that
    /// ran the op on a kernel passes the kernel's answer in `chosenAddress` and applies
    /// the op again: the model takes the address as an input, as it takes the op, and
    /// predicts everything else from it. Taken only where the kernel could have put it:
    /// page-aligned, outside the arena, below TASK_SIZE, over nothing mapped; otherwise
    /// (and with no input) a placeholder at or above kernelChosenAddressBase, which no
    /// kernel result equals, so the result check shows the bad choice.
    mutating func kernelChosenAddress(_ len: UInt64) -> UInt64 {
        let len = pageAlign(len)
        if let a = chosenAddress {
            chosenAddress = nil
            if offsetInPage(a) == 0, len <= taskSize, a <= taskSize - len,
               !Arena.contains(a), !Arena.contains(a + len - 1), !(a < Arena.base && a + len > Arena.base + Arena.size),
               !intersects(a, a + len) {
                return a
            }
        }
        let a = nextKernelChosen
        nextKernelChosen += pageAlign(len) + (2 << 20)
        return a
    }

    // MARK: - madvise

    mutating func madvise(start: UInt64, length: UInt64, advice: Int32) -> Int32 {
        // madvise_should_skip() / is_valid_madvise()
        if !Self.validAdvice(advice, profile: profile) { return Err.EINVAL }
        if offsetInPage(start) != 0 { return Err.EINVAL }
        let len = pageAlign(length)
        if length != 0 && len == 0 { return Err.EINVAL }
        if start &+ len < start { return Err.EINVAL }
        if len == 0 { return 0 }
        let end = start + len
        if advice == UAPI.MADV_POPULATE_READ || advice == UAPI.MADV_POPULATE_WRITE {
            return madvisePopulate(start, end, write: advice == UAPI.MADV_POPULATE_WRITE)
        }
        // madvise_walk_vmas(): holes give ENOMEM at the end but do not stop the walk; an
        // error from a VMA stops it at once (VMAs before it already done).
        var unmappedError: Int32 = 0
        var rstart = start
        while true {
            guard let i = firstIndex(endAbove: rstart) else { return Err.ENOMEM }
            if rstart < vmas[i].start {
                unmappedError = Err.ENOMEM
                rstart = vmas[i].start
                if rstart >= end { break }
            }
            let rend = min(vmas[i].end, end)
            let (err, j) = madviseVMA(i, rstart, rend, advice)
            if err != 0 { return err }
            let vend = max(rend, vmas[j].end)
            if vend >= end { break }
            rstart = vend
        }
        return unmappedError
    }

    static func validAdvice(_ a: Int32, profile: KernelProfile) -> Bool {
        switch a {
        case 0...4, 8...25, 100...103:
            // MADV_DONTNEED_LOCKED (24) appeared in 5.18; MADV_COLLAPSE (25) in 6.1.
            if profile == .pre518 && (a == UAPI.MADV_DONTNEED_LOCKED || a == UAPI.MADV_COLLAPSE) { return false }
            return true
        default:
            return false
        }
    }

    /// madvise_vma_behavior() on [start, end) inside VMA `i`. Returns the errno and the
    /// index of the VMA that now covers `start`.
    mutating func madviseVMA(_ i: Int, _ start: UInt64, _ end: UInt64, _ advice: Int32) -> (Int32, Int) {
        let v = vmas[i]
        var newFlags = v.flags
        switch advice {
        case UAPI.MADV_DONTNEED, UAPI.MADV_DONTNEED_LOCKED, UAPI.MADV_FREE:
            // madvise_dontneed_free_valid_vma(): VM_LOCKED (except for DONTNEED_LOCKED)
            // or VM_PFNMAP -> EINVAL. MADV_FREE only on anonymous VMAs -> EINVAL.
            if v.flags.contains(.special) { return (Err.EINVAL, i) }
            if advice != UAPI.MADV_DONTNEED_LOCKED && v.flags.contains(.locked) { return (Err.EINVAL, i) }
            if advice == UAPI.MADV_FREE {
                if !v.isPrivateAnon { return (Err.EINVAL, i) }
                markLazyfree(start, end)   // the pages stay mapped until reclaim
                return (0, i)
            }
            // zap_page_range_single(): each page unmapped, munlocked in a VM_LOCKED VMA
            // (munlock_vma_folio), anonymous folios freed.
            zap(start, end)
            return (0, indexContaining(start) ?? i)
        case UAPI.MADV_COLD, UAPI.MADV_PAGEOUT:
            // can_madv_lru_vma(): VM_LOCKED|VM_PFNMAP|VM_HUGETLB -> EINVAL.
            if v.flags.contains(.locked) || v.flags.contains(.special) { return (Err.EINVAL, i) }
            if advice == UAPI.MADV_PAGEOUT { pageout(i, start, end) }
            return (0, i)
        case UAPI.MADV_WILLNEED:
            // madvise_willneed(): anonymous and shmem VMAs only swap in (nothing here);
            // a regular file gets vfs_fadvise(POSIX_FADV_WILLNEED) ->
            // force_page_cache_ra(), which caches up to max(bdi->io_pages, ra_pages)
            // pages of the range without mapping them. The model caches the whole range
            // (io_pages is hundreds of pages on common devices; scenarios stay below).
            if let oid = objectID(v.file), let obj = objects[oid], obj.kind == .file {
                let first = v.index(of: start)
                let last = min(first + ((end - start) >> pageShift), obj.pages)
                if first < last { for k in first..<last { _ = cacheFolio(v.file!, k) } }
            }
            return (0, i)
        case UAPI.MADV_REMOVE:
            // madvise_remove(): VM_LOCKED -> EINVAL; no file -> EINVAL; not a shared
            // writable mapping -> EACCES; else punch a hole in the file.
            if v.flags.contains(.locked) { return (Err.EINVAL, i) }
            guard v.file != nil, !v.isForeign else { return (Err.EINVAL, i) }
            if !v.isShared { return (Err.EACCES, i) }   // vma_is_shared_maywrite (VM_MAYWRITE: fd opened rw)
            punchHole(v.file!, v.index(of: start), (end - start) >> pageShift)
            return (0, i)
        case UAPI.MADV_NORMAL: newFlags.subtract([.randRead, .seqRead])
        case UAPI.MADV_SEQUENTIAL: newFlags.subtract(.randRead); newFlags.insert(.seqRead)
        case UAPI.MADV_RANDOM: newFlags.subtract(.seqRead); newFlags.insert(.randRead)
        case UAPI.MADV_DONTFORK: newFlags.insert(.dontCopy)
        case UAPI.MADV_DOFORK:
            if v.flags.contains(.special) { return (Err.EINVAL, i) }
            newFlags.remove(.dontCopy)
        case UAPI.MADV_HUGEPAGE: newFlags.remove(.noHugepage); newFlags.insert(.hugepage)
        case UAPI.MADV_NOHUGEPAGE: newFlags.remove(.hugepage); newFlags.insert(.noHugepage)
        case 12: newFlags.insert(.mergeable)                  // MADV_MERGEABLE
        case 13: newFlags.remove(.mergeable)                  // MADV_UNMERGEABLE
        case 16: newFlags.insert(.dontDump)                   // MADV_DONTDUMP
        case 17:                                              // MADV_DODUMP
            if v.flags.contains(.special) { return (Err.EINVAL, i) }
            newFlags.remove(.dontDump)
        case 18:                                              // MADV_WIPEONFORK
            if v.file != nil { return (Err.EINVAL, i) }
            newFlags.insert(.wipeOnFork)
        case 19: newFlags.remove(.wipeOnFork)                 // MADV_KEEPONFORK
        case 102:                                             // MADV_GUARD_INSTALL
            if v.flags.contains(.locked) || v.flags.contains(.special) { return (Err.EINVAL, i) }
            return (0, i)                                     // TODO: guard markers not modelled
        case UAPI.MADV_COLLAPSE:
            return (collapse(i, start, end), indexContaining(start) ?? i)
        default:
            return (0, i)   // GUARD_REMOVE, HWPOISON, SOFT_OFFLINE: not modelled
        }
        // madvise_update_vma(): unchanged flags -> nothing; else vma_modify_flags().
        if newFlags == v.flags { return (0, i) }
        let j = modifyFlags(i, start, end, newFlags)
        return (0, j)
    }

    /// MADV_PAGEOUT without swap. madvise_cold_or_pageout_pte_range() isolates each
    /// present folio of the range mapped only here (folio_mapcount == 1: other mappings
    /// are not interfered with) and evictable (an unevictable one is put back), and
    /// reclaim_pages() -> shrink_folio_list() tries to reclaim it: an anonymous folio
    /// needs swap (add_to_swap fails: activated, still mapped); a page-cache folio (shmem
    /// or a regular file) is unmapped first (try_to_unmap), then:
    /// - dirty (written, see Folio.dirty): kept in the cache. shmem cannot be written out
    ///   without swap (pageout -> shmem_writeout redirties it, AOP_WRITEPAGE_ACTIVATE,
    ///   which also clears PG_reclaim again); direct reclaim never writes a dirty
    ///   regular-file folio: it sets PG_reclaim and activates it, and PG_reclaim is
    ///   PG_readahead, which fault-around skips (Folio.reclaimMark).
    /// - clean (a shmem page never written: shmem_fault's zeroed folio is not dirtied;
    ///   a file page read from disk or written back): __remove_mapping drops it from the
    ///   page cache and frees it; the next fault reads (or zeroes) a new one.
    /// Dirty regular-file folios are written back by the flusher after
    /// dirty_expire_centisecs (30 s), far beyond a sequence; under heavy global dirty
    /// memory background writeback could clean them earlier (not modelled). Caller
    /// (the root agent) may page out file pages: can_do_file_pageout() (owner or writable).
    /// An anonymous folio MADV_FREE left lazyfree (clean, not swap-backed) needs no swap:
    /// try_to_unmap_one() discards it (Rss down, the folio freed) when nothing but its
    /// mapping and the isolation holds it (the settled per-CPU batches hold none).
    mutating func pageout(_ i: Int, _ start: UInt64, _ end: UInt64) {
        let v = vmas[i]
        for a in presentPTEs(start, end) {
            guard case let .folio(id)? = ptes[a], let f = folios[id] else { continue }
            if f.mapcount != 1 || f.unevictable { continue }
            if f.anon {
                if f.lazyfree && !f.large { zap(a, a + pageSize) }
                continue
            }
            // can_do_file_pageout(): owner (root made every object) or write permission;
            // after setuid only the 0600 regular files refuse (memfd and shmem are 0777):
            // their page-cache folios are left alone (pageout_anon_only_filter, or
            // nothing at all for a shared mapping).
            if uid != 0, let oid = objectID(f.file), objects[oid]?.kind == .file { continue }
            unmapPTE(at: a, vma: v)
            guard let oid = objectID(f.file), let kind = objects[oid]?.kind else { continue }
            if f.dirty {
                if kind == .file { folios[id]?.reclaimMark = true }
            } else if folios[id]?.unmapped == true && !f.large {   // TODO: clean large page-cache folios
                objects[oid]?.cache[f.index] = nil
                folios[id]?.file = nil
                freeFolio(id)
            }
        }
    }

    /// madvise_free_pte_range(): each small anonymous folio mapped in [start, end) has its
    /// PTE cleaned and becomes lazyfree (folio_mark_lazyfree: anonymous, swap-backed, not
    /// unevictable). The zero page is no folio. A folio also mapped elsewhere is marked
    /// too: only a PG_dirty one is skipped then, and an anonymous folio has PG_dirty only
    /// after GUP wrote through a clean PTE (not modelled: it would take a MADV_FREE, a
    /// populate-write and a fork before a second MADV_FREE).
    /// TODO: large folios (madvise_free_pte_range splits one the range covers in part,
    /// madvise_free_huge_pmd a PMD one); the fuzzer's anonymous folios are small.
    mutating func markLazyfree(_ start: UInt64, _ end: UInt64) {
        for a in presentPTEs(start, end) {
            guard case let .folio(id)? = ptes[a], let f = folios[id], f.anon, !f.large, !f.unevictable else { continue }
            folios[id]?.lazyfree = true
        }
    }

    /// MADV_REMOVE -> vfs_fallocate(PUNCH_HOLE): every page-cache folio of the hole is
    /// unmapped from every VMA (munlocked where VM_LOCKED) and dropped from the cache.
    mutating func punchHole(_ ref: FileRef, _ firstIndex: UInt64, _ count: UInt64) {
        guard let oid = objectID(ref), let obj = objects[oid] else { return }
        for idx in firstIndex..<(firstIndex + count) {
            guard let fid = obj.cache[idx] else { continue }
            // The munlocks of the zap wait in the per-CPU mlock batch (holding a
            // reference) until the next drain, after truncate_inode_pages has taken the
            // folio out of the page cache: folio_mapping() is NULL by then, so the folio
            // counts as evictable and is rescued even on an unevictable mapping.
            folios[fid]?.file = nil
            for a in folios[fid]?.maps ?? [] {
                if let k = indexContaining(a) { unmapPTE(at: a, vma: vmas[k]) }
            }
            // unmap_mapping_range() reaches every mm: a frozen parent's mappings go too,
            // each locked one munlocking the folio (munlock_vma_folio).
            if var f = folios[fid], f.frozenMaps > 0 {
                let locked = f.frozenLockedMaps
                f.frozenMaps = 0
                f.frozenLockedMaps = 0
                folios[fid] = f
                // The parked processes' PTEs of it go too (else they would name a freed folio).
                for p in Array(parked.keys) {
                    guard var space = parked[p] else { continue }
                    space.ptes = space.ptes.filter { $0.value != .folio(fid) }
                    parked[p] = space
                }
                for _ in 0..<locked { munlockFolio(fid, otherLockedMapping: false) }
            }
            objects[oid]?.cache[idx] = nil
            if let f = folios[fid], f.unmapped { freeFolio(fid) }
        }
    }

    /// madvise_populate() -> faultin_page_range(): page by page; no VMA -> ENOMEM,
    /// missing permission (read needs VM_READ, write VM_WRITE, no FOLL_FORCE) -> EINVAL,
    /// SIGBUS -> EFAULT; the pages before the failure stay populated.
    mutating func madvisePopulate(_ start: UInt64, _ end: UInt64, write: Bool) -> Int32 {
        var a = start
        while a < end {
            guard let i = indexContaining(a) else { return Err.ENOMEM }
            let v = vmas[i]
            if write ? !v.flags.contains(.write) : !v.flags.contains(.read) { return Err.EINVAL }
            if v.flags.contains(.special) { return Err.EINVAL }   // check_vma_flags: VM_IO|VM_PFNMAP
            if v.isForeign { a += pageSize; continue }          // foreign pages are not modelled
            // GUP faults (FOLL_MLOCK before 5.18, so `populate: true` for .pre518).
            if needsFault(a, write: write) {
                if fault(a, vmaIndex: i, write: write, populate: true) == .sigbus { return Err.EFAULT }
            }
            // FOLL_WRITE|FOLL_TOUCH on a present shared page: set_page_dirty (follow_page_pte).
            if write { markWritten(a) }
            a += pageSize
        }
        return 0
    }
}
