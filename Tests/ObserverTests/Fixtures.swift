// Fixture texts: real readings from the development machine (kernel 6.18, cgroup v1
// memory) and realistic samples of what it lacks (cgroup v2, pure v1).

enum Fixtures {
    /// smaps of a lockstep-agent: a locked anon VMA (64 pages), a 4 MiB MADV_HUGEPAGE VMA
    /// locked with MLOCK_ONFAULT after being populated (lo lf hg, AnonHugePages 4096),
    /// a memfd split by a partial mlock, and a read-only private mapping of zero pages locked
    /// (lo, Rss 0).
    static let smaps = #"""
00400000-004a2000 r-xp 00000000 fe:00 16229227                           /opt/lockstep/bin/lockstep-agent
Size:                648 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                 640 kB
Pss:                 640 kB
Pss_Dirty:             0 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:       640 kB
Private_Dirty:         0 kB
Referenced:          640 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd ex mr mw me 
0e2fb000-0e31d000 rw-p 00000000 00:00 0                                  [heap]
Size:                136 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   8 kB
Pss:                   8 kB
Pss_Dirty:             8 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         8 kB
Referenced:            8 kB
Anonymous:             8 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd wr mr mw me ac 
200000000000-200000040000 rw-p 00000000 00:00 0 
Size:                256 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                 256 kB
Pss:                 256 kB
Pss_Dirty:           256 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:       256 kB
Referenced:          256 kB
Anonymous:           256 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:              256 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd wr mr mw me lo ac 
200000400000-200000800000 rw-p 00000000 00:00 0 
Size:               4096 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                4096 kB
Pss:                4096 kB
Pss_Dirty:          4096 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:      4096 kB
Referenced:         4096 kB
Anonymous:          4096 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:      4096 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:             4096 kB
THPeligible:           1
ProtectionKey:         0
VmFlags: rd wr mr mw me lo lf ac hg 
200000a00000-200000a08000 rw-s 00000000 00:01 4                          /memfd:lockstep-obj-00 (deleted)
Size:                 32 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                  32 kB
Pss:                  32 kB
Pss_Dirty:            32 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:        32 kB
Referenced:           32 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:               32 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd wr sh mr mw me ms lo 
200000a08000-200000a10000 rw-s 00008000 00:01 4                          /memfd:lockstep-obj-00 (deleted)
Size:                 32 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                  32 kB
Pss:                  32 kB
Pss_Dirty:            32 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:        32 kB
Referenced:           32 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd wr sh mr mw me ms 
200000c00000-200000c08000 r--p 00000000 00:00 0 
Size:                 32 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   0 kB
Pss:                   0 kB
Pss_Dirty:             0 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
Referenced:            0 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd mr mw me lo 
7fff1bf4d000-7fff1bf6e000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                  12 kB
Pss:                  12 kB
Pss_Dirty:            12 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:        12 kB
Referenced:           12 kB
Anonymous:            12 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: rd wr mr mw me gd ac 
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
Size:                  4 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   0 kB
Pss:                   0 kB
Pss_Dirty:             0 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
Referenced:            0 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
ProtectionKey:         0
VmFlags: ex 
"""#

    static let maps = #"""
00400000-004a2000 r-xp 00000000 fe:00 16229227                           /opt/lockstep/bin/lockstep-agent
004a2000-004a6000 r--p 000a1000 fe:00 16229227                           /opt/lockstep/bin/lockstep-agent
004a6000-004a9000 rw-p 000a5000 fe:00 16229227                           /opt/lockstep/bin/lockstep-agent
004a9000-004bf000 rw-p 00000000 00:00 0 
0e2fb000-0e31d000 rw-p 00000000 00:00 0                                  [heap]
200000000000-200000040000 rw-p 00000000 00:00 0 
200000400000-200000800000 rw-p 00000000 00:00 0 
200000a00000-200000a08000 rw-s 00000000 00:01 4                          /memfd:lockstep-obj-00 (deleted)
200000a08000-200000a10000 rw-s 00008000 00:01 4                          /memfd:lockstep-obj-00 (deleted)
200000c00000-200000c08000 r--p 00000000 00:00 0 
7fdc39e45000-7fdc39e49000 r--p 00000000 00:00 0                          [vvar]
7fdc39e49000-7fdc39e4b000 r--p 00000000 00:00 0                          [vvar_vclock]
7fdc39e4b000-7fdc39e4d000 r-xp 00000000 00:00 0                          [vdso]
7fff1bf4d000-7fff1bf6e000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
"""#

    static let status = #"""
Name:	lockstep-agent
Umask:	0022
State:	R (running)
Tgid:	11134
Ngid:	0
Pid:	11134
PPid:	11093
TracerPid:	0
Uid:	0	0	0	0
Gid:	0	0	0	0
FDSize:	256
Groups:	 
NStgid:	11134
NSpid:	11134
NSpgid:	11090
NSsid:	2292
Kthread:	0
VmPeak:	    5512 kB
VmSize:	    5512 kB
VmLck:	    4416 kB
VmPin:	       0 kB
VmHWM:	    5180 kB
VmRSS:	    5180 kB
RssAnon:	    4464 kB
RssFile:	     652 kB
RssShmem:	      64 kB
VmData:	    4588 kB
VmStk:	     132 kB
VmExe:	     648 kB
VmLib:	       8 kB
VmPTE:	      64 kB
VmSwap:	       0 kB
HugetlbPages:	       0 kB
CoreDumping:	0
THP_enabled:	1
untag_mask:	0xffffffffffffffff
Threads:	1
SigQ:	0/96364
SigPnd:	0000000000000000
ShdPnd:	0000000000000000
SigBlk:	0000000000000000
SigIgn:	0000000000000000
SigCgt:	0000000000000440
CapInh:	0000000000000000
CapPrm:	000001fffeffffff
CapEff:	000001fffeffffff
CapBnd:	000001fffeffffff
CapAmb:	0000000000000000
NoNewPrivs:	0
Seccomp:	0
Seccomp_filters:	0
Speculation_Store_Bypass:	thread vulnerable
SpeculationIndirectBranch:	conditional enabled
Cpus_allowed:	1
Cpus_allowed_list:	0
Mems_allowed:	00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000001
Mems_allowed_list:	0
voluntary_ctxt_switches:	7
nonvoluntary_ctxt_switches:	8
"""#

    static let meminfo = #"""
MemTotal:       24683656 kB
MemFree:        23352340 kB
MemAvailable:   24260676 kB
Buffers:            6560 kB
Cached:          1072556 kB
SwapCached:            0 kB
Active:           508188 kB
Inactive:         592072 kB
Active(anon):       1540 kB
Inactive(anon):    28536 kB
Active(file):     506648 kB
Inactive(file):   563536 kB
Unevictable:       12136 kB
Mlocked:           10644 kB
SwapTotal:             0 kB
SwapFree:              0 kB
Zswap:                 0 kB
Zswapped:              0 kB
Dirty:              1032 kB
Writeback:             0 kB
AnonPages:         33260 kB
Mapped:           117052 kB
Shmem:              8952 kB
KReclaimable:     129808 kB
Slab:             153644 kB
SReclaimable:     129808 kB
SUnreclaim:        23836 kB
KernelStack:        1648 kB
PageTables:         2296 kB
SecPageTables:         0 kB
NFS_Unstable:          0 kB
Bounce:                0 kB
WritebackTmp:          0 kB
CommitLimit:    12341828 kB
Committed_AS:     187548 kB
VmallocTotal:   34359738367 kB
VmallocUsed:        5876 kB
VmallocChunk:          0 kB
Percpu:              664 kB
AnonHugePages:         0 kB
ShmemHugePages:        0 kB
ShmemPmdMapped:        0 kB
FileHugePages:      6144 kB
FilePmdMapped:         0 kB
Balloon:               0 kB
HugePages_Total:       0
HugePages_Free:        0
HugePages_Rsvd:        0
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:               0 kB
DirectMap4k:       20480 kB
DirectMap2M:     2076672 kB
DirectMap1G:    25165824 kB
"""#

    static let vmstat = #"""
nr_free_pages 2082232
nr_free_pages_blocks 1933312
nr_zone_inactive_anon 7134
nr_zone_active_anon 385
nr_zone_inactive_file 140884
nr_zone_active_file 126662
nr_zone_unevictable 3034
nr_zone_write_pending 258
nr_mlock 2661
nr_zspages 0
nr_free_cma 0
numa_hit 9314614
numa_miss 0
numa_foreign 0
numa_interleave 1138
numa_local 9314614
numa_other 0
nr_inactive_anon 7134
nr_active_anon 385
nr_inactive_file 140884
nr_active_file 126662
nr_unevictable 3034
nr_slab_reclaimable 32452
nr_slab_unreclaimable 5959
nr_isolated_anon 0
nr_isolated_file 0
workingset_nodes 14449
workingset_refault_anon 0
workingset_refault_file 584055
workingset_activate_anon 0
workingset_activate_file 112543
workingset_restore_anon 0
workingset_restore_file 0
workingset_nodereclaim 0
nr_anon_pages 8315
nr_mapped 29263
nr_file_pages 269779
nr_dirty 258
nr_writeback 0
nr_shmem 2238
nr_shmem_hugepages 0
nr_shmem_pmdmapped 0
nr_file_hugepages 3
nr_file_pmdmapped 0
nr_anon_transparent_hugepages 0
nr_vmscan_write 0
nr_vmscan_immediate_reclaim 1258
nr_dirtied 202385
nr_written 139308
nr_throttled_written 0
nr_kernel_misc_reclaimable 0
nr_foll_pin_acquired 0
nr_foll_pin_released 0
nr_kernel_stack 1648
nr_page_table_pages 574
nr_sec_page_table_pages 0
nr_iommu_pages 0
nr_swapcached 0
pgpromote_success 0
pgpromote_candidate 0
pgpromote_candidate_nrl 0
pgdemote_kswapd 0
pgdemote_direct 0
pgdemote_khugepaged 0
pgdemote_proactive 0
nr_hugetlb 0
nr_balloon_pages 0
nr_kernel_file_pages 0
nr_dirty_threshold 1213722
nr_dirty_background_threshold 606120
nr_memmap_pages 0
nr_memmap_boot_pages 98304
pgpgin 3859825
pgpgout 567872
pswpin 0
pswpout 0
pgalloc_dma 0
pgalloc_dma32 0
pgalloc_normal 11613255
pgalloc_movable 0
pgalloc_device 0
allocstall_dma 0
allocstall_dma32 0
allocstall_normal 0
allocstall_movable 0
allocstall_device 0
pgskip_dma 0
pgskip_dma32 0
pgskip_normal 0
pgskip_movable 0
pgskip_device 0
pgfree 13705447
pgactivate 332504
pgdeactivate 0
pglazyfree 0
pgfault 11733723
pgmajfault 3042
pglazyfreed 0
pgrefill 0
pgreuse 235349
pgsteal_kswapd 0
pgsteal_direct 0
pgsteal_khugepaged 0
pgsteal_proactive 0
pgscan_kswapd 0
pgscan_direct 0
pgscan_khugepaged 0
pgscan_proactive 0
pgscan_direct_throttle 0
pgscan_anon 0
pgscan_file 0
pgsteal_anon 0
pgsteal_file 0
zone_reclaim_success 0
zone_reclaim_failed 0
pginodesteal 0
slabs_scanned 249
kswapd_inodesteal 0
kswapd_low_wmark_hit_quickly 0
kswapd_high_wmark_hit_quickly 0
pageoutrun 0
pgrotated 1160
drop_pagecache 1
drop_slab 2
oom_kill 0
numa_pte_updates 0
numa_huge_pte_updates 0
numa_hint_faults 0
numa_hint_faults_local 0
numa_pages_migrated 0
pgmigrate_success 0
pgmigrate_fail 0
thp_migration_success 0
thp_migration_fail 0
thp_migration_split 0
compact_migrate_scanned 0
compact_free_scanned 0
compact_isolated 0
compact_stall 0
compact_fail 0
compact_success 0
compact_daemon_wake 0
compact_daemon_migrate_scanned 0
compact_daemon_free_scanned 0
htlb_buddy_alloc_success 0
htlb_buddy_alloc_fail 0
unevictable_pgs_culled 1078200
unevictable_pgs_scanned 0
unevictable_pgs_rescued 1075166
unevictable_pgs_mlocked 1078013
unevictable_pgs_munlocked 1075352
unevictable_pgs_cleared 0
unevictable_pgs_stranded 0
thp_fault_alloc 4098
thp_fault_fallback 0
thp_fault_fallback_charge 0
thp_collapse_alloc 0
thp_collapse_alloc_failed 0
thp_file_alloc 0
thp_file_fallback 0
thp_file_fallback_charge 0
thp_file_mapped 41
thp_split_page 0
thp_split_page_failed 0
thp_deferred_split_page 0
thp_underused_split_page 0
thp_split_pmd 0
thp_scan_exceed_none_pte 0
thp_scan_exceed_swap_pte 0
thp_scan_exceed_share_pte 0
thp_split_pud 0
thp_zero_page_alloc 1
thp_zero_page_alloc_failed 0
thp_swpout 0
thp_swpout_fallback 0
balloon_inflate 0
balloon_deflate 0
balloon_migrate 0
swap_ra 0
swap_ra_hit 0
swpin_zero 0
swpout_zero 0
ksm_swpin_copy 0
cow_ksm 0
zswpin 0
zswpout 0
zswpwb 0
direct_map_level2_splits 0
direct_map_level3_splits 0
direct_map_level2_collapses 0
direct_map_level3_collapses 0
nr_unstable 0
"""#

    /// memory.stat of a v1 memory cgroup (values in bytes, total_* hierarchical).
    static let memoryStatV1 = #"""
cache 154513408
rss 15486976
rss_huge 0
shmem 0
mapped_file 90112
dirty 712704
writeback 0
workingset_refault_anon 0
workingset_refault_file 9505
swap 0
swapcached 0
pgpgin 393405
pgpgout 355489
pgfault 504570
pgmajfault 65
inactive_anon 15417344
active_anon 24576
inactive_file 140505088
active_file 14008320
unevictable 0
hierarchical_memory_limit 9223372036854771712
hierarchical_memsw_limit 9223372036854771712
total_cache 154513408
total_rss 15486976
total_rss_huge 0
total_shmem 0
total_mapped_file 90112
total_dirty 712704
total_writeback 0
total_workingset_refault_anon 0
total_workingset_refault_file 9505
total_swap 0
total_swapcached 0
total_pgpgin 393405
total_pgpgout 355489
total_pgfault 504570
total_pgmajfault 65
total_inactive_anon 15417344
total_active_anon 24576
total_inactive_file 140505088
total_active_file 14008320
total_unevictable 0
"""#

    /// memory.stat of a v2 cgroup (6.x layout), with 1 MiB unevictable.
    static let memoryStatV2 = #"""
anon 1384448
file 4313088
kernel 802816
kernel_stack 49152
pagetables 143360
sec_pagetables 0
percpu 0
sock 0
vmalloc 0
shmem 262144
zswap 0
zswapped 0
file_mapped 1310720
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 0
file_thp 0
shmem_thp 0
inactive_anon 1101824
active_anon 544768
inactive_file 2043904
active_file 2007040
unevictable 1048576
slab_reclaimable 368640
slab_unreclaimable 211848
slab 580488
workingset_refault_anon 0
workingset_refault_file 0
workingset_activate_anon 0
workingset_activate_file 0
workingset_restore_anon 0
workingset_restore_file 0
workingset_nodereclaim 0
pgscan 0
pgsteal 0
pgscan_kswapd 0
pgscan_direct 0
pgscan_khugepaged 0
pgsteal_kswapd 0
pgsteal_direct 0
pgsteal_khugepaged 0
pgfault 4207
pgmajfault 0
pgrefill 0
pgactivate 9
pgdeactivate 0
pglazyfree 0
pglazyfreed 0
zswpin 0
zswpout 0
zswpwb 0
thp_fault_alloc 0
thp_collapse_alloc 0
thp_swpout 0
thp_swpout_fallback 0
"""#

    static let procCgroupV1 = #"""
11:memory:/user.slice/user-1000.slice/session-3.scope
10:cpu,cpuacct:/user.slice
9:devices:/user.slice
8:pids:/user.slice/user-1000.slice/session-3.scope
7:blkio:/user.slice
6:freezer:/
5:net_cls,net_prio:/
4:cpuset:/
3:perf_event:/
2:hugetlb:/
1:name=systemd:/user.slice/user-1000.slice/session-3.scope
"""#

    /// This machine: v1 controllers plus the unified hierarchy (no controllers there).
    static let procCgroupHybrid = #"""
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/910f329d076fa672ce6fa7feb37e78e3
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
"""#

    static let procCgroupV2 = #"""
0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-u42.scope
"""#

    /// This machine's cgroup mounts: v1 memory, and cgroup2 at /sys/fs/cgroup/unified.
    static let mountinfoHybrid = #"""
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""#

    static let mountinfoV1 = #"""
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
26 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
27 26 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
28 27 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
29 27 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
33 27 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
34 27 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
40 22 0:40 / /mnt/with\040space rw,relatime shared:20 - tmpfs tmpfs rw
"""#

    static let mountinfoV2 = #"""
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
25 22 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
28 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
30 22 0:28 / /tmp rw,nosuid,nodev shared:14 - tmpfs tmpfs rw,size=8118624k,nr_inodes=1048576
"""#

    /// /proc/PID/limits (RLIMIT_MEMLOCK 8 MiB, the Debian default).
    static let limits = #"""
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max data size             unlimited            unlimited            bytes     
Max stack size            8388608              unlimited            bytes     
Max core file size        0                    unlimited            bytes     
Max resident set          unlimited            unlimited            bytes     
Max processes             96364                96364                processes 
Max open files            20000                20000                files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
Max pending signals       96364                96364                signals   
Max msgqueue size         819200               819200               bytes     
Max nice priority         0                    0                    
Max realtime priority     0                    0                    
Max realtime timeout      unlimited            unlimited            us        
"""#
}
