import MlockModel

/// Large shmem and page-cache folios: shmem THPs in memfd and shared anonymous memory
/// (shmem_enabled written for the scenario through the settings journal) and PMD-sized
/// page-cache folios of a regular file in the runner's directory, read ahead for a
/// MADV_HUGEPAGE mapping. A PMD mapping of such a folio is not split into PTEs: a VMA
/// edge inside it clears the PMD (the pages fault back later) and munlocks the whole
/// folio in a locked VMA. Each scenario first checks on the kernel that the folio it is
/// about was made (kpageflags THP, head and tails), else it skips saying so.
enum THPFile {
    static let scenarios: [Scenario] = shmem + pageCache

    static func shmemSetting(_ v: String) -> Setting { .thp(file: "shmem_enabled", value: v) }

    /// A memfd of `pages` mapped shared over a 2 MiB-aligned region, MADV_HUGEPAGE'd
    /// unless `advise` is false.
    static func memfdRegion(_ b: inout ScenarioBuilder, pages: UInt64 = 512, advise: Bool = true) -> Region {
        let m = b.region(pages: pages)
        b.createObject(0, .memfd, pages: pages, filled: false, "memfd on the internal shmem mount: huge= follows shmem_enabled")
        b.mapObject(m, slot: 0, shared: true)
        if advise { b.madvise(m, UAPI.MADV_HUGEPAGE, "VM_HUGEPAGE: shmem_enabled=advise allows PMD folios") }
        return m
    }

