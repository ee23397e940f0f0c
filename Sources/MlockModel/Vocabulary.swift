// The words shared by the model, the live layer and the scenarios: operations on an
// address space, and the observables the kernel reports after each one.
//
// Addresses are absolute user virtual addresses (UInt64) so that unaligned starts,
// zero lengths and ULONG_MAX lengths reach the model exactly as they reach the kernel.
// Scenarios place their mappings inside a fixed arena (see `Arena`) so that model and
// kernel agree on every address without translation.

public let pageSize: UInt64 = 4096
public let pageShift: UInt64 = 12

/// Where scenarios map memory: a fixed, otherwise empty range of the scenario
/// process's address space. Mappings are made with MAP_FIXED_NOREPLACE inside it.
public enum Arena {
    public static let base: UInt64 = 0x2000_0000_0000
    public static let size: UInt64 = 1 << 40
    public static func contains(_ address: UInt64) -> Bool {
        address >= base && address < base + size
    }
}

/// Memory protection, as PROT_* bits.
public struct Prot: OptionSet, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let read = Prot(rawValue: 1)
    public static let write = Prot(rawValue: 2)
    public static let exec = Prot(rawValue: 4)
    public static let none: Prot = []
    public static let rw: Prot = [.read, .write]
    public var description: String {
        (contains(.read) ? "r" : "-") + (contains(.write) ? "w" : "-") + (contains(.exec) ? "x" : "-")
    }
}

/// A backing object the scenario creates before mapping it: memfd (shmem) or a
/// regular file (an unlinked temporary file on a disk filesystem). Identified by a
/// small slot number chosen by the scenario.
public enum ObjectKind: String, Hashable, Sendable, Codable {
    case memfd
    case file
    /// A file on ramfs, mounted in the scenario process's own mount namespace: its
    /// mapping is unevictable from birth (ramfs_get_inode -> mapping_set_unevictable).
    case ramfs
    /// memfd_secret(2) (CONFIG_SECRETMEM, secretmem.enable): an unevictable mapping whose
    /// mmap is always VM_LOCKED; it cannot be written with write(2).
    case secret
}

/// What a mapping is backed by.
public enum Backing: Hashable, Sendable, Codable, CustomStringConvertible {
    case privateAnon
    case sharedAnon
    /// An object slot mapped MAP_SHARED (true) or MAP_PRIVATE (false), from a page offset.
    case object(slot: Int, shared: Bool, pageOffset: UInt64)

    public var description: String {
        switch self {
        case .privateAnon: return "private anon"
        case .sharedAnon: return "shared anon"
        case let .object(slot, shared, off): return "obj\(slot) \(shared ? "shared" : "private")+\(off)"
        }
    }
}

/// mmap flags the model understands beyond the backing (MAP_FIXED_NOREPLACE is implied).
public struct MapFlags: OptionSet, Hashable, Sendable, Codable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let locked = MapFlags(rawValue: 1 << 0)     // MAP_LOCKED
    public static let populate = MapFlags(rawValue: 1 << 1)   // MAP_POPULATE
    public static let noreserve = MapFlags(rawValue: 1 << 2)  // MAP_NORESERVE
    /// MAP_DROPPABLE (6.11+): a private anon mapping type (0x08 in place of MAP_PRIVATE)
    /// whose pages the kernel may drop; never VM_LOCKED.
    public static let droppable = MapFlags(rawValue: 1 << 3)
    /// MAP_GROWSDOWN (0x0100): VM_GROWSDOWN, smaps `gd`. do_mmap accepts it on private
    /// anonymous mappings only (EINVAL with a file, MAP_SHARED or MAP_DROPPABLE). The VMA
    /// is a stack-like VMA but not `[stack]` (that name is only the process's initial
    /// stack); it merges only with grows-down neighbours, and mlock/populate treat it as
    /// any private anon VMA, all of it. Scenarios never touch below it: stack expansion
    /// (a fault under vm_start, within stack_guard_gap rules) is not modelled.
    public static let growsdown = MapFlags(rawValue: 1 << 4)
    /// MAP_HUGETLB (0x40000) with the default huge page size (2 MiB on x86_64): a
    /// hugetlbfs mapping. Never VM_LOCKED, never counted in locked_vm, pages never on an
    /// LRU (so never PG_mlocked nor PG_unevictable), not in smaps Rss; populated by
    /// MAP_LOCKED and mlock all the same. Private anonymous only in scenarios.
    public static let hugetlb = MapFlags(rawValue: 1 << 5)
}

