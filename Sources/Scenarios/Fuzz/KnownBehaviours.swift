import MlockModel

/// Kernel behaviours the fuzzer found, shrank and had written up (`docs/fuzz/`, README
/// "Fuzzing"): the model keeps the rule and the kernel departs from it. A later divergence
/// that shows exactly one of them is reported as that behaviour, with its write-up, and
/// not shrunk again; anything else is unexplained. Each matcher is tight: the op, the
/// observables that may differ (all of them must be among these), and the sizes of the
/// differences tied to each other, so a real bug that moves anything more, or by other
/// amounts, is not taken for a known one.
public struct KnownFuzzBehaviour: Sendable {
    public var id: String
    /// The write-up: the shrunk case and its C program.
    public var writeUp: String
    /// The kernel releases that have it (nil: every one the project has met).
    public var since: (Int, Int)?
    /// A behaviour another actor on the machine causes (writeback, say): the fuzzer takes a
    /// divergence for it only when running the same ops again does not give it again; one
    /// that reproduces is the kernel's own, and unexplained.
    public var onlyIfNotReproduced = false
    var matches: @Sendable (Op, [Divergence], _ lockedRanges: [String: [Range<UInt64>]]?) -> Bool

    public func applies(to release: String) -> Bool {
        guard let since else { return true }
        guard let v = Profiles.version(release) else { return false }
        return !(v < since)
    }

    /// The known behaviour that the divergences of one step (the first diverging step of
    /// a sequence, at `op`) show, if any.
    /// `lockedRanges`: the model's VM_LOCKED ranges per process at that step, when known;
    /// a matcher that needs them takes nothing without them.
    public static func classify(_ op: Op, _ divergences: [Divergence], lockedRanges: [String: [Range<UInt64>]]? = nil,
                                release: String) -> KnownFuzzBehaviour? {
        all.first { $0.applies(to: release) && $0.matches(op, divergences, lockedRanges) }
    }

    public static let all: [KnownFuzzBehaviour] = [lostMlock, coalescedEvents, batchBoundaryEvents, underestimatedMlockCount,
                                                    faultAroundSkipsBusyFolio, dontunmapLeak]

    /// The munlock of a folio unmapped from a locked VMA and the mlock of the same folio
    /// mapped again in a locked VMA meet in one per-CPU mlock batch: MREMAP_FIXED's locked
    /// growth over a locked target, or a write that copies a file page away (COW) and
    /// a fault-around that maps it again, within one op. The pages stay mapped in the
    /// VM_LOCKED VMA without PG_mlocked ("p" where "M"); Mlocked, Unevictable and the
    /// mlocked and culled events are each short by the same k, with 1 <= k <= the pages
    /// shown (one folio may be mapped at several of them). Nothing else may differ.
    public static let lostMlock = KnownFuzzBehaviour(
        id: "lost-mlock", writeUp: "docs/fuzz/lost-mlock-mremap-fixed-over-locked-target.json", since: nil) { _, ds, _ in
        lockedPagesLeftUnlocked(ds, counters: ["Mlocked": 1, "Unevictable": 1, "unevictable_pgs_mlocked": 1,
                                               "unevictable_pgs_culled": 1])
    }

    /// A folio munlocked and mlocked again within one per-CPU batch (mapped, copied away
    /// and mapped again within one op): the pair leaves no events. Only the four event
    /// counters differ, each short by the same k.
    public static let coalescedEvents = KnownFuzzBehaviour(
        id: "coalesced-mlock-events", writeUp: "docs/fuzz/mlock-events-coalesced-in-one-batch.json", since: nil) { _, ds, _ in
        let events: Set<String> = ["unevictable_pgs_mlocked", "unevictable_pgs_munlocked",
                                   "unevictable_pgs_culled", "unevictable_pgs_rescued"]
        var deltas: [String: Int64] = [:]
        for d in ds {
            let name = StepComparison.base(d.observable)
            guard events.contains(name), let delta = difference(d) else { return false }
            if let seen = deltas[name], seen != delta { return false }
            deltas[name] = delta
        }
        guard deltas.count == 4, let k = deltas.values.first, k < 0 else { return false }
        return deltas.values.allSatisfy { $0 == k }
    }

