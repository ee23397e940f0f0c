// Notes on the reference model: what it assumes, how it was checked, what is left.
//
// SETTLED STATE. The model applies every per-CPU batch (lru_add, mlock_fbatch) at once,
// in the order a settled kernel ends with (lru_add before mlock, mm/swap.c
// lru_add_drain_cpu -> mlock_drain_local). For order-0 folios this gives the exact
// PG_mlocked / PG_unevictable / mlock_count and event totals when each step starts
// with drained batches. It does not model counts lost to isolation races (compaction,
// migration, reclaim): "mlock_count has to be presumed lost" there.
//
// ASSUMPTIONS (true for lockstep's agent on the lab VM, worth checking elsewhere):
// - One scenario process, no fork: every folio's mapcount is its number of PTEs here,
//   anon_vma chains are singular, an anonymous folio has at most one locked mapping.
// - Order-0 folios only: THP disabled or "madvise" (scenarios do not MADV_HUGEPAGE),
//   shmem huge=never, and regular-file page cache in small folios. MADV_HUGEPAGE and
//   MADV_COLLAPSE only change VMA flags in the model.
// - fault_around_bytes = 64 KiB (16 pages). Regular files read around a missed fault
//   with ProcessSetup.fileReadAheadKB (do_sync_mmap_readahead); the mmap_miss cut-off
//   (MMAP_LOTSAMISS) is not modelled. MADV_WILLNEED caches the whole range.
// - Overcommit heuristic (MAP_NORESERVE sets VM_NORESERVE). Objects are opened
//   read-write, one struct file per slot (so adjacent mappings of one slot at
//   continuing offsets merge). No swap: MADV_PAGEOUT/COLD/FREE leave pages in place.
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
// free_pages_and_swap_cache() of recent kernels calls no lru_add_drain(); older ones did,
// and would not rescue there: TODO a profile for that), so the munlocks of an unmap run
// at the next drain -- after shm_destroy() cleared AS_UNEVICTABLE, or after truncation
// took the folio out of its mapping (folio_mapping NULL): those folios are rescued.
// SHM_LOCK's charge (user_shm_lock, UCOUNT_RLIMIT_MEMLOCK) is per uid and assumed 0 at
// start for every uid. Hugetlb: 2 MiB pages only, private anonymous, the pool holding
// enough free pages (the runner reserves them); never VM_LOCKED, never on an LRU.
// ramfs: no readahead (noop_backing_dev_info: bdi_init() leaves ra_pages 0).
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
