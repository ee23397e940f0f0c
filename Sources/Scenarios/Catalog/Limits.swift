import MlockModel

// Issue 4, item 5: RLIMIT_MEMLOCK and privileges as an ordinary user really has them.
// The scenario process lowers its limit, then switches to uid 65534 (nobody) with
// setresuid, which drops every capability (CAP_IPC_LOCK, CAP_SYS_RESOURCE, CAP_SETUID)
// rather than just one. Every failed call is followed by the full comparison of both
// layers, so "a failed call changed nothing" is checked at each of them.

extension ScenarioBuilder {
    /// RLIMIT_MEMLOCK soft `soft`, hard `hard`, then uid 65534: no capability left.
    mutating func nobody(soft: UInt64, hard: UInt64) {
        setMemlockLimit(soft: soft, hard: hard, "RLIMIT_MEMLOCK soft \(soft), hard \(hard)")
        step(.setuid(Limits.nobody), "setresuid(65534): every capability dropped")
    }
}

enum Limits {
    static let nobody: UInt32 = 65534
    static let limitPages: UInt64 = 8

    static func limits(_ id: String, _ summary: String, covers: [String] = [],
                       _ build: (inout ScenarioBuilder) -> Void) -> Scenario {
        Scenario("limits.nobody." + id, summary, covers: covers, requires: [.root, .pageLayer], build)
    }

