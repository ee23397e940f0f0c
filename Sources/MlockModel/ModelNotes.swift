// Notes on the reference model: what it assumes, how it was checked, what is left.
//
// SETTLED STATE. The model applies every per-CPU batch (lru_add, mlock_fbatch) at once,
// in the order a settled kernel ends with (lru_add before mlock, mm/swap.c
// lru_add_drain_cpu -> mlock_drain_local). For order-0 folios this gives the exact
// PG_mlocked / PG_unevictable / mlock_count and event totals when each step starts
// with drained batches. It does not model counts lost to isolation races (compaction,
// migration, reclaim): "mlock_count has to be presumed lost" there. Nor where the batches
// are cut within one op: an mlock batch applied while new folios still wait in the lru_add
// batch loses their counts (__mlock_folio() does nothing off the LRU, and lru_add() sets
// mlock_count 0 on purpose, "underestimate, let page reclaim fix it"), so a folio locked
// through two VMAs in one populate may be munlocked by the first unlock. The fuzzer met
// this and the other batch-cut effects; they are written up (docs/fuzz/, README "Fuzzing")
// and recognised as known kernel behaviours, not predicted.
//
// ASSUMPTIONS (true for lockstep's agent on the lab VM, worth checking elsewhere):
// - One scenario process, no fork: every folio's mapcount is its number of PTEs here,
//   anon_vma chains are singular, an anonymous folio has at most one locked mapping.
// - VMA merges and anon_vmas: is_mergeable_anon_vma() let a range with an anon_vma merge
//   into a neighbour without one only from 6.16 (879bca0a2c4f "mm/vma: fix incorrectly
//   disallowed anonymous VMA merges": then only a fork child refuses). Before, it required
//   the neighbour's anon_vma_chain to be singular, which an unfaulted neighbour's empty chain
//   is not (6.1 mm/mmap.c, 6.12 mm/vma.c; seen on both in the VM): the profile fact
//   mergesFaultedRangeIntoUnfaultedNeighbour (`.rmapLargeFolio` only, so 6.16/6.17 are
//   predicted the old way until a finer profile exists).
// - Large folios for private anonymous memory only (LargeFolios.swift); shmem
//   (shmem_enabled=never) and regular-file page cache are small folios: scenarios with
//   shmem THPs or large page-cache folios are not modelled yet (see LARGE FOLIOS).
// - fault_around_bytes = 64 KiB (16 pages). Regular files read around a missed fault
//   with ProcessSetup.fileReadAheadKB (do_sync_mmap_readahead); the mmap_miss cut-off
//   (MMAP_LOTSAMISS) is not modelled. MADV_WILLNEED caches the whole range.
// - Overcommit heuristic (MAP_NORESERVE sets VM_NORESERVE). Objects are opened
//   read-write, one struct file per slot (so adjacent mappings of one slot at
//   continuing offsets merge). No swap: MADV_COLD and MADV_FREE leave pages in place;
//   MADV_PAGEOUT keeps swap-backed anonymous pages and discards the ones MADV_FREE made
//   lazyfree and nothing wrote since (found by the fuzzer; Folio.lazyfree).
// - RECLAIM (the `reclaim` op, Reclaim.swift, `lazy.*` scenarios): the one place swap
//   exists (a zram device of the suite's own, the scenario in a memcg of its own). The
//   model gives the eventual state after every charged folio was scanned: SHM_LOCK'd
//   pages culled (PG_unevictable, no PG_mlocked); small/PMD/whole-in-one-VMA folios of
//   VM_LOCKED VMAs mlocked (mlock_count 0 after putback); straddling large folios
//   unmapped up to the first locked VMA in rmap order and never split or mlocked (6.18,
//   measured over 6 rounds); other small anon/shmem folios swapped out (PTEs gone);
//   regular-file folios kept (pwrite leaves them dirty; memcg reclaim does not write
//   back). A swapped page touched again is a new folio; a page of a large folio still in
//   the swap cache comes back as that folio (not modelled: scenarios do not touch it).
//   The runner checks it with a bounded wait (LiveRunner.reclaimRounds) and a
//   confirming round, reported "@eventual".
// - SysV attaches: shm_vm_ops has .close, so two pieces of one attach split by mlock
//   never merge again in the kernel; the model merges them after munlock (seen in a
//   draft of lazy.shm-lock-and-mlock; the catalog detaches instead). Left to fix.
// - x86_64, 4-level paging (TASK_SIZE 2^47 - 4096), no protection keys (an exec-only
//   mapping is readable).
// - The scenario process keeps CAP_SYS_RESOURCE (raising the hard limit succeeds).
// - The agent: touch is `(void)*p` or `*p = *p` over (len + 4095) / 4096 pages from
//   addr; createObject returns an fd (the model predicts 0); 16 object slots.
//
// CHECKED ON THE HOST (6.18, root, kpageflags + settled vmstat): every page-layer event
// pinned by the tests for mlock/munlock/munmap/COW/fault-around/MADV_REMOVE/mremap,
// smaps PSS thirds, VM_ACCOUNT merges, separate anon_vmas, PROT_NONE mlock + mprotect,
// mlock(ULONG_MAX) rounding, read-around windows, and the DONTUNMAP locked_vm leak (a
// kernel bug the model does not copy: see moveVMA); and
// a differential fuzzer (random sequences of every op but mlockall(MCL_CURRENT) on
// private/shared anon, memfd and file objects) agreed with the kernel on every step.
//
// UNEVICTABLE MAPPINGS (SysV SHM_LOCK, ramfs, memfd_secret). AS_UNEVICTABLE on a mapping
// is a third way to the unevictable list besides PG_mlocked: lru_add() culls a new folio
// of such a mapping (Unevictable +1, culled +1, mlock_count 0, no PG_mlocked); folios
// already cached when SHM_LOCK sets the flag stay where they are until reclaim (the model
// assumes no reclaim); __munlock_folio() checks folio_evictable() after clearing
// PG_mlocked, so munlock leaves such a folio unevictable; SHM_UNLOCK rescues at once
// (shmem_unlock_mapping -> check_move_unevictable_folios). Checked on the host (6.18):
// the per-CPU mlock batch is not drained at TLB flush (the folio-batch
// free_pages_and_swap_cache() of recent kernels calls no lru_add_drain() since Rik van
// Riel's "mm: remove unnecessary calls to lru_add_drain" (mm tree for 6.14); older ones
// drained there, and do not rescue: profile fact munlockBatchOutlivesTLBFlush, 6.1 and
// 6.12 measured in the VM), so the munlocks of an unmap run
// at the next drain -- after shm_destroy() cleared AS_UNEVICTABLE, or after truncation
// took the folio out of its mapping (folio_mapping NULL): those folios are rescued.
// SHM_LOCK's charge (user_shm_lock, UCOUNT_RLIMIT_MEMLOCK) is per uid and assumed 0 at
// start for every uid. Hugetlb: 2 MiB pages only, private anonymous, the pool holding
// enough free pages (the runner reserves them); never VM_LOCKED, never on an LRU.
// ramfs: no readahead (noop_backing_dev_info: bdi_init() leaves ra_pages 0).
//
// MEMFD_SECRET, TWO RULES (VersionFacts.secretmemChargesUserOnFault). Until "mm/secretmem:
// properly account locked pages" (CVE-2026-93243; mainline 7.3-rc mm-hotfixes, backported
// to stable 6.12.113 and 6.1.191, absent from 6.18.44) secretmem's mmap checked
// mlock_future_ok() and set VM_LOCKED: the mapping counted in mm->locked_vm, its pages
// mlocked at fault and munlocked at munmap, while the file and its pages outlived the
// mapping uncounted (map, touch, munmap, repeat: unevictable memory without a limit).
// The fix (Debian sources 6.12.111 vs 6.12.113, 6.1.190 vs 6.1.192 compared) moves the
// charge to the file: secretmem_mmap only adds VM_DONTDUMP; secretmem_fault charges each
// page it adds to the creator's user_struct->locked_vm against the faulting task's
// RLIMIT_MEMLOCK (no CAP_IPC_LOCK exemption; SIGBUS over it); the last fput releases the
// charge. An intended rule change, not a kernel bug: the limit still holds, per user and
// for the file's whole life. The model keeps user->locked_vm per uid from 0 (nothing
// else of the uid charges it) and never releases it within a scenario (no op closes an
// fd). Checked in the VM on 6.12.117 (files.secret.*, fault-charge among them).
//
// FOUND BY THE FUZZER (issue 6; tests in FuzzFoundRulesTests):
// - mremap to an address the kernel chooses (MAYMOVE growth without room, a DONTUNMAP
//   hint that is taken): get_unmapped_area() without a hint, top-down below mmap_base.
//   The address is an input, as mmap's fd is: the lockstep session applies the op again
//   with the kernel's answer (KernelModel.chosenAddress), accepted only where the kernel
//   could put it (aligned, outside the arena, over nothing the model knows); everything
//   else (VmLck, the counters, later munlockall/mlockall reaching it) is predicted from
//   it, and the process's other mappings are read without it.
// - reusable_anon_vma() (mm/rmap.c find_mergeable_anon_vma): a neighbour's anon_vma is
//   reused only when its anon_vma_chain is singular; a fork child's VMA is also chained
//   to the parent's anon_vma (anon_vma_fork), so its neighbours get new anon_vmas and,
//   with is_mergeable_anon_vma()'s uncowed-parents cases, never merge with it again.
// - MADV_PAGEOUT and dirtiness (mm/vmscan.c shrink_folio_list): a clean page-cache folio
//   (a shmem page never written: shmem_fault's zeroed folio is not dirtied; a regular
//   file's page read from disk or written back by msync MS_SYNC) is dropped from the
//   cache by __remove_mapping; a dirty one stays: shmem via pageout() ->
//   AOP_WRITEPAGE_ACTIVATE (no swap), a regular file because direct reclaim does not
//   write it (folio_set_reclaim + activate_locked). PG_reclaim is PG_readahead, which
//   next_uptodate_folio() skips, so fault-around leaves that folio unmapped until a
//   fault on it clears the bit (do_async_mmap_readahead -> page_cache_async_ra, not
//   under VM_RAND_READ) or writeback ends. Written = pwrite, or a store through a shared
//   mapping (a dirty PTE moves to the folio at unmap; GUP FOLL_WRITE sets it dirty).
//   Assumed: the flusher does not write a regular file's dirty pages back within a
//   sequence (dirty_expire_centisecs 30 s; background writeback under heavy global dirty
//   memory could, and would show as a page-cache page dropped where the model keeps it).
// - Fault-around at the end of a regular file (6.18, "mm/memory: do not populate page
//   table entries beyond i_size"): filemap_map_pages() installs its preallocated page
//   table only in filemap_map_pmd(), now called only when the first cached folio of the
//   window may be mapped large (shmem always; otherwise file_end >= folio_next_index).
//   With no page table in the block (pmd_none; KernelModel.pteTables now records file
//   PTEs too) a window whose first cached folio is the file's last page maps nothing:
//   a read beyond EOF of a fresh mapping of a 1-page ext4 file leaves page 0 unmapped,
//   and maps it once page 0 was faulted (and zapped) or another VMA has a page in the
//   block; memfd maps it either way (measured on 6.18 with small C probes). Profile
//   .rmapLargeFolio only (TODO: which stable kernels took it).
// - Read-around in a VM_EXEC VMA (do_sync_mmap_readahead, 6.16+): from the faulting
//   index to the VMA's end, at most ra_pages, no PG_readahead mark ("executable memory
//   rarely benefits from readahead"); measured on 6.18 (an r-x VMA over pages 10-17 of a
//   24-page file: a fault at 17 caches 17 only, at 12 caches 12-17). .rmapLargeFolio only.
// - Asynchronous readahead (Readahead.swift, 6.18 profile): each file keeps its
//   file_ra_state; a fault on a folio carrying PG_readahead (in practice PG_reclaim from
//   MADV_PAGEOUT) runs page_cache_async_ra(), which ramps ra->order by 2 and reads the
//   window from the next uncached page in folios of that order where the index allows
//   (a filesystem with large folios assumed, THPSettings.fileLargeFolios).
// - Not modelled: the PG_readahead mark the ordinary read-around leaves at
//   nr_to_read - ra_pages/4 (page_cache_ra_unbounded), which fault-around skips: with
//   the host's read_ahead_kb 8192 it falls past the end of every file the suite maps.
//
// TODO (profile granularity): KernelProfile is an mlock era. The host's mremap
// behaviour (6.17 multi-VMA MREMAP_FIXED move)
// is tied to `.largeFolio`; kernels 6.7-6.15 have neither. Before 6.16 a failing
// MREMAP_FIXED could unmap the target before returning EFAULT; the model checks first.
// `.pre518` covers: file pages not mlocked when faulted outside populate, the
// try_to_munlock re-mlock event on munlock of a multiply-locked page, no
// MADV_DONTNEED_LOCKED/MADV_COLLAPSE. Not covered: pre-5.4 double counting of
// locked_vm on ONFAULT->full, mlock2/MCL_ONFAULT absence before 4.4, MCL_ONFAULT alone
// being accepted before 5.x, pre-5.18 populate mlocking fault-around pages only when
// GUP visits them.