/// The default huge page size (x86_64): hugetlb mappings are made of these.
public let hugePageSize: UInt64 = 2 << 20

/// shmctl(2) commands the model knows (ipc/shm.c ksys_shmctl).
public enum ShmCommand: Int32, Hashable, Sendable, CaseIterable, Codable {
    case remove = 0        // IPC_RMID
    case lock = 11         // SHM_LOCK
    case unlock = 12       // SHM_UNLOCK
    public var name: String {
        switch self {
        case .remove: return "IPC_RMID"
        case .lock: return "SHM_LOCK"
        case .unlock: return "SHM_UNLOCK"
        }
    }
}

/// Raw flag values, as the kernel's UAPI defines them, so that ops can carry invalid
/// combinations unchanged.
public enum UAPI {
    public static let MLOCK_ONFAULT: UInt32 = 0x01
    public static let MCL_CURRENT: Int32 = 1
    public static let MCL_FUTURE: Int32 = 2
    public static let MCL_ONFAULT: Int32 = 4
    public static let MREMAP_MAYMOVE: Int32 = 1
    public static let MREMAP_FIXED: Int32 = 2
    public static let MREMAP_DONTUNMAP: Int32 = 4
    public static let MADV_NORMAL: Int32 = 0
    public static let MADV_RANDOM: Int32 = 1
    public static let MADV_SEQUENTIAL: Int32 = 2
    public static let MADV_WILLNEED: Int32 = 3
    public static let MADV_DONTNEED: Int32 = 4
    public static let MADV_FREE: Int32 = 8
    public static let MADV_REMOVE: Int32 = 9
    public static let MADV_DONTFORK: Int32 = 10
    public static let MADV_DOFORK: Int32 = 11
    public static let MADV_HUGEPAGE: Int32 = 14
    public static let MADV_NOHUGEPAGE: Int32 = 15
    public static let MADV_COLD: Int32 = 20
    public static let MADV_PAGEOUT: Int32 = 21
    public static let MADV_POPULATE_READ: Int32 = 22
    public static let MADV_POPULATE_WRITE: Int32 = 23
    public static let MADV_DONTNEED_LOCKED: Int32 = 24
    public static let MADV_COLLAPSE: Int32 = 25
    public static let MS_ASYNC: Int32 = 1
    public static let MS_INVALIDATE: Int32 = 2
    public static let MS_SYNC: Int32 = 4
    public static let RLIM_INFINITY: UInt64 = ~0
    public static let MPOL_DEFAULT: Int32 = 0
    public static let MPOL_PREFERRED: Int32 = 1
    public static let MPOL_BIND: Int32 = 2
    public static let MPOL_MF_STRICT: UInt32 = 1 << 0
    public static let MPOL_MF_MOVE: UInt32 = 1 << 1
    public static let MPOL_MF_MOVE_ALL: UInt32 = 1 << 2
}

/// errno values the model predicts (Linux x86_64 numbering).
public enum Err {
    public static let EPERM: Int32 = 1
    public static let ENOENT: Int32 = 2
    public static let ESRCH: Int32 = 3
    public static let EBADF: Int32 = 9
    public static let EAGAIN: Int32 = 11
    public static let ENOMEM: Int32 = 12
    public static let EACCES: Int32 = 13
    public static let EFAULT: Int32 = 14
    public static let EBUSY: Int32 = 16
    public static let EEXIST: Int32 = 17
    public static let ENODEV: Int32 = 19
    public static let EINVAL: Int32 = 22
    public static let ESPIPE: Int32 = 29
    public static let EIDRM: Int32 = 43
    public static let EIO: Int32 = 5
    public static let ENOSYS: Int32 = 38
    public static let EOPNOTSUPP: Int32 = 95

    public static func name(_ e: Int32) -> String {
        switch e {
        case 0: return "0"
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case ESRCH: return "ESRCH"
        case EBADF: return "EBADF"
        case EAGAIN: return "EAGAIN"
        case ENOMEM: return "ENOMEM"
        case EACCES: return "EACCES"
        case EFAULT: return "EFAULT"
        case EBUSY: return "EBUSY"
        case EEXIST: return "EEXIST"
        case EINVAL: return "EINVAL"
        case ESPIPE: return "ESPIPE"
        case EIDRM: return "EIDRM"
        case ENODEV: return "ENODEV"
        case EIO: return "EIO"
        case ENOSYS: return "ENOSYS"
        case EOPNOTSUPP: return "EOPNOTSUPP"
        default: return "errno \(e)"
        }
    }
}

