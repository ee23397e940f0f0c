import MlockModel

/// LTP testcases/kernel/syscalls: mlockall01-03 and munlockall01.
///
/// LTP checks return values and errnos (mlockall01-03) and that VmLck goes from > 0 back
/// to 0 (munlockall01). Here the whole arena is checked after every call: which VMAs
/// carry `lo`, which pages are mlocked, exact VmLck, and that MCL_FUTURE reaches a later
/// mmap and is cancelled by munlockall. The rlimit cases do not depend on restoring the
/// limit afterwards (LTP's mlockall02/03 fail without CAP_SYS_RESOURCE for that reason).
enum LTPMlockall {
    static func ref(_ test: String, _ n: Int) -> String { "ltp/\(test)#\(n)" }

    static let mlockall01: [Scenario] = [
        (1, Cat.current, "current"), (2, Cat.future, "future"), (3, Cat.current | Cat.future, "current-future"),
    ].map { n, flags, name in
        Scenario("ltp.mlockall01." + name,
                 "mlockall01 #\(n): mlockall(\(Cat.mclName(flags))) returns 0; beyond it: which mappings, existing and new, end up locked and populated, then munlockall",
                 covers: [ref("mlockall01", n), flags & Cat.current != 0 ? "digest/P-14" : "digest/P-16"]) { b in
            let old = b.region(pages: 4)
            let new = b.region(pages: 4)
            b.map(old)
            b.touch(old.sub(0, 1), "one page present before the call")
            b.mlockall(flags, "returns 0")
            b.map(new, .rw, .privateAnon, [], "mmap after the call: locked only with MCL_FUTURE")
            b.munlockall("LTP never unlocks; here it must undo everything")
        }
    }

    /// mlockall02 and mlockall03 #1-2 are the same checks with the setrlimit and seteuid
    /// in a different order; one scenario covers both.
    static let rlimit: [Scenario] = [
        Scenario("ltp.mlockall02.rlimit-enomem",
                 "mlockall02/03 #1: without CAP_IPC_LOCK and RLIMIT_MEMLOCK {7, 10} bytes, mlockall(MCL_CURRENT) fails with ENOMEM (total_vm over 0 pages); MCL_FUTURE alone succeeds and then refuses a new mmap with EAGAIN",
                 covers: [ref("mlockall02", 1), ref("mlockall03", 1)]) { b in
            let m = b.region(pages: 2)
            let later = b.region(pages: 1)
            b.map(m)
            b.touch(m)
            b.setMemlockLimit(soft: 7, hard: 10, "soft 7 bytes, hard 10")
            b.dropCapIpcLock("LTP: seteuid(nobody)")
            b.mlockall(Cat.current, "ENOMEM, nothing locked")
            b.mlockall(Cat.future, "beyond: no MCL_CURRENT, no total_vm check, limit non-zero: succeeds")
            b.map(later, .rw, .privateAnon, [], "beyond: one page over a 0-page limit: EAGAIN")
            b.munlockall()
        },
        Scenario("ltp.mlockall02.rlimit-zero-eperm",
                 "mlockall02/03 #2: without CAP_IPC_LOCK and RLIMIT_MEMLOCK 0, mlockall(MCL_CURRENT) fails with EPERM and locks nothing",
                 covers: [ref("mlockall02", 2), ref("mlockall03", 2)]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m)
            b.unprivileged(memlock: 0)
            b.mlockall(Cat.current, "EPERM")
            b.mlockall(Cat.future, "beyond: EPERM too (can_do_mlock comes first)")
            b.munlockall("munlockall needs no privilege: 0")
        },
    ]

    static let invalidFlags: [Scenario] = [
        Scenario("ltp.mlockall02.flags-zero",
                 "mlockall02 #3: mlockall(0) fails with EINVAL and locks nothing, not even with a populated mapping present",
                 covers: [ref("mlockall02", 3)]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m)
            b.mlockall(0, "EINVAL")
        },
        Scenario("ltp.mlockall03.unknown-flags",
                 "mlockall03 #3: mlockall(~(MCL_CURRENT|MCL_FUTURE)) fails with EINVAL and locks nothing",
                 covers: [ref("mlockall03", 3)]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m)
            b.mlockall(~(Cat.current | Cat.future), "EINVAL")
        },
    ]

    static let munlockall01 = Scenario("ltp.munlockall01.vmlck-back-to-zero",
             "munlockall01: VmLck 0 at start, > 0 after mlockall(CURRENT|FUTURE), exactly 0 after munlockall; beyond it: every page munlocked and MCL_FUTURE gone for the next mmap",
             covers: [ref("munlockall01", 1), "digest/P-15", "digest/P-16"]) { b in
        let a = b.region(pages: 4)
        let c = b.region(pages: 4)
        let d = b.region(pages: 4)
        b.map(a)
        b.touch(a.sub(0, 2))
        b.mlockall(Cat.current | Cat.future, "VmLck > 0: the whole process, a populated")
        b.map(c, .rw, .privateAnon, [], "locked by MCL_FUTURE, populated")
        b.munlockall("VmLck 0, all munlocked")
        b.map(d, .rw, .privateAnon, [], "MCL_FUTURE cancelled: not locked, not populated")
    }

    static let scenarios: [Scenario] = mlockall01 + rlimit + invalidFlags + [munlockall01]
}
