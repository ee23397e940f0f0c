import MlockModel

/// Laziness made visible: what the rules leave to reclaim. SHM_LOCK moves none of the
/// pages already cached (they stay on the evictable list until reclaim meets them), and
/// a page in a VM_LOCKED VMA without PG_mlocked is mlocked only when reclaim's rmap walk
/// finds the lock. Each scenario runs in a memory cgroup of the suite's own, with swap
/// on a zram device of its own (reclaim scans anon and shmem only with swap), and its
/// `reclaim` step is checked eventually: the runner reclaims in rounds until the kernel
/// shows what the model predicts, within a bound, and reports it as eventual.
enum Lazy {
    static func lazy(_ id: String, _ summary: String, covers: [String] = [], requires: Set<Requirement> = [],
                     _ build: (inout ScenarioBuilder) -> Void) -> Scenario {
        Scenario("lazy." + id, summary, covers: covers, requires: requires.union([.reclaim, .pageLayer]), build)
    }

    static let scenarios: [Scenario] = [
        lazy("shm-lock-culled",
             "SHM_LOCK of a segment whose pages are cached moves nothing; reclaim culls them to the unevictable list (Unevictable, culled, PG_unevictable without PG_mlocked); SHM_UNLOCK rescues them at once",
             covers: ["digest/P-46", "digest/P-48", "ltp/shmctl07"]) { b in
            let m = b.region(pages: 8)
            b.shmget(0, pages: 8)
            b.shmat(0, m)
            b.touch(m, "8 shmem pages on the evictable (anon) list")
            b.shmctl(0, .lock, "mapping_set_unevictable: nothing moves yet")
            b.step(.reclaim, "shrink lists: !folio_evictable -> put back on the unevictable list (culled +8)")
            b.shmctl(0, .unlock, "shmem_unlock_mapping: rescued +8")
            b.shmdt(m)
            b.shmctl(0, .remove)
        },
        lazy("shm-lock-partly-cached",
             "half a segment cached before SHM_LOCK, half after: the later half is unevictable at once, the earlier half only once reclaim has met it; SHM_UNLOCK rescues all",
             covers: ["digest/P-46", "digest/P-47"]) { b in
            let m = b.region(pages: 8)
            b.shmget(0, pages: 8)
            b.shmat(0, m)
            b.touch(m.sub(0, 4), "4 pages on the evictable list")
            b.shmctl(0, .lock)
            b.touch(m.sub(4, 4), "4 new pages: lru_add culls them at once")
            b.step(.reclaim, "the first 4 culled now")
            b.shmctl(0, .unlock, "rescued +8")
            b.shmdt(m)
            b.shmctl(0, .remove)
        },
        lazy("shm-lock-unmapped-cache",
             "SHM_LOCK of a segment nobody maps, whose pages are cached: reclaim culls the unmapped page-cache folios too; attached again they are unevictable, not mlocked",
             covers: ["digest/P-46"]) { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.touch(m)
            b.shmdt(m, "the pages stay in the segment's page cache")
            b.shmctl(0, .lock)
            b.step(.reclaim, "culled +4 without any mapping")
            b.shmat(0, m)
            b.read(m, "the cached pages mapped again: unevictable, not mlocked")
            b.shmctl(0, .unlock, "rescued +4")
            b.shmdt(m)
            b.shmctl(0, .remove)
        },
        lazy("shm-lock-and-mlock",
             "a SHM_LOCK'd segment cached before the lock, one attach mlocked: the mlocked half is mlocked and unevictable at once; reclaim culls the other half; SHM_UNLOCK rescues only that half, the detach munlocks and rescues the rest; the memcg's memory.stat unevictable follows (eventually: the 2 s stats flush)",
             covers: ["digest/P-46"]) { b in
            let m = b.region(pages: 8)
            b.shmget(0, pages: 8)
            b.shmat(0, m)
            b.touch(m)
            b.shmctl(0, .lock)
            b.mlock(m.sub(0, 4), "mlocked: PG_mlocked, to the unevictable list")
            b.step(.reclaim, "the unmlocked half culled")
            b.shmctl(0, .unlock, "rescues the 4 not mlocked")
            b.shmdt(m, "unmapping the locked VMA munlocks: PG_mlocked cleared, evictable again, rescued")
            b.shmctl(0, .remove)
        }.checkingMemcgStat(),
        lazy("anon-locked-half-stays",
             "reclaim with swap takes the unlocked half of a private anonymous range (swapped out: not present, Rss drops) and leaves the mlocked half present and mlocked; the swapped pages come back on touch") { b in
            let m = b.region(pages: 8)
            b.map(m)
            b.touch(m)
            b.mlock(m.sub(0, 4))
            b.step(.reclaim, "the evictable half goes to swap; the locked half is on the unevictable list, never scanned")
            b.touch(m.sub(4, 4), "swapped in again (new folios, evictable)")
            b.munlock(m.sub(0, 4))
            b.munmap(m)
        },
        lazy("memfd-locked-half-stays",
             "a memfd mapped shared, half mlocked: reclaim swaps the unlocked half out of the page cache and leaves the locked half; a read brings it back") { b in
            let m = b.region(pages: 8)
            b.step(.createObject(slot: 0, kind: .memfd, pages: 8, filled: false))
            b.map(m, .rw, .object(slot: 0, shared: true, pageOffset: 0))
            b.touch(m)
            b.mlock(m.sub(4, 4))
            b.step(.reclaim, "the first half swapped out of the shmem cache")
            b.read(m.sub(0, 4), "swapped in again")
            b.munmap(m)
        },
        lazy("thp-split-locked-first",
             "a locked PMD THP with page 100 munlocked: the PMD split munlocks the whole folio, now PTE-mapped across 3 VMAs; reclaim neither mlocks it again (no VMA maps it all) nor swaps out the unlocked page (try_to_unmap stops at the locked VMA that comes first)",
             covers: ["digest/P-40", "digest/P-43", "digest/P-51"], requires: [.thp]) { b in
            let m = THP.hugeRegion(&b)
            b.mlock(m, "an mlocked PMD THP")
            b.expectFolios(m)
            b.munlock(m.sub(100, 1), "PMD split: the whole folio munlocked; VmLck and Locked keep 511 pages")
            b.step(.reclaim, "unchanged: the rmap walk meets [0, 100) locked first and gives up")
            b.munmap(m)
        },
        lazy("thp-split-unlocked-first",
             "a locked PMD THP with its first page munlocked: reclaim swaps that page out (its VMA comes first in the rmap walk) and stops at the locked rest, which stays a PTE-mapped large folio, not mlocked, in the swap cache",
             covers: ["digest/P-40", "digest/P-43", "digest/P-51"], requires: [.thp]) { b in
            let m = THP.hugeRegion(&b)
            b.mlock(m, "an mlocked PMD THP")
            b.expectFolios(m)
            b.munlock(m.sub(0, 1), "PMD split: the whole folio munlocked, PTE-mapped across 2 VMAs")
            b.step(.reclaim, "page 0 swapped out; the 511 locked pages stay, not mlocked")
            // Not touched again: do_swap_page would map page 0 of the same large folio
            // back from the swap cache, which the model does not keep.
            b.munmap(m, "the folio and its swap entry freed")
        },
    ]
}
