// The reference model of the kernel's locked-memory accounting, for one scenario
// process. `apply` predicts each syscall's return value and errno and updates the
// state; `view` gives the settled observables (per-CPU LRU/mlock batches drained,
// vmstat folded).
//
// Kernel reference for every rule: Linux 6.18 (mm/mlock.c, mm/mmap.c, mm/vma.c,
// mm/mprotect.c, mm/mremap.c, mm/madvise.c, mm/gup.c, mm/memory.c, mm/swap.c,
// mm/rmap.c, fs/proc/task_mmu.c). Comments cite the function each rule comes from.
//
// Scope v1: order-0 folios only (no THP/mTHP, no large page-cache folios); kinds:
// private anon, shared anon, memfd (shmem) and regular files mapped shared or private.
// `.pre518` differs only where that is cheap (see PageLayer.swift and README notes).

/// A VMA of the scenario process outside the arena (its binary, libc, stack, vdso...).
public struct ForeignVMA: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var prot: Prot
    /// VM_IO / VM_PFNMAP / VM_DONTEXPAND / VM_MIXEDMAP (smaps VmFlags io/pf/de/mm):
    /// never gets VM_LOCKED, not counted.
    public var special: Bool
    /// VM_LOCKED at the start.
    public var locked: Bool
    public init(start: UInt64, end: UInt64, prot: Prot, special: Bool, locked: Bool) {
        self.start = start; self.end = end; self.prot = prot
        self.special = special; self.locked = locked
    }
}

/// The scenario process as it is before the first op.
public struct ProcessSetup: Sendable {
    /// The initial address space outside the arena.
    public var foreign: [ForeignVMA]
    /// RLIMIT_MEMLOCK in bytes (UAPI.RLIM_INFINITY = unlimited).
    public var memlockSoft: UInt64
    public var memlockHard: UInt64
    /// CAP_IPC_LOCK in the effective set at start.
    public var capIpcLock: Bool
    /// read_ahead_kb of the block device holding the agent's regular-file objects
    /// (/sys/class/bdi/<dev>/read_ahead_kb; 128 on most machines, 8192 on the lab VM).
    /// A fault on a page of a regular file that is not cached reads around it
    /// (do_sync_mmap_readahead), which decides which pages a later fault-around maps.
    public var fileReadAheadKB: UInt64
    /// CAP_SYS_RESOURCE (raising the hard RLIMIT_MEMLOCK) and CAP_SETUID in the
    /// effective set at start, and the uid (real = effective = saved). A container may
    /// run root without CAP_SYS_RESOURCE.
    public var capSysResource: Bool
    public var capSetuid: Bool
    public var uid: UInt32
    /// The machine-wide settings the scenario runs under (applied by the runner).
    public var settings: [Setting]
    /// The NUMA nodes, on a machine with two or more nodes with memory; nil on one node
    /// (node 0).
    public var numa: NUMANodes?
    /// The THP settings in force while the scenario runs (read by the live layer).
    public var thp: THPSettings
    public init(foreign: [ForeignVMA], memlockSoft: UInt64, memlockHard: UInt64, capIpcLock: Bool,
                fileReadAheadKB: UInt64 = 128, capSysResource: Bool = true, capSetuid: Bool = true,
                uid: UInt32 = 0, settings: [Setting] = [], numa: NUMANodes? = nil, thp: THPSettings = .disabled) {
        self.foreign = foreign; self.memlockSoft = memlockSoft
        self.memlockHard = memlockHard; self.capIpcLock = capIpcLock
        self.fileReadAheadKB = fileReadAheadKB
        self.capSysResource = capSysResource; self.capSetuid = capSetuid; self.uid = uid
        self.settings = settings; self.numa = numa
        self.thp = thp
    }
}

/// A deliberately wrong rule, planted to prove that the live suite really compares:
/// with one planted, runs on a correct kernel must fail.
public enum PlantedRule: String, CaseIterable, Codable, Sendable {
    /// munlock clears VM_LOCKED and locked_vm but forgets to munlock the pages.
    case munlockKeepsPagesMlocked = "munlock-keeps-pages-mlocked"
    /// exit tears the address space down without munlocking: pages of locked VMAs are
    /// freed (or left in the page cache) still PG_mlocked.
    case exitSkipsMunlock = "exit-skips-munlock"
}

