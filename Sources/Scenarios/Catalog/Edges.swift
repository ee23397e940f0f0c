import MlockModel

/// Edges beyond the reference suites: argument edges (unaligned, 0, ULONG_MAX),
/// protections, VMA split and merge, lock-on-fault transitions, madvise, mprotect and
/// mremap of locked ranges, MAP_LOCKED/MAP_POPULATE, the mlockall flag matrix, partial
/// munmap, memfd, regular files and shared anon. Each one is small; the families are
/// generated in loops so that every combination has its own id.
enum Edges {
    static func edge(_ id: String, _ summary: String, covers: [String] = [], requires: Set<Requirement> = [],
                     _ build: (inout ScenarioBuilder) -> Void) -> Scenario {
        Scenario("edge." + id, summary, covers: covers, requires: requires, build)
    }

    /// Three pages of a one-page file across a PMD boundary, read, then moved with
    /// MREMAP_DONTUNMAP to the same offset in another block (or one page further), and a
    /// read beyond EOF at the source: whether the source block kept its page table shows.
    static func realignScenario(_ id: String, offByOne: Bool, _ summary: String) -> Scenario {
        edge("mremap-table." + id, summary, requires: [.pageLayer]) { b in
            let m = b.region(pages: 513)
            let dst = b.region(pages: 514)
            b.createObject(0, .file, pages: 1, filled: true)
            b.mapObject(m.sub(510, 3), slot: 0, shared: true, "3 pages across the PMD boundary")
            b.read(m.sub(510, 1), "page 0 mapped: a page table in m's first block")
            b.mremap(m.sub(510, 3), newPages: 3, flags: UAPI.MREMAP_DONTUNMAP, to: dst.sub(offByOne ? 511 : 510, 3),
                     offByOne ? "one page further in the block" : "same offset in the block")
            b.touch(addr: m.page(511), length: pageSize, write: false, "beyond EOF at the source")
        }
    }

    // MARK: unaligned start and length

