import MlockModel

/// Transparent huge pages and large folios: PMD-mapped THPs (MADV_HUGEPAGE on 2 MiB
/// aligned anonymous memory), mTHPs of each size the kernel offers, MADV_COLLAPSE, and
/// how splitting a PMD inside a locked range parts the two layers (VmLck and smaps
/// Locked follow the VMAs, Mlocked and kpageflags the folio). Every scenario first
/// checks that the kernel really made the large folios it is about (kpageflags THP,
/// compound head/tail); when it could not, the scenario skips saying so.
enum THP {
    static let hugepage = UAPI.MADV_HUGEPAGE

    static let scenarios: [Scenario] = pmd + mthp + collapse + migrate

    /// A 2 MiB-aligned private anonymous region of one PMD, MADV_HUGEPAGE'd.
    static func hugeRegion(_ b: inout ScenarioBuilder, flags: MapFlags = [], pages: UInt64 = 512) -> Region {
        let m = b.region(pages: pages)
        b.map(m, .rw, .privateAnon, flags)
        b.madvise(m, hugepage, "VM_HUGEPAGE: PMD THPs allowed (enabled=madvise)")
        return m
    }

    static let pmd: [Scenario] = [
        Scenario("thp.pmd.mlock-after-fault",
                 "a PMD THP faulted by a write, then mlocked: mlocked whole (Mlocked +2048 kB, events +512), AnonHugePages 2048 kB; munlock gives it all back",
                 covers: ["digest/P-38"], requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.touch(m.sub(0, 1), "the load maps the huge zero page, the store replaces it by a THP (do_huge_zero_wp_pmd)")
            b.expectFolios(m)
            b.touch(m, "the rest of the THP is already there")
            b.mlock(m, "mlock_pte_range: the PMD-mapped folio mlocked at once")
            b.munlock(m, "munlocked whole")
            b.munmap(m)
        },
        Scenario("thp.pmd.mlock-before-fault",
                 "mlock of an untouched MADV_HUGEPAGE range populates it with a THP that is mlocked as it is made (mlock_new_folio: +512 at once)",
                 covers: ["digest/P-39"], requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.mlock(m, "populate's write fault makes a THP in a VM_LOCKED VMA")
            b.expectFolios(m)
            b.munmap(m, "zap_huge_pmd munlocks and frees the whole folio")
        },
        Scenario("thp.pmd.onfault",
                 "mlock2(MLOCK_ONFAULT) then a write: the THP faulted into the locked VMA is mlocked whole",
                 requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.mlock2(m, flags: UAPI.MLOCK_ONFAULT, "nothing populated")
            b.touch(m.sub(5, 1), "one write fault: a whole THP, mlocked")
            b.expectFolios(m)
            b.munlock(m)
            b.munmap(m)
        },
        Scenario("thp.pmd.read-huge-zero-then-mlock",
                 "a read maps the huge zero page (no Rss, not mlocked); mlock's write populate replaces it by an mlocked THP",
                 requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.read(m.sub(0, 1), "huge zero page: KPF_ZERO_PAGE and KPF_THP on all 512 pages, Rss 0")
            b.mlock(m, "FOLL_WRITE populate: do_huge_zero_wp_pmd makes an mlocked THP")
            b.expectFolios(m)
            b.munmap(m)
        },
        Scenario("thp.pmd.munlock-4k",
                 "munlock of one 4 kB page of a locked THP splits the VMA and the PMD: the whole folio is munlocked (Mlocked -2048 kB) while VmLck and smaps Locked keep 2044 kB; re-locking the page merges the VMAs but leaves the folio unmlocked (not within the walked range); munlock and mlock of the whole range mlock it again, PTE-mapped",
                 covers: ["digest/P-40"], requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.munlock(m.sub(10, 1), "PMD split, then the munlock walk over page 10 munlocks the whole large folio")
            b.mlock(m.sub(10, 1), "VMAs merge; mlock_pte_range sees a folio wider than [page 10]: no mlock (eventually, reclaim)")
            b.mlock(m, "already VM_LOCKED: no walk at all")
            b.munlock(m, "munlock walk: the PTE-mapped folio munlocked (it is not mlocked: no change)")
            b.mlock(m, "the walk covers the whole folio, all 512 PTEs in one batch: mlocked")
            b.munmap(m)
        },
        Scenario("thp.pmd.munmap-4k",
                 "munmap of one 4 kB page of a locked THP: the PMD split and the zapped PTE munlock the whole folio; the other 511 pages stay mapped, in a locked VMA, in the same (now partly mapped) large folio",
                 covers: ["digest/P-40"], requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.munmap(m.sub(10, 1), "VmLck -4 kB, Mlocked -2048 kB")
            b.munmap(m)
        },
        Scenario("thp.pmd.mprotect-4k",
                 "mprotect of one 4 kB page of a locked THP splits the VMA and the PMD inside the locked range: on 6.18 the PTE rmap add maps the whole folio and keeps it mlocked (before: munlocked); mprotect back merges the VMAs",
                 covers: ["digest/P-40"], requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.mprotect(m.sub(10, 1), .read, "split inside a VM_LOCKED VMA")
            b.mprotect(m.sub(10, 1), .rw, "merged again; the folio stays PTE-mapped")
            b.munlock(m.sub(0, 256), "half munlocked: the folio, partly outside, is munlocked whole")
            b.munmap(m)
        },
        Scenario("thp.pmd.dontneed-locked-4k",
                 "MADV_DONTNEED_LOCKED of one page of a locked THP: the zap splits the PMD, the page goes and the whole folio is munlocked",
                 requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.madvise(m.sub(100, 1), UAPI.MADV_DONTNEED_LOCKED, "VmLck unchanged, Mlocked -2048 kB")
            b.touch(m.sub(100, 1), "a new small page in the locked VMA: mlocked at fault")
            b.munmap(m)
        },
        Scenario("thp.pmd.fork-child-cow",
                 "fork with a locked THP: the child's copy of the PMD is unlocked yet its pages show PG_mlocked (the parent's lock), AnonHugePages 2048 kB; the child's write splits its PMD and copies one page; the child's mlock copies the other 511 (populate's write faults) into mlocked small pages, and the first copy out of its locked VMA munlocks the parent's folio (mlock_count 1 -> 0: an undercount)",
                 covers: ["digest/P-41"], requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.step(.fork, "child: unlocked VMA, PMD copied (copy_huge_pmd), pages still mlocked by the parent")
            b.touch(m.sub(3, 1), "COW: PMD split in the child, page 3 copied into a new small page")
            b.mlock(m, "walk: the copy mlocked, the folio (two batches) not; populate copies the rest: the first COW munlocks the folio")
            b.munlock(m, "the 512 small copies munlocked")
            b.munmap(m)
        },
        Scenario("thp.pmd.fork-parent-cow",
                 "fork with a locked THP, then the parent writes one page: its PMD splits inside its locked VMA (the folio stays mlocked on 6.18), the page is copied into a new mlocked small page, and removing the old page from the locked VMA munlocks the whole folio, though the parent still maps and locks its other 511 pages (reclaim would restore it)",
                 covers: ["digest/P-41", "digest/P-27"], requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.step(.fork, "child: unlocked PMD copy; both map every page")
            b.inProcess(0) { b in
                b.touch(m.sub(3, 1), "parent's COW: PMD split in a VM_LOCKED VMA, one page copied, the folio munlocked")
                b.munlock(m, "the parent's small copy munlocked; the folio already is")
            }
            b.munmap(m, "the child unmaps its copy")
        },
    ]