    /// The mlock batch fills within one op (31 folios, 15 before 6.9) while page-cache
    /// folios the op read in still wait in the per-CPU lru_add batch, off the LRU: their
    /// mlock is not applied (__mlock_folio: nothing to do off the LRU) and their munlock
    /// clears PG_mlocked there (munlocked, but no rescue); lru_add then finds them
    /// evictable (no cull). Only the culled and rescued events differ, each short by the
    /// same k; pages, Mlocked and the other events agree.
    public static let batchBoundaryEvents = KnownFuzzBehaviour(
        id: "mlock-batch-full-before-lru-add", writeUp: "docs/fuzz/mlock-batch-full-while-page-cache-waits-for-lru.json",
        since: nil) { _, ds, _ in
        var deltas: [String: Int64] = [:]
        for d in ds {
            let name = StepComparison.base(d.observable)
            guard name == "unevictable_pgs_culled" || name == "unevictable_pgs_rescued", let delta = difference(d) else { return false }
            if let seen = deltas[name], seen != delta { return false }
            deltas[name] = delta
        }
        guard deltas.count == 2, let k = deltas.values.first, k < 0 else { return false }
        return deltas.values.allSatisfy { $0 == k }
    }

    /// lru_add() gives a folio it puts on the unevictable list mlock_count 0, on purpose
    /// ("underestimate, let page reclaim fix it"), and __mlock_folio() drops the count of a
    /// folio still off the LRU: when an op maps new folios in two locked VMAs and the mlock
    /// batch is applied while they still wait in the lru_add batch, the first mapping's count
    /// is lost. The next unmap or unlock of one mapping then munlocks pages another locked
    /// VMA still maps: "p" where "M", Mlocked and Unevictable each short by k, munlocked and
    /// rescued each over by k, 1 <= k <= the pages shown, at an op that unmaps or unlocks.
    /// Nothing else may differ.
    public static let underestimatedMlockCount = KnownFuzzBehaviour(
        id: "mlock-count-underestimated-off-lru",
        writeUp: "docs/fuzz/mlock-count-underestimated-off-lru.json", since: nil) { op, ds, locked in
        switch op {
        case .munlock, .munlockall, .munmap, .mremap, .exit: break
        default: return false
        }
        // Every page shown must still be mapped in a VMA the model has locked: the count
        // was lost, the lock was not (a munlock that left pages mlocked in the model, as
        // a wrong rule would, is not this).
        guard let locked, let shown = pagesShown(ds), shown.allSatisfy({ process, addr in
            locked[process]?.contains { $0.contains(addr) } == true
        }) else { return false }
        // The events are over by k where the sizes are short by k.
        return lockedPagesLeftUnlocked(ds, counters: ["Mlocked": 1, "Unevictable": 1, "unevictable_pgs_munlocked": -1,
                                                      "unevictable_pgs_rescued": -1])
    }

