import MlockModel

/// Kernel selftests tools/testing/selftests/mm/mlock2-tests.c (15 results).
///
/// The reference checks only the VMA flag `lo` and Rss == Size; here every step is also
/// checked at the page layer (PG_mlocked/unevictable of each page, Mlocked and events)
/// and VmLck is exact. Cases 14-15 map with MAP_DROPPABLE (6.11+).
// TODO(profile): MAP_DROPPABLE needs 6.11+ (an older kernel fails the mmap with EINVAL);
// the scenarios run regardless until the profiles know kernel features.
enum SelftestsMlock2 {
    static let prefix = "selftests.mlock2."
    static func ref(_ n: Int) -> String { "selftests/mlock2-tests#\(n)" }

    static let scenarios: [Scenario] = [
        Scenario(prefix + "lock",
                 "test_mlock_lock: mlock2(0) on 2 untouched private pages populates and locks both; munlock clears lo, PG_mlocked and Mlocked",
                 covers: [ref(1), ref(2), "digest/P-02", "digest/P-08"]) { b in
            let m = b.region(pages: 2)
            b.map(m, .rw, .privateAnon, [], "mmap 2 pages RW private anon")
            b.mlock2(m, flags: 0, "mlock2(0): lo, Rss == Size, both pages mlocked")
            b.munlock(m, "munlock: lo gone, pages munlocked")
            b.munmap(m, "teardown")
        },

        Scenario(prefix + "lock-onfault",
                 "test_mlock_onfault: mlock2(MLOCK_ONFAULT) populates nothing; the written page alone is mlocked; munlock clears both flags",
                 covers: [ref(3), ref(4), "digest/P-04"]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault, "lock on fault: lo, nothing present")
            b.touch(m.sub(0, 1), "write page 0: faulted in and mlocked at fault")
            b.munlock(m, "no longer lock-on-fault; page 0 munlocked")
            b.munmap(m)
        },

        Scenario(prefix + "munlockall0",
                 "test_munlockall0: mlockall(MCL_CURRENT) populates and locks an untouched mapping (and the whole process); munlockall undoes it",
                 covers: [ref(5), ref(6), "digest/P-14", "digest/P-15"]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.mlockall(Cat.current, "mlockall(MCL_CURRENT): lo and Rss == Size")
            b.munlockall("munlockall: no lo anywhere, VmLck 0")
            b.munmap(m)
        },

        Scenario(prefix + "munlockall1",
                 "test_munlockall1: mlockall(CURRENT|ONFAULT) locks on fault, munlockall, then mlockall(CURRENT|FUTURE) must populate the untouched page 1",
                 covers: [ref(7), ref(8), ref(9), ref(10), "digest/P-07", "digest/P-15"]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.mlockall(Cat.current | Cat.mclOnfault, "mlockall(CURRENT|ONFAULT): lo, nothing populated")
            b.touch(m.sub(0, 1), "write page 0: mlocked at fault")
            b.munlockall("unlock: page 0 munlocked, stays present")
            b.mlockall(Cat.current | Cat.future, "mlockall(CURRENT|FUTURE): page 1 populated, both mlocked")
            b.munlockall("unlock all, MCL_FUTURE cleared")
            b.munmap(m)
        },

