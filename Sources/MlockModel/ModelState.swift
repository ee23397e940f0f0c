// Internal state of the reference model: VMAs, page-table entries, folios and the
// backing objects (page caches) of the scenario process.
//
// Everything here is a deliberately small copy of the kernel structures that decide
// what /proc/PID/smaps, status, pagemap+kpageflags, meminfo and vmstat show:
//   vm_area_struct -> VMA, pte -> PTE, struct folio -> Folio, address_space -> BackingObject.
// Folios are small, or large (anonymous THPs and mTHPs: LargeFolios.swift).

/// Linux x86_64 user address space limit with 4-level paging (TASK_SIZE_MAX).
let taskSize: UInt64 = (1 << 47) - pageSize
/// fault_around_bytes default (64 KiB) in pages: mm/memory.c fault_around_pages.
let faultAroundPages: UInt64 = 16
/// PTRS_PER_PTE on x86_64.
let ptrsPerPTE: UInt64 = 512

@inline(__always) func pageAlign(_ x: UInt64) -> UInt64 { (x &+ (pageSize - 1)) & ~(pageSize - 1) }
@inline(__always) func pageDown(_ x: UInt64) -> UInt64 { x & ~(pageSize - 1) }
@inline(__always) func offsetInPage(_ x: UInt64) -> UInt64 { x & (pageSize - 1) }

/// The vm_flags bits the model needs. Bits that are equal on every VMA the scenarios
/// can create (VM_MAYREAD/MAYWRITE/MAYEXEC, VM_SOFTDIRTY, which merges ignore) are left out.
struct VMFlags: OptionSet, Hashable, Sendable {
    let rawValue: UInt32
    static let read = VMFlags(rawValue: 1 << 0)
    static let write = VMFlags(rawValue: 1 << 1)
    static let exec = VMFlags(rawValue: 1 << 2)
    /// VM_SHARED | VM_MAYSHARE.
    static let shared = VMFlags(rawValue: 1 << 3)
    static let locked = VMFlags(rawValue: 1 << 4)         // VM_LOCKED
    static let lockOnFault = VMFlags(rawValue: 1 << 5)    // VM_LOCKONFAULT
    static let account = VMFlags(rawValue: 1 << 6)        // VM_ACCOUNT
    static let noreserve = VMFlags(rawValue: 1 << 7)      // VM_NORESERVE
    static let seqRead = VMFlags(rawValue: 1 << 8)        // VM_SEQ_READ
    static let randRead = VMFlags(rawValue: 1 << 9)       // VM_RAND_READ
    static let dontCopy = VMFlags(rawValue: 1 << 10)      // VM_DONTCOPY
    static let hugepage = VMFlags(rawValue: 1 << 11)      // VM_HUGEPAGE
    static let noHugepage = VMFlags(rawValue: 1 << 12)    // VM_NOHUGEPAGE
    static let dontDump = VMFlags(rawValue: 1 << 13)      // VM_DONTDUMP
    static let wipeOnFork = VMFlags(rawValue: 1 << 14)    // VM_WIPEONFORK
    static let mergeable = VMFlags(rawValue: 1 << 15)     // VM_MERGEABLE (KSM)
    /// VM_IO / VM_PFNMAP / VM_DONTEXPAND / VM_MIXEDMAP (only foreign VMAs carry it).
    static let special = VMFlags(rawValue: 1 << 16)
    /// VM_DROPPABLE (MAP_DROPPABLE, 64-bit only): never VM_LOCKED, not counted.
    static let droppable = VMFlags(rawValue: 1 << 17)
    /// VM_GROWSDOWN (MAP_GROWSDOWN): compared by merges (is_mergeable_vma) and by
    /// anon_vma_compatible like any flag; nothing the model does treats it otherwise.
    static let growsDown = VMFlags(rawValue: 1 << 18)
    /// VM_HUGETLB (with VM_DONTEXPAND, set by hugetlbfs_file_mmap): vma_supports_mlock()
    /// is false, so never VM_LOCKED nor counted; VM_DONTEXPAND keeps it from merging.
    /// Kept apart from `.special` because __mm_populate skips only VM_IO|VM_PFNMAP: a
    /// hugetlb range is populated by MAP_LOCKED and mlock.
    static let hugetlb = VMFlags(rawValue: 1 << 19)