    /// mTHP sizes below the PMD (hugepages-<size>kB), x86_64 orders 2-8.
    static let mthpOrders: [Int] = Array(2...8)

    static func sizeName(_ order: Int) -> String { "\(4 << order)k" }

    static let mthp: [Scenario] = mthpOrders.flatMap { order -> [Scenario] in
        let nr = UInt64(1) << UInt64(order)
        let setting = Setting.thp(file: "hugepages-\(4 << order)kB/enabled", value: "always")
        let name = sizeName(order)
        return [
            Scenario("thp.mthp.\(name).inside-and-straddling",
                     "\(name)B mTHPs made by MADV_POPULATE_WRITE (PTE-mapped): mlock of exactly one folio mlocks it; a range straddling two folios mlocks neither (6.7 on; 5.18: never); munlock of one page munlocks a whole folio",
                     covers: ["digest/P-42", "digest/P-43"], requires: [.pageLayer, .thp]) { b in
                let m = b.region(pages: 3 * nr)
                b.map(m)
                b.madvise(m, UAPI.MADV_POPULATE_WRITE, "write faults: alloc_anon_folio takes order \(order)")
                b.expectFolios(m, order: order)
                b.mlock(m.sub(0, nr), "folio 0 lies within the range and is mapped whole: mlocked")
                b.mlock(m.sub(nr + nr / 2, nr), "straddles folios 1 and 2: neither mlocked, VmLck counts the range")
                b.munlock(m.sub(1, 1), "munlock of one page of folio 0: the whole folio munlocked")
                b.munlock(m)
                b.munmap(m)
            }.with(setting),
            Scenario("thp.mthp.\(name).mlock-populates",
                     "mlock of an untouched range with \(name)B mTHPs enabled: populate's write faults make order-\(order) folios, each mlocked as it is made; a read fault outside maps the small zero page",
                     requires: [.pageLayer, .thp]) { b in
                let m = b.region(pages: 2 * nr)
                b.map(m)
                b.mlock(m.sub(0, nr), "one folio, mlocked by mlock_new_folio")
                b.expectFolios(m.sub(0, nr), order: order)
                b.read(m.sub(nr, 1), "a read: the small zero page, no mTHP")
                b.munmap(m)
            }.with(setting),
        ]
    }

