// The settled observables after a step.

extension KernelModel {
    /// The predicted settled state after the step whose result is `result`.
    ///
    /// - VMAs: the arena's VMAs in address order, as /proc/PID/smaps shows them.
    ///   Rss counts present normal pages (the zero page is not a normal page,
    ///   vm_normal_page() == NULL, so smaps_pte_entry skips it). Locked is the PSS of
    ///   those pages when the VMA is VM_LOCKED (smaps_account -> pss_locked): a page
    ///   mapped n >= 2 times contributes (PAGE_SIZE << PSS_SHIFT) / n, and the sum is
    ///   shifted right by PSS_SHIFT (12) and then by 10 for kB (__show_smap), truncating.
    /// - vmLckKB: mm->locked_vm (the whole process) in kB.
    /// - pages: every page of every arena VMA.
    /// - counters: the arena folios' contribution since the model was created.
    public func view(result: OpResult) -> StepView {
        var out: [VMAView] = []
        var pages: [UInt64: PageView] = [:]
        for v in vmas where Arena.contains(v.start) {
            var rss: UInt64 = 0
            var pssLocked: UInt64 = 0
            let locked = v.flags.contains(.locked)
            var a = v.start
            while a < v.end {
                switch ptes[a] {
                case nil:
                    pages[a] = .absent
                case .zero?:
                    pages[a] = PageView(present: true, zero: true)
                case let .folio(id)?:
                    let f = folios[id]!
                    pages[a] = PageView(present: true, zero: false, mlocked: f.mlocked, unevictable: f.unevictable)
                    // smaps_hugetlb_range counts hugetlb pages in *_Hugetlb, not in Rss.
                    if f.hugetlb { break }
                    rss += pageSize
                    if locked {
                        let mapcount = UInt64(max(f.mapcount, 1))
                        var pss = pageSize << 12
                        if mapcount >= 2 { pss /= mapcount }
                        pssLocked += pss
                    }
                }
                a += pageSize
            }
            out.append(VMAView(start: v.start, end: v.end, prot: v.flags.prot, shared: v.isShared,
                               locked: locked, rssKB: rss >> 10, lockedKB: (pssLocked >> 12) >> 10,
                               advice: Self.advice(v.flags)))
        }
        return StepView(result: result, vmas: out, vmLckKB: lockedVM * (pageSize >> 10),
                        pages: pages, counters: counters)
    }

    /// The VmFlags mnemonics madvise sets, as smaps prints them (VMAView.adviceMnemonics).
    static func advice(_ f: VMFlags) -> [String] {
        let shown: [(VMFlags, String)] = [(.hugepage, "hg"), (.noHugepage, "nh"), (.dontCopy, "dc"), (.dontDump, "dd"),
                                          (.wipeOnFork, "wf"), (.seqRead, "sr"), (.randRead, "rr")]
        return shown.filter { f.contains($0.0) }.map(\.1).sorted()
    }
}
