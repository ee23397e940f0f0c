import MlockModel

/// gVisor test/syscalls/linux/mlock.cc (20 TESTs, all of which hold on Linux).
///
/// gVisor decides "locked" with msync(MS_INVALIDATE) returning EBUSY on a VM_LOCKED VMA:
/// one VMA-level bit per page. Here the same sequences are checked through `lo`, exact
/// VmLck, and the page layer, which gVisor cannot see.
enum GVisorMlock {
    static func ref(_ name: String) -> String { "gvisor/mlock#\(name)" }

    static let scenarios: [Scenario] = [
        Scenario("gvisor.mlock.basic",
                 "MlockTest.Basic: mlock of one untouched RW private page succeeds and locks it; the page is populated and mlocked",
                 covers: [ref("MlockTest.Basic"), "digest/P-02"]) { b in
            let m = b.region(pages: 1)
            b.map(m)
            b.mlock(m)
        },
        Scenario("gvisor.mlock.fork",
                 "MlockTest.Fork: after mlock of a written page and fork, the child's copy of the VMA is not locked (no lo, VmLck 0) while its page, shared copy-on-write with the parent, stays PG_mlocked because the parent's VMA still locks it",
                 covers: [ref("MlockTest.Fork"), "digest/P-26"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 1)
            b.map(m)
            b.touch(m, "write it: a private anonymous page")
            b.mlock(m)
            b.step(.fork, "child: no lo, VmLck 0, Locked 0; the page present and still mlocked (the parent's)")
        },
        Scenario("gvisor.mlock.prot-none",
                 "MlockTest.ProtNone: mlock of a PROT_NONE page fails with ENOMEM (it cannot be populated) yet the VMA is locked and counted in VmLck; munlock undoes it",
                 covers: [ref("MlockTest.ProtNone"), "digest/P-19"]) { b in
            let m = b.region(pages: 1)
            b.map(m, .none)
            b.mlock(m, "ENOMEM, but lo and VmLck +4 kB, nothing present")
            b.munlock(m, "beyond: unlock works and returns 0")
        },
        Scenario("gvisor.mlock.madvise-dontneed",
                 "MlockTest.MadviseDontneed: MADV_DONTNEED on a locked page fails with EINVAL and the page stays present and mlocked",
                 covers: [ref("MlockTest.MadviseDontneed"), "digest/P-31"]) { b in
            let m = b.region(pages: 1)
            b.map(m)
            b.mlock(m)
            b.madvise(m, UAPI.MADV_DONTNEED, "EINVAL")
        },
        Scenario("gvisor.mlock.msync-invalidate",
                 "MlockTest.MsyncInvalidate: msync(MS_ASYNC|MS_INVALIDATE) and msync(MS_SYNC|MS_INVALIDATE) fail with EBUSY on a locked page and succeed after munlock; the same on a locked shared file mapping, where MS_SYNC alone writes back",
                 covers: [ref("MlockTest.MsyncInvalidate")]) { b in
            let asyncInv = UAPI.MS_ASYNC | UAPI.MS_INVALIDATE, syncInv = UAPI.MS_SYNC | UAPI.MS_INVALIDATE
            let m = b.region(pages: 1)
            b.map(m)
            b.mlock(m)
            b.step(.msync(addr: m.addr, length: m.length, flags: asyncInv), "EBUSY: VM_LOCKED with MS_INVALIDATE; nothing changes")
            b.step(.msync(addr: m.addr, length: m.length, flags: syncInv), "EBUSY")
            b.munlock(m, "beyond the reference: unlock")
            b.step(.msync(addr: m.addr, length: m.length, flags: asyncInv), "0 on an unlocked VMA")
            b.step(.msync(addr: m.addr, length: m.length, flags: syncInv), "0")
            let f = b.region(pages: 2)
            b.createObject(1, .file, pages: 2, filled: true)
            b.mapObject(f, slot: 1, shared: true, "beyond: a shared mapping of a regular file")
            b.touch(f, "dirty both pages")
            b.mlock(f, "both page-cache pages mlocked")
            b.step(.msync(addr: f.addr, length: f.length, flags: asyncInv), "EBUSY")
            b.step(.msync(addr: f.addr, length: f.length, flags: syncInv), "EBUSY, before any writeback")
            b.step(.msync(addr: f.addr, length: f.length, flags: UAPI.MS_SYNC), "0: vfs_fsync_range; pages stay mlocked")
            b.munlock(f)
            b.step(.msync(addr: f.addr, length: f.length, flags: syncInv), "0: written back")
            b.step(.msync(addr: f.addr, length: f.length, flags: asyncInv), "0")
            b.munmap(f)
        },
        Scenario("gvisor.mlock.rlimit-zero",
                 "MlockTest.RlimitMemlockZero: without CAP_IPC_LOCK and RLIMIT_MEMLOCK 0, mlock fails with EPERM",
                 covers: [ref("MlockTest.RlimitMemlockZero")]) { b in
            let m = b.region(pages: 1)
            b.unprivileged(memlock: 0)
            b.map(m)
            b.mlock(m, "EPERM")
        },
        Scenario("gvisor.mlock.rlimit-insufficient",
                 "MlockTest.RlimitMemlockInsufficient: without CAP_IPC_LOCK and a one-page limit, mlock of two pages fails with ENOMEM; beyond it, one page still fits",
                 covers: [ref("MlockTest.RlimitMemlockInsufficient"), "digest/P-12"]) { b in
            let m = b.region(pages: 2)
            b.unprivileged(memlock: pageSize)
            b.map(m)
            b.mlock(m, "ENOMEM")
            b.mlock(m.sub(1, 1), "beyond: exactly the limit, succeeds")
        },
        Scenario("gvisor.munlock.basic",
                 "MunlockTest.Basic: mlock then munlock of one page; the page is mlocked then munlocked, VmLck back to 0",
                 covers: [ref("MunlockTest.Basic"), "digest/P-08"]) { b in
            let m = b.region(pages: 1)
            b.map(m)
            b.mlock(m)
            b.munlock(m)
        },
        Scenario("gvisor.munlock.not-locked",
                 "MunlockTest.NotLocked: munlock of a never-locked (present) page succeeds and changes nothing",
                 covers: [ref("MunlockTest.NotLocked")]) { b in
            let m = b.region(pages: 1)
            b.map(m)
            b.touch(m, "present, so a spurious page-level munlock would show in events")
            b.munlock(m, "0, no change")
        },
        Scenario("gvisor.mlockall.future",
                 "MlockallTest.Future: mlockall(MCL_FUTURE) leaves an earlier mapping unlocked, locks a new one, and munlockall cancels it for the next (gVisor re-checks the wrong mapping there)",
                 covers: [ref("MlockallTest.Future"), "digest/P-16"]) { b in
            let m1 = b.region(pages: 1)
            let m2 = b.region(pages: 1)
            let m3 = b.region(pages: 1)
            b.map(m1)
            b.mlockall(Cat.future, "no MCL_CURRENT: m1 stays unlocked")
            b.map(m2, .rw, .privateAnon, [], "locked and populated at mmap")
            b.munlockall("m2 unlocked, MCL_FUTURE cleared")
            b.map(m3, .rw, .privateAnon, [], "not locked")
        },
        Scenario("gvisor.munlockall.basic",
                 "MunlockallTest.Basic: a MAP_LOCKED page is unlocked by munlockall",
                 covers: [ref("MunlockallTest.Basic"), "digest/P-18"]) { b in
            let m = b.region(pages: 1)
            b.map(m, .rw, .privateAnon, [.locked])
            b.munlockall()
        },
        Scenario("gvisor.mlock2.no-flags",
                 "Mlock2Test.NoFlags: mlock2(0) locks and populates one page",
                 covers: [ref("Mlock2Test.NoFlags")]) { b in
            let m = b.region(pages: 1)
            b.map(m)
            b.mlock2(m, flags: 0)
        },
        Scenario("gvisor.mlock2.onfault",
                 "Mlock2Test.MlockOnfault: mlock2(MLOCK_ONFAULT) locks the VMA without populating it; beyond it, a write fault is mlocked",
                 covers: [ref("Mlock2Test.MlockOnfault"), "digest/P-04"]) { b in
            let m = b.region(pages: 1)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m)
        },
        Scenario("gvisor.mlock2.unknown-flags",
                 "Mlock2Test.UnknownFlags: mlock2 with flags ~0 fails with EINVAL and locks nothing",
                 covers: [ref("Mlock2Test.UnknownFlags")]) { b in
            let m = b.region(pages: 1)
            b.map(m)
            b.mlock2(m, flags: ~0, "EINVAL")
        },
        Scenario("gvisor.map-locked.basic",
                 "MapLockedTest.Basic: a MAP_LOCKED page is locked (and populated, mlocked); munlock unlocks it",
                 covers: [ref("MapLockedTest.Basic"), "digest/P-18"]) { b in
            let m = b.region(pages: 1)
            b.map(m, .rw, .privateAnon, [.locked])
            b.munlock(m)
        },
        Scenario("gvisor.map-locked.rlimit-zero",
                 "MapLockedTest.RlimitMemlockZero: without CAP_IPC_LOCK and RLIMIT_MEMLOCK 0, mmap(MAP_LOCKED) fails with EPERM and maps nothing",
                 covers: [ref("MapLockedTest.RlimitMemlockZero")]) { b in
            let m = b.region(pages: 1)
            b.unprivileged(memlock: 0)
            b.map(m, .rw, .privateAnon, [.locked], "EPERM")
        },
        Scenario("gvisor.map-locked.rlimit-insufficient",
                 "MapLockedTest.RlimitMemlockInsufficient: without CAP_IPC_LOCK and a one-page limit, a two-page MAP_LOCKED mmap fails with EAGAIN (not ENOMEM); one page still maps",
                 covers: [ref("MapLockedTest.RlimitMemlockInsufficient")]) { b in
            let m = b.region(pages: 2)
            b.unprivileged(memlock: pageSize)
            b.map(m, .rw, .privateAnon, [.locked], "EAGAIN")
            b.map(m.sub(0, 1), .rw, .privateAnon, [.locked], "beyond: exactly the limit maps locked")
        },
        Scenario("gvisor.mremap-locked.basic",
                 "MremapLockedTest.Basic: growing a MAP_LOCKED page to two with MREMAP_MAYMOVE (room left after it, so it grows in place) keeps it locked and populates the new page",
                 covers: [ref("MremapLockedTest.Basic"), "digest/P-34"]) { b in
            let m = b.region(pages: 1)
            b.map(m, .rw, .privateAnon, [.locked])
            b.mremap(m, newPages: 2, flags: UAPI.MREMAP_MAYMOVE, "grows in place; VmLck +4 kB; new page mlocked")
        },
        Scenario("gvisor.mremap-locked.rlimit-zero",
                 "MremapLockedTest.RlimitMemlockZero: after dropping CAP_IPC_LOCK with RLIMIT_MEMLOCK 0, growing a locked mapping fails with EAGAIN; the page stays locked",
                 covers: [ref("MremapLockedTest.RlimitMemlockZero")]) { b in
            let m = b.region(pages: 1)
            b.map(m, .rw, .privateAnon, [.locked])
            b.unprivileged(memlock: 0)
            b.mremap(m, newPages: 2, flags: UAPI.MREMAP_MAYMOVE, "EAGAIN")
        },
        Scenario("gvisor.mremap-locked.rlimit-insufficient",
                 "MremapLockedTest.RlimitMemlockInsufficient: with the limit equal to the locked page, growing it fails with EAGAIN",
                 covers: [ref("MremapLockedTest.RlimitMemlockInsufficient")]) { b in
            let m = b.region(pages: 1)
            b.map(m, .rw, .privateAnon, [.locked])
            b.unprivileged(memlock: pageSize)
            b.mremap(m, newPages: 2, flags: UAPI.MREMAP_MAYMOVE, "EAGAIN")
        },
    ]
}
