import MlockModel

// Issue 4, items 1, 2 and 4: a locked page's life across processes. After a fork both
// processes act (steps name the parent with `inProcess(0)`); every living process's VMA
// and page layers are compared after each step, the global counters once.

extension ScenarioBuilder {
    /// Process `p` exits (_exit): exit_mmap tears its address space down.
    mutating func exit(_ p: Int, _ note: String = "") { inProcess(p) { $0.step(.exit, note) } }
}

/// fork where the parent acts again: copy-on-write broken from either side, locks taken
/// and dropped by parent and child in turn.
enum ForkBoth {
    static let scenarios: [Scenario] = [
        Scenario("fork.parent-write-breaks-cow",
                 "after fork the locked parent writes a page it shares with the child: the parent gets a new mlocked copy, the old page (mlock_count 1 -> 0) is munlocked and rescued and stays in the child, plain",
                 covers: ["digest/P-26", "digest/P-27"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 3)
            b.map(m, .rw, .privateAnon, [.locked], "3 pages populated and mlocked")
            b.step(.fork, "child: unlocked VMA sharing the 3 mlocked pages")
            b.inProcess(0) { $0.touch(m.sub(0, 1), "parent COW: new page mlocked at fault; the old one munlocked, rescued, the child's now") }
            b.touch(m.sub(1, 1), "child COW: the child gets a plain copy; the parent's page keeps its lock")
            b.read(m.sub(2, 1), "a read copies nothing: page 2 still shared, Locked in the parent is half of it")
            b.inProcess(0) { $0.touch(m.sub(2, 1), "parent COW of page 2 too") }
            b.exit(1, "the child exits: its pages are freed, never mlocked (nothing cleared)")
            b.inProcess(0) { $0.touch(m, "the parent's pages are exclusive now: writes reuse them") }
            b.inProcess(0) { $0.munmap(m, "Mlocked back to the baseline; munlocked, not cleared") }
        },
        Scenario("fork.parent-and-child-cow-same-page",
                 "both sides write the same shared locked page: the child copies first (plain), then the parent is the only mapper left and reuses its page, still mlocked",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 1)
            b.map(m, .rw, .privateAnon, [.locked])
            b.step(.fork)
            b.touch(m, "child: plain copy; the original only in the parent now")
            b.inProcess(0) { $0.touch(m, "parent: wp_can_reuse_anon_folio, no copy, still mlocked") }
            b.mlock(m, "the child locks its own copy")
            b.inProcess(0) { $0.munlock(m, "the parent unlocks its page; the child's copy stays mlocked") }
        },
        Scenario("fork.parent-mlock-after-fork-breaks-cow",
                 "the parent, unlocked at fork, mlocks a writable private range it shares with the child: populate's write faults copy every page, the copies mlocked, the child's originals plain",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m)
            b.step(.fork)
            b.inProcess(0) { $0.mlock(m, "mlock_folio on the shared pages, then COW: copies mlocked, originals munlocked again") }
            b.mlock(m, "the child locks the originals, now its own")
            b.exit(0, "the parent exits: its copies munlocked on the way, nothing cleared")
            b.munlockall("the child unlocks its pages")
        },
        Scenario("fork.locks-in-turn-on-shared-anon",
                 "MAP_SHARED|MAP_ANONYMOUS across fork, one lock per process, released in each order: the pages stay mlocked until the last lock goes",
                 covers: ["digest/P-21", "digest/P-22"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 3)
            b.map(m, .rw, .sharedAnon)
            b.touch(m, "three shmem pages, unlocked")
            b.step(.fork, "child: no PTEs (no anon_vma)")
            b.read(m, "the child maps them: mapcount 2")
            b.mlock(m, "child lock: mlock_count 1, Mlocked +3; Locked half in the child only")
            b.inProcess(0) { $0.mlock(m, "parent lock: count 2, no event") }
            b.munlock(m, "child unlocks first: count 1, still mlocked")
            b.mlock(m, "child again: count 2")
            b.inProcess(0) { $0.munlock(m, "parent unlocks: count 1, still mlocked") }
            b.munlock(m, "the last lock goes: munlocked and rescued")
            b.inProcess(0) { $0.mlock2(m, flags: Cat.onfault, "parent, ONFAULT: present pages mlocked at once") }
            b.exit(1, "the child exits: it held no lock, nothing changes")
            b.exit(0, "the parent exits: its lock dies with it; the shmem pages are freed")
        },
        Scenario("fork.readonly-private-parent-munlocks",
                 "seed digest P-29 whole: written, locked, made read-only, forked; the child's mlock shares the pages (count 2, no event), the parent's munlock leaves them mlocked for the child, the child's munlock clears them",
                 covers: ["digest/P-29"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 3)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.mprotect(m, .read)
            b.step(.fork)
            b.mlock(m, "child: no COW (read-only): mlock_count 2, no event")
            b.inProcess(0) { $0.munlock(m, "parent: count 1, the pages stay mlocked; VmLck of the parent 0") }
            b.munlock(m, "child: the last lock, munlocked")
        },
        Scenario("fork.child-mcl-future-not-inherited-parent-keeps-it",
                 "mlockall(MCL_FUTURE) in the parent: after fork the parent's new mappings are still locked, the child's are not",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            let n = b.region(pages: 2)
            b.mlockall(Cat.future, "MCL_FUTURE only: nothing locked yet")
            b.step(.fork)
            b.map(m, .rw, .privateAnon, [], "child: plain mapping")
            b.inProcess(0) { $0.map(n, .rw, .privateAnon, [], "parent: VM_LOCKED from def_flags, populated and mlocked") }
            b.touch(m)
            b.inProcess(0) { $0.munlockall("the parent's def_flags and locks cleared") }
        },
    ]
}

