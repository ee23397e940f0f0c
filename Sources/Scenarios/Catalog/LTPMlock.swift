import MlockModel

/// LTP testcases/kernel/syscalls: mlock01-05, mlock201-203 (mlock2/), munlock01-02,
/// mmap14 and madvise02.
///
/// LTP checks return values, errnos, VmLck deltas, smaps Rss/Locked and mincore
/// residency. Here every step is also checked page by page (PG_mlocked, unevictable),
/// against Mlocked and the unevictable_pgs_* events, and the rlimit cases run the same
/// as root or not: the limit is lowered and CAP_IPC_LOCK dropped in the scenario process
/// (LTP's seteuid(nobody) path breaks without CAP_SYS_RESOURCE when restoring the limit).
enum LTPMlock {
    static func ref(_ test: String, _ n: Int? = nil) -> String {
        n.map { "ltp/\(test)#\($0)" } ?? "ltp/\(test)"
    }

    /// Where a malloc(bytes) would put its memory, as an arena mapping of the same shape:
    /// small requests come from the heap (a 33-page arena, its first page in use), large
    /// ones from their own mmap'd chunk (bytes + a header, rounded up to pages). The
    /// returned address is 16 bytes in, like glibc's chunk header, so the lock is unaligned.
    static func mallocLike(_ b: inout ScenarioBuilder, bytes: UInt64) -> (region: Region, addr: UInt64, chunk: Bool) {
        let mmapThreshold: UInt64 = 128 * Cat.kib
        if bytes < mmapThreshold {
            let heap = b.region(pages: 33)
            b.map(heap, .rw, .privateAnon, [], "heap arena in place of brk memory")
            b.touch(heap.sub(0, 1), "heap bookkeeping page in use")
            return (heap, heap.addr + 16, false)
        }
        let pages = (bytes + 16 + pageSize - 1) / pageSize
        let chunk = b.region(pages: pages)
        b.map(chunk, .rw, .privateAnon, [], "mmap'd malloc chunk of \(pages) pages")
        b.touch(chunk.sub(0, 1), "chunk header written by malloc")
        return (chunk, chunk.addr + 16, true)
    }

    /// mlock01 / munlock01 sizes. 10 MiB is scaled to 2 MiB: the suite never locks more
    /// than a few MiB, and an ordinary user's default limit (8 MiB) would refuse 10 MiB.
    static let sizes: [(name: String, bytes: UInt64, note: String)] = [
        ("len-1", 1, "1 byte"),
        ("len-1k", 1024, "1024 bytes"),
        ("len-1m", Cat.mib, "1 MiB"),
        ("len-10m-scaled-2m", 2 * Cat.mib, "10 MiB scaled to 2 MiB"),
    ]

    static let mlock01: [Scenario] = sizes.enumerated().map { i, s in
        Scenario("ltp.mlock01." + s.name,
                 "mlock01 #\(i + 1): mlock of a malloc(\(s.note)) area (here an arena mapping of the same shape, 16 bytes in) succeeds and locks exactly the pages it spans; then freed while locked",
                 covers: [ref("mlock01", i + 1), "digest/P-01", "digest/P-02", "digest/P-10"]) { b in
            let (region, addr, chunk) = mallocLike(&b, bytes: s.bytes)
            b.mlock(addr: addr, length: s.bytes, "mlock(p, \(s.bytes)): \(Cat.pagesSpanned(offset: 16, length: s.bytes)) pages")
            if chunk {
                b.munmap(region, "free(): munmap of the still-locked chunk")
            }
        }
    }

    static let munlock01: [Scenario] = sizes.enumerated().map { i, s in
        Scenario("ltp.munlock01." + s.name,
                 "munlock01 #\(i + 1): mlock then munlock of a malloc(\(s.note)) area (here an arena mapping of the same shape) both succeed; the pages end munlocked and the VMA merged",
                 covers: [ref("munlock01", i + 1), "digest/P-08"]) { b in
            let (region, addr, chunk) = mallocLike(&b, bytes: s.bytes)
            b.mlock(addr: addr, length: s.bytes)
            b.munlock(addr: addr, length: s.bytes, "munlock(p, \(s.bytes))")
            if chunk { b.munmap(region, "free()") }
        }
    }

