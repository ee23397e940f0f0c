import MlockModel

/// SysV shared memory: SHM_LOCK and SHM_UNLOCK before and after the pages are faulted,
/// with and without mlock of an attach, IPC_RMID while locked and attached, and SHM_LOCK
/// against RLIMIT_MEMLOCK as an unprivileged uid. SHM_LOCK is not mlock: it makes the
/// segment's pages unevictable (Unevictable, PG_unevictable) without PG_mlocked,
/// VM_LOCKED or locked_vm, and only for pages that enter the page cache after it.
enum SysV {
    static func sysv(_ id: String, _ summary: String, covers: [String] = [], requires: Set<Requirement> = [],
                     _ build: (inout ScenarioBuilder) -> Void) -> Scenario {
        Scenario("sysv." + id, summary, covers: covers, requires: requires, build)
    }

    /// An unprivileged uid (nobody): setresuid from root drops every capability.
    static let nobody: UInt32 = 65534

    static let scenarios: [Scenario] = lockAndFault + withMlock + removal + limits

    static let lockAndFault: [Scenario] = [
        sysv("lock-before-fault",
             "SHM_LOCK of an untouched segment changes nothing; pages faulted afterwards go straight to the unevictable list (Unevictable, culled) without PG_mlocked, lo or VmLck; SHM_UNLOCK rescues them",
             covers: ["ltp/shmctl07"]) { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.shmctl(0, .lock, "nothing in the page cache: nothing to see")
            b.touch(m.sub(0, 2), "2 new pages: unevictable, not mlocked")
            b.read(m.sub(2, 1), "a read fault allocates a shmem page too: unevictable")
            b.shmctl(0, .unlock, "check_move_unevictable_folios: rescued +3")
            b.shmdt(m)
            b.shmctl(0, .remove, "no attach left: destroyed, the pages freed")
        },
        sysv("lock-after-fault",
             "SHM_LOCK of a segment whose pages are cached moves nothing (they stay evictable until reclaim scans them); SHM_UNLOCK finds nothing to rescue; a page faulted while locked is unevictable",
             covers: ["ltp/shmctl07"]) { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.touch(m.sub(0, 2))
            b.shmctl(0, .lock, "cached pages stay on the evictable list")
            b.touch(m.sub(2, 1), "a new page: unevictable")
            b.shmctl(0, .lock, "a second SHM_LOCK is a no-op")
            b.shmctl(0, .unlock, "rescues the one unevictable page")
            b.shmctl(0, .unlock, "SHM_UNLOCK of an unlocked segment: 0, nothing")
            b.shmctl(0, .remove, "attached: only marked for destruction")
            b.shmdt(m, "last detach: destroyed")
        },
        sysv("two-attaches",
             "a segment attached twice (two VMAs that never merge), locked through one attach then the other: mlock_count 2, one munlock keeps the pages mlocked; Locked is half of each page in each VMA") { b in
            let a = b.region(pages: 4)
            let c = b.adjacent(to: a, pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, a)
            b.shmat(0, c, "right after the first: a struct file per attach, no merge")
            b.touch(a)
            b.read(c)
            b.mlock(a)
            b.mlock(c, "mlock_count 2, no event")
            b.munlock(a, "still mlocked through the other attach")
            b.shmdt(c, "unmapping the locked attach munlocks")
            b.shmctl(0, .remove)
            b.shmdt(a)
        },
        sysv("mcl-future-shmat",
             "shmat under mlockall(MCL_FUTURE): the attach is VM_LOCKED, counted in VmLck and populated (do_shmat -> mm_populate), every page mlocked but the segment not SHM_LOCKed; munlockall munlocks and rescues") { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.mlockall(Cat.future)
            b.shmat(0, m)
            b.munlockall()
            b.shmdt(m)
            b.shmctl(0, .remove)
        },
        sysv("dontneed-locked",
             "MADV_DONTNEED_LOCKED on a locked attach of an SHM_LOCKed segment: the PTEs go and the pages are munlocked but stay unevictable in the segment; touched again they are mlocked again (no new culled)",
             covers: ["digest/P-32"]) { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.shmctl(0, .lock)
            b.mlock(m, "populated: 4 pages unevictable (culled) and mlocked")
            b.madvise(m.sub(1, 2), UAPI.MADV_DONTNEED_LOCKED, "munlocked, not rescued")
            b.touch(m, "mapped again from the segment, mlocked again")
            b.shmctl(0, .remove)
            b.shmdt(m)
        },
    ]