/// One step of a scenario. Every case maps to exactly one syscall (or one loop of
/// touches) in the scenario process.
public enum Op: Hashable, Sendable, Codable {
    /// Create backing object `slot` of `pages` pages; `filled` writes every page
    /// (with pwrite, one page at a time) so that it is in the page cache.
    case createObject(slot: Int, kind: ObjectKind, pages: UInt64, filled: Bool)
    /// mmap(addr, length, prot, backing | flags | MAP_FIXED_NOREPLACE).
    case map(addr: UInt64, length: UInt64, prot: Prot, backing: Backing, flags: MapFlags)
    case munmap(addr: UInt64, length: UInt64)
    case mprotect(addr: UInt64, length: UInt64, prot: Prot)
    /// mremap(old, oldLength, newLength, flags, newAddr); newAddr used with MREMAP_FIXED.
    case mremap(old: UInt64, oldLength: UInt64, newLength: UInt64, flags: Int32, newAddr: UInt64)
    /// Touch one byte in every page of [addr, addr+length), in order: read or write.
    /// Returns the number of pages touched; a page that faults (SIGSEGV/SIGBUS) stops
    /// the loop with -1 EFAULT, the pages before it touched.
    case touch(addr: UInt64, length: UInt64, write: Bool)
    case mlock(addr: UInt64, length: UInt64)
    case mlock2(addr: UInt64, length: UInt64, flags: UInt32)
    case munlock(addr: UInt64, length: UInt64)
    case mlockall(flags: Int32)
    case munlockall
    case madvise(addr: UInt64, length: UInt64, advice: Int32)
    /// msync(addr, length, flags): flags raw (MS_ASYNC, MS_INVALIDATE, MS_SYNC).
    case msync(addr: UInt64, length: UInt64, flags: Int32)
    /// setrlimit(RLIMIT_MEMLOCK, soft, hard) in the scenario process.
    case setMemlockLimit(soft: UInt64, hard: UInt64)
    /// Drop CAP_IPC_LOCK from the scenario process's effective and permitted sets.
    case dropCapIpcLock
    /// fork(): a new process, the next index, with a copy of the caller's address space.
    /// Steps without a process name go to the newest living process (the child); the
    /// parent keeps its mappings and locks and acts again when a step names it. Returns
    /// the child's pid, which the model cannot know: it predicts 0 for success.
    case fork
    /// setresuid(uid, uid, uid) in the scenario process: from root to a non-zero uid
    /// every capability is dropped (CAP_IPC_LOCK and CAP_SYS_RESOURCE among them).
    case setuid(UInt32)
    /// The process exits (_exit(0)): its address space is torn down (exit_mmap). It
    /// answers nothing; the model predicts 0.
    case exit
    /// shmget(suite key of `segment`, pages * 4096, IPC_CREAT|IPC_EXCL|0600): a SysV
    /// shared memory segment. `segment` (0-15) is the scenario's name for it; the runner
    /// gives it one of the suite's keys and removes it afterwards. Returns the shmid,
    /// which the model cannot know: it predicts 0 for success.
    case shmget(segment: Int, pages: UInt64)
    /// shmat(segment, addr, readOnly ? SHM_RDONLY : 0): returns addr.
    case shmat(segment: Int, addr: UInt64, readOnly: Bool)
    /// shmdt(addr).
    case shmdt(addr: UInt64)
    /// shmctl(segment, SHM_LOCK / SHM_UNLOCK / IPC_RMID, NULL).
    case shmctl(segment: Int, command: ShmCommand)
    /// ftruncate(object fd, pages * 4096).
    case truncate(slot: Int, pages: UInt64)
    /// fallocate(object fd, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE, page offsets).
    case punchHole(slot: Int, firstPage: UInt64, pages: UInt64)
    /// Write 1 to /proc/sys/vm/compact_memory: compact every zone of the machine. Made by
    /// the runner (the setting is machine-wide); which pages move is the kernel's choice.
    case compactMemory
    /// move_pages(0, pages, {addr + i*4096}, {node}, status, flags) in the scenario
    /// process: every page to one node. The result carries the per-page status.
    case movePages(addr: UInt64, pages: UInt64, to: NodeTarget, flags: UInt32)
    /// mbind(addr, length, mode, {node} or none, flags) in the scenario process.
    case mbind(addr: UInt64, length: UInt64, mode: Int32, node: NodeTarget?, flags: UInt32)
    /// Reclaim inside the scenario's own memory cgroup (with swap on), made by the
    /// runner, until every folio the scenario charged there has been scanned: the
    /// model predicts the eventual state (Reclaim.swift), the runner waits for it.
    case reclaim
}