    static let mlock02: [Scenario] = [
        Scenario("ltp.mlock02.unmapped",
                 "mlock02 #1: mlock of a range that was just unmapped fails with ENOMEM and maps or locks nothing",
                 covers: [ref("mlock02", 1)]) { b in
            let r = b.region(pages: 1)
            b.map(r, .read)
            b.munmap(r)
            b.mlock(r, "ENOMEM")
        },
        Scenario("ltp.mlock02.rlimit-below-len",
                 "mlock02 #2: without CAP_IPC_LOCK and RLIMIT_MEMLOCK one byte short of a page, mlock of one page fails with ENOMEM and locks nothing",
                 covers: [ref("mlock02", 2), "digest/P-12"]) { b in
            let r = b.region(pages: 1)
            b.setMemlockLimit(soft: pageSize - 1, hard: pageSize - 1, "limit = page size - 1")
            b.map(r, .read)
            b.dropCapIpcLock("LTP: seteuid(nobody)")
            b.mlock(r, "ENOMEM")
        },
        Scenario("ltp.mlock02.rlimit-zero",
                 "mlock02 #3: without CAP_IPC_LOCK and RLIMIT_MEMLOCK 0, mlock fails with EPERM (can_do_mlock) and locks nothing",
                 covers: [ref("mlock02", 3), "digest/P-12"]) { b in
            let r = b.region(pages: 1)
            b.setMemlockLimit(soft: 0, hard: 0)
            b.map(r, .read)
            b.dropCapIpcLock("LTP: seteuid(nobody)")
            b.mlock(r, "EPERM")
        },
    ]

    /// mlock03 reads /proc/self/maps and mlocks then munlocks every range (runtest/syscalls
    /// runs it with -i 20); its check is that the `[stack]` VMA does not shrink (RHEL5 bug
    /// 643426: its start moved up, 76 KiB -> 44 KiB). The real `[stack]` is outside the
    /// arena, and `[stack]` is only a name for the VMA holding mm->start_stack
    /// (vma_is_initial_stack); what mlock and populate could treat differently is
    /// VM_GROWSDOWN, so a MAP_GROWSDOWN mapping stands in for it. Every VMA's bounds are
    /// checked after every call, not just at the end.
    static let mlock03: [Scenario] = [
        Scenario("ltp.mlock03.alternate-every-vma",
                 "mlock03 loop: 6 rounds alternating mlock and munlock of every arena VMA (RW, grows-down RW, PROT_NONE, file, read-only) never change any VMA's bounds; PROT_NONE mlock is ENOMEM but locks",
                 covers: [ref("mlock03", 1)]) { b in
            let rw = b.region(pages: 4)
            let gd = b.region(pages: 4)
            let none = b.region(pages: 2)
            let file = b.region(pages: 3)
            let ro = b.region(pages: 2)
            b.createObject(0, .file, pages: 3, filled: true)
            b.map(rw)
            b.touch(rw.sub(0, 2))
            b.map(gd, .rw, .privateAnon, [.growsdown], "MAP_GROWSDOWN: smaps gd")
            b.touch(gd.sub(2, 2), "the top 2 pages in use, as a stack's")
            b.map(none, .none)
            b.mapObject(file, slot: 0, shared: true, prot: .read)
            b.map(ro, .read)
            let vmas = [rw, gd, none, file, ro]
            for round in 0..<6 {
                for v in vmas {
                    if round % 2 == 0 { b.mlock(v, "round \(round): mlock") } else { b.munlock(v, "round \(round): munlock") }
                }
            }
        },
        Scenario("ltp.mlock03.growsdown-vma-keeps-its-size",
                 "mlock03's check: 20 times mlock then munlock of a whole 8-page grows-down RW mapping (MAP_GROWSDOWN, 4 top pages touched) never moves its start or end; every page is populated and mlocked each time, none left out as a guard page, and munlocked again",
                 covers: [ref("mlock03", 1)]) { b in
            let r = b.region(pages: 12)
            let gd = r.sub(0, 8)
            let above = r.sub(8, 4)
            b.map(gd, .rw, .privateAnon, [.growsdown], "MAP_GROWSDOWN: VM_GROWSDOWN (gd), not named [stack]")
            b.map(above, .rw, .privateAnon, [], "beyond the reference: a plain mapping right above does not merge (VM_GROWSDOWN differs)")
            b.touch(gd.sub(4, 4), "the top 4 pages in use, as a stack's")
            for i in 1...20 {
                b.mlock(gd, "#\(i) mlock: VmLck +32 kB; all 8 pages present and mlocked, the bounds unchanged")
                b.munlock(gd, "#\(i) munlock: all 8 munlocked, still present; the bounds unchanged")
            }
        },
    ]

