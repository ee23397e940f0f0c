import MlockModel

/// fork, the child's side: the scenario goes on in the child while the parent keeps its
/// mappings and locks. The child's VMAs are never locked (dup_mmap clears
/// VM_LOCKED_MASK), its locked_vm and MCL_FUTURE start empty, but the pages it shares
/// with the parent stay PG_mlocked as long as the parent's VMAs lock them.
enum Fork {
    static let scenarios: [Scenario] = [
        Scenario("fork.child-write-breaks-cow",
                 "a locked parent's written pages are shared copy-on-write with the child; the child's write gives it a new, unlocked page while the parent's stays mlocked (Mlocked unchanged)",
                 covers: ["digest/P-26", "digest/P-28"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            b.map(m, .rw, .privateAnon, [.locked], "populated and mlocked")
            b.step(.fork, "child: both pages shared with the parent, unlocked VMA, pages still mlocked")
            b.touch(m.sub(0, 1), "COW: a new unmlocked page in the child; the parent's keeps its lock")
            b.read(m.sub(1, 1), "a read does not copy")
            b.munmap(m, "the child unmaps: the parent's pages stay mlocked, nothing freed")
        },
        Scenario("fork.mcl-future-not-inherited",
                 "mlockall(MCL_CURRENT|MCL_FUTURE) in the parent is not inherited: the child's copies are unlocked and its new mappings are not locked",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            let n = b.region(pages: 2)
            b.map(m)
            b.mlockall(UAPI.MCL_CURRENT | UAPI.MCL_FUTURE, "the parent's arena and its own mappings locked")
            b.step(.fork, "child: no VM_LOCKED anywhere, VmLck 0, the parent's pages still mlocked")
            b.map(n, .rw, .privateAnon, [], "no MCL_FUTURE: not locked")
            b.touch(n, "plain pages")
            b.mlockall(UAPI.MCL_CURRENT, "the child locks itself: its own pages and those it shares with the parent")
        },
        Scenario("fork.child-relocks-shared-page",
                 "the child mlocks shared pages the parent already locks: mlock_count 2, no Mlocked change and no event; munlock brings it back to 1 and the pages stay mlocked",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            b.map(m, .rw, .sharedAnon, [.locked], "shared anon (shmem), populated and mlocked")
            b.step(.fork, "child: no anon_vma, so no PTE copied; the pages are absent in the child")
            b.mlock(m, "faults the same shmem pages: already mlocked, count 2; Locked is half of each page (mapcount 2)")
            b.munlock(m, "count back to 1: still mlocked, no event")
            b.munlockall("nothing more to undo")
        },
        Scenario("fork.child-relocks-readonly-private",
                 "seed digest P-29, the child's half: written, locked, made read-only, forked; the child's mlock does not copy (not writable), so each page gets mlock_count 2 with no event, and munlock leaves the parent's lock",
                 covers: ["digest/P-29"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.mprotect(m, .read, "read-only: the child's populate takes read faults")
            b.step(.fork)
            b.mlock(m, "mlock_count 2: no Mlocked change, no event; Locked half of each page")
            b.munlock(m, "count 1: still mlocked")
        },
        Scenario("fork.child-mlock-breaks-cow",
                 "the child mlocks a private writable page it shares with the locked parent: populate breaks COW, the child's new copy is mlocked and the parent's stays mlocked",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 1)
            b.map(m, .rw, .privateAnon, [.locked])
            b.step(.fork)
            b.mlock(m, "mlock_folio on the shared page (count 2), then the write fault copies it: the copy mlocked, the old one back to 1")
            b.munlock(m, "the child's copy munlocked")
        },
        Scenario("fork.dontfork",
                 "a MADV_DONTFORK mapping is not copied into the child; its locked pages stay mlocked in the parent",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            let k = b.region(pages: 1)
            b.map(m, .rw, .privateAnon, [.locked])
            b.map(k, .rw, .privateAnon, [.locked])
            b.madvise(m, UAPI.MADV_DONTFORK)
            b.step(.fork, "child: only the second mapping, unlocked")
            b.map(m, .rw, .privateAnon, [], "the child can map its own at the same place")
            b.touch(m)
        },
        Scenario("fork.memfd-shared",
                 "a memfd mapped shared in the locked parent and again in the child: the child's VMA starts without PTEs (no anon_vma, nothing copied), its faults map the parent's mlocked pages, and its munmap leaves them mlocked",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 3)
            b.createObject(0, .memfd, pages: 3, filled: false)
            b.mapObject(m, slot: 0, shared: true, flags: [.locked], "populated: every page mlocked")
            b.step(.fork, "child: no PTEs in the memfd VMA")
            b.touch(m.sub(0, 2), "the load's read fault maps all 3 cached pages (fault-around): still mlocked, mapcount 2")
            b.mlock(m.sub(1, 2), "pages 1-2: mlock_count 2, no event; Locked is half of each")
            b.munmap(m, "each page back to the parent's lock")
        },
        Scenario("fork.zero-and-wipeonfork",
                 "fork copies the PTEs of VMAs with an anon_vma (the zero page stays the zero page), not those of a VMA without one, and none of a MAP_DROPPABLE (VM_WIPEONFORK) VMA",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            let z = b.region(pages: 1)
            let d = b.region(pages: 1)
            b.map(m)
            b.touch(m.sub(0, 1), "an anon page: the VMA gets an anon_vma")
            b.read(m.sub(1, 1), "the zero page")
            b.step(.mlock2(addr: m.addr, length: m.length, flags: UAPI.MLOCK_ONFAULT), "the anon page mlocked, the zero page left")
            b.map(z)
            b.read(z, "only the zero page: no anon_vma")
            b.map(d, .rw, .privateAnon, [.droppable])
            b.touch(d)
            b.step(.fork, "child: m's anon page (still mlocked) and zero page; z and d empty")
            b.touch(m.sub(1, 1), "the zero page gets a plain copy")
        },
        Scenario("fork.no-merge-with-forked-vma",
                 "in the child, a VMA copied with an anon_vma has uncowed parents: a new anonymous mapping next to it does not merge with it",
                 requires: [.pageLayer]) { b in
            let m = b.region(pages: 2)
            b.map(m.sub(0, 1))
            b.touch(m.sub(0, 1))
            b.step(.fork)
            b.map(m.sub(1, 1), .rw, .privateAnon, [], "two VMAs: vma_had_uncowed_parents refuses the merge")
            b.munmap(m)
        },
        Scenario("fork.dontunmap-source-merges-again",
                 "in a fork child, MREMAP_DONTUNMAP of a whole VMA frees its anon_vma chain (unlink_anon_vmas), the link to the parent's anon_vma too: a piece of the old VMA faulted later merges with its unfaulted neighbour again (found by the fuzzer)",
                 covers: ["fuzz/0x660f4fdb5295a"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 20)
            let dst = b.region(pages: 20)
            b.map(m)
            b.mlockall(UAPI.MCL_CURRENT, "populated and mlocked: m has an anon_vma")
            b.step(.fork, "child: m is chained to the parent's anon_vma")
            b.mremap(m, newPages: 20, flags: UAPI.MREMAP_DONTUNMAP, to: dst, "the pages move to dst; m stays, empty, with no anon_vma")
            b.mlock(m.sub(11, 4), "pages 11-14 faulted: a new anon_vma with a singular chain")
            b.munlock(m.sub(14, 1), "page 14 splits off and merges with the unfaulted pages 15-19")
        },
    ]
}