/// A NUMA node, named from the scenario process's point of view: the node of the CPU it
/// runs on (where its pages are allocated by default) or another node with memory.
public enum NodeTarget: String, Hashable, Sendable, Codable {
    case local, remote
}

/// The NUMA nodes a scenario runs on (a machine with two or more nodes with memory).
public struct NUMANodes: Hashable, Sendable {
    /// The node of the scenario process's CPU.
    public var local: Int
    /// Another node with memory.
    public var remote: Int
    public init(local: Int, remote: Int) { self.local = local; self.remote = remote }
    public func id(_ t: NodeTarget) -> Int { t == .local ? local : remote }
}

/// A machine-wide setting a scenario needs: the runner applies it (journaled) before the
/// scenario's first op and restores it afterwards; the model is told its value.
public enum Setting: Hashable, Sendable, CustomStringConvertible {
    /// /proc/sys/vm/compact_unevictable_allowed: whether compaction may isolate (and so
    /// move) pages on the unevictable LRU, mlocked pages among them.
    case compactUnevictableAllowed(Bool)
    /// A file under /sys/kernel/mm/transparent_hugepage ("hugepages-64kB/enabled",
    /// "shmem_enabled") and the value written. The model learns the THP settings in
    /// force from THPSettings, which the runner reads after writing them.
    case thp(file: String, value: String)

    public var description: String {
        switch self {
        case let .compactUnevictableAllowed(on): return "compact_unevictable_allowed=\(on ? 1 : 0)"
        case let .thp(file, value): return "transparent_hugepage/\(file)=\(value)"
        }
    }
}

/// A syscall's outcome: the raw return value and errno (0 when it succeeded).
public struct OpResult: Hashable, Sendable, CustomStringConvertible {
    public var ret: Int64
    public var errno: Int32
    /// move_pages' status array (a node, or -errno, per page); nil for other calls and
    /// when the call failed before filling it.
    public var status: [Int32]?
    public init(ret: Int64, errno: Int32, status: [Int32]? = nil) {
        self.ret = ret; self.errno = errno; self.status = status
    }
    public static let ok = OpResult(ret: 0, errno: 0)
    public static func fail(_ e: Int32) -> OpResult { OpResult(ret: -1, errno: e) }
    public var description: String {
        (errno == 0 ? "\(ret)" : "-1 \(Err.name(errno))") + (status.map { " status [\(Self.runs($0))]" } ?? "")
    }

    /// "1 x3, -ENOENT, 1" -- runs of equal status values, errors by name, "unwritten" for
    /// a slot the kernel left alone.
    static func runs(_ s: [Int32]) -> String {
        var out: [String] = []
        var i = 0
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[i] { j += 1 }
            // Int32.min: the agent's mark for a slot the kernel never wrote (a move_pages
            // that did not run); negating it would overflow.
            let v = s[i] == Int32.min ? "unwritten" : s[i] < 0 ? "-" + Err.name(-s[i]) : "\(s[i])"
            out.append(j > i ? "\(v) x\(j - i + 1)" : v)
            i = j + 1
        }
        return out.joined(separator: ", ")
    }
}