public struct KernelModel: Sendable {
    public let profile: KernelProfile
    /// Rules a stable backport changed within a series (chosen by full version).
    public var facts = VersionFacts()
    /// Wrong rules planted on purpose (empty in every real run).
    public var planted: Set<PlantedRule> = []

    /// Where the model places a mapping whose address the kernel chooses itself
    /// (mremap MREMAP_MAYMOVE without MREMAP_FIXED when the VMA cannot grow in place,
    /// or a DONTUNMAP hint that is not free). The kernel puts it below mmap_base,
    /// outside the arena, at an address the model cannot know: a prediction at or above
    /// this base means "some address outside the arena". Scenarios that need exact
    /// addresses use MREMAP_FIXED inside the arena.
    public static let kernelChosenAddressBase: UInt64 = 0x7000_0000_0000

    // VMA layer
    var vmas: [VMA] = []
    var lockedVM: UInt64 = 0            // mm->locked_vm, pages
    var defFlags: VMFlags = []          // mm->def_flags & VM_LOCKED_MASK
    var memlockSoft: UInt64
    var memlockHard: UInt64
    var capIpcLock: Bool
    /// CAP_SYS_RESOURCE, CAP_SETUID and the uid, from the setup; setuid from 0 to a
    /// non-zero uid drops both capabilities.
    var capSysResource: Bool
    var capSetuid: Bool
    var uid: UInt32

    // SysV shared memory (machine-wide: shared by every process of the scenario)
    /// Segments by their shmem file's object id, and the scenario's segment numbers.
    var sysv: [Int: SysVSegment] = [:]
    var segmentForNumber: [Int: Int] = [:]
    /// UCOUNT_RLIMIT_MEMLOCK per uid (user_shm_lock), in pages: what SHM_LOCK charged.
    /// Taken to start at 0 for every uid (no other SHM_LOCKed segment on the machine).
    var shmLockedPages: [UInt32: UInt64] = [:]
    /// user_struct->locked_vm per uid, in pages: what memfd_secret faults charged (with
    /// `facts.secretmemChargesUserOnFault`). Taken to start at 0 for every uid (nothing
    /// else of that uid charges it: no io_uring buffers, perf buffers or RDMA pins).
    var userLockedVM: [UInt32: UInt64] = [:]

    // Page layer
    var ptes: [UInt64: PTE] = [:]
    var folios: [Int: Folio] = [:]
    var objects: [Int: BackingObject] = [:]
    var objectForSlot: [Int: Int] = [:]
    var counters = Counters()
    /// THP settings (scenario input) and the page-table state THPs depend on: PMD blocks
    /// (2 MiB-aligned addresses) that have a PTE table (pmd_none is false: no PMD THP can
    /// be faulted there), and those mapped by the huge zero page.
    let thp: THPSettings
    var pteTables: Set<UInt64> = []
    var hugeZero: Set<UInt64> = []

    /// ra->ra_pages for regular files (read_ahead_kb / 4).
    let readAroundPages: UInt64

    // Migration
    /// sysctl_compact_unevictable_allowed (the kernel's default is 1, 0 on PREEMPT_RT).
    var compactUnevictableAllowed = true
    let numa: NUMANodes?
    /// What the last migrating op (compaction, move_pages, mbind) did to page frames.
    var lastFrames: FramePrediction?

    /// Files (shmem objects) still mapped by a parked process: they outlive the active
    /// process's last mapping of them.
    var frozenFiles: Set<FileRef> = []

    var nextID = 1
    var nextKernelChosen = KernelModel.kernelChosenAddressBase
    /// The address the kernel chose for the next mapping it places itself (an input read
    /// from the op's result, see kernelChosenAddress); consumed by that placement.
    public var chosenAddress: UInt64?

    // Processes. The fields above marked "VMA layer" and `ptes`/`objectForSlot` are the
    // address space of the process ops are applied to (`active`); the others wait in
    // `parked`, their PTEs counted in their folios as frozen mappings (see Processes.swift).
    /// Index of the process whose address space the fields above hold.
    var active = 0
    /// The other living processes, by index.
    var parked: [Int: AddressSpace] = [:]
    /// Processes created so far (0 is the scenario's first process; fork adds the next).
    public internal(set) var processCount = 1
    /// Processes that have exited (op exit).
    public internal(set) var exited: Set<Int> = []