    static let shmem: [Scenario] = [
        Scenario("thp.shmem.advise.mlock-after-fault",
                 "a memfd THP (shmem_enabled=advise, MADV_HUGEPAGE) faulted by a write is mapped by one PMD (ShmemPmdMapped 2048 kB), not mlocked; mlock_pte_range mlocks the PMD-mapped folio whole (+512); munlock gives it back",
                 requires: [.pageLayer, .thp]) { b in
            let m = memfdRegion(&b)
            b.touch(m.sub(0, 1), "shmem_fault allocates a 2 MiB folio; finish_fault -> do_set_pmd")
            b.expectFolios(m)
            b.touch(m, "already mapped")
            b.mlock(m, "the PMD-mapped shmem folio mlocked at once")
            b.munlock(m, "munlocked whole")
            b.munmap(m)
        }.with(shmemSetting("advise")),
        Scenario("thp.shmem.advise.mlock-before-fault",
                 "mlock of an untouched MADV_HUGEPAGE memfd range: populate's read fault allocates a shmem THP and maps it by a PMD in the VM_LOCKED VMA; the rmap add maps the whole folio and mlocks it (6.18; 6.7-6.17 mlock only small folios there)",
                 requires: [.pageLayer, .thp]) { b in
            let m = memfdRegion(&b)
            b.mlock(m, "do_set_pmd -> folio_add_file_rmap_pmd in a VM_LOCKED VMA")
            b.expectFolios(m)
            b.munmap(m, "zap_huge_pmd munlocks the folio; it stays in the memfd's page cache")
        }.with(shmemSetting("advise")),
        Scenario("thp.shmem.advise.munlock-4k",
                 "munlock of one page of a locked PMD-mapped shmem THP splits the VMA; splitting a file PMD clears it (no PTEs): the whole folio is munlocked and unmapped (Rss 0, Locked 0) while VmLck keeps 2044 kB; re-locking the page merges the VMAs and populate maps the folio by a PMD again, mlocked at the rmap add",
                 requires: [.pageLayer, .thp]) { b in
            let m = memfdRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.munlock(m.sub(10, 1), "__split_huge_pmd_locked on a shmem PMD: pmdp_huge_clear_flush + folio_remove_rmap_pmd in a VM_LOCKED VMA")
            b.mlock(m.sub(10, 1), "one VMA again; the read fault at page 10 finds pmd_none: do_set_pmd")
            b.munmap(m)
        }.with(shmemSetting("advise")),
        Scenario("thp.shmem.advise.mprotect-4k-straddle",
                 "mprotect of one page inside a locked shmem THP clears its PMD and munlocks it; a read in the 10-page VMA before the cut maps the folio's first 10 pages by PTEs (fault-around; the folio does not fit the VMA), not mlocked though the VMA is VM_LOCKED (smaps Locked 40 kB, Mlocked 0); a new munlock+mlock of those 10 pages leaves the straddling folio unmlocked",
                 requires: [.pageLayer, .thp]) { b in
            let m = memfdRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.mprotect(m.sub(10, 1), .read, "VMA split inside the PMD while VM_LOCKED: the folio munlocked, the PMD gone")
            b.read(m.sub(0, 1), "do_fault_around maps pages 0-9 of the large folio; a partial rmap add does not mlock")
            b.munlock(m.sub(0, 10))
            b.mlock(m.sub(0, 10), "mlock_pte_range: the batch maps 10 of 512 pages: not within the range, no mlock")
            b.munmap(m)
        }.with(shmemSetting("advise")),
        Scenario("thp.shmem.advise.no-madvise-small",
                 "shmem_enabled=advise without MADV_HUGEPAGE: the memfd gets small folios; mlock populates and mlocks 512 of them (each at its rmap add)",
                 requires: [.pageLayer, .thp]) { b in
            let m = memfdRegion(&b, advise: false)
            b.mlock(m, "no VM_HUGEPAGE: order 0 only")
            b.munmap(m)
        }.with(shmemSetting("advise")),
        Scenario("thp.shmem.always.onfault",
                 "shmem_enabled=always, no madvise: mlock2(MLOCK_ONFAULT) then a write (a load, then a store): the load maps a shmem THP by a PMD into the locked VMA, writable already (shmem needs no write notification), and mlocks it whole at the rmap add (6.18); the store takes no fault; munlock",
                 requires: [.pageLayer, .thp]) { b in
            let m = memfdRegion(&b, advise: false)
            b.mlock2(m, flags: UAPI.MLOCK_ONFAULT, "nothing populated")
            b.touch(m.sub(100, 1), "do_shared_fault -> finish_fault -> do_set_pmd")
            b.expectFolios(m)
            b.munlock(m)
            b.munmap(m)
        }.with(shmemSetting("always")),
        Scenario("thp.shmem.within-size.mlock",
                 "shmem_enabled=within_size: a 2 MiB memfd gets a THP (the folio ends by i_size); mlock after the fault mlocks it whole; munmap of the whole PMD munlocks it",
                 requires: [.pageLayer, .thp]) { b in
            let m = memfdRegion(&b, advise: false)
            b.touch(m.sub(0, 1), "within i_size: a PMD folio")
            b.expectFolios(m)
            b.mlock(m)
            b.munmap(m, "zap_huge_pmd -> folio_remove_rmap_pmd -> munlock_vma_folio")
        }.with(shmemSetting("within_size")),
        Scenario("thp.shmem.shared-anon.advise",
                 "MAP_SHARED|MAP_ANONYMOUS with MADV_HUGEPAGE and shmem_enabled=advise (hugepages-2048kB/shmem_enabled inherit): a shmem THP mapped by a PMD; mlock mlocks it whole, munlock of the last page clears the PMD and munlocks it",
                 requires: [.pageLayer, .thp]) { b in
            let m = b.region(pages: 512)
            b.map(m, .rw, .sharedAnon)
            b.madvise(m, UAPI.MADV_HUGEPAGE)
            b.touch(m.sub(0, 1))
            b.expectFolios(m)
            b.mlock(m)
            b.munlock(m.sub(511, 1), "the PMD cleared, the folio munlocked; VmLck 2044 kB")
            b.munmap(m)
        }.with(shmemSetting("advise")),
    ]

    /// A sparse regular file of `pages` in the runner's directory, mapped shared
    /// read-only over a 2 MiB-aligned region and MADV_HUGEPAGE'd.
    static func fileRegion(_ b: inout ScenarioBuilder, pages: UInt64) -> Region {
        let m = b.region(pages: pages)
        b.createObject(0, .file, pages: pages, filled: false, "sparse: nothing cached")
        b.mapObject(m, slot: 0, shared: true, prot: .read)
        b.madvise(m, UAPI.MADV_HUGEPAGE, "VM_HUGEPAGE: faults read ahead PMD-sized folios")
        return m
    }