/// One VMA of the arena, as /proc/PID/smaps shows it.
public struct VMAView: Hashable, Sendable, CustomStringConvertible {
    public var start: UInt64
    public var end: UInt64
    public var prot: Prot
    public var shared: Bool
    /// `lo` in VmFlags (VM_LOCKED).
    public var locked: Bool
    /// smaps Rss and Locked, in kB.
    public var rssKB: UInt64
    public var lockedKB: UInt64
    /// The madvise-set VmFlags mnemonics among `VMAView.adviceMnemonics`, sorted ("hg",
    /// "dc", ...): a madvise that returned 0 must have set them.
    public var advice: [String]
    /// smaps AnonHugePages, in kB: anonymous folios mapped by a PMD (PTE-mapped large
    /// folios do not count).
    public var anonHugeKB: UInt64
    /// smaps ShmemPmdMapped + FilePmdMapped, in kB: shmem and page-cache folios mapped by
    /// a PMD.
    public var filePmdKB: UInt64
    public init(start: UInt64, end: UInt64, prot: Prot, shared: Bool, locked: Bool, rssKB: UInt64, lockedKB: UInt64,
                advice: [String] = [], anonHugeKB: UInt64 = 0, filePmdKB: UInt64 = 0) {
        self.start = start; self.end = end; self.prot = prot; self.shared = shared
        self.locked = locked; self.rssKB = rssKB; self.lockedKB = lockedKB; self.advice = advice
        self.anonHugeKB = anonHugeKB; self.filePmdKB = filePmdKB
    }
    /// VmFlags that madvise sets and smaps prints (show_smap_vma_flags): VM_HUGEPAGE hg,
    /// VM_NOHUGEPAGE nh, VM_DONTCOPY dc, VM_DONTDUMP dd, VM_WIPEONFORK wf, VM_SEQ_READ sr,
    /// VM_RAND_READ rr.
    public static let adviceMnemonics: Set<String> = ["hg", "nh", "dc", "dd", "wf", "sr", "rr"]
    public var description: String {
        let s = String(start, radix: 16), e = String(end, radix: 16)
        return "\(s)-\(e) \(prot)\(shared ? "s" : "p")\(locked ? " lo" : "")\(advice.map { " " + $0 }.joined()) Rss=\(rssKB)kB Locked=\(lockedKB)kB"
            + (anonHugeKB > 0 ? " AnonHugePages=\(anonHugeKB)kB" : "")
    }
}

/// One arena page at the page layer: pagemap presence and kpageflags bits.
public struct PageView: Hashable, Sendable {
    public var present: Bool
    /// Mapped to the shared zero page (KPF_ZERO_PAGE).
    public var zero: Bool
    /// KPF_MLOCKED (bit 33).
    public var mlocked: Bool
    /// KPF_UNEVICTABLE (bit 18).
    public var unevictable: Bool
    /// KPF_THP (bit 22): the page belongs to a large anonymous (or LRU) folio of any
    /// order, PMD-sized or not, or to the huge zero folio.
    public var thp: Bool
    /// KPF_COMPOUND_HEAD (15) / KPF_COMPOUND_TAIL (16): first page / other pages of a
    /// large folio.
    public var head: Bool
    public var tail: Bool
    public init(present: Bool, zero: Bool = false, mlocked: Bool = false, unevictable: Bool = false,
                thp: Bool = false, head: Bool = false, tail: Bool = false) {
        self.present = present; self.zero = zero; self.mlocked = mlocked; self.unevictable = unevictable
        self.thp = thp; self.head = head; self.tail = tail
    }
    public static let absent = PageView(present: false)
    /// One letter for page maps: '.' absent, 'z' zero page, 'p' present, 'u' unevictable
    /// only, 'm' mlocked but not unevictable, 'M' mlocked and unevictable.
    public var glyph: Character {
        if !present { return "." }
        if zero { return "z" }
        switch (mlocked, unevictable) {
        case (true, true): return "M"
        case (true, false): return "m"
        case (false, true): return "u"
        case (false, false): return "p"
        }
    }
}

/// System-wide page-layer counters, in pages. The model predicts its own arena's
/// contribution; the live layer compares step-to-step deltas.
public struct Counters: Hashable, Sendable {
    public var mlocked: Int64 = 0        // meminfo Mlocked / vmstat nr_mlock
    public var unevictable: Int64 = 0    // meminfo Unevictable / vmstat nr_unevictable
    public var pgMlocked: Int64 = 0      // unevictable_pgs_mlocked
    public var pgMunlocked: Int64 = 0    // unevictable_pgs_munlocked
    public var pgCulled: Int64 = 0       // unevictable_pgs_culled
    public var pgRescued: Int64 = 0      // unevictable_pgs_rescued
    public var pgCleared: Int64 = 0      // unevictable_pgs_cleared
    public var pgStranded: Int64 = 0     // unevictable_pgs_stranded
    public init() {}