    static let lockedMask: VMFlags = [.locked, .lockOnFault]   // VM_LOCKED_MASK
    static let access: VMFlags = [.read, .write, .exec]         // VM_ACCESS_FLAGS

    init(rawValue: UInt32) { self.rawValue = rawValue }
    init(prot: Prot) {
        var f: VMFlags = []
        if prot.contains(.read) { f.insert(.read) }
        if prot.contains(.write) { f.insert(.write) }
        if prot.contains(.exec) { f.insert(.exec) }
        self = f
    }
    var prot: Prot {
        var p: Prot = []
        if contains(.read) { p.insert(.read) }
        if contains(.write) { p.insert(.write) }
        if contains(.exec) { p.insert(.exec) }
        return p
    }
    /// vma_is_accessible(): any of VM_READ|VM_WRITE|VM_EXEC.
    var accessible: Bool { !intersection(.access).isEmpty }
}

/// The identity of vma->vm_file (pointer equality in the kernel).
enum FileRef: Hashable, Sendable {
    /// A backing object instance (memfd or regular file) created by createObject.
    case object(Int)
    /// The shmem file behind one MAP_SHARED|MAP_ANONYMOUS mmap (shmem_zero_setup).
    case sharedAnon(Int)
    /// A VMA outside the arena: never merges with anything.
    case foreign(Int)
    /// One shmat() of a SysV segment: each attach has a struct file of its own
    /// (do_shmat: alloc_file_clone), so two attaches never merge; `object` is the
    /// segment's shmem file, whose page cache they share.
    case shm(object: Int, attach: Int)
}

struct VMA: Sendable {
    var start: UInt64
    var end: UInt64
    var flags: VMFlags
    /// nil for private anonymous memory (vma_is_anonymous).
    var file: FileRef?
    var pgoff: UInt64
    /// Identity of vma->anon_vma, nil until the first anonymous folio (anon_vma_prepare).
    var anonVma: Int?
    /// The VMA was copied by fork from a VMA with an anon_vma: its anon_vma_chain also
    /// links the parent's anon_vma (vma_had_uncowed_parents() in mm/vma.c).
    var uncowedParents = false
    /// vma->vm_policy set by mbind (nil: the process's default, local allocation).
    var policy: MemPolicy?

    var pages: UInt64 { (end - start) >> pageShift }
    var isForeign: Bool { if case .foreign = file { return true }; return false }
    var isPrivateAnon: Bool { file == nil }
    var isShared: Bool { flags.contains(.shared) }
    /// Page-cache index of the page at `addr` (linear_page_index).
    func index(of addr: UInt64) -> UInt64 { pgoff &+ ((addr - start) >> pageShift) }
    func contains(_ a: UInt64) -> Bool { a >= start && a < end }
}

/// What a present page-table entry maps.
enum PTE: Hashable, Sendable {
    /// The shared zero page (read fault of private anonymous memory), or a page of the
    /// huge zero page (KernelModel.hugeZero says which blocks).
    case zero
    case folio(Int)
    var folioID: Int? { if case let .folio(id) = self { return id }; return nil }
}