    static let withMlock: [Scenario] = [
        sysv("lock-then-mlock",
             "mlock of an attach of an SHM_LOCKed segment: pages already unevictable get PG_mlocked only (mlock_count 1, no culled), new ones are culled once; munlock clears PG_mlocked but leaves every page unevictable; SHM_UNLOCK rescues them") { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.shmctl(0, .lock)
            b.touch(m.sub(0, 2), "2 pages unevictable, not mlocked")
            b.mlock(m, "VmLck +16 kB; pages 0-1 mlocked, 2-3 populated, culled and mlocked")
            b.munlock(m, "munlocked +4, rescued 0: the mapping is unevictable")
            b.shmctl(0, .unlock, "rescued +4")
            b.shmdt(m)
            b.shmctl(0, .remove)
        },
        sysv("mlock-then-lock-then-munlock",
             "pages mlocked through an attach before SHM_LOCK: SHM_LOCK changes nothing; munlock then leaves them unevictable (folio_evictable is checked after PG_mlocked is cleared); SHM_UNLOCK rescues them") { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.mlock(m, "populated and mlocked: culled +4")
            b.shmctl(0, .lock)
            b.munlock(m, "munlocked +4, no rescue")
            b.shmctl(0, .unlock, "rescued +4")
            b.shmctl(0, .remove)
            b.shmdt(m)
        },
        sysv("unlock-keeps-mlocked",
             "SHM_UNLOCK of a segment whose pages are mlocked through an attach: nothing is rescued (still mlocked); the later munlock rescues them") { b in
            let m = b.region(pages: 2)
            b.shmget(0, pages: 2)
            b.shmat(0, m)
            b.shmctl(0, .lock)
            b.mlock(m)
            b.shmctl(0, .unlock, "pages mlocked: not evictable, stay")
            b.munlock(m, "munlocked and rescued")
            b.shmdt(m)
            b.shmctl(0, .remove)
        },
    ]

    static let removal: [Scenario] = [
        sysv("rmid-while-locked-and-mapped",
             "IPC_RMID of an SHM_LOCKed segment mlocked through its attach changes nothing at either layer; the detach munlocks the pages (no rescue: still SHM_LOCKed), shm_destroy unlocks the segment and frees them from the unevictable list (Unevictable back, cleared 0)") { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.shmctl(0, .lock)
            b.mlock(m)
            b.shmctl(0, .remove, "SHM_DEST: the key goes, the pages stay mlocked")
            b.touch(m, "still usable")
            b.shmdt(m, "munlocked +4, freed: Mlocked and Unevictable back to the baseline")
        },
        sysv("rmid-while-shm-locked",
             "IPC_RMID of an SHM_LOCKed, attached, unmlocked segment; munmap of the attach destroys it: its unevictable pages are freed without any event") { b in
            let m = b.region(pages: 4)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.shmctl(0, .lock)
            b.touch(m)
            b.shmctl(0, .remove)
            b.munmap(m, "munmap is a detach too (shm_close): destroyed")
        },
        sysv("rmid-then-new-key",
             "after IPC_RMID of an attached segment its key is free: a second shmget with the same key makes a new segment; SHM_LOCK of each is separate") { b in
            let a = b.region(pages: 2)
            let c = b.region(pages: 2)
            b.shmget(0, pages: 2)
            b.shmat(0, a)
            b.touch(a)
            b.shmctl(0, .remove, "key made private, segment alive")
            b.shmget(0, pages: 2, "the same key: a new segment")
            b.shmat(0, c)
            b.shmctl(0, .lock)
            b.touch(c, "new segment's pages unevictable; the old one's not")
            b.shmdt(a, "the old segment is destroyed")
            b.shmdt(c)
            b.shmctl(0, .remove, "destroyed while SHM_LOCKed: pages freed, charge returned")
        },
        sysv("left-for-the-runner",
             "a segment the scenario never removes, SHM_LOCKed with pages faulted: the runner removes it after the agent is gone (journaled key) and the next scenario starts clean") { b in
            let m = b.region(pages: 2)
            b.shmget(0, pages: 2)
            b.shmat(0, m)
            b.shmctl(0, .lock)
            b.touch(m)
            b.shmdt(m, "detached, not removed: the segment and its unevictable pages stay")
        },
    ]