    static let unaligned: [Scenario] = [
        edge("unaligned-start",
             "mlock(p+100, 4096) spans two pages and must lock both (len = PAGE_ALIGN(len + offset)): VmLck +8 kB, two pages mlocked") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock(addr: m.addr + 100, length: pageSize, "pages 0-1 locked, VMA split in 2")
            b.munlock(addr: m.addr + 100, length: pageSize, "the same unaligned range unlocks both, merge")
        },
        edge("unaligned-length",
             "mlock(p, 4097) rounds the length up: two pages locked, the VMA split after page 1") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m)
            b.mlock(addr: m.addr, length: pageSize + 1)
            b.munlock(addr: m.addr, length: 2 * pageSize - 1, "4095 bytes short of 2 pages still unlocks 2")
        },
        edge("unaligned-start-and-length",
             "mlock(p+4095, 2) straddles a page boundary with a 2-byte length: pages 0 and 1 locked") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock(addr: m.addr + pageSize - 1, length: 2)
        },
        edge("unaligned-munlock",
             "munlock(p+4097, 1) inside a locked 4-page range unlocks exactly page 1: 3 VMAs, one page munlocked") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock(m)
            b.munlock(addr: m.page(1) + 1, length: 1)
            b.mlock(addr: m.page(1) + 4000, length: 1, "re-lock by an unaligned byte: merged again")
        },
        edge("unaligned-mlock2-onfault",
             "mlock2(p+1, 4096, ONFAULT) locks pages 0-1 on fault; present page 1 is mlocked at once, page 0 only when written") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m.sub(1, 1))
            b.mlock2(addr: m.addr + 1, length: pageSize, flags: Cat.onfault)
            b.touch(m.sub(0, 1), "fault page 0: mlocked at fault")
            b.touch(m.sub(2, 1), "fault page 2, outside the lock: not mlocked")
        },
    ]

    // MARK: length 0 and ULONG_MAX for mlock, mlock2, munlock

    enum LenCall: CaseIterable {
        case mlock, mlock2, mlock2Onfault, munlock
        var name: String {
            switch self {
            case .mlock: return "mlock"
            case .mlock2: return "mlock2"
            case .mlock2Onfault: return "mlock2-onfault"
            case .munlock: return "munlock"
            }
        }
        func op(_ addr: UInt64, _ len: UInt64) -> Op {
            switch self {
            case .mlock: return .mlock(addr: addr, length: len)
            case .mlock2: return .mlock2(addr: addr, length: len, flags: 0)
            case .mlock2Onfault: return .mlock2(addr: addr, length: len, flags: Cat.onfault)
            case .munlock: return .munlock(addr: addr, length: len)
            }
        }
    }

    struct LenCase {
        var id: String
        var offset: UInt64
        var length: UInt64
        var unmapped = false
        var unprivileged = false
        var requires: Set<Requirement> = []
        var why: String
    }

    static let lenCases: [LenCase] = [
        LenCase(id: "zero", offset: 0, length: 0, why: "length 0 at a page boundary: returns 0, changes nothing"),
        LenCase(id: "zero-unaligned", offset: 1, length: 0,
                why: "length 0 one byte into a page: PAGE_ALIGN(0 + 1) is one page, so that page is affected"),
        LenCase(id: "zero-unmapped", offset: 0, length: 0, unmapped: true,
                why: "length 0 at an unmapped address: 0, not ENOMEM"),
        LenCase(id: "ulong-max", offset: 0, length: Cat.ulongMax,
                why: "ULONG_MAX at a page boundary: PAGE_ALIGN overflows to 0, returns 0 and changes nothing"),
        LenCase(id: "ulong-max-offset-1", offset: 1, length: Cat.ulongMax,
                why: "ULONG_MAX one byte in: len + 1 wraps to 0, returns 0 and changes nothing"),
        LenCase(id: "ulong-max-offset-2", offset: 2, length: Cat.ulongMax,
                why: "ULONG_MAX two bytes in: len + 2 wraps to 1, PAGE_ALIGN gives one page, which is affected"),
        LenCase(id: "ulong-max-aligned", offset: 0, length: Cat.ulongMaxAligned, requires: [.root],
                why: "ULONG_MAX & PAGE_MASK with CAP_IPC_LOCK: start + len wraps, EINVAL, nothing changes"),
        LenCase(id: "ulong-max-aligned-unprivileged", offset: 0, length: Cat.ulongMaxAligned, unprivileged: true,
                why: "ULONG_MAX & PAGE_MASK without CAP_IPC_LOCK, 64 KiB limit: the rlimit check comes first for mlock (ENOMEM), munlock has none (EINVAL)"),
    ]

    static let lengths: [Scenario] = LenCall.allCases.flatMap { call in
        lenCases.map { c in
            edge("length.\(call.name).\(c.id)", "\(call.name): \(c.why)",
                 requires: call == .munlock ? [] : c.requires) { b in
                let m = b.region(pages: 4)
                let hole = b.region(pages: 1)
                if c.unprivileged { b.unprivileged(memlock: 64 * Cat.kib) }
                b.map(m)
                b.touch(m.sub(0, 2), "pages 0-1 present, 2-3 absent")
                if call == .munlock { b.mlock(m, "lock everything, so that munlock has something to undo") }
                let addr = (c.unmapped ? hole.addr : m.addr) + c.offset
                b.step(call.op(addr, c.length), "\(call.name)(\(Cat.hex(addr - m.addr)) into the region, \(Cat.hex(c.length)))")
            }
        }
    }

    // MARK: PROT_NONE

    static let protNone: [Scenario] = [
        edge("prot-none.mlock-middle",
             "mlock of the middle of a PROT_NONE mapping: ENOMEM (cannot populate) but the middle VMA is split off, lo and counted; a touch is refused",
             covers: ["digest/P-19"]) { b in
            let m = b.region(pages: 4)
            b.map(m, .none)
            b.mlock(m.sub(1, 2), "ENOMEM; 3 VMAs; VmLck +8 kB")
            b.touch(m.sub(1, 1), "PROT_NONE: the agent refuses with EFAULT, nothing faulted")
            b.munlock(m, "0; merged again")
        },
        edge("prot-none.mlock2-onfault",
             "mlock2(ONFAULT) of PROT_NONE populates nothing, so nothing can fail: is it 0 or ENOMEM? and the VMA is locked either way") { b in
            let m = b.region(pages: 2)
            b.map(m, .none)
            b.mlock2(m, flags: Cat.onfault)
        },
        edge("prot-none.mprotect-rw-after-lock",
             "a locked PROT_NONE VMA made RW by mprotect is populated by mprotect (VM_LOCKED gaining VM_WRITE) and every page mlocked") { b in
            let m = b.region(pages: 4)
            b.map(m, .none)
            b.mlock(m, "ENOMEM, but locked")
            b.mprotect(m, .rw, "populates and mlocks all 4 pages")
            b.munlock(m)
        },
        edge("prot-none.mprotect-rw-after-onfault-lock",
             "the same with lock-on-fault: mprotect to RW must not populate, pages are mlocked only when written") { b in
            let m = b.region(pages: 4)
            b.map(m, .none)
            b.mlock2(m, flags: Cat.onfault)
            b.mprotect(m, .rw, "nothing populated")
            b.touch(m.sub(3, 1), "page 3 mlocked at fault")
        },
        edge("prot-none.locked-pages-then-none",
             "mprotect(PROT_NONE) of locked, present pages keeps them mlocked; munlock of the PROT_NONE range still munlocks them (the page walk ignores protections)",
             covers: ["digest/P-37"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.mprotect(m.sub(1, 2), .none, "split in 3, all still lo and mlocked")
            b.munlock(m.sub(1, 2), "pages 1-2 munlocked while PROT_NONE")
            b.munlock(m)
        },
        edge("prot-none.map-locked",
             "mmap(PROT_NONE, MAP_LOCKED) succeeds (the populate failure does not fail mmap), is lo and counted in VmLck with nothing present",
             covers: ["digest/P-18", "digest/P-19"]) { b in
            let m = b.region(pages: 3)
            b.map(m, .none, .privateAnon, [.locked])
            b.munmap(m, "VmLck back")
        },
        edge("prot-none.mlockall-current",
             "mlockall(MCL_CURRENT) over an arena holding a PROT_NONE mapping returns 0 (populate errors are ignored) and locks it with the rest") { b in
            let n = b.region(pages: 2)
            let m = b.region(pages: 2)
            b.map(n, .none)
            b.map(m)
            b.mlockall(Cat.current)
            b.munlockall()
        },
    ]

    // MARK: PROT_READ private (the zero page) and read faults

    static let protRead: [Scenario] = [
        edge("prot-read.private-anon-lock",
             "mlock of a PROT_READ private anon mapping maps the shared zero page: VmLck counts it, Rss/Locked 0, Mlocked 0, nothing PG_mlocked",
             covers: ["digest/P-03"]) { b in
            let m = b.region(pages: 4)
            b.map(m, .read)
            b.mlock(m, "zero pages")
            b.munlock(m)
        },
        edge("prot-read.mprotect-write-after-lock",
             "a locked zero-page mapping made RW by mprotect is populated with write faults: real pages replace the zero page and are mlocked",
             covers: ["digest/P-36"]) { b in
            let m = b.region(pages: 4)
            b.map(m, .read)
            b.mlock(m)
            b.mprotect(m, .rw, "COW broken by populate: 4 pages mlocked")
            b.munlock(m)
        },
        edge("prot-read.mprotect-write-middle-after-lock",
             "making only the middle page of a locked zero-page mapping writable splits it in 3 and populates just that page",
             covers: ["digest/P-36"]) { b in
            let m = b.region(pages: 3)
            b.map(m, .read)
            b.mlock(m)
            b.mprotect(m.sub(1, 1), .rw)
            b.mprotect(m.sub(1, 1), .read, "back to read-only: merged again, the page stays mlocked")
        },
        edge("prot-read.read-fault-then-lock",
             "zero pages mapped by read faults before mlock stay zero pages after it: VmLck +16 kB, Mlocked +0") { b in
            let m = b.region(pages: 4)
            b.map(m, .read)
            b.read(m, "zero page in every PTE")
            b.mlock(m)
        },
        edge("prot-read.rw-zero-page-then-lock",
             "RW private pages mapped to the zero page by reads are replaced by real pages when mlock populates with write faults, all mlocked",
             covers: ["digest/P-02"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.read(m, "zero pages")
            b.mlock(m, "COW break: 4 real pages, mlocked")
        },
        edge("prot-read.onfault-read-fault",
             "under ONFAULT a read fault of RW private anon maps the zero page (not mlocked); the write after it gets a real, mlocked page") { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.read(m.sub(0, 1), "zero page: counted in VmLck only")
            b.touch(m.sub(0, 1), "write: real page, mlocked")
        },
        edge("prot-read.shared-anon-lock",
             "mlock of PROT_READ shared anon allocates real shmem pages on the read faults (no zero page): all mlocked") { b in
            let m = b.region(pages: 4)
            b.map(m, .read, .sharedAnon)
            b.mlock(m)
            b.munlock(m)
        },
        edge("prot-read.private-file-lock",
             "mlock of a PROT_READ private mapping of a filled file maps the page cache pages and mlocks them") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: false, prot: .read)
            b.mlock(m)
            b.munlock(m)
        },
        edge("prot-read.private-file-mprotect-write",
             "making a locked read-only private file mapping writable COWs every page: anon copies mlocked, the page cache pages unmapped and munlocked") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: false, prot: .read)
            b.mlock(m)
            b.mprotect(m, .rw, "populate with write faults: 4 anon copies")
            b.munlock(m)
        },
    ]

    // MARK: VMA split and merge on partial munlock and re-lock

    enum LockKind: String, CaseIterable {
        case full, onfault
        func op(_ r: Region) -> Op {
            self == .full ? .mlock(addr: r.addr, length: r.length)
                          : .mlock2(addr: r.addr, length: r.length, flags: Cat.onfault)
        }
    }

    static let splitMerge: [Scenario] = {
        var out: [Scenario] = []
        for n: UInt64 in [3, 5] {
            let positions: [(String, UInt64)] = [("first", 0), ("middle", n / 2), ("last", n - 1)]
            for (pos, i) in positions {
                for initial in LockKind.allCases {
                    for relock in LockKind.allCases {
                        let merges = initial == relock
                        out.append(edge("split.\(n)-pages.munlock-\(pos).\(initial.rawValue)-relock-\(relock.rawValue)",
                                        "\(n) pages locked \(initial.rawValue), munlock of the \(pos) page splits the VMA; re-lock \(relock.rawValue) \(merges ? "merges it back" : "leaves it split (flags differ)"); munlock all merges to 1",
                                        covers: ["digest/P-01", "digest/P-08", "digest/P-09"]) { b in
                            let m = b.region(pages: n)
                            b.map(m)
                            b.touch(m, "all present, so split and merge are checked page by page")
                            b.step(initial.op(m), "one locked VMA")
                            b.munlock(m.sub(i, 1), "split; page \(i) munlocked")
                            b.step(relock.op(m.sub(i, 1)), merges ? "merge back to one VMA" : "stays split")
                            b.munlock(m, "one unlocked VMA")
                        })
                    }
                }
            }
        }
        out.append(edge("split.5-pages.two-holes",
                        "munlock of pages 1 and 3 of 5 locked pages makes 5 VMAs; re-locking page 1 merges 0-2; munlock all makes 1",
                        covers: ["digest/P-09"]) { b in
            let m = b.region(pages: 5)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.munlock(m.sub(1, 1))
            b.munlock(m.sub(3, 1), "5 VMAs")
            b.mlock(m.sub(1, 1), "3 VMAs")
            b.munlock(m)
        })
        out.append(edge("split.5-pages.middle-three",
                        "munlock of the middle 3 of 5 locked pages, then mlock of pages 0-3 (crossing the split) merges into 2 VMAs",
                        covers: ["digest/P-09"]) { b in
            let m = b.region(pages: 5)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.munlock(m.sub(1, 3))
            b.mlock(m.sub(0, 4), "crosses the boundary: [0,4) locked, [4,5) locked: one VMA again")
            b.munlock(m.sub(2, 3), "2 VMAs")
        })
        return out
    }()

    // MARK: lock-on-fault to full and back

    static let onfault: [Scenario] = [
        edge("onfault.to-full",
             "mlock over an ONFAULT range with one page present: VmLck unchanged, the rest populated and mlocked",
             covers: ["digest/P-07"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m.sub(0, 1))
            b.mlock(m, "VmLck +0, 3 pages populated")
            b.munlock(m)
        },
        edge("onfault.full-to-onfault",
             "mlock2(ONFAULT) over a fully locked range changes only the VMA flag: VmLck, pages and Mlocked unchanged") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock(m)
            b.mlock2(m, flags: Cat.onfault, "no page work")
            b.munlock(m)
        },
        edge("onfault.full-inside-onfault",
             "mlock of the middle 2 pages of an ONFAULT range splits it in 3 and populates only the middle; mlock2(ONFAULT) of all merges back without unlocking anything") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.mlock(m.sub(1, 2), "3 VMAs; pages 1-2 populated")
            b.mlock2(m, flags: Cat.onfault, "1 VMA; pages 1-2 stay mlocked")
            b.touch(m.sub(3, 1))
            b.munlock(m)
        },
        edge("onfault.munlock-partial-present",
             "munlock of half of an ONFAULT range with present pages on both sides munlocks only the pages in that half") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m.sub(1, 2))
            b.munlock(m.sub(0, 2))
            b.touch(m.sub(0, 1), "page 0 now faults into an unlocked VMA")
            b.touch(m.sub(3, 1), "page 3 faults into the locked one")
        },
        edge("onfault.mlockall-onfault-to-current",
             "mlockall(CURRENT|ONFAULT) then mlockall(CURRENT) switches every VMA to full locking without touching VmLck: untouched pages get populated") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlockall(Cat.current | Cat.mclOnfault)
            b.touch(m.sub(0, 1))
            b.mlockall(Cat.current, "populates the rest")
            b.munlockall()
        },
    ]

    // MARK: madvise on locked ranges

    static let rejectedAdvice: [(String, Int32)] = [
        ("dontneed", UAPI.MADV_DONTNEED), ("free", UAPI.MADV_FREE),
        ("cold", UAPI.MADV_COLD), ("pageout", UAPI.MADV_PAGEOUT),
    ]

    static let madvise: [Scenario] = rejectedAdvice.flatMap { name, advice in
        LockKind.allCases.map { kind in
            edge("madvise-locked.\(name).\(kind.rawValue)",
                 "MADV_\(name.uppercased()) on a \(kind.rawValue)-locked private range fails with EINVAL and leaves every page present and mlocked",
                 covers: ["digest/P-31"]) { b in
                let m = b.region(pages: 4)
                b.map(m)
                b.touch(m)
                b.step(kind.op(m))
                b.madvise(m, advice, "EINVAL")
            }
        }
    } + [
        // A kernel whose MADV_HUGEPAGE answers 0 and does nothing (selfcheck's
        // madvise-hugepage-noop) fails here at the VMA layer: no split, no `hg`.
        edge("madvise-locked.hugepage-split",
             "MADV_HUGEPAGE on the middle of a locked range splits it: three VMAs, all lo, the middle one hg; MADV_NOHUGEPAGE turns it nh; the pages stay mlocked throughout") { b in
            let m = b.region(pages: 8)
            b.map(m)
            b.mlock(m)
            b.madvise(m.sub(2, 3), UAPI.MADV_HUGEPAGE, "split at pages 2 and 5; VM_HUGEPAGE on the middle")
            b.madvise(m.sub(2, 3), UAPI.MADV_NOHUGEPAGE, "VM_NOHUGEPAGE replaces it: still three VMAs")
            b.munlock(m, "every piece unlocked, the advice stays")
        },
        edge("madvise-locked.free-mlock-munlock-pageout",
             "MADV_FREE makes clean private pages lazyfree; mlock's populate (GUP FOLL_WRITE|FOLL_TOUCH) dirties a present page as a store does, so after munlock MADV_PAGEOUT discards only the pages nothing wrote since (no swap needed), and keeps the rest (found by the fuzzer)",
             covers: ["fuzz/0x660f5f0164f18"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 4)
            b.map(m, .rw, .privateAnon, [.populate])
            b.madvise(m, UAPI.MADV_FREE, "PTEs cleaned, folios lazyfree; nothing unmapped yet")
            b.touch(m.sub(1, 1), "a store dirties page 1's PTE")
            b.read(m.sub(2, 1), "a load does not")
            b.mlock(m.sub(3, 1), "populate's write GUP dirties page 3, which mlock then locks")
            b.munlock(m.sub(3, 1))
            b.madvise(m, UAPI.MADV_PAGEOUT, "pages 0 and 2 discarded; 1 and 3 kept (no swap)")
            b.read(m.sub(0, 1), "page 0 refaults as the zero page")
        },
        edge("madvise-locked.pageout-mark-reads-hole-large",
             "MADV_PAGEOUT drops the pages of a regular file MS_SYNC wrote back and keeps the dirty ones with PG_reclaim, which is PG_readahead: mlockall's populate faults the marked page, page_cache_async_ra() ramps ra->order and reads the hole after it as one order-1 folio (6.16+, a filesystem with large folios; small folios before), mapped whole and mlocked (found by the fuzzer)",
             covers: ["fuzz/0x662028ddef73c"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 5)
            b.step(.createObject(slot: 1, kind: .file, pages: 6, filled: true), "pwrite leaves 6 dirty small folios")
            b.map(m, .rw, .object(slot: 1, shared: true, pageOffset: 0), [.locked])
            b.step(.msync(addr: m.sub(2, 2).addr, length: m.sub(2, 2).length, flags: UAPI.MS_SYNC), "pages 2-3 written back: clean")
            b.step(.munlockall)
            b.madvise(m.sub(0, 4), UAPI.MADV_PAGEOUT, "2-3 dropped from the cache; 0-1 kept dirty with PG_reclaim, unmapped")
            b.step(.mlockall(flags: UAPI.MCL_CURRENT), "page 1's fault meets the mark: async readahead reads 2-3 as one folio")
            b.munmap(m)
        },
        edge("madvise-locked.hugepage-whole-onfault",
             "MADV_HUGEPAGE on a whole ONFAULT-locked VMA sets hg without a split and keeps lo and the mlocked pages") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m.sub(0, 2), "two pages mlocked at fault")
            b.madvise(m, UAPI.MADV_HUGEPAGE, "hg on the one VMA")
            b.munlock(m)
        },
        edge("madvise-locked.dontneed-locked",
             "MADV_DONTNEED_LOCKED zaps locked pages: they go absent and are munlocked while the VMA stays lo and VmLck stays; touching them again mlocks new pages",
             covers: ["digest/P-32"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock(m)
            b.madvise(m.sub(1, 2), UAPI.MADV_DONTNEED_LOCKED, "pages 1-2 gone, Mlocked -8 kB")
            b.touch(m, "faulted back, mlocked at fault")
        },
        edge("madvise-locked.dontneed-locked-onfault",
             "MADV_DONTNEED_LOCKED on an ONFAULT range: the zapped pages stay absent until touched, then are mlocked at fault",
             covers: ["digest/P-32"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m)
            b.madvise(m, UAPI.MADV_DONTNEED_LOCKED)
            b.touch(m.sub(0, 1))
        },
        edge("madvise-locked.dontneed-locked-shared-file",
             "MADV_DONTNEED_LOCKED on a locked shared file mapping unmaps the page cache pages (munlocked, still cached); re-reading maps and mlocks them again",
             covers: ["digest/P-32"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true, prot: .read)
            b.mlock(m)
            b.madvise(m, UAPI.MADV_DONTNEED_LOCKED)
            b.read(m)
        },
        edge("madvise-locked.populate-read-onfault",
             "MADV_POPULATE_READ on an ONFAULT private range maps the zero page (not mlocked); on its shared twin it maps real shmem pages, mlocked") { b in
            let p = b.region(pages: 4)
            let s = b.region(pages: 4)
            b.map(p)
            b.map(s, .rw, .sharedAnon)
            b.mlock2(p, flags: Cat.onfault)
            b.mlock2(s, flags: Cat.onfault)
            b.madvise(p, UAPI.MADV_POPULATE_READ)
            b.madvise(s, UAPI.MADV_POPULATE_READ)
        },
        edge("madvise-locked.populate-write-onfault",
             "MADV_POPULATE_WRITE on an ONFAULT range faults every page for write: all present and mlocked at fault") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.madvise(m.sub(0, 3), UAPI.MADV_POPULATE_WRITE)
        },
        edge("madvise-locked.willneed-anon",
             "MADV_WILLNEED on a locked anon range succeeds and changes nothing") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m.sub(0, 2))
            b.madvise(m, UAPI.MADV_WILLNEED)
        },
        edge("madvise-locked.willneed-file-onfault",
             "MADV_WILLNEED on an ONFAULT shared file mapping reads ahead into the page cache but maps nothing: no page of the range becomes present or mlocked") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true, prot: .read)
            b.mlock2(m, flags: Cat.onfault)
            b.madvise(m, UAPI.MADV_WILLNEED)
            b.read(m.sub(0, 1), "mapped and mlocked at fault")
        },
        edge("madvise-locked.dontneed-mixed-range",
             "MADV_DONTNEED over an unlocked VMA followed by a locked one: EINVAL; does the unlocked part get zapped before the error? the page layer says",
             covers: ["digest/P-31"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m)
            b.mlock(m.sub(2, 2))
            b.madvise(m, UAPI.MADV_DONTNEED, "EINVAL")
        },
        edge("madvise-locked.dontneed-after-munlock",
             "after munlock the same MADV_DONTNEED succeeds and zaps the pages: the EINVAL came from the lock alone",
             covers: ["digest/P-31"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.madvise(m, UAPI.MADV_DONTNEED, "EINVAL")
            b.munlock(m)
            b.madvise(m, UAPI.MADV_DONTNEED, "0, all absent")
        },
    ]

    // MARK: mprotect inside a locked range

    static let mprotect: [Scenario] = [
        edge("mprotect-locked.read-middle",
             "mprotect(PROT_READ) of the middle of a locked range splits it in 3, every part lo, no page work",
             covers: ["digest/P-35"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.mprotect(m.sub(1, 2), .read)
            b.mprotect(m.sub(1, 2), .rw, "back to RW: merged into one locked VMA")
        },
        edge("mprotect-locked.write-onfault-no-populate",
             "mprotect to RW of an ONFAULT-locked read-only range does not populate (the populate-on-mprotect is for VM_LOCKED without ONFAULT)") { b in
            let m = b.region(pages: 4)
            b.map(m, .read)
            b.mlock2(m, flags: Cat.onfault)
            b.mprotect(m.sub(0, 2), .rw)
            b.touch(m.sub(0, 1), "page 0 written: mlocked at fault")
        },
        edge("mprotect-locked.zero-pages-read-then-write",
             "zero pages under an ONFAULT lock, made read-only and fully locked (they stay zero pages), then RW again: the populate on the upgrade breaks COW and mlocks real pages") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.read(m)
            b.mlock2(m, flags: Cat.onfault)
            b.mprotect(m, .read)
            b.mlock(m, "full lock of a read-only range: zero pages stay")
            b.mprotect(m, .rw, "write populate: real pages, mlocked")
        },
    ]

    // MARK: mremap of locked ranges

    static let mremap: [Scenario] = [
        edge("mremap-locked.shrink",
             "shrinking a locked 8-page range to 4 with mremap unmaps and munlocks the tail: VmLck -16 kB, Mlocked -16 kB") { b in
            let m = b.region(pages: 8)
            b.map(m)
            b.mlock(m)
            b.mremap(m, newPages: 4)
        },
        edge("mremap-locked.grow-in-place",
             "growing a locked range in place (no flags, free space after it) locks and populates the new pages: VmLck and Mlocked +16 kB",
             covers: ["digest/P-34"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock(m)
            b.mremap(m, newPages: 8)
        },
        edge("mremap-locked.grow-in-place-maymove",
             "growing with MREMAP_MAYMOVE when there is room does not move: the same as without, the range stays locked and the new pages are mlocked",
             covers: ["digest/P-34"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.mremap(m, newPages: 6, flags: UAPI.MREMAP_MAYMOVE)
        },
        edge("mremap-locked.grow-blocked",
             "growing a locked range without MREMAP_MAYMOVE when a mapping follows it fails with ENOMEM and changes nothing") { b in
            let m = b.region(pages: 4)
            let next = b.adjacent(to: m, pages: 2)
            b.map(m)
            b.mlock(m)
            b.map(next, .read, .privateAnon, [], "an unlocked read-only mapping right after it")
            b.mremap(m, newPages: 6, flags: 0, "ENOMEM")
        },
        edge("mremap-locked.grow-move-fixed",
             "growing a blocked locked range with MREMAP_MAYMOVE|MREMAP_FIXED moves it to a chosen arena address: pages move still mlocked, the new ones populated and mlocked",
             covers: ["digest/P-33", "digest/P-34"]) { b in
            let m = b.region(pages: 4)
            let next = b.adjacent(to: m, pages: 2)
            let dst = b.region(pages: 8)
            b.map(m)
            b.touch(m)
            b.mlock(m)
            b.map(next, .read)
            b.mremap(m, newPages: 8, to: dst)
        },
        edge("mremap-locked.move-same-size",
             "moving a locked range with MREMAP_FIXED keeps VmLck, Mlocked and every page's flags: the PTEs move, no munlock/mlock events",
             covers: ["digest/P-33"]) { b in
            let m = b.region(pages: 4)
            let dst = b.region(pages: 4)
            b.map(m)
            b.mlock(m)
            b.mremap(m, newPages: 4, to: dst)
            b.munlock(dst)
        },
        edge("mremap-locked.dontunmap",
             "MREMAP_DONTUNMAP of a locked range moves its pages to the new VMA and leaves the old one in place, empty, with its lock flags cleared: where VmLck, lo and the mlocked pages end up is checked") { b in
            let m = b.region(pages: 4)
            let dst = b.region(pages: 4)
            b.map(m)
            b.mlock(m)
            b.mremap(m, newPages: 4, flags: UAPI.MREMAP_DONTUNMAP, to: dst)
            b.touch(m.sub(0, 1), "the old range faults in a fresh, unlocked page")
        }.knownKernelBug(KnownDivergence(
            observables: ["VmLck"], since: (6, 16),
            explanation: "mremap(MREMAP_DONTUNMAP) of a VM_LOCKED range counts it twice in locked_vm: "
                + "since the 6.16 mremap rework vrm_stat_account() adds new_len for the new VMA and "
                + "dontunmap_complete() clears VM_LOCKED on the old one without subtracting it "
                + "(\"we won't unmap\"); on 6.18 16 kB locked became VmLck 32 kB, and 16 kB stayed after "
                + "both VMAs were unmapped")),
        edge("mremap-locked.grow-onfault",
             "growing an ONFAULT-locked range in place adds locked pages that stay absent until touched") { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m.sub(0, 1))
            b.mremap(m, newPages: 4)
            b.touch(addr: m.page(3), length: pageSize, "page 3 of the grown VMA: mlocked at fault")
        },
        edge("mremap-locked.grow-unlocked-under-mcl-future",
             "under MCL_FUTURE, growing a mapping made before mlockall keeps it unlocked: mremap keeps the VMA's flags, def_flags are for new mmaps") { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m)
            b.mlockall(Cat.future)
            b.mremap(m, newPages: 4)
            b.munlockall()
        },
        edge("mremap-table.empty-extent-gets-a-table",
             "mremap gives the destination a page table wherever the source block has one, even where no PTE moves (move_page_tables: pte_alloc per non-empty source PMD); on 6.18 a read beyond EOF then faults around under it and maps the file's last page (found by the fuzzer)",
             covers: ["fuzz/0x660f4fdb5295a"], requires: [.pageLayer]) { b in
            let m = b.region(pages: 3)
            let dst = b.region(pages: 2)
            b.createObject(0, .file, pages: 3, filled: true)
            b.mapObject(m, slot: 0, shared: true)
            b.read(m.sub(0, 1), "fault-around maps all 3 pages: block m has a page table")
            b.madvise(m.sub(2, 1), UAPI.MADV_DONTNEED, "page 2 unmapped, the table stays")
            b.mremap(m.sub(2, 1), newPages: 2, to: dst, "page 2 (the file's last) moves with no PTE, growing past EOF")
            b.touch(addr: dst.page(1), length: pageSize, write: false,
                    "beyond EOF: SIGBUS (EFAULT), but fault-around first maps page 2 at dst")
        },
        edge("mremap-table.whole-block-takes-the-table",
             "a PMD-aligned 2 MiB extent moves its page table whole (move_normal_pmd): after MREMAP_DONTUNMAP the source block has none, so a MADV_HUGEPAGE write there gets a PMD THP",
             requires: [.pageLayer, .thp]) { b in
            let m = b.region(pages: 512)
            let dst = b.region(pages: 512)
            b.map(m)
            b.touch(m.sub(0, 1), "no MADV_HUGEPAGE yet: a small page and a page table")
            b.mremap(m, newPages: 512, flags: UAPI.MREMAP_DONTUNMAP, to: dst, "the table moves to dst")
            b.madvise(m, THP.hugepage, "VM_HUGEPAGE on the emptied source")
            b.touch(m.sub(0, 1), "pmd_none: a PMD THP")
            b.expectFolios(m)
            b.touch(dst.sub(1, 1), "under the moved table: a small page")
        },
        realignScenario("realign-takes-the-first-table", offByOne: false,
             "6.7 on: a move that starts its VMA, reaches the next PMD boundary and keeps its offset in the block is realigned down (try_realign_addr), so the first block's table moves whole; the MREMAP_DONTUNMAP source is left without one and on 6.18 (and 6.12.59 on) a read beyond EOF there maps nothing"),
        realignScenario("no-realign-keeps-the-first-table", offByOne: true,
             "the same move one page off (offsets in the block differ): no realignment, the source block keeps its table, and a read beyond EOF at the source faults around under it and maps the file's last page"),
    ]

    // MARK: MAP_LOCKED and MAP_POPULATE

    static let mapFlags: [Scenario] = [
        edge("map-flags.populate",
             "MAP_POPULATE alone populates without locking (no lo, nothing mlocked); a later mlock needs no faults and mlocks all") { b in
            let m = b.region(pages: 4)
            b.map(m, .rw, .privateAnon, [.populate])
            b.mlock(m)
        },
        edge("map-flags.locked-populate",
             "MAP_LOCKED|MAP_POPULATE is the same as MAP_LOCKED: locked, populated, every page mlocked",
             covers: ["digest/P-18"]) { b in
            let m = b.region(pages: 4)
            b.map(m, .rw, .privateAnon, [.locked, .populate])
            b.munlock(m.sub(0, 2))
        },
        edge("map-flags.locked-prot-read",
             "MAP_LOCKED on PROT_READ private anon: zero pages only, VmLck counts them, Mlocked 0",
             covers: ["digest/P-03", "digest/P-18"]) { b in
            let m = b.region(pages: 4)
            b.map(m, .read, .privateAnon, [.locked])
        },
        edge("map-flags.locked-shared-anon",
             "MAP_LOCKED on shared anon: shmem pages allocated and mlocked at mmap") { b in
            let m = b.region(pages: 4)
            b.map(m, .rw, .sharedAnon, [.locked])
            b.munmap(m)
        },
        edge("map-flags.locked-file-shared",
             "MAP_LOCKED on a shared mapping of a filled file: the page cache pages are mapped and mlocked at mmap; munmap munlocks them") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true, prot: .rw, flags: [.locked])
            b.munmap(m)
        },
        edge("map-flags.locked-file-private",
             "MAP_LOCKED on a writable private file mapping populates with write faults: anon COW copies are mlocked, not the page cache") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: false, prot: .rw, flags: [.locked])
        },
    ]

    // MARK: mlockall flag matrix

    static let mlockallFlags: [Int32] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

    static let mlockall: [Scenario] = mlockallFlags.map { flags in
        let valid = flags != 0 && flags != Cat.mclOnfault && flags & ~7 == 0
        return edge("mlockall.flags-\(Cat.mclName(flags))",
                    "mlockall(\(flags)) \(valid ? "is valid" : "fails with EINVAL and changes nothing"); a mapping made before and one made after (MCL_FUTURE) show what it locked and how; munlockall undoes all",
                    covers: ["digest/P-14", "digest/P-15", "digest/P-16", "digest/P-17"]) { b in
            let before = b.region(pages: 4)
            let ro = b.region(pages: 2)
            let after = b.region(pages: 4)
            let last = b.region(pages: 2)
            b.map(before)
            b.touch(before.sub(0, 2), "pages 0-1 present")
            b.map(ro, .read, .privateAnon, [], "read-only: zero pages if populated")
            b.mlockall(flags)
            b.map(after, .rw, .privateAnon, [], "new mapping: locked only with MCL_FUTURE, populated only without MCL_ONFAULT")
            b.touch(after.sub(0, 1), "one fault in the new mapping")
            b.munlockall()
            b.map(last, .rw, .privateAnon, [], "after munlockall: never locked")
        }
    } + [
        edge("mlockall.mixed-arena",
             "mlockall(MCL_CURRENT) over PROT_NONE, read-only private, shared anon, shared and private file and memfd mappings: each locked its own way (zero page, page cache, shmem, nothing)") { b in
            let none = b.region(pages: 2)
            let ro = b.region(pages: 2)
            let sa = b.region(pages: 2)
            let fs = b.region(pages: 2)
            let fp = b.region(pages: 2)
            let mf = b.region(pages: 2)
            b.createObject(0, .file, pages: 2, filled: true)
            b.createObject(1, .memfd, pages: 2, filled: true)
            b.map(none, .none)
            b.map(ro, .read)
            b.map(sa, .rw, .sharedAnon)
            b.mapObject(fs, slot: 0, shared: true, prot: .read)
            b.mapObject(fp, slot: 0, shared: false, prot: .rw)
            b.mapObject(mf, slot: 1, shared: true, prot: .rw)
            b.mlockall(Cat.current)
            b.munlockall()
        },
        edge("mlockall.current-clears-future",
             "a later mlockall without MCL_FUTURE clears the MCL_FUTURE set by an earlier one: the next mmap is not locked") { b in
            let a = b.region(pages: 2)
            let c = b.region(pages: 2)
            b.mlockall(Cat.future)
            b.map(a, .rw, .privateAnon, [], "locked")
            b.mlockall(Cat.current, "no MCL_FUTURE: def_flags cleared")
            b.map(c, .rw, .privateAnon, [], "not locked")
            b.munlockall()
        },
        edge("mlockall.then-munlock-range",
             "munlock of part of a mapping locked by mlockall(CURRENT) splits it and munlocks those pages; munlockall then unlocks the rest") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlockall(Cat.current)
            b.munlock(m.sub(1, 2))
            b.munlockall()
        },
    ]

    // MARK: munmap of part of a locked range

    static let munmap: [Scenario] = [("first", UInt64(0), UInt64(1)), ("middle", 1, 2), ("last", 3, 1)].map { name, first, count in
        edge("munmap-locked.\(name)",
             "munmap of the \(name) part of a locked 4-page range: the unmapped pages leave VmLck and Mlocked (munlocked, not cleared), the rest stay locked",
             covers: ["digest/P-10"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock(m)
            b.munmap(m.sub(first, count))
        }
    } + [
        edge("munmap-locked.whole",
             "munmap of a whole 64-page locked range: VmLck and Mlocked drop by 256 kB once settled (munlocked +64, cleared +0)",
             covers: ["digest/P-10"]) { b in
            let m = b.region(pages: 64)
            b.map(m)
            b.mlock(m)
            b.munmap(m)
        },
        edge("munmap-locked.spanning-locked-and-unlocked",
             "munmap over a locked VMA and the unlocked one after it removes both; only the locked pages leave Mlocked") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m)
            b.mlock(m.sub(0, 2))
            b.munmap(m.sub(1, 3))
        },
        edge("munmap-locked.onfault-partial",
             "munmap of part of an ONFAULT range with some present pages: only present pages count in Mlocked, the whole part leaves VmLck") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m.sub(1, 1))
            b.touch(m.sub(3, 1))
            b.munmap(m.sub(2, 2))
        },
    ]

    // MARK: memfd mapped shared twice

    static let memfd: [Scenario] = [
        edge("memfd.lock-one-of-two",
             "a memfd mapped shared twice, locked through one mapping: its pages are mlocked once, VmLck counts only the locked mapping",
             covers: ["digest/P-20"]) { b in
            let a = b.region(pages: 4)
            let c = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.mapObject(a, slot: 0, shared: true)
            b.mapObject(c, slot: 0, shared: true)
            b.read(c, "map the pages in the second mapping too")
            b.mlock(a)
            b.munlock(a)
        },
        edge("memfd.lock-both-unlock-one",
             "locked through both mappings, unlocked through one: the pages must stay mlocked (mlock_count 2 -> 1) until the second munlock",
             covers: ["digest/P-21", "digest/P-22", "digest/P-23"]) { b in
            let a = b.region(pages: 4)
            let c = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.mapObject(a, slot: 0, shared: true)
            b.mapObject(c, slot: 0, shared: true)
            b.mlock(a, "mlocked, Mlocked +16 kB")
            b.mlock(c, "VmLck +16 kB, Mlocked +0")
            b.munlock(a, "VmLck -16 kB, pages stay mlocked")
            b.munlock(c, "now munlocked")
        },
        edge("memfd.lock-both-munmap-one",
             "locked through both mappings, one unmapped: the pages stay mlocked through the other; unmapping it too munlocks them (still in the memfd)",
             covers: ["digest/P-21", "digest/P-25"]) { b in
            let a = b.region(pages: 4)
            let c = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.mapObject(a, slot: 0, shared: true)
            b.mapObject(c, slot: 0, shared: true)
            b.mlock(a)
            b.mlock(c)
            b.munmap(a)
            b.munmap(c)
        },
        edge("memfd.onfault-unfilled",
             "an empty memfd mapped shared and locked on fault: read faults allocate shmem pages, each mlocked at fault",
             covers: ["digest/P-13"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: false)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock2(m, flags: Cat.onfault)
            b.read(m.sub(0, 2))
        },
        edge("memfd.overlapping-offsets",
             "two shared mappings of one memfd overlapping in pages 2-3 (offsets 0 and 2), both locked; unlocking the first munlocks pages 0-1 only") { b in
            let a = b.region(pages: 4)
            let c = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 6, filled: true)
            b.mapObject(a, slot: 0, shared: true, pageOffset: 0)
            b.mapObject(c, slot: 0, shared: true, pageOffset: 2)
            b.mlock(a)
            b.mlock(c)
            b.munlock(a, "pages 2-3 stay mlocked through the second mapping")
        },
        edge("memfd.shared-and-private",
             "a memfd locked through a shared RW and a private read-only mapping: both map the same pages; munlock of the shared one leaves them mlocked") { b in
            let s = b.region(pages: 4)
            let p = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.mapObject(s, slot: 0, shared: true)
            b.mapObject(p, slot: 0, shared: false, prot: .read)
            b.mlock(s)
            b.mlock(p)
            b.munlock(s)
            b.munlock(p)
        },
        edge("memfd.private-write-lock",
             "mlock of a writable private memfd mapping populates with write faults: private anon copies are mlocked, the shmem pages are not mapped") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .memfd, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: false)
            b.mlock(m)
        },
    ]

    // MARK: regular files

    static let file: [Scenario] = [
        edge("file.shared-lock",
             "mlock of a shared RW mapping of a filled file mlocks its page cache pages; munlock returns them") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock(m)
            b.munlock(m)
        },
        edge("file.private-rw-lock",
             "mlock of a private RW mapping of a filled file COWs every page: anon copies mlocked") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: false)
            b.mlock(m)
            b.munlock(m)
        },
        edge("file.shared-and-private-locked",
             "a file mapped shared and private read-only, both locked: the page cache pages are mlocked while either lock holds") { b in
            let s = b.region(pages: 4)
            let p = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(s, slot: 0, shared: true, prot: .read)
            b.mapObject(p, slot: 0, shared: false, prot: .read)
            b.mlock(s)
            b.mlock(p)
            b.munlock(s, "still mlocked through the private mapping")
            b.munlock(p)
        },
        edge("file.sparse-shared-lock",
             "mlock of a shared mapping of a sparse (never written) file allocates page cache on the read faults and mlocks it") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: false)
            b.mapObject(m, slot: 0, shared: true)
            b.mlock(m)
        },
        edge("file.onfault-shared-read",
             "ONFAULT over a shared mapping of a filled file: page cache pages are mlocked when faulted in (not before 5.18)",
             covers: ["digest/P-13"]) { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 4, filled: true)
            b.mapObject(m, slot: 0, shared: true, prot: .read)
            b.mlock2(m, flags: Cat.onfault)
            b.read(m.sub(1, 2))
        },
        edge("file.lock-beyond-eof",
             "mlock of a 4-page shared mapping of a 2-page file: the pages past EOF cannot be populated (SIGBUS), so mlock returns ENOMEM with the VMA locked and pages 0-1 mlocked") { b in
            let m = b.region(pages: 4)
            b.createObject(0, .file, pages: 2, filled: true)
            b.mapObject(m, slot: 0, shared: true, prot: .read)
            b.mlock(m, "ENOMEM (EFAULT from populate)")
            b.touch(m.sub(2, 1), write: false, "past EOF: refused with EFAULT")
        },
    ]

    // MARK: shared anon

    static let sharedAnon: [Scenario] = [
        edge("shared-anon.lock",
             "mlock of shared anon populates shmem pages by read faults and mlocks them; munlock returns them") { b in
            let m = b.region(pages: 4)
            b.map(m, .rw, .sharedAnon)
            b.mlock(m)
            b.munlock(m)
        },
        edge("shared-anon.onfault-touch",
             "shared anon locked on fault: written and read pages are each mlocked at fault, the rest stay absent") { b in
            let m = b.region(pages: 4)
            b.map(m, .rw, .sharedAnon)
            b.mlock2(m, flags: Cat.onfault)
            b.touch(m.sub(0, 1))
            b.read(m.sub(2, 1))
        },
        edge("shared-anon.munlock-middle",
             "munlock of the middle of a locked shared anon range splits it and munlocks those pages only") { b in
            let m = b.region(pages: 4)
            b.map(m, .rw, .sharedAnon)
            b.mlock(m)
            b.munlock(m.sub(1, 2))
            b.mlock(m, "merged again")
        },
    ]

    // MARK: holes, adjacency, limits, flags

    static let misc: [Scenario] = [
        edge("relock.no-double-count",
             "mlock of an already locked range, and mlock2 of it, add nothing to VmLck, Mlocked or the events",
             covers: ["digest/P-06"]) { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock(m)
            b.mlock(m, "no change at all")
            b.mlock2(m.sub(1, 2), flags: 0, "no change, no split")
        },
        edge("mlock.across-hole",
             "mlock over [A, hole, B]: A is locked (its present pages mlocked), then ENOMEM at the hole: no populate, B untouched") { b in
            let m = b.region(pages: 6)
            b.map(m)
            b.touch(m.sub(0, 1))
            b.munmap(m.sub(2, 2), "hole at pages 2-3")
            b.mlock(m, "ENOMEM; pages 0-1 locked, page 1 not populated")
            b.touch(m.sub(1, 1), "page 1 faults into a locked VMA: mlocked at fault")
        },
        edge("mlock.starts-in-hole",
             "mlock starting in unmapped space fails with ENOMEM before touching the mapping that follows") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.munmap(m.sub(0, 1))
            b.mlock(m, "ENOMEM, nothing locked")
        },
        edge("mlock.ends-past-mapping",
             "mlock running one page past the end of a mapping: the mapping is locked but not populated, and ENOMEM") { b in
            let m = b.region(pages: 4)
            b.map(m.sub(0, 3))
            b.touch(m.sub(0, 1))
            b.mlock(m, "ENOMEM")
        },
        edge("munlock.across-hole",
             "munlock over [A, hole, B] of locked A and B: A is unlocked, then ENOMEM at the hole; B stays locked") { b in
            let m = b.region(pages: 6)
            b.map(m)
            b.mlock(m)
            b.munmap(m.sub(2, 2))
            b.munlock(m, "ENOMEM")
        },
        edge("munlock.unmapped",
             "munlock of an unmapped range fails with ENOMEM") { b in
            let m = b.region(pages: 2)
            b.munlock(m, "ENOMEM")
        },
        edge("munlockall.nothing-locked",
             "munlockall with nothing locked returns 0 and changes nothing") { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m)
            b.munlockall()
        },
        edge("adjacent.lock-across-two-vmas",
             "mlock across two adjacent VMAs that differ in protection locks both; mprotect making them equal merges them into one locked VMA") { b in
            let a = b.region(pages: 2)
            let c = b.adjacent(to: a, pages: 2)
            b.map(a)
            b.map(c, .read)
            b.touch(a)
            b.mlock(addr: a.addr, length: a.length + c.length, "two locked VMAs")
            b.mprotect(c, .rw, "merge; page populate on the upgrade")
        },
        edge("adjacent.lock-halves-merge",
             "two adjacent mappings that merged at mmap, locked half by half: split then merged again") { b in
            let a = b.region(pages: 2)
            let c = b.adjacent(to: a, pages: 2)
            b.map(a)
            b.map(c, .rw, .privateAnon, [], "merges with the first")
            b.mlock(a, "split")
            b.mlock(c, "merged")
        },
        edge("rlimit.relock-within-limit",
             "with a 4-page limit and no CAP_IPC_LOCK, re-locking locked pages is not counted twice (mlock-intersect-test): repeated mlock and mlock2(ONFAULT) succeed, one more page is ENOMEM",
             covers: ["digest/P-12"]) { b in
            let m = b.region(pages: 8)
            b.unprivileged(memlock: 4 * pageSize)
            b.map(m)
            b.mlock(m.sub(0, 3))
            b.mlock(m.sub(0, 4), "3 counted already: 4 total, fits")
            b.mlock2(m.sub(0, 4), flags: Cat.onfault, "fits")
            b.mlock(m.sub(1, 4), "one new page over the limit: ENOMEM")
            b.munlock(m.sub(0, 1))
            b.mlock(m.sub(1, 4), "now fits")
        },
        edge("rlimit.onfault-counts-whole-range",
             "lock-on-fault counts every page of the range against RLIMIT_MEMLOCK, present or not") { b in
            let m = b.region(pages: 8)
            b.unprivileged(memlock: 4 * pageSize)
            b.map(m)
            b.mlock2(m.sub(0, 5), flags: Cat.onfault, "5 pages, none present: ENOMEM")
            b.mlock2(m.sub(0, 4), flags: Cat.onfault, "4: fits")
        },
        edge("mlock2.invalid-flags",
             "mlock2 rejects every flag but MLOCK_ONFAULT with EINVAL, whatever the range: 2, 3, 0x80000000, and with length 0") { b in
            let m = b.region(pages: 2)
            b.map(m)
            b.touch(m)
            b.mlock2(m, flags: 2, "EINVAL")
            b.mlock2(m, flags: 3, "EINVAL")
            b.mlock2(m, flags: 0x8000_0000, "EINVAL")
            b.mlock2(addr: m.addr, length: 0, flags: 2, "EINVAL even for length 0")
        },
    ]

    static let scenarios: [Scenario] =
        unaligned + lengths + protNone + protRead + splitMerge + onfault + madvise + mprotect + mremap
        + mapFlags + mlockall + munmap + memfd + file + sharedAnon + misc
}