    static let scenarios: [Scenario] = [
        limits("within-and-over",
               "as uid 65534 with an 8-page RLIMIT_MEMLOCK: mlock up to the limit succeeds, one page more is ENOMEM and changes nothing at either layer; munlock makes room again") { b in
            let m = b.region(pages: 12)
            b.nobody(soft: limitPages * pageSize, hard: limitPages * pageSize)
            b.map(m)
            b.mlock(m.sub(0, limitPages), "exactly the limit")
            b.mlock(m.sub(0, limitPages + 1), "one page over: ENOMEM; the 8 stay locked, page 9 untouched")
            b.mlock2(m.sub(limitPages, 1), flags: Cat.onfault, "ONFAULT counts too: ENOMEM")
            b.munlock(m.sub(0, 1))
            b.mlock(m.sub(limitPages, 1), "room for one: succeeds")
        },
        limits("zero",
               "as uid 65534 with RLIMIT_MEMLOCK 0: mlock, mlock2, mlockall and MAP_LOCKED are EPERM (can_do_mlock), munlock and munlockall succeed, nothing changes") { b in
            let m = b.region(pages: 2)
            let l = b.region(pages: 2)
            b.nobody(soft: 0, hard: 0)
            b.map(m)
            b.touch(m)
            b.mlock(m, "EPERM")
            b.mlock2(m, flags: Cat.onfault, "EPERM")
            b.mlockall(Cat.current, "EPERM")
            b.mlockall(Cat.future, "EPERM")
            b.map(l, .rw, .privateAnon, [.locked], "MAP_LOCKED: EPERM, nothing mapped")
            b.munlock(m, "always allowed")
            b.munlockall("always allowed")
        },
        limits("future-mmap-over",
               "as uid 65534: after mlockall(MCL_FUTURE) an mmap that would take locked_vm over the limit is EAGAIN (mlock_future_ok) and maps nothing; within it, mapped and mlocked") { b in
            let a = b.region(pages: limitPages / 2)
            let over = b.region(pages: limitPages / 2 + 1)
            let c = b.region(pages: limitPages / 2)
            b.nobody(soft: limitPages * pageSize, hard: limitPages * pageSize)
            b.mlockall(Cat.future)
            b.map(a, .rw, .privateAnon, [], "half the limit: locked and populated")
            b.map(over, .rw, .privateAnon, [], "half + 1 page: EAGAIN")
            b.map(c, .rw, .privateAnon, [], "the other half: exactly the limit")
            b.munlockall()
        },
        limits("map-locked-and-mremap-over",
               "as uid 65534 without MCL_FUTURE: MAP_LOCKED over the limit is EAGAIN, and growing a locked mapping with mremap past it is EAGAIN, both leaving everything as it was") { b in
            let m = b.region(pages: limitPages)
            let big = b.region(pages: limitPages + 1)
            b.nobody(soft: limitPages * pageSize, hard: limitPages * pageSize)
            b.map(big, .rw, .privateAnon, [.locked], "limit + 1 pages MAP_LOCKED: EAGAIN")
            b.map(m.sub(0, limitPages - 1), .rw, .privateAnon, [.locked], "limit - 1: mapped and mlocked")
            b.mremap(m.sub(0, limitPages - 1), newPages: limitPages, flags: 0, "grow to the limit in place: succeeds, the new page populated and mlocked")
            b.mremap(m, newPages: limitPages + 1, flags: 0, "one page past the limit: EAGAIN")
            b.mremap(m, newPages: limitPages + 1, flags: UAPI.MREMAP_MAYMOVE, "MAYMOVE does not help: EAGAIN")
        },
        limits("relock-overlap",
               "as uid 65534: overlapping re-locks with mlock and mlock2(ONFAULT) count pages already VM_LOCKED once (count_mm_mlocked_page_nr), so they fit where a double charge would not",
               covers: ["digest/P-12"]) { b in
            let m = b.region(pages: 12)
            b.nobody(soft: limitPages * pageSize, hard: limitPages * pageSize)
            b.map(m)
            b.mlock(m.sub(0, 6), "6 of 8")
            b.mlock2(m.sub(2, 6), flags: Cat.onfault, "pages 2-7: 4 already locked, 2 new: 8, fits; 2-5 turn ONFAULT")
            b.mlock(m.sub(0, 8), "all 8 already counted: fits, populates 6-7")
            b.mlock2(m.sub(4, 5), flags: Cat.onfault, "one new page: 9 > 8, ENOMEM, nothing changes")
            b.munlock(m.sub(3, 2), "two pages freed from the charge")
            b.mlock2(m.sub(4, 5), flags: Cat.onfault, "now fits: 8")
        },
        limits("mlockall-current-total-vm",
               "as uid 65534: mlockall(MCL_CURRENT) is checked against total_vm (every mapping, the agent's own too), not locked_vm: ENOMEM with a limit below it even though nothing is locked; the soft limit raised to the hard one (4 MiB) lets it through") { b in
            let m = b.region(pages: 4)
            b.nobody(soft: 64 * Cat.kib, hard: 4 * Cat.mib)
            let n = b.region(pages: 1)
            b.map(m)
            b.mlockall(Cat.current, "total_vm (~1 MiB) > 64 KiB: ENOMEM, nothing locked")
            b.mlockall(Cat.current | Cat.future, "the same check: ENOMEM, MCL_FUTURE not set either")
            b.map(n, .rw, .privateAnon, [], "so a new mapping is not locked")
            b.setMemlockLimit(soft: 4 * Cat.mib, hard: 4 * Cat.mib, "soft up to hard: allowed without privilege")
            b.mlockall(Cat.current, "total_vm fits now: everything locked")
            b.munlockall()
        },
        limits("no-way-back",
               "as uid 65534 the hard limit cannot be raised (CAP_SYS_RESOURCE gone: EPERM) nor uid 0 regained (CAP_SETUID gone: EPERM)") { b in
            b.nobody(soft: pageSize, hard: 2 * pageSize)
            b.setMemlockLimit(soft: 4 * pageSize, hard: 4 * pageSize, "EPERM")
            b.setMemlockLimit(soft: 2 * pageSize, hard: 2 * pageSize, "raising soft to hard: fine")
            b.step(.setuid(0), "EPERM")
            b.step(.setuid(nobody), "the same uid: fine")
        },
        limits("per-mm-after-fork",
               "RLIMIT_MEMLOCK limits each mm's locked_vm: a parent at its limit forks, and the child (locked_vm 0, same rlimit, same uid) locks up to the limit on its own; one page more is ENOMEM in each") { b in
            let m = b.region(pages: limitPages + 1)
            b.nobody(soft: limitPages * pageSize, hard: limitPages * pageSize)
            b.map(m)
            b.mlock(m.sub(0, limitPages), "the parent at its limit")
            b.step(.fork, "the child: same mappings, unlocked, locked_vm 0")
            b.mlock(m.sub(1, limitPages), "the child locks 8 pages: fits (the parent's do not count)")
            b.mlock(m, "9: ENOMEM")
            b.inProcess(0) { $0.mlock(m, "the parent: 9 > 8, ENOMEM") }
            b.inProcess(0) { $0.munlock(m.sub(0, 1), "the parent makes room") }
            b.inProcess(0) { $0.mlock(m.sub(limitPages, 1), "and locks the last page: page 8 count 2") }
        },
    ]
}
