// fork(): a new process (the next index) with a copy of the caller's address space; the
// scenario goes on in the child unless a step names the parent. The parent is parked
// (Processes.swift): its PTEs count as frozen mappings of their folios (in the mapcount,
// keeping the folio alive and, in a VM_LOCKED VMA, holding one mlock_count), and the
// active address space becomes the child's copy. The child inherits the parent's fds
// (object slots), uid, capabilities and rlimits.

extension KernelModel {
    /// dup_mm() -> dup_mmap() (kernel/fork.c, mm/mmap.c in 6.18) and copy_page_range()
    /// (mm/memory.c).
    mutating func fork() -> OpResult {
        // The parent is parked as it is: its PTEs become frozen mappings of their folios,
        // locked ones where its VMA is VM_LOCKED (it keeps its mlock_count contributions;
        // nothing is munlocked). It can act again later (switchTo).
        let parent = active
        freezeActiveMappings()
        parked[parent] = activeSpace
        active = processCount
        processCount += 1
        recomputeFrozenFiles()

        let parentVMAs = vmas
        let parentPTEs = ptes
        vmas = []
        ptes = [:]
        for v in parentVMAs {
            // dup_mmap(): a VM_DONTCOPY (MADV_DONTFORK) VMA is not copied.
            if v.flags.contains(.dontCopy) { continue }
            var c = v
            // dup_mmap(): the child's VMAs lose VM_LOCKED and VM_LOCKONFAULT
            // (vm_flags_clear(tmp, VM_LOCKED_MASK)); its locked_vm starts at 0.
            c.flags.subtract(.lockedMask)
            if v.flags.contains(.wipeOnFork) {
                // VM_WIPEONFORK: no anon_vma, no pages (copy_page_range is skipped).
                c.anonVma = nil
                c.uncowedParents = false
            } else if v.anonVma != nil {
                // anon_vma_fork(): a new anon_vma of the child's, chained to the parent's.
                c.anonVma = newID()
                c.uncowedParents = true
            }
            vmas.append(c)
            // copy_page_range() -> vma_needs_copy(): PTEs are copied only for VMAs with an
            // anon_vma (or VM_PFNMAP/VM_MIXEDMAP, never in the arena); the others are
            // left for the child to fault. Foreign VMAs' pages are read, not modelled.
            guard !v.flags.contains(.wipeOnFork), v.anonVma != nil, !v.isForeign else { continue }
            var a = v.start
            while a < v.end {
                if let pte = parentPTEs[a] {
                    // copy_present_pte(): the zero page stays the zero page; a folio is
                    // shared (anon: write-protected in both, folio_try_dup_anon_rmap_pte;
                    // file: folio_dup_file_rmap_pte), neither touching mlock state.
                    ptes[a] = pte
                    if case let .folio(id) = pte { folios[id]?.maps.insert(a) }
                }
                a += pageSize
            }
        }
        // The child's page tables: copied ones (PMD mappings stay PMD mappings,
        // copy_huge_pmd; the huge zero page too), none where nothing was copied.
        hugeZero = hugeZero.filter { b in vmas.contains { $0.contains(b) && $0.anonVma != nil } }
        pteTables = Set(ptes.compactMap { a, p in
            if hugeZero.contains(block(a)) { return nil }
            if let id = p.folioID, folios[id]?.pmdMapped == true { return nil }
            return block(a)
        })
        // dup_mmap()/mm_init(): locked_vm 0, and def_flags lose VM_LOCKED_MASK
        // (mm->def_flags = current->mm->def_flags & VM_INIT_DEF_MASK): MCL_FUTURE is
        // not inherited.
        lockedVM = 0
        defFlags = []
        return .ok
    }
}