// LARGE FOLIOS (LargeFolios.swift). The THP settings are an input (ProcessSetup.thp, read
// by the runner from /sys/kernel/mm/transparent_hugepage), never read by the model.
// Rules, with their source (Linux 6.18 unless said) and how they were checked:
// - Eligibility: __thp_vma_allowable_orders() per size: always | madvise+VM_HUGEPAGE |
//   inherit (top-level always, or madvise+VM_HUGEPAGE); VM_NOHUGEPAGE none;
//   thp_vma_suitable_order(): the aligned range inside the VMA, pgoff aligned.
// - Faults: PMD order when pmd_none (no page table in the block: KernelModel.pteTables,
//   dropped by free_pgtables when no VMA covers the block): a read maps the huge zero
//   page (vmf_anon_prepare first: the VMA gets an anon_vma), a write makes a THP
//   (do_huge_pmd_anonymous_page); a write to the huge zero page makes a THP
//   (do_huge_zero_wp_pmd, 6.12+?: TODO(profile) older kernels split it and copy one
//   page). Below the PMD, only write faults on absent pages allocate mTHPs
//   (alloc_anon_folio: the highest allowed order whose aligned range has no PTE); the
//   agent's write touch loads first, so it maps the small zero page and copies one
//   page: mTHPs come from MADV_POPULATE_WRITE or mlock's populate. A new large folio in
//   a VM_LOCKED VMA is mlocked whole (folio_add_lru_vma -> mlock_new_folio).
// - mlock_folio()/munlock_folio() count folio_nr_pages() in NR_MLOCK, the LRU sizes and
//   every unevictable_pgs_* event; a large folio flushes the mlock batch at once.
// - mlock_pte_range() (mm/mlock.c): a PMD-mapped THP is (m)unlocked whole (the huge zero
//   page skipped); PTEs go in folio_mlock_step() batches; allow_mlock_munlock() always
//   allows munlock, and mlocks a large folio only if folio_within_range(folio, vma,
//   start, end) for the walk's [start, end) within one page table and the batch maps
//   all of it (6.7: dc68badcede4). 5.18-6.6 skipped PTE-mapped compound pages both ways
//   (`!PageTransCompound`); zap of their PTEs did not munlock either.
// - rmap (mm/rmap.c): folio_remove_rmap_* -> munlock_vma_folio() for any folio in a
//   VM_LOCKED VMA; an rmap add mlocks a large folio only when the call maps all of it
//   (`folio_nr_pages(folio) == nr_pages`, Kiryl Shutsemau 2025: profile 6.18). Before,
//   only small folios were mlocked on rmap add.
// - PMD split (__split_huge_pmd_locked): folio_add_anon_rmap_ptes(all 512) then
//   folio_remove_rmap_pmd(). In a locked VMA: 6.18 net unchanged (mlock_count +1 -1),
//   5.18-6.17 munlocked, pre-5.18 clear_page_mlock (cleared; unverified here, no such
//   kernel). A VMA split inside a PMD (split_huge_pmd_if_needed) happens while the VMA
//   still has its old flags; then munlock of one page munlocks the whole folio through
//   the walk, munmap through the zapped PTE. The folio stays large (deferred split).
//   Measured on 6.18.44: mprotect of one page of a locked THP keeps all 512 MLOCKED;
//   munlock/munmap of one page leaves MLOCKED=0, VmLck 2044 kB.
// - Re-locking one page of such a folio does not mlock it (the walk's range is that
//   page): the folio stays unmlocked in a fully VM_LOCKED VMA until reclaim's
//   folio_referenced_one() restores the mlock ("eventually"). On this host (no swap)
//   anonymous memory is never scanned, so that is not observable here (see README).
// - MADV_COLLAPSE (mm/khugepaged.c): works whatever the sysfs settings (not with
//   VM_NOHUGEPAGE; a block with no page -> EINVAL); the old small folios are put back
//   (lru_add batch) and unmapped (munlock batch) page by page, batches of 31 flushing in
//   step; the last n % 31 munlocks are flushed by the new THP's mlock_new_folio while
//   their pages wait in the lru_add batch: stranded, then rescued (measured: 496
//   munlocked + 16 stranded for 512 pages).
// - fork: the child's PMD copy stays a PMD (copy_huge_pmd); a write splits the child's
//   PMD and copies one page (do_huge_pmd_wp_page fallback). A frozen parent maps a
//   large folio whole (partial parent mappings are not modelled).
// - kpageflags: KPF_THP on every page of a large anon folio (any order) and of the huge
//   zero folio (with KPF_ZERO_PAGE), COMPOUND_HEAD/TAIL by position; MLOCKED and
//   UNEVICTABLE on every page from the folio rewrite of stable_page_flags(), on the head
//   only before (6.1 measured): KernelProfile.kpageflagsShowFolioFlagsOnTails.
// - smaps: AnonHugePages counts PMD-mapped anonymous folios only; Locked is the PSS of
//   each page (folio_precise_page_mapcount: the live mapping plus frozen ones).
// LARGE FILE FOLIOS (LargeFileFolios.swift), Linux 6.18 unless said, measured on 6.18.44:
// - shmem: shmem_allowable_huge_orders(): memfd/SysV (internal mount, not anonymous
//   shmem) follow the mount's huge option = shmem_enabled (shmem_enabled_store sets
//   SHMEM_SB(shm_mnt)->huge): always; advise with VM_HUGEPAGE; within_size when the folio
//   ends by i_size; deny none, force all. Anonymous shmem follows
//   hugepages-2048kB/shmem_enabled (inherit: the top level). shmem_suitable_orders(): the
//   aligned range in the VMA (thp_vma_suitable_order) and nothing cached in it. Only the
//   PMD order; smaller shmem sizes and folios past i_size are not modelled.
// - page cache: do_sync_mmap_readahead() in a VM_HUGEPAGE VMA reads ahead from the index
//   aligned down to the PMD, ra->size 2 x 512 (512 with VM_RAND_READ), ra->order 9,
//   whatever transparent_hugepage/enabled says (measured with enabled=never: a 2 MiB
//   folio all the same); page_cache_ra_order() takes per folio the highest order aligned
//   to its index that ends by the file's last page (a 300-page file: 256+32+8+4, measured
//   head at 0 and 256 pages mapped). Needs a filesystem with large folios
//   (THPSettings.fileLargeFolios, assumed: ext4 on 6.16+, xfs; ext2 has none, and the
//   scenarios then skip because no large folio was made).
// - mapping: pmd_none and a suitable block -> do_set_pmd (finish_fault, or
//   filemap_map_pmd in fault-around): one PMD, folio_add_file_rmap_pmd maps the whole
//   folio -> mlocked in a VM_LOCKED VMA on 6.18 ("mm/rmap: mlock large folios" with
//   Kiryl Shutsemau's finish_fault/faultaround series) and 5.18-6.6 (mlock_vma_folio
//   compound); 6.7-6.17 mlock only small folios at the rmap add. 6.18 maps a folio that
//   fits the VMA and one page table whole by PTEs (mlocked the same way); otherwise the
//   faulting page and the fault-around window, page by page, never mlocked (a partial
//   rmap add). mlock_pte_range() treats them as anonymous large folios (within range +
//   whole batch to mlock; munlock always).
// - The PMD of a read fault is writable in a shared writable shmem VMA (no write
//   notification: vm_page_prot writable); a regular file wants write notification
//   (->page_mkwrite), so its read fault PMD is read-only and a store goes wp_huge_pmd:
//   no ->huge_fault, __split_huge_pmd, VM_FAULT_FALLBACK, the write fault maps a new PMD:
//   in a locked VMA munlocked and mlocked again (measured: mlocked +1024, munlocked +512).
// - __split_huge_pmd_locked() on a file PMD clears it (pmdp_huge_clear_flush), no PTEs;
//   folio_remove_rmap_pmd -> munlock_vma_folio when the VMA (old flags) is VM_LOCKED.
//   Measured: munlock/mprotect of one page of a locked shmem THP: Mlocked -2048 kB, Rss 0.
// - Migration of a PMD THP: compact_memory skips compound pages of order >=
//   pageblock_order (skip_isolation_on_order with cc->order -1), so a PMD THP keeps its
//   frames (host: 0 of 512 moved, 20 runs). move_pages (do_pages_move): the first page
//   isolates the whole folio, the next page of it fails folio_isolate_lru (-EBUSY) and
//   the queue migrates, the later pages find it on the node; mbind's queue_folios_pmd
//   queues it once. folio_likely_mapped_shared() of a large folio: mapped by another mm.
//   remove_migration_pmd maps the new folio whole: mlocked again on 6.18 and 5.18-6.6,
//   not on 6.7-6.17 (Mlocked drops until reclaim); the old one is munlocked off the LRU
//   (stranded) and lru_add rescues the new one, each event counting 512. Unverified on
//   two nodes at the time of writing (the host has one): the NUMA scenarios skip here.
// Not modelled: shmem mTHP sizes, fork of a VMA with a large shmem/page-cache folio
// (shared file VMAs copy no page tables, so the child refaults; not checked), truncation
// splitting a large cached folio, khugepaged's own
// collapses (scan_sleep_millisecs 10 s: a scenario never lasts that long), mremap of a
// THP to a misaligned address beyond splitting, deferred split by the shrinker.