    /// Fault-around maps only the page-cache folios it can lock at that moment
    /// (next_uptodate_folio() skips a locked one): writeback of the file started by anyone
    /// (sync, the flusher) leaves pages of the window unmapped. At a touch: pages "." where
    /// "p", or where "M" in a VMA locked on fault (nothing populates the skipped page
    /// there); each process's smaps Rss short by exactly 4 kB a page and Locked by 4 kB a
    /// locked page; Mlocked, Unevictable and the mlocked and culled events short by the
    /// locked pages; nothing else. Taken for it only when the same ops run twice more do not
    /// diverge so (onlyIfNotReproduced).
    public static let faultAroundSkipsBusyFolio: KnownFuzzBehaviour = {
        var b = KnownFuzzBehaviour(
            id: "fault-around-skips-folio-under-writeback",
            writeUp: "docs/fuzz/fault-around-skips-folio-under-writeback.json", since: nil) { op, ds, _ in
            guard case .touch = op else { return false }
            let lockCounters: Set<String> = ["Mlocked", "Unevictable", "unevictable_pgs_mlocked", "unevictable_pgs_culled"]
            var pages: [String: (all: Int, locked: Int)] = [:]
            var short: [String: (rss: Int, locked: Int)] = [:]
            var counters: [String: Int64] = [:]
            for d in ds {
                let name = StepComparison.base(d.observable)
                if lockCounters.contains(name) {
                    guard let delta = difference(d) else { return false }
                    counters[name] = delta
                    continue
                }
                let head = name.split(separator: ".").first ?? ""
                let process = head.hasPrefix("p") && head.count > 1 && head.dropFirst().allSatisfy(\.isNumber) ? String(head) : ""
                let what = process.isEmpty ? name : String(name.dropFirst(process.count + 1))
                if what == "pages" || what == "pages.mapped" {
                    guard let e = pageGlyphs(d.expected), let o = pageGlyphs(d.observed), e.more == 0, o.more == 0,
                          e.pages.map(\.0) == o.pages.map(\.0),
                          e.pages.allSatisfy({ $0.1 == "p" || (what == "pages" && $0.1 == "M") }),
                          o.pages.allSatisfy({ $0.1 == "." }) else { return false }
                    if what == "pages" {
                        let n = (all: e.pages.count, locked: e.pages.filter { $0.1 == "M" }.count)
                        if let seen = pages[process], seen != n { return false }
                        pages[process] = n
                    } else if let seen = pages[process], seen.all != e.pages.count {
                        return false
                    }
                } else if what == "smaps" {
                    guard let s = smapsShortfallKB(d.expected, d.observed) else { return false }
                    if let seen = short[process], seen != s { return false }
                    short[process] = s
                } else {
                    return false
                }
            }
            let locked = pages.values.reduce(0) { $0 + $1.locked }
            guard !pages.isEmpty, pages.allSatisfy({ process, n in
                      n.all > 0 && short[process].map { $0.rss == 4 * n.all && $0.locked == 4 * n.locked } == true
                  }), short.keys.allSatisfy({ pages[$0] != nil }) else { return false }
            return locked == 0 ? counters.isEmpty
                : counters.count == lockCounters.count && counters.values.allSatisfy { $0 == -Int64(locked) }
        }
        b.onlyIfNotReproduced = true
        return b
    }()

    /// "Rss=36 Locked=0, Rss=28 Locked=28" against the observed list: the kB by which the
    /// observed Rss and Locked fall short in total, when the VMAs are the same, nothing
    /// else differs and nothing grows; nil otherwise, or when nothing falls short.
    static func smapsShortfallKB(_ expected: String, _ observed: String) -> (rss: Int, locked: Int)? {
        func entries(_ s: String) -> [[Substring]] { s.split(separator: ",").map { $0.split(separator: " ") } }
        func value(_ field: Substring, _ key: String) -> Int? { field.hasPrefix(key) ? Int(field.dropFirst(key.count)) : nil }
        let e = entries(expected), o = entries(observed)
        guard e.count == o.count else { return nil }
        var rss = 0, locked = 0
        for (fa, fb) in zip(e, o) {
            guard fa.count == fb.count, fa.count >= 2, Array(fa.dropFirst(2)) == Array(fb.dropFirst(2)),
                  let ra = value(fa[0], "Rss="), let rb = value(fb[0], "Rss="),
                  let la = value(fa[1], "Locked="), let lb = value(fb[1], "Locked="), rb <= ra, lb <= la else { return nil }
            rss += ra - rb
            locked += la - lb
        }
        return rss > 0 ? (rss, locked) : nil
    }