/// A page locked many times: one memfd or file mapped twice in one process, shared
/// anonymous memory across fork, one file mapped by two processes; locks and unlocks in
/// every order (mlock_count, 5.18 on: one unlock keeps the page mlocked, the last clears
/// it; smaps Locked is the page's PSS, divided by its mapcount).
enum SharedLocks {
    static let scenarios: [Scenario] = [
        Scenario("shared.memfd-twice.unlock-later-first",
                 "a memfd mapped twice in one process, both locked: unlocking the second mapping first keeps the pages mlocked (count 2 -> 1), unlocking the first clears them",
                 covers: ["digest/P-21", "digest/P-22"], requires: [.pageLayer]) { b in
            let a = b.region(pages: 4)
            let c = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.mapObject(a, slot: 0, shared: true, flags: [.locked], "MAP_LOCKED: mapped and mlocked, count 1")
            b.mapObject(c, slot: 0, shared: true, flags: [.locked], "second MAP_LOCKED mapping: count 2, Locked half of each page in each")
            b.munlock(c, "count 1: still mlocked, no event")
            b.mlock(c.sub(1, 2), "two pages back to count 2")
            b.munlock(a, "pages 0 and 3 munlocked; 1 and 2 still mlocked through the second mapping")
            b.munmap(c, "munmap drops the last locks of pages 1-2: munlocked, still cached")
        },
        Scenario("shared.file-twice.lock-unlock-interleaved",
                 "a regular file mapped shared twice, locks taken on overlapping halves in both mappings and dropped out of order",
                 requires: [.pageLayer]) { b in
            let a = b.region(pages: 4)
            let c = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(a, slot: 0, shared: true)
            b.mapObject(c, slot: 0, shared: true)
            b.read(a)
            b.read(c)
            b.mlock(a.sub(0, 3), "pages 0-2 mlocked")
            b.mlock(c.sub(1, 3), "pages 1-3 locked through the second mapping: 3 newly mlocked, 1-2 count 2")
            b.munlock(a.sub(1, 1), "page 1: count 1, still mlocked")
            b.munlock(c.sub(1, 3), "page 1 and 3: last lock gone; page 2 still locked through the first mapping")
            b.munlock(a, "all munlocked")
        },
        Scenario("shared.private-file-twice-readonly",
                 "a file mapped MAP_PRIVATE read-only twice: read faults map the page-cache pages (no copy), so both private mappings lock the same pages",
                 requires: [.pageLayer]) { b in
            let a = b.region(pages: 2)
            let c = b.region(pages: 2)
            b.createObject(0, .file, pages: 2, filled: true)
            b.mapObject(a, slot: 0, shared: false, prot: .read)
            b.mapObject(c, slot: 0, shared: false, prot: .read)
            b.mlock(a, "populate by read faults: the cached pages mlocked")
            b.mlock(c, "the same pages: count 2")
            b.munmap(a, "count 1: still mlocked")
            b.munlock(c, "munlocked")
        },
        Scenario("shared.file-two-processes",
                 "one regular file mapped by two processes (the fd inherited across fork), each locking it: one unlock keeps the pages mlocked, the last clears them; Locked shows half of each page",
                 covers: ["digest/P-21", "digest/P-25"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.step(.fork, "the child inherits the file's fd")
            b.mapObject(m, slot: 0, shared: true, flags: [.locked], "child: MAP_LOCKED, pages mlocked")
            b.inProcess(0) { $0.mapObject(m, slot: 0, shared: true, flags: [.locked], "parent: the same pages, count 2; Locked half in each process") }
            b.munlock(m.sub(0, 2), "child unlocks half: those pages keep the parent's lock")
            b.inProcess(0) { $0.munmap(m, "the parent unmaps: pages 0-1 munlocked, 2-3 still locked by the child") }
            b.munmap(m, "no lock left")
        },
        Scenario("shared.memfd-three-processes",
                 "a memfd mapped shared and locked by three processes: smaps Locked is a third of each page (PSS truncation), and the pages stay mlocked until the third unlock",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.step(.fork, "process 1")
            b.step(.fork, "process 2, forked from 1")
            for p in 0..<3 {
                b.inProcess(p) { $0.mapObject(m, slot: 0, shared: true, flags: [.locked], "process \(p) maps and locks") }
            }
            b.inProcess(1) { $0.munlock(m, "count 3 -> 2") }
            b.exit(2, "count 2 -> 1: exit takes its lock with it")
            b.inProcess(0) { $0.munlock(m, "the last lock: munlocked") }
            b.inProcess(1) { $0.mlock(m.sub(1, 1), "one page locked again") }
        },
    ]
}

/// Three locks on the same memfd pages (two mappings in the first process, one in a
/// forked child), released in each of the 6 orders, each in its own way: munlock,
/// munmap or the process's exit. The pages must stay mlocked through the first two
/// releases, whatever they are, and be munlocked by the third; nothing is cleared.
enum UnlockOrders {
    /// A locker: which process, which mapping, and how it lets go.
    struct Locker { var name: String; var process: Int; var second: Bool }
    static let lockers = [Locker(name: "a", process: 0, second: false),
                          Locker(name: "b", process: 0, second: true),
                          Locker(name: "c", process: 1, second: false)]