    public static let fieldNames = ["Mlocked", "Unevictable", "unevictable_pgs_mlocked",
        "unevictable_pgs_munlocked", "unevictable_pgs_culled", "unevictable_pgs_rescued",
        "unevictable_pgs_cleared", "unevictable_pgs_stranded"]
    public var fields: [Int64] {
        [mlocked, unevictable, pgMlocked, pgMunlocked, pgCulled, pgRescued, pgCleared, pgStranded]
    }
    public static func - (a: Counters, b: Counters) -> Counters {
        var r = Counters()
        r.mlocked = a.mlocked - b.mlocked; r.unevictable = a.unevictable - b.unevictable
        r.pgMlocked = a.pgMlocked - b.pgMlocked; r.pgMunlocked = a.pgMunlocked - b.pgMunlocked
        r.pgCulled = a.pgCulled - b.pgCulled; r.pgRescued = a.pgRescued - b.pgRescued
        r.pgCleared = a.pgCleared - b.pgCleared; r.pgStranded = a.pgStranded - b.pgStranded
        return r
    }
}

/// Everything compared after a step. Predictions and observations share this type.
public struct StepView: Hashable, Sendable {
    public var result: OpResult
    /// The arena's VMAs, in address order.
    public var vmas: [VMAView]
    /// status VmLck of the scenario process, in kB (arena and the rest of the process).
    public var vmLckKB: UInt64
    /// Page layer, for every page of every arena VMA, keyed by page address.
    public var pages: [UInt64: PageView]
    /// The arena's page-layer counters (cumulative since the scenario started).
    public var counters: Counters
    public init(result: OpResult, vmas: [VMAView], vmLckKB: UInt64, pages: [UInt64: PageView], counters: Counters) {
        self.result = result; self.vmas = vmas; self.vmLckKB = vmLckKB; self.pages = pages; self.counters = counters
    }
}

/// The kernel's mlock rules changed over time; the model takes the era it predicts.
public enum KernelProfile: String, CaseIterable, Codable, Sendable {
    /// Before 5.18: munlock walks the rmap; file pages faulted into an ONFAULT range
    /// are not mlocked at fault.
    case pre518 = "pre-5.18"
    /// 5.18 on: per-folio mlock_count, batched mlock/munlock, PMD-mapped THPs mlocked
    /// whole, PTE-mapped large folios never.
    case mlockCount = "5.18"
    /// 6.7 on: large folios wholly inside a locked range are mlocked, folios crossing
    /// its edge are not.
    case largeFolio = "6.7"
    /// 6.18 on: as 6.7, and an rmap add that maps a whole large folio into a VM_LOCKED
    /// VMA mlocks it (so a PMD split inside a locked VMA keeps the folio mlocked).
    case rmapLargeFolio = "6.18"

