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
    var matches: @Sendable (Op, [Divergence]) -> Bool

    public func applies(to release: String) -> Bool {
        guard let since else { return true }
        guard let v = Profiles.version(release) else { return false }
        return !(v < since)
    }

    /// The known behaviour that the divergences of one step (the first diverging step of
    /// a sequence, at `op`) show, if any.
    public static func classify(_ op: Op, _ divergences: [Divergence], release: String) -> KnownFuzzBehaviour? {
        all.first { $0.applies(to: release) && $0.matches(op, divergences) }
    }

    public static let all: [KnownFuzzBehaviour] = [lostMlock, coalescedEvents, dontunmapLeak]

    /// The munlock of a folio unmapped from a locked target and the mlock of the same folio
    /// mapped again by MREMAP_FIXED's locked growth meet in one per-CPU mlock batch: n pages
    /// stay mapped in the VM_LOCKED VMA without PG_mlocked ("p" where "M"), Mlocked and
    /// Unevictable -n, no mlocked or culled event for them. Nothing else may differ.
    public static let lostMlock = KnownFuzzBehaviour(
        id: "lost-mlock", writeUp: "docs/fuzz/lost-mlock-mremap-fixed-over-locked-target.json", since: nil) { op, ds in
        guard case let .mremap(_, _, _, flags, _) = op, flags & UAPI.MREMAP_FIXED != 0 else { return false }
        var pages = Set<String>()
        var deltas: [String: Int64] = [:]
        for d in ds {
            let name = StepComparison.base(d.observable)
            if name == "pages" || (name.hasPrefix("p") && name.hasSuffix(".pages")) {
                guard let e = pageGlyphs(d.expected), let o = pageGlyphs(d.observed),
                      e.map(\.0) == o.map(\.0), e.allSatisfy({ $0.1 == "M" }), o.allSatisfy({ $0.1 == "p" }) else { return false }
                pages.formUnion(e.map(\.0))
            } else if ["Mlocked", "Unevictable", "unevictable_pgs_mlocked", "unevictable_pgs_culled"].contains(name) {
                guard let delta = difference(d) else { return false }
                if let seen = deltas[name], seen != delta { return false }
                deltas[name] = delta
            } else {
                return false
            }
        }
        let n = Int64(pages.count)
        return n > 0 && deltas.count == 4 && deltas.values.allSatisfy { $0 == -n }
    }

    /// A folio munlocked and mlocked again within one per-CPU batch (mapped, copied away
    /// and mapped again within one op): the pair leaves no events. Only the four event
    /// counters differ, each short by the same k.
    public static let coalescedEvents = KnownFuzzBehaviour(
        id: "coalesced-mlock-events", writeUp: "docs/fuzz/mlock-events-coalesced-in-one-batch.json", since: nil) { _, ds in
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

    /// 6.16 on, mremap(MREMAP_DONTUNMAP) of a VM_LOCKED range counts it twice in locked_vm
    /// (the catalog's edge.mremap-locked.dontunmap): only VmLck differs, up by at most the
    /// moved length.
    public static let dontunmapLeak = KnownFuzzBehaviour(
        id: "dontunmap-locked-vm-leak", writeUp: "docs/fuzz/dontunmap-locked-vm-leak.json", since: (6, 16)) { op, ds in
        guard case let .mremap(_, oldLength, _, flags, _) = op, flags & UAPI.MREMAP_DONTUNMAP != 0 else { return false }
        return !ds.isEmpty && ds.allSatisfy { d in
            guard StepComparison.base(d.observable).hasSuffix("VmLck"),
                  let e = kB(d.expected), let o = kB(d.observed) else { return false }
            return o > e && (o - e) * 1024 <= oldLength
        }
    }

    /// "A+0x437000 M A+0x438000 p" -> [(address, glyph)]; nil when it is cut short ("(+n more)").
    static func pageGlyphs(_ s: String) -> [(String, String)]? {
        let t = s.split(separator: " ").map(String.init)
        guard !t.isEmpty, t.count % 2 == 0, !s.contains("more") else { return nil }
        return stride(from: 0, to: t.count, by: 2).map { (t[$0], t[$0 + 1]) }
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