    static let collapse: [Scenario] = [
        Scenario("thp.collapse.locked",
                 "MADV_COLLAPSE of a locked range of small pages: the 512 mlocked small folios are munlocked and freed, the new THP is mlocked as it joins the LRU (Mlocked unchanged, each event +512)",
                 requires: [.pageLayer, .thp]) { b in
            let m = b.region(pages: 512)
            b.map(m)
            b.touch(m, "small pages (no VM_HUGEPAGE)")
            b.mlock(m)
            b.madvise(m, UAPI.MADV_COLLAPSE, "collapse_huge_page, whatever the sysfs settings")
            b.expectFolios(m)
            b.munlock(m)
            b.munmap(m)
        },
        Scenario("thp.collapse.then-munlock-4k",
                 "a THP collapsed in a locked range behaves as a faulted one: munlock of one page splits the PMD and munlocks the whole folio",
                 requires: [.pageLayer, .thp]) { b in
            let m = b.region(pages: 512)
            b.map(m, .rw, .privateAnon, [.locked], "MAP_LOCKED: populated with small mlocked pages")
            b.madvise(m, UAPI.MADV_COLLAPSE)
            b.expectFolios(m)
            b.munlock(m.sub(511, 1))
            b.munmap(m)
        },
    ]

    /// Migration of locked THPs: compaction never takes a PMD THP; move_pages and mbind
    /// move it whole (the NUMA ones need two nodes: the VM runner's guests).
    static let migrate: [Scenario] = [
        Scenario("thp.migrate.compact-keeps-pmd-thp",
                 "compact_unevictable_allowed=1: compact_memory skips compound pages of pageblock order (skip_isolation_on_order), so a locked PMD THP keeps its frames, mlocked",
                 requires: [.root, .pageLayer, .thp], settings: [.compactUnevictableAllowed(true)]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.step(.compactMemory, "the THP is not isolated: all 512 PFNs stay")
            b.munlock(m)
            b.munmap(m)
        },
        Scenario("thp.migrate.move-pages-local",
                 "move_pages of the 512 pages of a locked PMD THP to the node it is on: status the node for every page, nothing moves, it stays mlocked",
                 requires: [.pageLayer, .thp]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.step(.movePages(addr: m.addr, pages: 512, to: .local, flags: UAPI.MPOL_MF_MOVE), "already there: the node, 512 times")
            b.munlock(m)
            b.munmap(m)
        },
        Scenario("thp.migrate.move-pages-remote",
                 "move_pages of the 512 pages of a locked PMD THP to the other node: page 0 isolates the whole folio, page 1 fails to isolate it again (-EBUSY) and the queue migrates, pages 2-511 find it there (the node); the PMD is re-made by remove_migration_pmd, whose whole-folio rmap add mlocks it on 6.18 (stranded, rescued, mlocked, culled +512 each; Mlocked unchanged) and not on 6.7-6.17 (Mlocked -2048 kB until reclaim)",
                 requires: [.pageLayer, .thp, .numaNodes]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.step(.movePages(addr: m.addr, pages: 512, to: .remote, flags: UAPI.MPOL_MF_MOVE), "node, -EBUSY, node x 510")
            b.expectFolios(m)
            b.munlock(m)
            b.munmap(m)
        },
        Scenario("thp.migrate.mbind-remote",
                 "mbind(MPOL_BIND other node, MPOL_MF_MOVE) of a whole locked PMD THP: queue_folios_pmd queues it once, it moves whole; the VMA is not split",
                 requires: [.pageLayer, .thp, .numaNodes]) { b in
            let m = hugeRegion(&b)
            b.touch(m)
            b.expectFolios(m)
            b.mlock(m)
            b.step(.mbind(addr: m.addr, length: m.length, mode: UAPI.MPOL_BIND, node: .remote, flags: UAPI.MPOL_MF_MOVE),
                   "the THP migrates whole")
            b.expectFolios(m)
            b.munmap(m)
        },
    ]
}