    /// mlock_pte_range() mlocks a PTE-mapped large folio wholly inside the walked range
    /// and mapped by it entirely (6.7, dc68badcede4 "mm: mlock: update mlock_pte_range
    /// to handle large folio"); before, PTE-mapped pieces of a compound page were skipped.
    public var mlocksPTEMappedLargeFolios: Bool { self == .largeFolio || self == .rmapLargeFolio }
    /// __folio_add_anon_rmap/__folio_add_file_rmap mlock a large folio when the call
    /// maps all of it (`folio_nr_pages(folio) == nr_pages`; Kiryl Shutsemau, "mm/rmap:
    /// mlock large folios ...", 2025, seen on 6.18); before, only small folios.
    public var rmapMlocksWholeLargeFolio: Bool { self == .rmapLargeFolio }
    /// A range that has an anon_vma merges into a neighbour that has none (879bca0a2c4f
    /// "mm/vma: fix incorrectly disallowed anonymous VMA merges", 6.16: is_mergeable_anon_vma
    /// then refuses only a fork child, vma_had_uncowed_parents). Before, the neighbour's
    /// anon_vma_chain had to be singular, and a neighbour without an anon_vma has an empty
    /// one (6.1 mm/mmap.c, 6.12 mm/vma.c), so such a merge was refused.
    /// TODO(profile): 6.16 and 6.17 have it but fall in `.largeFolio` (6.7-6.17). 6.12.y
    /// has not backported it up to 6.12.117 (not in Debian's changelog), so `.largeFolio`
    /// is right for every 6.12.
    public var mergesFaultedRangeIntoUnfaultedNeighbour: Bool { self == .rmapLargeFolio }
    /// free_pages_and_swap_cache() (the mmu_gather's page freeing at TLB flush) no longer
    /// calls lru_add_drain() (Rik van Riel, "mm: remove unnecessary calls to lru_add_drain",
    /// mm tree for 6.14), so the munlocks of a zap wait in the per-CPU mlock batch past the
    /// unmap. Before, the flush drained them at once: 6.1 and 6.12 munlock the pages of a
    /// SHM_LOCKed segment or a ramfs file while their mapping is still unevictable, and
    /// shm_destroy / truncation then frees them from the unevictable list, no rescue
    /// (seen in the VM: unevictable_pgs_rescued +0 on shmdt and ftruncate).
    /// TODO(profile): 6.14-6.17 have it but fall in `.largeFolio`. Not backported to
    /// 6.12.y up to 6.12.117 nor to 6.1.y up to 6.1.192 (Debian changelogs).
    public var munlockBatchOutlivesTLBFlush: Bool { self == .rmapLargeFolio }
    /// FOLIO_BATCH_SIZE: the per-CPU lru_add and mlock batches hold 31 folios since
    /// 9cecde80aae0 ("mm: increase folio batch size", 6.9), 15 before (measured through
    /// MADV_COLLAPSE of 512 locked pages: 6.18 and 6.12 strand 16 = 512 - 16 x 31, 6.1
    /// strands 2 = 512 - 34 x 15).
    /// TODO(profile): 6.7 and 6.8 have 15 but fall in `.largeFolio`.
    public var folioBatchSize: Int { self == .pre518 || self == .mlockCount ? 15 : 31 }
    /// shrink_folio_list() splits an anonymous large folio that no PMD maps before
    /// add_to_swap ("Split folios without a PMD map right away": `!folio_entire_mapcount`,
    /// 6.1 mm/vmscan.c); since the partially-mapped folio flag (6.12 mm/vmscan.c: "Split
    /// partially mapped folios right away", `folio_test_partially_mapped`) a PTE-mapped
    /// folio mapped whole is swapped out whole. Seen in the VM: 6.1 splits a locked,
    /// PTE-mapped THP and the rmap walk then mlocks its small pages; 6.12 does not.
    /// TODO(profile): 6.7-6.11 still split but fall in `.largeFolio`.
    public var reclaimSplitsPTEMappedLargeFolios: Bool { self == .pre518 || self == .mlockCount }
    /// kpageflags reports a large folio's PG_mlocked / PG_unevictable on every page
    /// (stable_page_flags() reads the folio's flags since its folio rewrite); older
    /// kernels (6.1 measured) show them on the head page only.
    /// TODO(profile): the rewrite is between 6.1 and 6.12; 6.7/6.8 may still be head-only.
    public var kpageflagsShowFolioFlagsOnTails: Bool { self == .largeFolio || self == .rmapLargeFolio }
}

/// Rules that changed inside a stable series, by a backport, so they are not eras of
/// `KernelProfile`: the runner chooses them from the full version (`Profiles.versionFacts`).
public struct VersionFacts: Hashable, Sendable, Codable {
    /// memfd_secret pages are charged to a user, not locked in an mm ("mm/secretmem:
    /// properly account locked pages", CVE-2026-93243: mainline in the 7.3-rc cycle,
    /// stable 6.12.113 and 6.1.191; compared in the Debian sources of 6.12.111/6.12.113
    /// and 6.1.190/6.1.192). Before, secretmem's mmap checked mlock_future_ok() (EAGAIN
    /// over RLIMIT_MEMLOCK without CAP_IPC_LOCK) and made the VMA VM_LOCKED, counted in
    /// mm->locked_vm, its pages mlocked at fault. After, mmap only adds VM_DONTDUMP: no
    /// VM_LOCKED, no locked_vm, no limit check; each page the fault adds to the file is
    /// charged to the user_struct of the file's creator (user->locked_vm, as io_uring and
    /// perf charge) against the faulting task's RLIMIT_MEMLOCK, with no CAP_IPC_LOCK
    /// exemption; over the limit the fault is SIGBUS. The charge lasts until the file is
    /// released (not at munmap). The pages stay unevictable (the mapping is) but are not
    /// PG_mlocked unless the VMA is VM_LOCKED for another reason (MCL_FUTURE, MAP_LOCKED).
    public var secretmemChargesUserOnFault: Bool
    /// filemap_map_pages() installs no page table for a window whose first cached folio
    /// reaches a regular file's end ("mm/memory: do not populate page table entries
    /// beyond i_size": can_map_large, filemap_map_pmd skipped), so with no table in the
    /// block such a fault-around maps nothing. Mainline 6.18 (the `.rmapLargeFolio`
    /// profile has it anyway); this fact carries the stable backport: 6.12.59 on (the
    /// Debian 6.12.117 changelog lists it under 6.12.59; seen in the 6.12.117 guest by
    /// edge.mremap-table.realign-takes-the-first-table), not 6.1 (not in 6.1.192's).
    public var faultAroundMapsNoTableAtEOF: Bool
    public init(secretmemChargesUserOnFault: Bool = false, faultAroundMapsNoTableAtEOF: Bool = false) {
        self.secretmemChargesUserOnFault = secretmemChargesUserOnFault
        self.faultAroundMapsNoTableAtEOF = faultAroundMapsNoTableAtEOF
    }
    /// The facts that hold, by name ("secretmem-charges-user-on-fault"), for records.
    public var names: [String] {
        (secretmemChargesUserOnFault ? ["secretmem-charges-user-on-fault"] : [])
            + (faultAroundMapsNoTableAtEOF ? ["fault-around-maps-no-table-at-eof"] : [])
    }
}