struct Folio: Sendable {
    /// An anonymous folio (freed when its last mapping goes); otherwise a page-cache
    /// folio of `file` at `index` that stays in the cache when unmapped.
    var anon: Bool
    var file: FileRef?
    /// Page-cache index, or for an anonymous folio the linear page index of the address
    /// it was made at (folio->index: vma->vm_pgoff + (addr - vm_start) >> PAGE_SHIFT);
    /// a page of a large folio is subpage `vma.index(of: addr) - index`.
    var index: UInt64
    /// Folio order: 1 << order pages (0 for a small folio).
    var order = 0
    /// Mapped by a PMD in the live address space (a PMD-mapped THP); otherwise its
    /// pages are mapped by PTEs.
    var pmdMapped = false
    /// A shmem/page-cache folio's PMD is writable: mapped by a write fault (do_set_pmd
    /// makes a read fault's PMD read-only).
    var pmdWritable = false
    var nr: Int64 { 1 << Int64(order) }
    var large: Bool { order > 0 }
    /// Addresses of the pages mapping it (its rmap; for a PMD-mapped THP every page of
    /// the PMD); for a small folio count = mapcount.
    var maps: Set<UInt64> = []
    var mlocked = false        // PG_mlocked
    /// A page-cache folio whose data was written (pwrite, a store through a shared
    /// mapping) and not written back since (msync MS_SYNC of a regular file): PG_dirty,
    /// or a dirty PTE that unmapping moves to it. Reclaim keeps a dirty folio and drops
    /// a clean one (see pageout).
    var dirty = false
    /// PG_reclaim, which is the same bit as PG_readahead: set by reclaim on a dirty
    /// regular-file folio it could not write (shrink_folio_list), so fault-around
    /// (next_uptodate_folio) skips it until a fault on it clears it
    /// (do_async_mmap_readahead -> page_cache_async_ra) or its writeback ends.
    var reclaimMark = false
    /// An anonymous folio MADV_FREE made lazily freeable and nothing wrote since:
    /// madvise_free_pte_range() cleaned its PTE and folio_mark_lazyfree() cleared
    /// PG_swapbacked. Reclaim (MADV_PAGEOUT) then discards it without swap
    /// (try_to_unmap_one: clean, only the rmap and isolation references); a store makes
    /// the PTE dirty and reclaim keeps it and sets PG_swapbacked again.
    var lazyfree = false
    var unevictable = false    // PG_unevictable (on the unevictable "LRU")
    var mlockCount = 0         // folio->mlock_count
    /// Mappings of the folio in parked address spaces (the processes not acting now, see
    /// Processes.swift), and how many of those are in VM_LOCKED VMAs; a large folio counts
    /// one per parked address space. They do not change while parked; they count in the
    /// mapcount and keep the folio alive.
    var frozenMaps = 0
    var frozenLockedMaps = 0
    /// A hugetlb folio (one 2 MiB page mapped by 512 of the model's PTEs): never on an
    /// LRU, never mlocked, not in smaps Rss.
    var hugetlb = false
    /// The NUMA node its memory is on.
    var node = 0
    /// For a large folio: how many parked address spaces map each of its pages (by
    /// subpage), for the per-page mapcount smaps' PSS uses.
    var frozenPageMaps: [Int64: Int] = [:]
    /// folio_mapcount() over every mm: the active process's PTEs and the parked ones
    /// (for a large folio: whether any page is mapped, used as "mapped at all").
    var mapcount: Int { maps.count + frozenMaps }
    /// No PTE anywhere maps it.
    var unmapped: Bool { mapcount == 0 }
}

/// A shmem or regular file: its size and page cache.
struct BackingObject: Sendable {
    enum Kind: Sendable { case memfd, file, sharedAnon, sysv, ramfs, secret }
    var kind: Kind
    var pages: UInt64
    var cache: [UInt64: Int] = [:]
    /// AS_UNEVICTABLE on the mapping (mapping_unevictable): ramfs and secretmem from
    /// birth, a SysV segment while SHM_LOCKed. folio_evictable() is false for its folios.
    var unevictable = false
    /// memfd_secret with `VersionFacts.secretmemChargesUserOnFault`: the uid whose
    /// user_struct->locked_vm each new page is charged to (the creator's).
    var chargedUID: UInt32?
    /// The readahead state of its one open file (regular files).
    var ra = ReadaheadState()
}

/// A VMA memory policy (mbind): its mode and its one node.
struct MemPolicy: Hashable, Sendable {
    var mode: Int32
    var node: Int
}

/// Result of one simulated fault.
enum FaultResult { case ok, sigbus }