    static let mlock04 = Scenario("ltp.mlock04.file-shared-write-only",
             "mlock04: mlock of a PROT_WRITE-only MAP_SHARED mapping of a 10-page sparse file succeeds (fdf4c587a793), populating and mlocking page cache; then munlock",
             covers: [ref("mlock04", 1)]) { b in
        let r = b.region(pages: 10)
        b.createObject(0, .file, pages: 10, filled: false, "ftruncate to 40960 bytes, nothing written")
        b.mapObject(r, slot: 0, shared: true, prot: .write)
        b.mlock(r, "populates the sparse file's page cache, all mlocked")
        b.munlock(r)
        b.munmap(r)
    }

    static let mlock05 = Scenario("ltp.mlock05.prefault-1m",
             "mlock05: mlock of 1 MiB PROT_WRITE private anon prefaults every PTE: smaps Rss == Locked == 1 MiB, and every page PG_mlocked, Mlocked +1024 kB",
             covers: [ref("mlock05", 1), ref("mlock05", 2), "digest/P-02"]) { b in
        let r = b.region(pages: Cat.mib / pageSize)
        b.map(r, .write)
        b.mlock(r, "Rss == Locked == 1024 kB")
        b.munlock(r, "beyond the reference: Locked 0, all munlocked")
        b.munmap(r)
    }

    /// mlock201 tcases: {populate_pages, lock_pages, offset, exp_vmlcks, exp_present, flag}.
    static let mlock201Cases: [(name: String, populate: UInt64, lock: UInt64, offset: Int64, flags: UInt32, why: String)] = [
        ("lock-1-page", 0, 1, 0, 0, "1 page locked and present"),
        ("lock-all-8-pages", 0, 8, 0, 0, "all 8 locked and present"),
        ("lock-2-pages-plus-1-byte", 0, 2, 1, 0, "a byte over 2 pages locks 3"),
        ("lock-2-pages-minus-1-byte", 0, 2, -1, 0, "a byte under 2 pages locks 2"),
        ("onfault-1-page-none-present", 0, 1, 0, Cat.onfault, "ONFAULT locks 1 page, populates none"),
        ("onfault-8-pages-4-present", 4, 8, 0, Cat.onfault, "ONFAULT over 8 with 4 prefaulted: 8 locked, 4 present"),
        ("onfault-4-pages-plus-1-byte-1-present", 1, 4, 1, Cat.onfault, "ONFAULT over 4 pages + 1 byte: 5 locked, 1 present"),
        ("onfault-4-pages-minus-1-byte-4-present", 4, 4, -1, Cat.onfault, "ONFAULT over 4 pages - 1 byte: 4 locked, 4 present"),
    ]

    static let mlock201: [Scenario] = mlock201Cases.enumerated().map { i, c in
        Scenario("ltp.mlock201." + c.name,
                 "mlock201 #\(i + 1): on 8 pages PROT_WRITE shared anon with \(c.populate) prefaulted, mlock2(\(c.flags == 0 ? "0" : "ONFAULT")): \(c.why); checked by VmLck and every page's flags, not mincore",
                 covers: [ref("mlock201", i + 1), c.flags == 0 ? "digest/P-02" : "digest/P-05"]) { b in
            let r = b.region(pages: 8)
            b.map(r, .write, .sharedAnon)
            if c.populate > 0 { b.touch(r.sub(0, c.populate), "memset the first \(c.populate) pages") }
            let len = UInt64(Int64(c.lock * pageSize) + c.offset)
            b.mlock2(addr: r.addr, length: len, flags: c.flags, "mlock2(p, \(len), \(c.flags))")
            b.munlock(addr: r.addr, length: len, "SAFE_MUNLOCK of the same range")
            b.munmap(r)
        }
    }