    public init(profile: KernelProfile, setup: ProcessSetup) {
        self.profile = profile
        self.memlockSoft = setup.memlockSoft
        self.memlockHard = setup.memlockHard
        self.capIpcLock = setup.capIpcLock
        self.capSysResource = setup.capSysResource
        self.capSetuid = setup.capSetuid
        self.uid = setup.uid
        self.readAroundPages = setup.fileReadAheadKB / (pageSize >> 10)
        self.numa = setup.numa
        for s in setup.settings {
            switch s {
            case let .compactUnevictableAllowed(on): compactUnevictableAllowed = on
            case .thp: break   // in setup.thp
            }
        }
        self.thp = setup.thp
        for f in setup.foreign.sorted(by: { $0.start < $1.start }) where f.end > f.start {
            var flags = VMFlags(prot: f.prot)
            if f.special { flags.insert(.special) }
            // A special VMA never has VM_LOCKED (mmap_region / mlock_fixup filters).
            if f.locked && !f.special { flags.insert(.locked) }
            let id = newID()
            vmas.append(VMA(start: pageDown(f.start), end: pageAlign(f.end), flags: flags,
                            file: .foreign(id), pgoff: 0, anonVma: nil))
            if flags.contains(.locked) { lockedVM += vmas[vmas.count - 1].pages }
        }
    }

    mutating func newID() -> Int { defer { nextID += 1 }; return nextID }

    /// Predicts the syscall's return value/errno and updates the state. `process` names
    /// the process that makes the call (nil: the newest living one, the child after a
    /// fork); a process that has exited answers ESRCH.
    public mutating func apply(_ op: Op, process: Int? = nil) -> OpResult {
        guard let p = process ?? newestLiving, p >= 0, p < processCount, !exited.contains(p) else {
            return .fail(Err.ESRCH)
        }
        switchTo(p)
        lastFrames = nil
        switch op {
        case let .createObject(slot, kind, pages, filled):
            return createObject(slot: slot, kind: kind, pages: pages, filled: filled)
        case let .map(addr, length, prot, backing, flags):
            return mmap(addr: addr, length: length, prot: prot, backing: backing, flags: flags)
        case let .munmap(addr, length):
            return result(munmapSyscall(addr: addr, length: length))
        case let .mprotect(addr, length, prot):
            return result(mprotect(start: addr, length: length, prot: prot))
        case let .mremap(old, oldLength, newLength, flags, newAddr):
            return mremap(addr: old, oldLength: oldLength, newLength: newLength, flags: flags, newAddr: newAddr)
        case let .touch(addr, length, write):
            return touch(addr: addr, length: length, write: write)
        case let .mlock(addr, length):
            return result(doMlock(start: addr, length: length, flags: .locked))
        case let .mlock2(addr, length, flags):
            // SYSCALL mlock2: flags other than MLOCK_ONFAULT -> EINVAL, before anything else.
            if flags & ~UAPI.MLOCK_ONFAULT != 0 { return .fail(Err.EINVAL) }
            let vmFlags: VMFlags = flags & UAPI.MLOCK_ONFAULT != 0 ? [.locked, .lockOnFault] : .locked
            return result(doMlock(start: addr, length: length, flags: vmFlags))
        case let .munlock(addr, length):
            return result(munlock(start: addr, length: length))
        case let .mlockall(flags):
            return result(mlockall(flags: flags))
        case .munlockall:
            // SYSCALL munlockall: apply_mlockall_flags(0) clears def_flags and VM_LOCKED
            // from every VMA; always returns 0.
            applyMlockallFlags(0)
            return .ok
        case let .madvise(addr, length, advice):
            return result(madvise(start: addr, length: length, advice: advice))
        case let .msync(addr, length, flags):
            return result(msync(start: addr, length: length, flags: flags))
        case let .setMemlockLimit(soft, hard):
            return result(setMemlockLimit(soft: soft, hard: hard))
        case .dropCapIpcLock:
            capIpcLock = false
            return .ok
        case .fork:
            return fork()
        case let .setuid(uid):
            return result(setuid(uid))
        case .exit:
            exitProcess()
            return .ok
        case let .shmget(segment, pages):
            return shmget(segment: segment, pages: pages)
        case let .shmat(segment, addr, readOnly):
            return shmat(segment: segment, addr: addr, readOnly: readOnly)
        case let .shmdt(addr):
            return result(shmdt(addr: addr))
        case let .shmctl(segment, command):
            return result(shmctl(segment: segment, command: command))
        case let .truncate(slot, pages):
            return result(truncate(slot: slot, pages: pages))
        case let .punchHole(slot, firstPage, pages):
            return result(fallocatePunchHole(slot: slot, firstPage: firstPage, pages: pages))
        case .compactMemory:
            return compactMemory()
        case .reclaim:
            return reclaimEventually()
        case let .movePages(addr, pages, to, flags):
            return movePages(addr: addr, pages: pages, to: to, flags: flags)
        case let .mbind(addr, length, mode, node, flags):
            return mbind(start: addr, length: length, mode: mode, node: node, flags: flags)
        }
    }

