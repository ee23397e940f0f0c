import Glibc
import KernelInterface
import MlockModel

/// Features a kernel may lack, probed once per run in a scenario process (an agent,
/// under the run's simulated bug if any) by asking the kernel what an old kernel would
/// answer. A scenario that needs a missing feature is skipped, naming it, never run to a
/// failure that only says "old kernel".
///
/// The answers taken to mean "absent" are those a kernel without the feature gives:
/// - mlock2 is new in 4.4: before it, the raw syscall answers ENOSYS.
/// - MLOCK_ONFAULT: mlock2 then takes no flag, answers EINVAL for it (what LTP's
///   mlock201 and the selftests read as "not supported"), while mlock2(flags 0) works.
/// - MCL_ONFAULT came in the same series: mlockall answers EINVAL for the unknown bit.
/// - MADV_HUGEPAGE/MADV_NOHUGEPAGE: a kernel without CONFIG_TRANSPARENT_HUGEPAGE answers
///   EINVAL (madvise_behavior_valid).
/// - MAP_DROPPABLE (6.11, 9651fcedf7b9): older kernels answer EINVAL for the mapping
///   type 0x08 they do not know (do_mmap's `default: return -EINVAL`).
/// Any other answer (success, or another errno) means present: a wrong errno is then the
/// scenarios' business, and they fail on it.
public struct KernelFeatures: Codable, Sendable, Equatable {
    /// Why each feature is missing; nil when present (or not probed).
    public var mlock2: String?
    public var mlockOnfault: String?
    public var mclOnfault: String?
    public var thp: String?
    /// SysV shared memory (CONFIG_SYSVIPC): without it every shm* syscall is ENOSYS.
    public var sysvShm: String?
    /// A ramfs the agent can mount in its own mount namespace (root, a /dev/shm or /mnt
    /// directory to mount it on).
    public var ramfs: String?
    /// MAP_DROPPABLE (6.11+).
    public var droppable: String?

    public init(mlock2: String? = nil, mlockOnfault: String? = nil, mclOnfault: String? = nil, thp: String? = nil,
                sysvShm: String? = nil, ramfs: String? = nil, droppable: String? = nil) {
        self.mlock2 = mlock2; self.mlockOnfault = mlockOnfault; self.mclOnfault = mclOnfault; self.thp = thp
        self.sysvShm = sysvShm; self.ramfs = ramfs; self.droppable = droppable
    }

    /// Every missing feature's reason.
    public var missing: [String] { [mlock2, mlockOnfault, mclOnfault, thp, sysvShm, ramfs, droppable].compactMap { $0 } }

    /// Why `scenario` cannot run on this kernel, or nil.
    public func skipReason(_ scenario: Scenario) -> String? {
        for step in scenario.steps {
            switch step.op {
            case let .mlock2(_, _, flags):
                if let why = mlock2 { return why }
                if flags & UInt32(LS_MLOCK_ONFAULT) != 0, let why = mlockOnfault { return why }
            case let .mlockall(flags):
                if flags & Int32(LS_MCL_ONFAULT) != 0, let why = mclOnfault { return why }
            case let .madvise(_, _, advice):
                if advice == UAPI.MADV_HUGEPAGE || advice == UAPI.MADV_NOHUGEPAGE, let why = thp { return why }
            case .shmget, .shmat, .shmdt, .shmctl:
                if let why = sysvShm { return why }
            case .createObject(_, .ramfs, _, _):
                if let why = ramfs { return why }
            case let .map(_, _, _, _, flags):
                if flags.contains(.droppable), let why = droppable { return why }
            default:
                break
            }
        }
        return nil
    }

    /// Asks a fresh agent. Needs nothing but an agent: no root, no page layer.
    public static func probe(agent: Agent, release: String) throws -> KernelFeatures {
        let page = UInt64(pageSize)
        let prot: UInt64 = 3   // PROT_READ | PROT_WRITE
        let flags = UInt64(UInt32(bitPattern: MAP_PRIVATE | MAP_ANONYMOUS))
        let map = try agent.call(LS_MMAP, [0, page, prot, flags, UInt64.max, 0])
        guard map.errno == 0 else { throw RunnerSetupError("feature probe: mmap of one page failed: \(map)") }
        let addr = UInt64(bitPattern: map.ret)
        // A release that should have the feature: the skip says so, as a mismatch worth a look.
        let since44 = Profiles.version(release).map { !($0 < (4, 4)) } ?? false
        let mismatch = since44 ? " (though uname says \(release), and every kernel since 4.4 has it)" : ""
        var f = KernelFeatures()
        let plain = try agent.call(LS_MLOCK2, [addr, page, 0])
        if plain.errno == ENOSYS {
            f.mlock2 = "kernel lacks mlock2 (it answers ENOSYS)" + mismatch
        } else {
            let onfault = try agent.call(LS_MLOCK2, [addr, page, UInt64(LS_MLOCK_ONFAULT)])
            if plain.errno == 0 && onfault.errno == EINVAL {
                f.mlockOnfault = "kernel lacks MLOCK_ONFAULT (mlock2 answers EINVAL)" + mismatch
            }
        }
        let huge = try agent.call(LS_MADVISE, [addr, page, UInt64(UAPI.MADV_HUGEPAGE)])
        if huge.errno == EINVAL {
            f.thp = "kernel lacks transparent huge pages (madvise MADV_HUGEPAGE answers EINVAL)"
        }
        // shmctl(-1, IPC_RMID): EINVAL (no such segment) with SysV IPC, ENOSYS without.
        let shm = try agent.call(LS_SHMCTL, [UInt64(UInt32(bitPattern: -1)), 0])
        if shm.errno == ENOSYS {
            f.sysvShm = "kernel lacks SysV shared memory (CONFIG_SYSVIPC off: shmctl answers ENOSYS)"
        }
        // A ramfs file in the agent's own mount namespace (the probe agent is thrown away).
        let slot = UInt64(15)
        let ram = try agent.call(LS_CREATE_SPECIAL, [slot, 0, page, 0])
        if ram.errno != 0 {
            f.ramfs = "cannot mount a ramfs in the scenario process's own mount namespace (errno \(ram.errno): "
                + "needs root, and /dev/shm or /mnt to mount it on)"
        } else {
            _ = try agent.call(LS_CLOSE_OBJECT, [slot])
        }
        // A private anonymous MAP_DROPPABLE page (0x08 in MAP_PRIVATE's place), unmapped again.
        let drop = try agent.call(LS_MMAP, [0, page, prot, UInt64(UInt32(bitPattern: 0x08 | MAP_ANONYMOUS)), UInt64.max, 0])
        if drop.errno == EINVAL {
            f.droppable = "kernel lacks MAP_DROPPABLE (mmap answers EINVAL for the mapping type)"
        } else if drop.errno == 0 {
            _ = try agent.call(LS_MUNMAP, [UInt64(bitPattern: drop.ret), page])
        }
        let all = try agent.call(LS_MLOCKALL, [UInt64(1 | LS_MCL_ONFAULT)])   // MCL_CURRENT | MCL_ONFAULT
        if all.errno == EINVAL {
            f.mclOnfault = "kernel lacks MCL_ONFAULT (mlockall answers EINVAL)" + mismatch
        }
        return f
    }
}
