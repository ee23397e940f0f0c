// The VMA list: lookup, split, merge, and the anon_vma identity rules that decide
// whether neighbours merge (mm/vma.c).

extension KernelModel {
    // MARK: - lookup

    /// Index of the VMA containing `a` (vma_lookup).
    func indexContaining(_ a: UInt64) -> Int? {
        guard let i = firstIndex(endAbove: a), vmas[i].start <= a else { return nil }
        return i
    }

    /// Index of the first VMA with vm_end > a (find_vma).
    func firstIndex(endAbove a: UInt64) -> Int? {
        var lo = 0, hi = vmas.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if vmas[mid].end > a { hi = mid } else { lo = mid + 1 }
        }
        return lo < vmas.count ? lo : nil
    }

    /// find_vma_intersection(start, end).
    func intersects(_ start: UInt64, _ end: UInt64) -> Bool {
        guard let i = firstIndex(endAbove: start) else { return false }
        return vmas[i].start < end
    }

    /// total_vm: every VMA of the process, in pages.
    var totalVMPages: UInt64 { vmas.reduce(0) { $0 + $1.pages } }

    // MARK: - split and merge

    /// split_vma(): cut the VMA at index `i` at `a` (strictly inside it). Both halves keep
    /// flags, file and anon_vma; the upper half's pgoff advances. Returns the index of
    /// the upper half.
    @discardableResult
    mutating func split(_ i: Int, at a: UInt64) -> Int {
        let v = vmas[i]
        precondition(a > v.start && a < v.end && offsetInPage(a) == 0)
        // vma_adjust_trans_huge() -> split_huge_pmd_if_needed(): a boundary inside a
        // PMD mapping splits it first, while the VMA still has its old flags.
        if a & (pmdSize - 1) != 0 { splitPMD(block(a)) }
        var lower = v, upper = v
        lower.end = a
        upper.start = a
        upper.pgoff = v.pgoff &+ ((a - v.start) >> pageShift)
        vmas[i] = lower
        vmas.insert(upper, at: i + 1)
        return i + 1
    }

    /// Splits so that [start, end) is covered by whole VMAs at its edges.
    mutating func splitAround(_ start: UInt64, _ end: UInt64) {
        if let i = indexContaining(start), vmas[i].start < start { split(i, at: start) }
        if let i = indexContaining(end), vmas[i].start < end { split(i, at: end) }
    }

    /// can_vma_merge_after()/can_vma_merge_before() for `a` immediately followed by `b`:
    /// is_mergeable_vma (vm_flags equal but VM_SOFTDIRTY, same vm_file), the anon_vma
    /// rule of is_mergeable_anon_vma (either side without one, or the same one; but a
    /// VMA that fork copied with an anon_vma has "uncowed parents" and does not lend its
    /// anon_vma to a neighbour without one, vma_had_uncowed_parents), and file page
    /// offsets continuing.
    /// VMAs with VM_SPECIAL flags never merge (vma_merge_new_range).
    ///
    /// `rangeAnonVma` is given when `b` is the existing neighbour and `a` the range being
    /// merged into it (`nil` for `a` the neighbour): see `unfaultedNeighbourRefuses`.
    func canMerge(_ a: VMA, _ b: VMA, neighbourIsB: Bool = false, rangeAnonVma: Int?? = nil) -> Bool {
        if !profile.mergesFaultedRangeIntoUnfaultedNeighbour {
            let neighbour = neighbourIsB ? b : a
            let range: Int? = rangeAnonVma ?? (neighbourIsB ? a.anonVma : b.anonVma)
            if neighbour.anonVma == nil && range != nil { return false }
        }
        guard a.end == b.start, a.flags == b.flags, a.file == b.file, a.policy == b.policy else { return false }
        if a.flags.contains(.special) || a.flags.contains(.hugetlb) || a.isForeign { return false }
        if let x = a.anonVma, let y = b.anonVma, x != y { return false }
        if (a.anonVma == nil) != (b.anonVma == nil) && (a.uncowedParents || b.uncowedParents) { return false }
        return a.pgoff &+ a.pages == b.pgoff
    }

    /// Merges the VMA at `i` with its neighbours where allowed: first the previous one,
    /// then the next. Applying the two tests in this order reproduces vma_merge_new_range
    /// and vma_merge_existing_range, which refuse the right-hand merge when both sides
    /// would merge but their anon_vmas differ. Returns the index of the resulting VMA.
    @discardableResult
    mutating func mergeNeighbours(_ i: Int) -> Int {
        var i = i
        let rangeAnonVma = vmas[i].anonVma   // the kernel tests the range's own anon_vma against next
        if i > 0, canMerge(vmas[i - 1], vmas[i]) {
            vmas[i - 1].end = vmas[i].end
            vmas[i - 1].anonVma = vmas[i - 1].anonVma ?? vmas[i].anonVma
            vmas[i - 1].uncowedParents = vmas[i - 1].uncowedParents || vmas[i].uncowedParents
            vmas.remove(at: i)
            i -= 1
        }
        if i + 1 < vmas.count, canMerge(vmas[i], vmas[i + 1], neighbourIsB: true, rangeAnonVma: .some(rangeAnonVma)) {
            vmas[i].end = vmas[i + 1].end
            vmas[i].anonVma = vmas[i].anonVma ?? vmas[i + 1].anonVma
            vmas[i].uncowedParents = vmas[i].uncowedParents || vmas[i + 1].uncowedParents
            vmas.remove(at: i + 1)
        }
        return i
    }

    /// vma_modify_flags(): give [start, end) (inside the VMA at `i`) new flags, splitting
    /// it off and merging it with compatible neighbours. Returns the index of the VMA
    /// that now covers `start`.
    @discardableResult
    mutating func modifyFlags(_ i: Int, _ start: UInt64, _ end: UInt64, _ flags: VMFlags) -> Int {
        var i = i
        if vmas[i].start < start { i = split(i, at: start) }
        if vmas[i].end > end { split(i, at: end) }
        vmas[i].flags = flags
        return mergeNeighbours(i)
    }

    /// Inserts a new VMA (no overlap) and merges it with neighbours (vma_merge_new_range).
    @discardableResult
    mutating func insertVMA(_ v: VMA) -> Int {
        let i = firstIndex(endAbove: v.start) ?? vmas.count
        vmas.insert(v, at: i)
        return mergeNeighbours(i)
    }

    // MARK: - anon_vma

    /// anon_vma_compatible() (mm/vma.c): adjacent, same memory policy (mpol_equal), same
    /// file, flags equal except the access bits (and VM_SOFTDIRTY), page offsets continuing.
    func anonVmaCompatible(_ a: VMA, _ b: VMA) -> Bool {
        a.end == b.start && a.policy == b.policy && a.file == b.file
            && a.flags.subtracting(.access) == b.flags.subtracting(.access)
            && b.pgoff == a.pgoff &+ a.pages
    }

    /// anon_vma_prepare() -> find_mergeable_anon_vma(): a VMA getting its first anonymous
    /// folio reuses the next VMA's anon_vma, else the previous one's, when compatible
    /// and that neighbour's anon_vma_chain is singular (reusable_anon_vma(): a VMA fork
    /// copied from one with an anon_vma is also chained to the parent's, so its anon_vma
    /// is never reused); otherwise it gets a new one. (The zero page does not call it.)
    mutating func anonVmaPrepare(_ i: Int) {
        if vmas[i].anonVma != nil { return }
        if i + 1 < vmas.count, anonVmaCompatible(vmas[i], vmas[i + 1]), !vmas[i + 1].uncowedParents,
           let x = vmas[i + 1].anonVma {
            vmas[i].anonVma = x
            return
        }
        if i > 0, anonVmaCompatible(vmas[i - 1], vmas[i]), !vmas[i - 1].uncowedParents, let x = vmas[i - 1].anonVma {
            vmas[i].anonVma = x
            return
        }
        vmas[i].anonVma = newID()
    }
}
