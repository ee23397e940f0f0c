import MlockModel

/// Kernel selftests tools/testing/selftests/mm/on-fault-limit.c (1 result).
///
/// The reference must run as an ordinary user (sudo -u nobody), never checks the errno,
/// and passes vacuously when the limit is unlimited (2 * RLIM_INFINITY wraps). Here the
/// limit is set and CAP_IPC_LOCK dropped in the scenario process, so it runs the same as
/// root or not, the errno (EAGAIN) is checked, and the limit boundary is probed exactly.
enum SelftestsOnFaultLimit {
    static let prefix = "selftests.on-fault-limit."
    static let ref = "selftests/on-fault-limit#1"
    static let limitPages: UInt64 = 16

    static let scenarios: [Scenario] = [
        Scenario(prefix + "future-populate-over-limit",
                 "on-fault-limit: under mlockall(MCL_ONFAULT|MCL_FUTURE) a MAP_POPULATE mmap of twice RLIMIT_MEMLOCK fails with EAGAIN; mappings up to the limit succeed unpopulated",
                 covers: [ref, "digest/P-17"]) { b in
            let over = b.region(pages: 2 * limitPages)
            let a = b.region(pages: limitPages / 2)
            let c = b.region(pages: limitPages / 2)
            let d = b.region(pages: 1)
            let after = b.region(pages: 2 * limitPages)
            b.unprivileged(memlock: limitPages * pageSize)
            b.mlockall(Cat.mclOnfault | Cat.future, "MCL_FUTURE|MCL_ONFAULT, no MCL_CURRENT: no total_vm check")
            b.map(over, .rw, .privateAnon, [.populate], "2 x limit with MAP_POPULATE: EAGAIN, nothing mapped")
            b.map(a, .rw, .privateAnon, [.populate], "half the limit: mapped, lo, and ONFAULT skips the populate")
            b.touch(a.sub(0, 2), "faults are mlocked")
            b.map(c, .rw, .privateAnon, [.populate], "the other half: exactly at the limit, succeeds")
            b.map(d, .rw, .privateAnon, [], "one page over: EAGAIN")
            b.munlockall("clears MCL_FUTURE and every lo")
            b.map(after, .rw, .privateAnon, [.populate], "the same 2 x limit now maps, populated, unlocked")
        },

        Scenario(prefix + "future-over-limit-no-populate",
                 "on-fault-limit without MAP_POPULATE: the MCL_FUTURE limit check (mlock_future_ok) is made at mmap whether or not it populates, EAGAIN",
                 covers: [ref]) { b in
            let over = b.region(pages: 2 * limitPages)
            let fits = b.region(pages: limitPages)
            b.unprivileged(memlock: limitPages * pageSize)
            b.mlockall(Cat.mclOnfault | Cat.future)
            b.map(over, .rw, .privateAnon, [], "2 x limit: EAGAIN")
            b.map(fits, .rw, .privateAnon, [], "exactly the limit: mapped lock-on-fault")
            b.touch(fits, "all faulted in: all mlocked, VmLck = limit")
            b.munlockall()
        },

        Scenario(prefix + "future-full-populate-over-limit",
                 "MCL_FUTURE without ONFAULT: the same limit applies (EAGAIN), and a mapping within it is populated and mlocked at mmap",
                 covers: [ref, "digest/P-16"]) { b in
            let over = b.region(pages: 2 * limitPages)
            let fits = b.region(pages: limitPages / 2)
            b.unprivileged(memlock: limitPages * pageSize)
            b.mlockall(Cat.future)
            b.map(over, .rw, .privateAnon, [.populate], "EAGAIN")
            b.map(fits, .rw, .privateAnon, [], "VM_LOCKED from def_flags: populated and mlocked by mmap")
            b.munlockall()
        },

        Scenario(prefix + "mlock2-onfault-and-mremap-over-limit",
                 "what on-fault-limit leaves untested: mlock2(ONFAULT) past RLIMIT_MEMLOCK is ENOMEM although it faults nothing, and mremap growth of a locked range past it is EAGAIN",
                 covers: [ref]) { b in
            let m = b.region(pages: 2 * limitPages)
            b.unprivileged(memlock: limitPages * pageSize)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault, "2 x limit, on fault: ENOMEM, nothing locked")
            let half = m.sub(0, limitPages)
            b.mlock2(half, flags: Cat.onfault, "exactly the limit: succeeds, splits the VMA")
            b.touch(m.sub(0, 2), "two faults, mlocked")
            b.munmap(m.sub(limitPages, limitPages), "make room after the locked half")
            b.mremap(half, newPages: limitPages + 1, flags: 0, "grow by one page in place: EAGAIN")
            b.mremap(half, newPages: limitPages - 1, flags: 0, "shrink by one page: VmLck drops")
            b.mremap(m.sub(0, limitPages - 1), newPages: limitPages, flags: 0, "grow back to the limit: succeeds, not populated (ONFAULT)")
        },
    ]
}