/// How a transparent huge page size is enabled (sysfs `enabled` files).
public enum THPMode: String, Hashable, Sendable, Codable {
    case always, madvise, never
    /// hugepages-<size>kB/enabled only: follow the top-level `enabled`.
    case inherit
}

/// shmem_enabled values (mm/shmem.c SHMEM_HUGE_*); `inherit` only in the per-size files.
public enum ShmemHuge: String, Hashable, Sendable, Codable {
    case always, never, advise, deny, force, inherit
    case withinSize = "within_size"
}

/// The machine's THP settings for anonymous memory, an input of the model (the live
/// layer reads them from /sys/kernel/mm/transparent_hugepage; the model never does).
public struct THPSettings: Hashable, Sendable {
    /// transparent_hugepage/enabled: always, madvise or never.
    public var enabled: THPMode
    /// hugepages-<size>kB/enabled by folio order (x86_64: 2 = 16 kB ... 9 = 2 MiB, the PMD
    /// order). A missing order is never used.
    public var anonOrders: [Int: THPMode]
    /// transparent_hugepage/use_zero_page: a read fault on a range where a PMD THP could
    /// be made maps the huge zero page.
    public var useZeroPage: Bool
    /// transparent_hugepage/shmem_enabled: the huge option of the internal shmem mount
    /// (memfd, shared anonymous memory, SysV shm), and `deny`/`force` over all mounts.
    public var shmemEnabled: ShmemHuge
    /// hugepages-2048kB/shmem_enabled: the PMD size for anonymous shmem (MAP_SHARED |
    /// MAP_ANONYMOUS) on kernels with per-size shmem controls (6.11 on); `inherit`
    /// follows shmem_enabled. Smaller shmem sizes are not modelled (the runner keeps
    /// them `never`).
    public var shmemPMD: ShmemHuge
    /// Regular files in the scenarios' directory live on a filesystem whose page cache
    /// takes large folios (mapping_large_folio_support: ext4 from 6.16, xfs, btrfs...):
    /// a read fault in a VM_HUGEPAGE file VMA reads ahead PMD-sized folios. A stated
    /// assumption, not an observation: where it is false the kernel makes small folios
    /// and the scenarios that need large ones skip (LargeFolioExpectation).
    public var fileLargeFolios: Bool
    public init(enabled: THPMode, anonOrders: [Int: THPMode], useZeroPage: Bool = true,
                shmemEnabled: ShmemHuge = .never, shmemPMD: ShmemHuge = .inherit, fileLargeFolios: Bool = true) {
        self.enabled = enabled; self.anonOrders = anonOrders; self.useZeroPage = useZeroPage
        self.shmemEnabled = shmemEnabled; self.shmemPMD = shmemPMD; self.fileLargeFolios = fileLargeFolios
    }
    /// No THP anywhere: every folio is order 0 (the model's behaviour before THPs).
    public static let disabled = THPSettings(enabled: .never, anonOrders: [:])
    /// The defaults of most distributions with `madvise`: PMD THPs for MADV_HUGEPAGE
    /// ranges only, no mTHP.
    public static let madvise = THPSettings(enabled: .madvise, anonOrders: [pmdOrder: .inherit])
}

/// HPAGE_PMD_ORDER on x86_64 (2 MiB folios).
public let pmdOrder = 9
public let pmdSize: UInt64 = pageSize << UInt64(pmdOrder)
