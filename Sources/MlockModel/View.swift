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
        pages.reserveCapacity(vmas.reduce(0) { Arena.contains($1.start) ? $0 + Int(($1.end - $1.start) / pageSize) : $0 })
        for v in vmas where Arena.contains(v.start) {
            var rss: UInt64 = 0
            var pssLocked: UInt64 = 0
            var anonHuge: UInt64 = 0
            var filePmd: UInt64 = 0
            let locked = v.flags.contains(.locked)
            var a = v.start
            while a < v.end {
                switch ptes[a] {
                case nil:
                    pages[a] = .absent
                case .zero?:
                    // The huge zero folio: KPF_ZERO_PAGE and KPF_THP, head and tails.
                    if hugeZero.contains(block(a)) {
                        let head = a == block(a)
                        pages[a] = PageView(present: true, zero: true, thp: true, head: head, tail: !head)
                    } else {
                        pages[a] = PageView(present: true, zero: true)
                    }
                case let .folio(id)?:
                    let f = folios[id]!
                    if f.hugetlb {
                        // A hugetlb page: compound (KPF_HUGE, head/tail by position), never
                        // on an LRU or mlocked. smaps_hugetlb_range counts it in *_Hugetlb,
                        // not in Rss.
                        let head = a == block(a)
                        pages[a] = PageView(present: true, zero: false, mlocked: f.mlocked, unevictable: f.unevictable,
                                            head: head, tail: !head)
                        break
                    }
                    if f.large {
                        // stable_page_flags(): KPF_THP for any large anon folio, head/tail by
                        // position; PG_mlocked/PG_unevictable on every page, or on the head
                        // only on older kernels (kpageflagsShowFolioFlagsOnTails).
                        let k = subpage(f, at: a) ?? -1
                        let shown = k == 0 || profile.kpageflagsShowFolioFlagsOnTails
                        pages[a] = PageView(present: true, zero: false, mlocked: shown && f.mlocked,
                                            unevictable: shown && f.unevictable, thp: true, head: k == 0, tail: k > 0)
                        if f.pmdMapped && a == block(a) {
                            if f.anon { anonHuge += pmdSize } else { filePmd += pmdSize }
                        }
                    } else {
                        pages[a] = PageView(present: true, zero: false, mlocked: f.mlocked, unevictable: f.unevictable)
                    }
                    rss += pageSize
                    if locked {
                        // Per page: mapcount of this page (its live mapping plus the frozen
                        // address spaces' ones), smaps_account() -> folio_precise_page_mapcount.
                        let k = f.large ? subpage(f, at: a) ?? 0 : 0
                        let mapcount = UInt64(max(f.large ? 1 + (f.frozenPageMaps[k] ?? 0) : f.mapcount, 1))
                        var pss = pageSize << 12
                        if mapcount >= 2 { pss /= mapcount }
                        pssLocked += pss
                    }
                }
                a += pageSize
            }
            out.append(VMAView(start: v.start, end: v.end, prot: v.flags.prot, shared: v.isShared,
                               locked: locked, rssKB: rss >> 10, lockedKB: (pssLocked >> 12) >> 10,
                               advice: Self.advice(v.flags), anonHugeKB: anonHuge >> 10,
                               filePmdKB: filePmd >> 10))
        }
        return StepView(result: result, vmas: out, vmLckKB: lockedVM * (pageSize >> 10),
                        pages: pages, counters: counters)
    }

    /// The predicted global counters (arena folios since the model was created): what
    /// `view(result:).counters` holds, without building the rest of the view.
    public var predictedCounters: Counters { counters }

    /// The VmFlags mnemonics madvise sets, as smaps prints them (VMAView.adviceMnemonics).
    static func advice(_ f: VMFlags) -> [String] {
        let shown: [(VMFlags, String)] = [(.hugepage, "hg"), (.noHugepage, "nh"), (.dontCopy, "dc"), (.dontDump, "dd"),
                                          (.wipeOnFork, "wf"), (.seqRead, "sr"), (.randRead, "rr")]
        return shown.filter { f.contains($0.0) }.map(\.1).sorted()
    }
}