    static func permutations(_ xs: [Int]) -> [[Int]] {
        if xs.count <= 1 { return [xs] }
        return xs.indices.flatMap { i -> [[Int]] in
            var rest = xs
            let x = rest.remove(at: i)
            return permutations(rest).map { [x] + $0 }
        }
    }

    static let scenarios: [Scenario] = permutations([0, 1, 2]).map { order in
        let id = order.map { lockers[$0].name }.joined()
        return Scenario("shared.unlock-order." + id,
                        "memfd pages locked by mappings a and b of one process and c of its child, released in the order \(id) (a by munlock, b by munmap, c by munlock, or by exit when the child goes last): mlocked until the last release",
                        covers: ["digest/P-21", "digest/P-22", "digest/P-25"], requires: [.pageLayer]) { b in
            let a = b.region(pages: 3)
            let c = b.region(pages: 3)
            b.createObject(0, .memfd, pages: 3, filled: true)
            b.mapObject(a, slot: 0, shared: true)
            b.step(.fork, "the child, with mapping a only (no PTEs: shmem, no anon_vma)")
            b.inProcess(0) { $0.mapObject(c, slot: 0, shared: true, flags: [.locked], "b: MAP_LOCKED, count 1") }
            b.inProcess(0) { $0.mlock(a, "a: count 2; Locked in p0 is half of each page in each mapping") }
            b.mlock(a, "c: the child's mlock faults the pages in: count 3, Locked a third")
            for (k, i) in order.enumerated() {
                let l = lockers[i]
                let last = k == order.count - 1
                switch l.name {
                case "a": b.inProcess(0) { $0.munlock(a, last ? "the last lock: munlocked" : "still mlocked") }
                case "b": b.inProcess(0) { $0.munmap(c, last ? "the last lock: munlocked" : "still mlocked") }
                default:
                    if last { b.exit(1, "the child's exit drops the last lock: munlocked, not cleared") }
                    else { b.munlock(a, "still mlocked") }
                }
            }
        }
    }
}

/// Teardown: munmap and exit of lockers; the global counters go back to the settled
/// baseline, and no page is freed still mlocked (unevictable_pgs_cleared) or left
/// stranded where the rules say it must not be.
enum Teardown {
    static let scenarios: [Scenario] = [
        Scenario("teardown.exit-of-sole-locker",
                 "a process that locked anonymous, shmem, memfd and file pages exits: every page is munlocked before it is freed, Mlocked and Unevictable return to the baseline, nothing cleared or stranded",
                 covers: ["digest/P-11"], requires: [.pageLayer]) { b in
            let anon = b.region(pages: 3)
            let shm = b.region(pages: 2)
            let fd = b.region(pages: 2)
            let file = b.region(pages: 2)
            b.createObject(0, .memfd, pages: 2, filled: false)
            b.createObject(1, .file, pages: 2, filled: true)
            b.step(.fork, "the child will lock; the parent watches")
            b.map(anon, .rw, .privateAnon, [.locked])
            b.map(shm, .rw, .sharedAnon, [.locked])
            b.mapObject(fd, slot: 0, shared: true, flags: [.locked])
            b.mapObject(file, slot: 1, shared: false, flags: [.locked], "private writable file: populate copies, anon copies mlocked")
            b.exit(1, "exit_mmap: munlock on zap, then free: munlocked and rescued, never cleared")
        },
        Scenario("teardown.exit-keeps-other-lockers",
                 "two processes lock the same memfd pages; the first to exit leaves them mlocked (count 2 -> 1), the second's munmap clears them",
                 covers: ["digest/P-25"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 3)
            b.createObject(0, .memfd, pages: 3, filled: true)
            b.mapObject(m, slot: 0, shared: true, flags: [.locked])
            b.step(.fork)
            let spare = b.region(pages: 1)
            b.mapObject(spare, slot: 0, shared: true, "a spare unlocked mapping")
            b.mlock(m, "the child's copy of the VMA is unlocked: lock it (faults map the locked pages, count 2)")
            b.exit(0, "the parent exits first: its lock goes, the pages stay mlocked for the child")
            b.munmap(m, "the child's munmap drops the last lock")
        },
        Scenario("teardown.exit-with-cow-shared-locked-anon",
                 "a locked parent and a child that locked its own copies of half the pages: the parent's exit munlocks and frees only what it alone mapped",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 4)
            b.map(m, .rw, .privateAnon, [.locked])
            b.step(.fork)
            b.touch(m.sub(0, 2), "child copies pages 0-1")
            b.mlock(m, "child locks: its copies mlocked (and pages 2-3, still shared, count 2)")
            b.exit(0, "parent exits: pages 0-1 (parent only) munlocked and freed; 2-3 keep the child's lock")
            b.munmap(m.sub(1, 2), "munmap of a locked middle part")
            b.exit(1, "the last process exits")
        },
        Scenario("teardown.munmap-locked-twice-mapped",
                 "munmap of locked ranges of a memfd mapped twice: pieces at the edges and in the middle, each page munlocked with its last locked mapping",
                 requires: [.pageLayer]) { b in
            let a = b.region(pages: 6)
            let c = b.region(pages: 6)
            b.createObject(0, .memfd, pages: 6, filled: true)
            b.mapObject(a, slot: 0, shared: true, flags: [.locked])
            b.mapObject(c, slot: 0, shared: true, flags: [.locked])
            b.munmap(a.sub(0, 2), "first mapping's head: pages 0-1 count 1")
            b.munmap(c.sub(1, 2), "second mapping's middle: page 1 munlocked, page 2 count 1")
            b.munmap(a.sub(2, 4), "the rest of the first mapping: pages 2 munlocked; 3-5 count 1")
            b.munmap(c, "the rest: all munlocked")
        },
    ]
}