    static let limits: [Scenario] = [
        sysv("rlimit.within",
             "as uid nobody without CAP_IPC_LOCK, RLIMIT_MEMLOCK 4 pages: SHM_LOCK of its own 4-page segment succeeds (user_shm_lock charges the uid), SHM_UNLOCK returns the charge so a second lock fits again",
             covers: ["ltp/shmctl07"], requires: [.root]) { b in
            let m = b.region(pages: 4)
            b.setMemlockLimit(soft: 4 * pageSize, hard: 4 * pageSize)
            b.setuid(nobody, "every capability gone")
            b.shmget(0, pages: 4, "owned by nobody")
            b.shmat(0, m)
            b.shmctl(0, .lock, "4 pages charged: exactly the limit")
            b.touch(m)
            b.shmctl(0, .unlock)
            b.shmctl(0, .lock, "fits again")
            b.shmctl(0, .remove)
            b.shmdt(m)
        },
        sysv("rlimit.over",
             "as uid nobody, RLIMIT_MEMLOCK 3 pages: SHM_LOCK of a 4-page segment is ENOMEM and changes nothing (pages faulted afterwards stay evictable); a 2-page segment then locks",
             covers: ["ltp/shmctl07"], requires: [.root]) { b in
            let m = b.region(pages: 4)
            let s = b.region(pages: 2)
            b.setMemlockLimit(soft: 3 * pageSize, hard: 3 * pageSize)
            b.setuid(nobody)
            b.shmget(0, pages: 4)
            b.shmat(0, m)
            b.shmctl(0, .lock, "ENOMEM")
            b.touch(m, "evictable pages: the failed SHM_LOCK did nothing")
            b.shmget(1, pages: 2)
            b.shmat(1, s)
            b.shmctl(1, .lock, "2 pages fit")
            b.touch(s, "unevictable")
            b.shmctl(0, .remove)
            b.shmctl(1, .remove)
            b.shmdt(m)
            b.shmdt(s)
        },
        sysv("rlimit.charge-per-uid",
             "as uid nobody, RLIMIT_MEMLOCK 4 pages: two 2-page segments lock, a third (1 page) is ENOMEM: the charge is the uid's, across segments; unlocking one makes room; mlock of anonymous memory is charged to locked_vm, not to that",
             requires: [.root]) { b in
            let anon = b.region(pages: 4)
            b.setMemlockLimit(soft: 4 * pageSize, hard: 4 * pageSize)
            b.setuid(nobody)
            b.shmget(0, pages: 2)
            b.shmget(1, pages: 2)
            b.shmget(2, pages: 1)
            b.shmctl(0, .lock)
            b.shmctl(1, .lock, "4 pages charged")
            b.shmctl(2, .lock, "ENOMEM: 5 > 4")
            b.map(anon)
            b.mlock(anon, "locked_vm 4 pages: its own limit, the SHM_LOCK charge does not count")
            b.shmctl(1, .unlock)
            b.shmctl(2, .lock, "3 pages charged: fits")
            b.shmctl(0, .remove)
            b.shmctl(1, .remove)
            b.shmctl(2, .remove)
        },
        sysv("rlimit.zero",
             "as uid nobody with RLIMIT_MEMLOCK 0: SHM_LOCK is EPERM (shmctl_do_lock) and SHM_UNLOCK of the unlocked segment returns 0",
             covers: ["ltp/shmctl07"], requires: [.root]) { b in
            let m = b.region(pages: 2)
            b.setMemlockLimit(soft: 0, hard: 0)
            b.setuid(nobody)
            b.shmget(0, pages: 2)
            b.shmat(0, m)
            b.touch(m)
            b.shmctl(0, .lock, "EPERM")
            b.shmctl(0, .unlock, "0: not locked, nothing to do")
            b.shmctl(0, .remove)
            b.shmdt(m)
        },
        sysv("rlimit.not-owner",
             "a segment made by root, then setuid nobody: shmat is EACCES (0600), SHM_LOCK and IPC_RMID are EPERM (not owner nor creator, no CAP_IPC_LOCK / CAP_SYS_ADMIN); the runner removes it afterwards",
             requires: [.root]) { b in
            let m = b.region(pages: 2)
            b.shmget(0, pages: 2, "owned by root")
            b.setuid(nobody)
            b.shmat(0, m, "EACCES")
            b.shmctl(0, .lock, "EPERM")
            b.shmctl(0, .remove, "EPERM")
        },
    ]
}