    static let mlock202: [Scenario] = [
        Scenario("ltp.mlock202.unknown-flags",
                 "mlock202 #1: mlock2 with flags -1 fails with EINVAL before anything else is looked at, locking nothing",
                 covers: [ref("mlock202", 1)]) { b in
            let r = b.region(pages: 1)
            b.map(r, .write)
            b.mlock2(r, flags: UInt32.max, "flags = -1: EINVAL")
        },
        Scenario("ltp.mlock202.rlimit-below-page",
                 "mlock202 #2: without CAP_IPC_LOCK and RLIMIT_MEMLOCK of page size - 1, mlock2 of one page fails with ENOMEM",
                 covers: [ref("mlock202", 2), "digest/P-12"]) { b in
            let r = b.region(pages: 1)
            b.map(r, .write)
            b.touch(r, "a present page, so a wrong success would show at the page layer")
            b.unprivileged(memlock: pageSize - 1)
            b.mlock2(r, flags: 0, "ENOMEM")
        },
        Scenario("ltp.mlock202.rlimit-zero",
                 "mlock202 #3: without CAP_IPC_LOCK and RLIMIT_MEMLOCK 0, mlock2 fails with EPERM",
                 covers: [ref("mlock202", 3), "digest/P-12"]) { b in
            let r = b.region(pages: 1)
            b.map(r, .write)
            b.touch(r)
            b.unprivileged(memlock: 0)
            b.mlock2(r, flags: 0, "EPERM")
        },
        Scenario("ltp.mlock202.unmapped",
                 "mlock202 #4: mlock2 of one page in the middle of a just-unmapped 8-page range fails with ENOMEM",
                 covers: [ref("mlock202", 4)]) { b in
            let r = b.region(pages: 8)
            b.map(r, .read)
            b.munmap(r)
            b.mlock2(r.sub(4, 1), flags: 0, "ENOMEM")
        },
    ]

    static let mlock203 = Scenario("ltp.mlock203.onfault-then-full",
             "mlock203: mlock2(ONFAULT) then mlock2(0) on the same page raises VmLck once (b155b4fde5bd); the second call also populates and mlocks the page",
             covers: [ref("mlock203", 1), "digest/P-06", "digest/P-07"]) { b in
        let r = b.region(pages: 1)
        b.map(r, .write)
        b.mlock2(r, flags: Cat.onfault, "VmLck +4 kB, nothing present")
        b.mlock2(r, flags: 0, "VmLck unchanged; page populated and mlocked")
        b.munlock(r)
    }

    static let munlock02 = Scenario("ltp.munlock02.partially-unmapped",
             "munlock02: munlock starting in a hole punched by munmap (pages 2-5 of 8 locked pages) fails with ENOMEM and leaves the remaining locked pages untouched",
             covers: [ref("munlock02", 1), "digest/P-01", "digest/P-10"]) { b in
        let r = b.region(pages: 8)
        b.map(r)
        b.touch(r, "memset")
        b.mlock(r)
        b.munmap(r.sub(2, 4), "unmap pages 2-5 of the locked range: they are munlocked")
        b.munlock(addr: r.page(2), length: 8 * pageSize, "ENOMEM: starts in the hole")
    }

    static let mmap14 = Scenario("ltp.mmap14.map-locked-1m",
             "mmap14: mmap(1 MiB, MAP_LOCKED) raises VmLck by 1024 kB; beyond it, the mapping is populated and every page mlocked, and munmap gives it all back",
             covers: [ref("mmap14", 1), "digest/P-18"]) { b in
        let r = b.region(pages: Cat.mib / pageSize)
        b.map(r, .rw, .privateAnon, [.locked], "VmLck +1024 kB, populated, all mlocked")
        b.munmap(r, "Mlocked -1024 kB")
    }