    func result(_ errno: Int32) -> OpResult { errno == 0 ? .ok : .fail(errno) }

    // MARK: - credentials and limits

    /// can_do_mlock(): RLIMIT_MEMLOCK soft limit != 0, or CAP_IPC_LOCK.
    var canDoMlock: Bool { memlockSoft != 0 || capIpcLock }
    /// rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT.
    var lockLimitPages: UInt64 { memlockSoft >> pageShift }

    /// mlock_future_ok() (mm/mmap.c): a VM_LOCKED mapping growing by `bytes` must keep
    /// locked_vm within RLIMIT_MEMLOCK unless CAP_IPC_LOCK.
    func mlockFutureOK(locked: Bool, bytes: UInt64) -> Bool {
        if !locked || capIpcLock { return true }
        return (bytes >> pageShift) &+ lockedVM <= lockLimitPages
    }

    /// setrlimit(RLIMIT_MEMLOCK) (kernel/sys.c do_prlimit): soft > hard -> EINVAL; raising
    /// the hard limit needs CAP_SYS_RESOURCE -> EPERM.
    mutating func setMemlockLimit(soft: UInt64, hard: UInt64) -> Int32 {
        if soft > hard { return Err.EINVAL }
        if hard > memlockHard && !capSysResource { return Err.EPERM }
        memlockSoft = soft
        memlockHard = hard
        return 0
    }

    // MARK: - objects

    /// The agent's object table size (lockstep-agent MAX_OBJECTS).
    static let agentObjectSlots = 16

    /// createObject: memfd_create or an unlinked temporary file, ftruncate'd to `pages`
    /// pages; `filled` pwrites every page, leaving it in the page cache, on the
    /// evictable LRU, unmapped. As the agent: a bad slot -> EINVAL, a slot in use ->
    /// EBUSY. On success the agent returns the new fd, which the model cannot know: it
    /// predicts 0.
    mutating func createObject(slot: Int, kind: ObjectKind, pages: UInt64, filled: Bool) -> OpResult {
        if slot < 0 || slot >= Self.agentObjectSlots { return .fail(Err.EINVAL) }
        if objectForSlot[slot] != nil { return .fail(Err.EBUSY) }
        // memfd_secret: the agent's pwrite is ESPIPE (ksys_pwrite64: the file has no
        // FMODE_PWRITE, checked before any ->write), so it cannot be filled.
        if kind == .secret && filled { return .fail(Err.ESPIPE) }
        let id = newID()
        var obj: BackingObject
        switch kind {
        case .memfd: obj = BackingObject(kind: .memfd, pages: pages)
        case .file: obj = BackingObject(kind: .file, pages: pages)
        // ramfs_get_inode() and secretmem_file_create() mark the mapping unevictable.
        case .ramfs: obj = BackingObject(kind: .ramfs, pages: pages, unevictable: true)
        case .secret:
            obj = BackingObject(kind: .secret, pages: pages, unevictable: true)
            // secretmem_init_inode_priv(): the creator's user_struct pays for the pages.
            if facts.secretmemChargesUserOnFault { obj.chargedUID = uid }
        }
        objects[id] = obj
        objectForSlot[slot] = id
        // Each pwrite adds a new folio to the page cache and the LRU (lru_add): on an
        // unevictable mapping it goes to the unevictable list at once.
        if filled {
            for i in 0..<pages { folios[cacheFolio(.object(id), i)]?.dirty = true }
        }
        return .ok
    }
}