    /// 6.16 on, mremap(MREMAP_DONTUNMAP) of a VM_LOCKED range counts it twice in locked_vm
    /// (the catalog's edge.mremap-locked.dontunmap): only VmLck differs, up by at most the
    /// moved length.
    public static let dontunmapLeak = KnownFuzzBehaviour(
        id: "dontunmap-locked-vm-leak", writeUp: "docs/fuzz/dontunmap-locked-vm-leak.json", since: (6, 16)) { op, ds, _ in
        guard case let .mremap(_, oldLength, _, flags, _) = op, flags & UAPI.MREMAP_DONTUNMAP != 0 else { return false }
        return !ds.isEmpty && ds.allSatisfy { d in
            guard StepComparison.base(d.observable).hasSuffix("VmLck"),
                  let e = kB(d.expected), let o = kB(d.observed) else { return false }
            return o > e && (o - e) * 1024 <= oldLength
        }
    }

    /// Pages "p" where "M" and each of `counters` off by the same k (1 <= k <= the pages
    /// shown), short where its sign is 1 and over where it is -1; nothing else differing.
    static func lockedPagesLeftUnlocked(_ ds: [Divergence], counters: [String: Int64]) -> Bool {
        var pages = 0
        var deltas: [String: Int64] = [:]
        for d in ds {
            let name = StepComparison.base(d.observable)
            if name == "pages" || (name.hasPrefix("p") && name.hasSuffix(".pages")) {
                guard let e = pageGlyphs(d.expected), let o = pageGlyphs(d.observed), e.more == o.more,
                      e.pages.map(\.0) == o.pages.map(\.0), e.pages.allSatisfy({ $0.1 == "M" }),
                      o.pages.allSatisfy({ $0.1 == "p" }) else { return false }
                pages = max(pages, e.pages.count + e.more)
            } else if let sign = counters[name], let delta = difference(d) {
                if let seen = deltas[name], seen != sign * delta { return false }
                deltas[name] = sign * delta
            } else {
                return false
            }
        }
        guard pages > 0, deltas.count == counters.count, let k = deltas.values.first, k < 0, -k <= Int64(pages) else {
            return false
        }
        return deltas.values.allSatisfy { $0 == k }
    }

    /// The (process prefix, address) of every page a pages divergence shows.
    /// nil when an address is not one of the arena's.
    static func pagesShown(_ ds: [Divergence]) -> [(String, UInt64)]? {
        var out: [(String, UInt64)] = []
        for d in ds {
            let name = StepComparison.base(d.observable)
            guard name == "pages" || (name.hasPrefix("p") && name.hasSuffix(".pages")),
                  let e = pageGlyphs(d.expected) else { continue }
            let process = name == "pages" ? "" : String(name.dropLast(".pages".count))
            for (a, _) in e.pages {
                guard a.hasPrefix("A+0x"), let off = UInt64(a.dropFirst(4), radix: 16) else { return nil }
                out.append((process, Arena.base + off))
            }
        }
        return out
    }

    /// "A+0x437000 M A+0x438000 p (+2 more)" -> the (address, glyph) pairs shown and how
    /// many more pages differ.
    static func pageGlyphs(_ s: String) -> (pages: [(String, String)], more: Int)? {
        var t = s.split(separator: " ").map(String.init)
        var more = 0
        if t.count >= 2, t[t.count - 1] == "more)", t[t.count - 2].hasPrefix("(+"), let m = Int(t[t.count - 2].dropFirst(2)) {
            more = m
            t.removeLast(2)
        }
        guard !t.isEmpty, t.count % 2 == 0 else { return nil }
        return (stride(from: 0, to: t.count, by: 2).map { (t[$0], t[$0 + 1]) }, more)
    }

    /// Observed minus expected of a counter delta ("+8" against "+7": -1).
    static func difference(_ d: Divergence) -> Int64? {
        guard let e = Int64(d.expected), let o = Int64(d.observed) else { return nil }   // Int64("+8") is 8
        return o - e
    }

    static func kB(_ s: String) -> UInt64? {
        s.hasSuffix(" kB") ? UInt64(s.dropLast(3)) : nil
    }
}