    /// madvise02 maps a 16-page file three times and a page of shared anon, mlocks file1
    /// in setup, unmaps the last page of file2, then runs its cases. Cases 5-6
    /// (MADV_MERGEABLE/UNMERGEABLE: EINVAL only without CONFIG_KSM) and 9 (EBADF, always
    /// skipped by LTP since anon WILLNEED is legal) depend on the build, not on locking.
    static let madvise02: [Scenario] = [
        Scenario("ltp.madvise02.dontneed-locked-file",
                 "madvise02 #4: MADV_DONTNEED on an mlocked PROT_READ MAP_SHARED file mapping fails with EINVAL and unmaps nothing; every page stays present and mlocked",
                 covers: [ref("madvise02", 4), "digest/P-31"]) { b in
            let f = b.region(pages: 16)
            b.createObject(0, .file, pages: 16, filled: true, "16 pages written, as LTP writes its test file")
            b.mapObject(f, slot: 0, shared: true, prot: .read)
            b.mlock(f, "page cache pages mapped and mlocked")
            b.madvise(f, UAPI.MADV_DONTNEED, "EINVAL")
            b.munmap(f, "teardown: the file pages are munlocked")
        },
        Scenario("ltp.madvise02.errnos-on-locked-file",
                 "madvise02 #1-3,7-8,10-13: the other errno cases, run (as LTP does) while file1 is mlocked; none may change a page or a lock",
                 covers: [ref("madvise02", 1), ref("madvise02", 2), ref("madvise02", 3), ref("madvise02", 7),
                          ref("madvise02", 8), ref("madvise02", 10), ref("madvise02", 11), ref("madvise02", 12),
                          ref("madvise02", 13)]) { b in
            let f1 = b.region(pages: 16)
            let f2 = b.region(pages: 16)
            let f3 = b.region(pages: 16)
            let sa = b.region(pages: 1)
            b.createObject(0, .file, pages: 16, filled: true)
            b.mapObject(f1, slot: 0, shared: true, prot: .read, pageOffset: 0, flags: [], "file1")
            b.mapObject(f2, slot: 0, shared: true, prot: .read, pageOffset: 0, flags: [], "file2")
            b.mapObject(f3, slot: 0, shared: false, prot: .read, pageOffset: 0, flags: [], "file3, private")
            b.map(sa, .read, .sharedAnon, [], "shared anon")
            b.munmap(f2.sub(15, 1), "unmap file2's last page")
            b.mlock(f1, "setup: mlock file1")
            b.madvise(addr: f1.addr + 100, length: f1.length, UAPI.MADV_NORMAL, "#1 unaligned start: EINVAL")
            b.madvise(f1, 1212, "#2 unknown advice: EINVAL")
            b.madvise(f1, UAPI.MADV_REMOVE, "#3 MADV_REMOVE on a locked (read-only) file mapping: EINVAL")
            b.madvise(f2, UAPI.MADV_NORMAL, "#7 range ends in a hole: ENOMEM")
            b.madvise(f2, UAPI.MADV_WILLNEED, "#8 WILLNEED over a hole: ENOMEM")
            b.madvise(f1, UAPI.MADV_FREE, "#10 MADV_FREE on a file mapping: EINVAL")
            b.madvise(f1, Cat.madvWipeOnFork, "#11 MADV_WIPEONFORK on a file mapping: EINVAL")
            b.madvise(sa, Cat.madvWipeOnFork, "#12 MADV_WIPEONFORK on shared anon: EINVAL")
            b.madvise(f3, Cat.madvWipeOnFork, "#13 MADV_WIPEONFORK on a private file mapping: EINVAL")
        },
    ]

    static let scenarios: [Scenario] =
        mlock01 + mlock02 + mlock03 + [mlock04, mlock05] + mlock201 + mlock202 + [mlock203]
        + munlock01 + [munlock02, mmap14] + madvise02
}