        Scenario(prefix + "lock-onfault-of-present",
                 "test_lock_onfault_of_present: mlock2(ONFAULT) over a present page mlocks it at once but populates nothing else; a later fault is mlocked",
                 covers: [ref(11), "digest/P-05"]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m.sub(0, 1), "write page 0 before locking")
            b.mlock2(m, flags: Cat.onfault, "page 0 mlocked now, page 1 stays absent")
            b.touch(m.sub(1, 1), "beyond the reference: fault page 1, mlocked at fault")
            b.munmap(m, "munmap of locked pages drops Mlocked")
        },

        Scenario(prefix + "vma-management-mlock2",
                 "test_vma_management(true): munlock of the middle page of a 3-page ONFAULT-locked VMA splits it in 3; munlock of all 3 merges back to 1",
                 covers: [ref(12), "digest/P-09"]) { b in
            let m = b.region(pages: 3)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault, "one VMA, lo")
            b.munlock(m.sub(1, 1), "split: 3 VMAs, middle one unlocked")
            b.munlock(m, "merge: one unlocked VMA")
            b.munmap(m)
        },

        Scenario(prefix + "vma-management-mlock2-touched",
                 "test_vma_management(true) with all 3 pages faulted in first, so the split and merge are also checked at the page layer",
                 covers: [ref(12), "digest/P-09"]) { b in
            let m = b.region(pages: 3)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m, "fault all 3: mlocked at fault")
            b.munlock(m.sub(1, 1), "split; middle page munlocked, outer two stay mlocked")
            b.munlock(m, "merge; all munlocked")
            b.munmap(m)
        },

        Scenario(prefix + "vma-management-mlockall",
                 "test_mlockall: after mlockall(CURRENT|ONFAULT|FUTURE) a new mapping inherits lock-on-fault; middle munlock splits it, full munlock merges it",
                 covers: [ref(13), "digest/P-17"]) { b in
            b.mlockall(Cat.current | Cat.mclOnfault | Cat.future, "process locked on fault, MCL_FUTURE set")
            let m = b.region(pages: 3)
            b.map(m, .rw, .privateAnon, [], "new VMA: VM_LOCKED|VM_LOCKONFAULT from def_flags, not populated")
            b.munlock(m.sub(1, 1), "split in 3")
            b.munlock(m, "merge back to 1")
            b.munlockall()
            b.munmap(m)
        },

        Scenario(prefix + "vma-management-mlockall-touched",
                 "test_mlockall with pages faulted in under MCL_FUTURE|MCL_ONFAULT, so the inherited lock is seen at the page layer too",
                 covers: [ref(13), "digest/P-17"]) { b in
            b.mlockall(Cat.current | Cat.mclOnfault | Cat.future)
            let m = b.region(pages: 3)
            b.map(m)
            b.touch(m.sub(0, 2), "fault pages 0-1: mlocked at fault")
            b.munlock(m.sub(1, 1), "split; page 1 munlocked")
            b.touch(m.sub(2, 1), "fault page 2 in the still-locked third VMA")
            b.munlock(m, "merge; all munlocked")
            b.munlockall()
        },

        Scenario(prefix + "mlock-droppable",
                 "test_mlock_droppable: after munlockall, mlock2(0) of a MAP_DROPPABLE mapping returns 0 but sets no lo and counts nothing; it still populates the pages, none mlocked",
                 covers: [ref(14)]) { b in
            let m = b.region(pages: 2)
            b.munlockall("make sure MCL_FUTURE is not set")
            b.map(m, .rw, .privateAnon, [.droppable], "mmap 2 pages MAP_ANONYMOUS|MAP_DROPPABLE")
            b.mlock2(m, flags: 0, "0; mlock_fixup skips VM_DROPPABLE: no lo, VmLck 0; __mm_populate faults both pages in, not mlocked")
            b.munlock(m, "beyond the reference: munlock is a no-op, 0")
            b.munmap(m)
        },

        Scenario(prefix + "mlockall-future-droppable",
                 "test_mlockall_future_droppable: under mlockall(CURRENT|FUTURE) a new MAP_DROPPABLE mapping gets no lo and no VmLck, yet is populated; it does not merge with an adjacent droppable one",
                 covers: [ref(15)]) { b in
            let m = b.region(pages: 2)
            let n = b.adjacent(to: m, pages: 1)
            b.mlockall(Cat.current | Cat.future, "mlockall(CURRENT|FUTURE): def_flags VM_LOCKED")
            b.map(m, .rw, .privateAnon, [.droppable], "__mmap_complete drops VM_LOCKED: no lo, VmLck unchanged; populated (do_mmap saw VM_LOCKED), not mlocked")
            b.map(n, .rw, .privateAnon, [.droppable], "beyond the reference: adjacent droppable, merge tried with VM_LOCKED, so 2 VMAs")
            b.munlockall()
            b.munmap(m)
            b.munmap(n)
            b.mlockall(Cat.current | Cat.future | Cat.mclOnfault, "beyond: MCL_FUTURE|MCL_ONFAULT")
            b.map(m, .rw, .privateAnon, [.droppable], "VM_LOCKONFAULT dropped with VM_LOCKED: populated, not mlocked")
            b.munlockall()
            b.munmap(m)
        },
    ]
}
