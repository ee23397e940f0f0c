// Readahead state and the asynchronous readahead a PG_readahead folio triggers
// (mm/readahead.c, mm/filemap.c, 6.16+ as seen on 6.18).

/// struct file_ra_state of an object's one open file: the window the last readahead
/// set up, and the folio order it ramps (stored in the state since 6.16, "mm/readahead:
/// store folio order in struct file_ra_state").
struct ReadaheadState: Hashable, Sendable {
    var start: UInt64 = 0
    var size: UInt64 = 0
    var asyncSize: UInt64 = 0
    var order = 0
}

extension KernelModel {
    /// get_next_ra_size(): how a window grows, up to `max`.
    static func nextReadaheadSize(_ cur: UInt64, max: UInt64) -> UInt64 {
        if cur < max / 16 { return 4 * cur }
        if cur <= max / 2 { return 2 * cur }
        return max
    }

    /// The window do_sync_mmap_readahead() leaves in the file's state after a miss at
    /// `index` (the pages it reads are `readAround`'s).
    ///  - VM_EXEC: from the index to the VMA's end, at most ra_pages, async_size 0;
    ///  - VM_SEQ_READ: page_cache_sync_ra() sets a window only at index 0 (the start of
    ///    the file: ra_pages, async_size half of it); elsewhere it reads ra_pages from
    ///    the index as a "small random read" and leaves the state alone, because a file
    ///    shorter than ra_pages has fewer cached pages before the index than that;
    ///  - otherwise read-around: index - ra_pages/2, ra_pages, async_size ra_pages/4.
    /// ra->order is 0 after each (page_cache_ra_order() stores what it clamps to).
    mutating func noteSyncReadahead(_ v: VMA, _ oid: Int, _ index: UInt64) {
        guard !v.flags.contains(.randRead), readAroundPages > 0 else { return }
        let ra = readAroundPages
        let s: ReadaheadState
        if v.flags.contains(.exec) && !v.flags.contains(.seqRead) {
            s = ReadaheadState(start: index, size: min(index + ra, v.pgoff + v.pages) - index, asyncSize: 0, order: 0)
        } else if v.flags.contains(.seqRead) {
            guard index == 0 else { return }
            s = ReadaheadState(start: 0, size: ra, asyncSize: ra / 2, order: 0)
        } else {
            s = ReadaheadState(start: index - min(index, ra / 2), size: ra, asyncSize: ra / 4, order: 0)
        }
        objects[oid]?.ra = s
    }

    /// do_async_mmap_readahead() -> page_cache_async_ra(): a fault found the folio at
    /// `index` cached with PG_readahead (here PG_reclaim, the same bit, which reclaim
    /// leaves on a dirty folio it kept). req_count and max_pages are ra_pages.
    ///  - The expected index of the window (start + size - async_size, rounded down to
    ///    the folio) pushes the window forward; any other index starts a new one at the
    ///    first page after it that is not cached, if that is within ra_pages.
    ///  - Either way ra->order grows by 2 and page_cache_ra_order() reads the window
    ///    in folios of that order (clamped to the largest page-cache order and to
    ///    log2 of the window), smaller where the index is not aligned to it or where
    ///    the file ends, and stops at the first folio that would overlap a cached page
    ///    (filemap_add_folio -EEXIST); the rest of the window is then read in small
    ///    folios around what is cached (do_page_cache_ra).
    /// So a hole between cached pages is read back as one large folio once reclaim's
    /// mark is met before it: found by the fuzzer (MS_SYNC cleaned pages 2-3 of a
    /// 6-page ext4 file, MADV_PAGEOUT dropped them and kept 0-1 dirty with PG_reclaim,
    /// mlockall's populate faulted 1 and read 2-3 back as one order-1 folio).
    /// The 6.18 profile only: 6.1's ondemand_readahead() reads differently at index 0,
    /// and before 6.16 ext4 had no large folios.
    mutating func asyncReadahead(_ oid: Int, index: UInt64, folioPages: UInt64) {
        guard profile == .rmapLargeFolio, let obj = objects[oid], obj.kind == .file, obj.pages > 0 else { return }
        let maxPages = readAroundPages
        var ra = obj.ra
        let expected = (ra.start &+ ra.size &- ra.asyncSize) & ~(folioPages - 1)
        if index == expected {
            ra.start += ra.size
            ra.size = max(ra.size, Self.nextReadaheadSize(ra.size, max: maxPages))
        } else {
            // page_cache_next_miss(index + 1, max_pages): past the file's end is a miss.
            var miss = index + 1
            while miss < index + 1 + maxPages && miss < obj.pages && obj.cache[miss] != nil { miss += 1 }
            guard miss - index <= maxPages else { return }
            ra.start = miss
            ra.size = Self.nextReadaheadSize(miss - index + maxPages, max: maxPages)
        }
        ra.order += 2
        let align = UInt64(1) << UInt64(min(ra.order, maxPages.trailingZeroBitCount))
        let end = ra.start + ra.size
        let alignedEnd = end & ~(align - 1)
        if alignedEnd > ra.start { ra.size -= end - alignedEnd }
        ra.asyncSize = ra.size
        readaheadInOrder(oid, &ra)
        objects[oid]?.ra = ra
    }

    /// page_cache_ra_order() from ra.start, then do_page_cache_ra() for what it left.
    /// PG_readahead goes on the folio at the window's mark when the window ends before
    /// the file does.
    mutating func readaheadInOrder(_ oid: Int, _ ra: inout ReadaheadState) {
        guard let obj = objects[oid] else { return }
        let ref = FileRef.object(oid)
        let start = ra.start
        var index = start
        var limit = obj.pages - 1
        var mark: UInt64?
        if !thp.fileLargeFolios {
            ra.order = 0
        } else {
            if limit > index &+ ra.size &- 1 {
                limit = index + ra.size - 1
                mark = index + ra.size - ra.asyncSize
            }
            var order = min(pmdOrder, ra.order)
            if ra.size > 0 { order = min(order, 63 - ra.size.leadingZeroBitCount) }
            ra.order = order
            var conflict = false
            while index <= limit {
                var o = order
                if index & ((UInt64(1) << UInt64(o)) - 1) != 0 { o = index.trailingZeroBitCount }
                while o > 0 && index + (UInt64(1) << UInt64(o)) - 1 > limit { o -= 1 }
                let n = UInt64(1) << UInt64(o)
                if (index..<index + n).contains(where: { objects[oid]?.cache[$0] != nil }) { conflict = true; break }
                let id = o == 0 ? cacheFolio(ref, index) : cacheLargeFolio(ref, first: index, order: o)
                if let m = mark, m & ~(n - 1) == index { folios[id]?.reclaimMark = true }
                index += n
            }
            if !conflict { return }
        }
        // do_page_cache_ra() -> page_cache_ra_unbounded(): small folios in the holes,
        // clipped to the file; its mark is nr_to_read - async_size from the index.
        guard ra.size > index - start, index < obj.pages else { return }
        let nr = min(ra.size - (index - start), obj.pages - index)
        let lookaheadAt: UInt64? = ra.asyncSize <= nr ? nr - ra.asyncSize : nil
        for k in 0..<nr where objects[oid]?.cache[index + k] == nil {
            let id = cacheFolio(ref, index + k)
            if k == lookaheadAt { folios[id]?.reclaimMark = true }
        }
    }
}