    static let pageCache: [Scenario] = [
        Scenario("thp.pagecache.pmd.onfault-write",
                 "a shared writable MADV_HUGEPAGE mapping of a 2 MiB file, mlock2(MLOCK_ONFAULT), then a write: the load maps the 2 MiB folio by a read-only PMD (the file wants write notification), mlocked at the rmap add; the store finds no ->huge_fault, so wp_huge_pmd clears the PMD (munlocking the folio) and the write fault maps it by a writable PMD, mlocked again",
                 requires: [.pageLayer, .thp]) { b in
            let m = b.region(pages: 512)
            b.createObject(0, .file, pages: 512, filled: false, "sparse: nothing cached")
            b.mapObject(m, slot: 0, shared: true)
            b.madvise(m, UAPI.MADV_HUGEPAGE)
            b.mlock2(m, flags: UAPI.MLOCK_ONFAULT)
            b.touch(m.sub(7, 1), "read fault: PMD read-only; write fault: split, then do_set_pmd(write)")
            b.expectFolios(m)
            b.munlock(m)
            b.munmap(m)
        },
        Scenario("thp.pagecache.pmd.mlock-after-fault",
                 "a read fault in a MADV_HUGEPAGE mapping of a 2 MiB file reads ahead one 2 MiB page-cache folio (independent of THP sysfs) mapped by a PMD (FilePmdMapped 2048 kB); mlock mlocks it whole; munlock",
                 requires: [.pageLayer, .thp]) { b in
            let m = fileRegion(&b, pages: 512)
            b.read(m.sub(0, 1), "do_sync_mmap_readahead: ra->order = HPAGE_PMD_ORDER; filemap_map_pmd maps it")
            b.expectFolios(m)
            b.mlock(m)
            b.munlock(m)
            b.munmap(m)
        },
        Scenario("thp.pagecache.pmd.mlock-populates",
                 "mlock of an untouched MADV_HUGEPAGE mapping of a 4 MiB file: populate's first fault reads ahead two 2 MiB folios, each mapped by a PMD and mlocked at the rmap add (6.18)",
                 requires: [.pageLayer, .thp]) { b in
            let m = fileRegion(&b, pages: 1024)
            b.mlock(m, "ra->size = 2 x HPAGE_PMD_NR")
            b.expectFolios(m)
            b.munlock(m.sub(0, 512))
            b.munmap(m)
        },
        Scenario("thp.pagecache.pmd.munlock-4k",
                 "munlock of one page of a locked PMD-mapped page-cache folio: the PMD is cleared and the folio munlocked whole (Rss 0) while VmLck keeps 2044 kB; re-locking the page maps it by a PMD again, mlocked",
                 requires: [.pageLayer, .thp]) { b in
            let m = fileRegion(&b, pages: 512)
            b.mlock(m)
            b.expectFolios(m)
            b.munlock(m.sub(10, 1))
            b.mlock(m.sub(10, 1))
            b.munmap(m)
        },
        Scenario("thp.pagecache.pte.straddle",
                 "a 300-page file read ahead for a MADV_HUGEPAGE mapping: folios of 256, 32, 8 and 4 pages (the highest order that ends by EOF); the 256-page folio fits the VMA and is mapped whole by PTEs; mlock of 260 pages mlocks it (within the range) but not the 32-page folio straddling the locked edge (its 4 locked pages mapped one by one); munlock of one page munlocks the whole 256-page folio",
                 requires: [.pageLayer, .thp]) { b in
            let m = fileRegion(&b, pages: 300)
            b.read(m.sub(0, 1), "page_cache_ra_order: 256 + 32 + 8 + 4; filemap_map_pages maps the first folio whole")
            b.expectFolios(m.sub(0, 256), order: 8)
            b.mlock(m.sub(0, 260), "walk: the 256-page folio mlocked; populate maps pages 256-259 of the 32-page folio, no mlock")
            b.munlock(m.sub(0, 1), "the folio munlocked whole; VmLck keeps 1036 kB")
            b.munmap(m)
        },
    ]
}
