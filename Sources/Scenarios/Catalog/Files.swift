import MlockModel

/// Files and special mappings: ramfs (unevictable from birth, in the agent's own mount
/// namespace), hugetlb (populated, never VM_LOCKED), memfd_secret (VM_LOCKED, or since
/// the 6.12.113/6.1.191 backport charged per page at fault; unevictable; GUP cannot
/// populate it), and truncate / fallocate(PUNCH_HOLE) of
/// locked file pages. MAP_DROPPABLE is in `selftests.mlock2.mlock-droppable`,
/// `…mlockall-future-droppable` and `fork.zero-and-wipeonfork`; MADV_DONTNEED_LOCKED in
/// `edge.madvise-locked.dontneed-locked*` and `sysv.dontneed-locked`.
enum Files {
    static func files(_ id: String, _ summary: String, covers: [String] = [], requires: Set<Requirement> = [],
                      _ build: (inout ScenarioBuilder) -> Void) -> Scenario {
        Scenario("files." + id, summary, covers: covers, requires: requires, build)
    }

    static let scenarios: [Scenario] = ramfs + hugetlb + secret + truncate + punchHole

    static let ramfs: [Scenario] = [
        files("ramfs.filled-locked",
              "a filled ramfs file: its pages are unevictable from the write on (culled, Unevictable, no PG_mlocked); mlock of a shared mapping only sets PG_mlocked (no culled); munlock clears it and nothing is rescued",
              requires: [.root]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .ramfs, pages: 4, filled: true, "4 pages written: Unevictable +16 kB, culled +4")
            b.mapObject(m, slot: 0, shared: true)
            b.read(m, "fault-around maps the cached pages: u")
            b.mlock(m, "PG_mlocked +4, VmLck +16 kB, no culled")
            b.munlock(m, "munlocked +4, rescued 0: ramfs stays unevictable")
            b.munmap(m)
        },
        files("ramfs.onfault-unfilled",
              "an empty ramfs file mapped shared and locked on fault: a read fault adds one zero-filled page (no readahead on ramfs), unevictable and mlocked at fault",
              requires: [.root]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .ramfs, pages: 4, filled: false)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock2(m, flags: Cat.onfault)
            b.read(m.sub(1, 1))
            b.munlock(m)
        },
        files("ramfs.private-cow",
              "a private writable mapping of a ramfs file, locked: populate copies every page into anonymous memory (mlocked, evictable once munlocked); the ramfs pages stay unevictable in the file",
              requires: [.root]) { b in
            let m = b.region(pages: 2)
            b.createObject(0, .ramfs, pages: 2, filled: true)
            b.mapObject(m, slot: 0, shared: false)
            b.mlock(m, "write faults: private copies, mlocked")
            b.munlock(m, "the copies are rescued")
            b.munmap(m)
        },
        files("ramfs.truncate-locked",
              "ftruncate of a locked ramfs mapping to half: the cut pages are unmapped and leave the page cache before the munlock batch runs, so they are munlocked and rescued, then freed; the VMA keeps lo and VmLck; a touch past the end is SIGBUS",
              requires: [.root]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .ramfs, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock(m)
            b.truncate(0, pages: 2)
            b.touch(m.sub(3, 1), "SIGBUS: EFAULT")
            b.truncate(0, pages: 4, "grown back: holes")
            b.touch(m, "new zero-filled pages, unevictable and mlocked")
        },
        files("ramfs.punch-hole",
              "fallocate(PUNCH_HOLE) on ramfs is EOPNOTSUPP (no ->fallocate) and changes nothing",
              requires: [.root]) { b in
            let m = b.region(pages: 2)
            b.createObject(0, .ramfs, pages: 2, filled: true)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock(m)
            b.punchHole(0, firstPage: 0, pages: 1, "EOPNOTSUPP")
        },
    ]

    /// 512 pages: one 2 MiB huge page.
    static let hugePages: UInt64 = hugePageSize / pageSize

    static let hugetlb: [Scenario] = [
        files("hugetlb.map-locked",
              "mmap(MAP_HUGETLB|MAP_LOCKED) of one 2 MiB page: populated (every 4 kB of it present), but no lo, VmLck 0, not PG_mlocked nor unevictable, Rss 0 (hugetlb counts apart); Mlocked and Unevictable unchanged",
              requires: [.hugePages]) { b in
            let m = b.region(pages: hugePages)
            b.map(m, .rw, .privateAnon, [.hugetlb, .locked])
            b.munmap(m)
        },
        files("hugetlb.mlock",
              "mlock of a hugetlb mapping returns 0 and populates it, sets no lo and counts nothing; munlock returns 0 and changes nothing",
              requires: [.hugePages]) { b in
            let m = b.region(pages: hugePages)
            b.map(m, .rw, .privateAnon, [.hugetlb])
            b.mlock(m, "populated, not locked")
            b.munlock(m)
            b.touch(m)
            b.munmap(m)
        },
        files("hugetlb.mcl-future",
              "a hugetlb mapping made under mlockall(MCL_FUTURE) is populated (do_mmap's vm_flags had VM_LOCKED) but loses VM_LOCKED (vma_supports_mlock) and is not counted",
              requires: [.hugePages]) { b in
            let m = b.region(pages: hugePages)
            b.mlockall(Cat.future)
            b.map(m, .rw, .privateAnon, [.hugetlb])
            b.munlockall()
            b.munmap(m)
        },
    ]

    static let secret: [Scenario] = [
        files("secret.map-and-touch",
              "a memfd_secret mapping is VM_LOCKED at mmap (VmLck counted) but not populated; each touched page is unevictable (culled) and mlocked; munmap munlocks them, no rescue (the secretmem mapping is unevictable). After 'mm/secretmem: properly account locked pages' (6.12.113, 6.1.191): not VM_LOCKED, VmLck 0, pages unevictable only",
              requires: [.memfdSecret]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .secret, pages: 4, filled: false)
            b.mapObject(m, slot: 0, shared: true)
            b.touch(m.sub(0, 2))
            b.read(m.sub(2, 1), "no fault-around: one page")
            b.munmap(m)
        },
        files("secret.mlock-enomem",
              "mlock of a memfd_secret mapping is ENOMEM: GUP refuses secretmem (populate EFAULT); munlock and munlockall return 0 but change nothing (mlock_fixup never unlocks secretmem)",
              requires: [.memfdSecret]) { b in
            let m = b.region(pages: 2)
            b.createObject(0, .secret, pages: 2, filled: false)
            b.mapObject(m, slot: 0, shared: true)
            b.touch(m.sub(0, 1))
            b.mlock(m, "ENOMEM, nothing changes")
            b.munlock(m, "0, still lo and counted, the page still mlocked")
            b.munlockall("the same")
            b.touch(m, "the new page is mlocked at fault")
            b.munmap(m, "the unmap munlocks both (no rescue: secretmem stays unevictable)")
        },
        files("secret.populate-and-errnos",
              "memfd_secret: MAP_POPULATE populates nothing (GUP refuses); a private mapping is EINVAL; pwrite(2) of the object is ESPIPE; ftruncate to a new size is EINVAL; fallocate is EOPNOTSUPP",
              requires: [.memfdSecret]) { b in
            let m = b.region(pages: 2)
            let p = b.region(pages: 2)
            b.createObject(0, .secret, pages: 2, filled: false)
            b.mapObject(m, slot: 0, shared: true, flags: [.populate], "lo, nothing present")
            b.mapObject(p, slot: 0, shared: false, "EINVAL")
            b.createObject(1, .secret, pages: 1, filled: true, "pwrite: ESPIPE")
            b.truncate(0, pages: 4, "EINVAL: the size is set once")
            b.punchHole(0, firstPage: 0, pages: 1, "EOPNOTSUPP")
        },
        files("secret.fault-charge",
              "memfd_secret under RLIMIT_MEMLOCK of one page, CAP_IPC_LOCK kept: before 'mm/secretmem: properly account locked pages' (6.12.113, 6.1.191) the capability passes mlock_future_ok and both pages fault, mlocked; after, each new page is charged to the creator's user->locked_vm at fault with no capability exemption, the charge outlives munmap, and the second page is SIGBUS",
              requires: [.memfdSecret]) { b in
            let m = b.region(pages: 1)
            let w = b.region(pages: 2)
            b.setMemlockLimit(soft: pageSize, hard: pageSize, "RLIMIT_MEMLOCK = 1 page, CAP_IPC_LOCK kept")
            b.createObject(0, .secret, pages: 2, filled: false)
            b.mapObject(m, slot: 0, shared: true)
            b.touch(m, "page 0: charged (after the backport) or mlocked (before)")
            b.munmap(m, "the fd keeps the file, its page and its charge")
            b.mapObject(w, slot: 0, shared: true)
            b.touch(w, "page 0 is cached; page 1: SIGBUS after the backport, mlocked before")
        },
        files("secret.rlimit",
              "memfd_secret against RLIMIT_MEMLOCK without CAP_IPC_LOCK: a 2-page mapping over a 1-page limit is EAGAIN (secretmem_mmap_prepare: mlock_future_ok), a 1-page one fits; after 'mm/secretmem: properly account locked pages' both map and the touched page is charged at fault",
              requires: [.memfdSecret]) { b in
            let m = b.region(pages: 2)
            let n = b.region(pages: 1)
            b.createObject(0, .secret, pages: 2, filled: false)
            b.unprivileged(memlock: pageSize)
            b.mapObject(m, slot: 0, shared: true, "EAGAIN")
            b.mapObject(n, slot: 0, shared: true, "fits")
            b.touch(n)
        },
    ]

    static let truncate: [Scenario] = [
        files("truncate.memfd-locked",
              "ftruncate of a locked memfd mapping to half: the cut pages are unmapped, munlocked, rescued and freed; lo and VmLck stay; past the end is SIGBUS; grown back, touched pages are new and mlocked",
              covers: ["digest/P-30"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock(m)
            b.truncate(0, pages: 2)
            b.touch(m.sub(3, 1), "SIGBUS: EFAULT")
            b.truncate(0, pages: 4)
            b.touch(m)
        },
        files("truncate.file-private-cow",
              "ftruncate of a regular file under a locked private mapping: truncate unmaps even the private COW copies past the end (even_cows), munlocking and freeing them",
              covers: ["digest/P-30"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: false)
            b.mlock(m, "populate writes: 4 private copies, mlocked")
            b.truncate(0, pages: 1)
            b.munlock(m)
        },
        files("truncate.file-shared-locked",
              "ftruncate of a regular file under a locked shared mapping to 0 and back: every page unmapped, munlocked and dropped; a read of the hole brings zero-filled page cache back, mlocked",
              covers: ["digest/P-30"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock(m)
            b.truncate(0, pages: 0)
            b.truncate(0, pages: 4)
            b.read(m.sub(0, 1))
        },
    ]

    static let punchHole: [Scenario] = [
        files("punch-hole.memfd-locked",
              "fallocate(PUNCH_HOLE) of two locked memfd pages: unmapped, munlocked, rescued and freed while lo and VmLck stay; touched again they come back as new mlocked pages",
              covers: ["digest/P-30"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock(m)
            b.punchHole(0, firstPage: 1, pages: 2)
            b.touch(m)
        },
        files("punch-hole.file-shared-locked",
              "fallocate(PUNCH_HOLE) under a locked shared mapping of a regular file: the hole's pages go (munlocked, rescued); a read fault reads the hole back in and mlocks it",
              covers: ["digest/P-30"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock(m)
            b.punchHole(0, firstPage: 2, pages: 2)
            b.read(m.sub(2, 1))
        },
        files("punch-hole.private-cow-stays",
              "fallocate(PUNCH_HOLE) under a locked private mapping whose pages are COW copies: the copies stay mapped and mlocked (unmap_mapping_range without even_cows); nothing changes at either layer",
              covers: ["digest/P-30"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: false)
            b.mlock(m)
            b.punchHole(0, firstPage: 0, pages: 4)
            b.punchHole(0, firstPage: 0, pages: 0, "length 0: EINVAL")
        },
    ]
}
