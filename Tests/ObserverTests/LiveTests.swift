import Testing
import Glibc
import CLockstepShim
import KernelInterface
import KernelObserver

/// Where the tests find lockstep-agent: $LOCKSTEP_AGENT or next to the test bundle.
func agentPath() throws -> String {
    try #require(Agent.defaultExecutable(),
                 "lockstep-agent not found next to the test bundle: build it (swift build --product lockstep-agent) or set LOCKSTEP_AGENT")
}

let arena: UInt64 = 0x2000_0000_0000
let mapPrivateAnon = UInt64(MAP_PRIVATE | MAP_ANONYMOUS) | UInt64(LS_MAP_FIXED_NOREPLACE)
let noSlot = UInt64.max
let pg = UInt64(Kernel.pageSize)

/// Live tests read and change global counters: one at a time.
@Suite("Observers on the live kernel", .serialized)
struct LiveTests {
    @Test func wrappers() throws {
        let status = try readWholeFile("/proc/self/status")
        #expect(status.count > 200 && status.last == UInt8(ascii: "\n"))
        let smaps = try readWholeFile("/proc/self/smaps")   // bigger than the first 4 KiB buffer
        #expect(smaps.count > 8192)
        #expect(throws: Errno.ENOENT) { try readWholeFile("/proc/self/no-such-file") }
        #expect(try Kernel.release().contains("."))
        let cpus = try Kernel.affinity()
        #expect(!cpus.isEmpty)
        #expect(AgentOp.touch.rawValue == LS_TOUCH.rawValue && AgentOp.closeObject.rawValue == LS_CLOSE_OBJECT.rawValue)
        #expect(AgentOp.setuid.rawValue == LS_SETUID.rawValue && AgentOp.mlockall.rawValue == LS_MLOCKALL.rawValue)
    }

    @Test func processReadingOfSelf() throws {
        let r = try ProcessReading.read(pid: getpid())
        #expect(r.smaps.count > 5 && r.status.pid == getpid())
        #expect(r.smaps.contains { $0.path == "[stack]" })
    }

    @Test func agentOpsAndErrors() throws { try Exclusive.run {
        let cpu = try #require(try Kernel.affinity().last)
        let agent = try Agent(executable: try agentPath(), cpu: cpu, tmpdir: "/tmp")
        #expect(try agent.call(.ping).ret == Int64(agent.pid))
        #expect(try Kernel.affinity(pid: agent.pid) == [cpu])
        let a = arena
        #expect(try agent.call(.mmap, a, 16 * pg, 3, mapPrivateAnon, noSlot, 0).ret == Int64(a))
        #expect(try agent.call(.mmap, a, pg, 3, mapPrivateAnon, noSlot, 0) == AgentReply(ret: -1, errno: Errno.EEXIST.rawValue))
        #expect(try agent.call(.mprotect, a + 8 * pg, pg, 0).ret == 0)
        // The touch stops at the PROT_NONE page: EFAULT, 8 pages touched before it.
        #expect(try agent.call(.touch, a, 16 * pg, 1) == AgentReply(ret: -1, errno: Errno.EFAULT.rawValue, extra: 8))
        #expect(try agent.call(.touch, a, 8 * pg, 0).ret == 8)
        // Objects: a filled memfd mapped shared, then read.
        let memfd = try agent.call(.createObject, 0, 0, 8 * pg, 1).ret
        #expect(memfd >= 0)
        let contents = try readWholeFile("/proc/\(agent.pid)/fd/\(memfd)")
        #expect(contents.count == Int(8 * pg) && contents.allSatisfy { $0 != 0 })
        #expect(try agent.call(.createObject, 0, 1, pg, 0).errno == Errno.EBUSY.rawValue)
        #expect(try agent.call(.createObject, 1, 1, 4 * pg, 1).ret >= 0)   // regular file in /tmp
        let b = a + (4 << 20)
        #expect(try agent.call(.mmap, b, 8 * pg, 1, UInt64(MAP_SHARED) | UInt64(LS_MAP_FIXED_NOREPLACE), 0, 0).ret == Int64(b))
        #expect(try agent.call(.touch, b, 8 * pg, 0).ret == 8)
        let c = a + (8 << 20)
        #expect(try agent.call(.mmap, c, 8 * pg, 1, UInt64(MAP_PRIVATE) | UInt64(LS_MAP_FIXED_NOREPLACE), 1, 0).ret == Int64(c))
        // Pages beyond the end of the 4-page file: SIGBUS, caught.
        #expect(try agent.call(.touch, c, 8 * pg, 0) == AgentReply(ret: -1, errno: Errno.EFAULT.rawValue, extra: 4))
        #expect(try agent.call(.closeObject, 1).ret == 0)
        #expect(try agent.call(.closeObject, 1).errno == Errno.EBADF.rawValue)
        #expect(try agent.call(.mlock2, a, pg, 0xff).errno == Errno.EINVAL.rawValue)
        #expect(try agent.call(99, []).errno == Errno.ENOSYS.rawValue)
        let reader = try ProcessReader(pid: agent.pid)
        let maps = try reader.readMaps()
        #expect(maps.filter { $0.start >= a && $0.start < a + (16 << 20) }.count == 5)
        #expect(agent.exit() == .exited(0))
        #expect(throws: AgentError.self) { try agent.call(.ping) }
    } }

    @Test func agentDeathIsReported() throws { try Exclusive.run {
        let agent = try Agent(executable: try agentPath(), cpu: -1, tmpdir: "/tmp")
        _ = Glibc.kill(agent.pid, SIGKILL)
        do {
            _ = try agent.call(.ping)
            Issue.record("a call to a killed agent returned")
        } catch let AgentError.died(pid, _, status) {
            #expect(pid == agent.pid && status == .signaled(SIGKILL))
        }
        #expect(!agent.isRunning)
    } }

    @Test func agentRlimitAndCapabilities() throws { try Exclusive.run {
        let agent = try Agent(executable: try agentPath(), cpu: -1, tmpdir: "/tmp")
        defer { agent.kill() }
        #expect(try agent.call(.setrlimit, 8 /* RLIMIT_MEMLOCK */, 64 * 1024, 64 * 1024).ret == 0)
        #expect(try agent.call(.mmap, arena, 32 * pg, 3, mapPrivateAnon, noSlot, 0).ret == Int64(arena))
        if Kernel.isRoot {
            #expect(try agent.call(.mlock, arena, 32 * pg).ret == 0)   // CAP_IPC_LOCK ignores the limit
            #expect(try agent.call(.munlock, arena, 32 * pg).ret == 0)
            #expect(try agent.call(.dropCap, 14).ret == 0)
            let status = try ProcessReading.read(pid: agent.pid).status
            #expect(!status.hasCapability(14) && status.capPrm & (1 << 14) == 0)
        }
        #expect(try agent.call(.mlock, arena, 16 * pg).ret == 0)
        #expect(try agent.call(.mlock, arena, 17 * pg).errno == Errno.ENOMEM.rawValue)
        #expect(try agent.call(.dropCap, 64).errno == Errno.EINVAL.rawValue)
    } }

    /// Someone else's locked memory moving is seen; our own agents are not someone else.
    @Test func lockingElsewhereSeesAnotherProcessFaultIntoLockedMemory() throws { try Exclusive.run {
        let agent = try Agent(executable: try agentPath(), cpu: -1, tmpdir: "/tmp")
        defer { agent.kill() }
        #expect(try agent.call(.mmap, arena, 8 * pg, 3, mapPrivateAnon, noSlot, 0).ret == Int64(arena))
        #expect(try agent.call(.mlock2, arena, 8 * pg, 1 /* MLOCK_ONFAULT */).ret == 0)
        // Seen from a root that is not its ancestor, the agent is "elsewhere".
        let nobody: Int32 = -1
        let before = LockingElsewhere.read(ours: nobody)
        let mine = LockingElsewhere.read()
        let seen = try #require(before.processes[agent.pid], "the agent (VmLck 32 kB) is listed")
        #expect(seen.lockedKB == 8 * pg / 1024)
        #expect(mine.processes[agent.pid] == nil, "our own descendants are left out")
        #expect(LockingElsewhere.read(ours: nobody).changes(since: before).isEmpty, "nothing moved yet")
        #expect(try agent.call(.touch, arena, 2 * pg, 1).ret >= 0)   // 2 write faults into a locked VMA: mlocked +2
        let moved = LockingElsewhere.read(ours: nobody).changes(since: before)
        #expect(moved.contains { $0.hasPrefix("pid \(agent.pid) ") && $0.contains("faults") }, "\(moved)")
        #expect(LockingElsewhere.read().changes(since: mine).allSatisfy { !$0.hasPrefix("pid \(agent.pid) ") })
    } }

    @Test(.enabled(if: Kernel.isRoot, "settle folds vmstat only as root (stat_refresh)"))
    func settleDrainsAndFolds() throws { try Exclusive.run {
        let settler = try Settler()
        let first = try settler.settle()
        #expect(first.drained && first.drainMethod == .movePages && first.folded && first.why == nil, "\(first)")
        var best = UInt64.max
        for _ in 0..<50 { best = min(best, try settler.settle().nanoseconds) }
        #expect(best < 5_000_000, "settle took \(best) ns")
    } }

    /// The fallback drain: compact_memory (costs ms and compacts the whole machine).
    @Test(.enabled(if: Kernel.isRoot, "compact_memory needs root"))
    func settleFallsBackToCompaction() throws { try Exclusive.run {
        let r = try Settler(preferring: .compactMemory).settle()
        #expect(r.drained && r.drainMethod == .compactMemory && r.folded, "\(r)")
        let none = try Settler(preferring: .none).settle()
        #expect(!none.drained && none.drainMethod == .none && none.why != nil)
    } }

    @Test(.enabled(if: !Kernel.isRoot, "only meaningful without root"))
    func settleWithoutRootSaysWhy() throws {
        let r = try Settler().settle()
        #expect(r.drained && !r.folded && r.why != nil)
        print("\(r)")
    }

    @Test(.enabled(if: !Kernel.isRoot, "only meaningful without root"))
    func pageLayerUnavailableWithoutRoot() throws {
        let reader = try PageFlagsReader(pid: getpid())
        #expect(reader.unavailableReason != nil)
        let p = try Kernel.mapAnonymous(length: Kernel.pageSize)
        defer { try? Kernel.unmap(p, length: Kernel.pageSize) }
        Kernel.touch(p, length: Kernel.pageSize, write: true)
        // pagemap itself works: present, PFN hidden.
        let e = try reader.readPagemap(start: UInt64(UInt(bitPattern: p)), pages: 1)
        #expect(PagemapEntry(rawValue: e[0]).present && PagemapEntry(rawValue: e[0]).pfn == 0)
        do {
            _ = try reader.read(start: UInt64(UInt(bitPattern: p)), pages: 1)
            Issue.record("the page layer read without root")
        } catch let e as PageLayerUnavailable {
            print("page layer without root: \(e.reason)")
        }
    }

    /// The pieces together: an agent mlocks 64 pages; VmLck, smaps Locked and kpageflags
    /// MLOCKED on every page agree; munlock undoes all three.
    @Test(.enabled(if: Kernel.isRoot, "kpageflags and PFNs need root"))
    func mlock64PagesSeenOnBothLayers() throws { try Exclusive.run {
        let agent = try Agent(executable: try agentPath(), cpu: try Kernel.affinity()[0], tmpdir: "/tmp")
        defer { agent.kill() }
        let settler = try Settler()
        let reader = try ProcessReader(pid: agent.pid)
        let pages = try PageFlagsReader(pid: agent.pid)
        let length = 64 * pg
        #expect(try agent.call(.mmap, arena, length, 3, mapPrivateAnon, noSlot, 0).ret == Int64(arena))
        #expect(try agent.call(.touch, arena, length, 1).ret == 64)
        let base = try reader.read().vmLckKB

        #expect(try agent.call(.mlock, arena, length).ret == 0)
        try settler.settle()
        let locked = try reader.read()
        #expect(locked.vmLckKB - base == 256)
        let vma = try #require(locked.smaps.entry(containing: arena))
        #expect(vma.start == arena && vma.end == arena + length && vma.isLocked && vma.lockedKB == 256)
        let r = try pages.read(start: arena, pages: 64)
        #expect(r.allSatisfy { $0.present && $0.mlocked && $0.unevictable }, "\(r.summary)")

        #expect(try agent.call(.munlock, arena, length).ret == 0)
        try settler.settle()
        let unlocked = try reader.read()
        #expect(unlocked.vmLckKB == base)
        #expect(unlocked.smaps.entry(containing: arena).map { !$0.isLocked && $0.lockedKB == 0 } == true)
        let u = try pages.read(start: arena, pages: 64)
        #expect(u.allSatisfy { $0.present && !$0.mlocked && !$0.unevictable }, "\(u.summary)")
    } }

    /// The per-step readings say what the full ones say on a live process: smaps and
    /// status (`SmapsVMA`, `StatusSummary`), and several page ranges read at once.
    @Test(.enabled(if: Kernel.isRoot, "PFNs and kpageflags need root"))
    func stepReadingsMatchFullReadings() throws { try Exclusive.run {
        let agent = try Agent(executable: try agentPath(), cpu: try Kernel.affinity()[0], tmpdir: "/tmp")
        defer { agent.kill() }
        let reader = try ProcessReader(pid: agent.pid)
        let pages = try PageFlagsReader(pid: agent.pid)
        #expect(try agent.call(.mmap, arena, 64 * pg, 3, mapPrivateAnon, noSlot, 0).ret == Int64(arena))
        #expect(try agent.call(.touch, arena, 40 * pg, 1).ret == 40)
        #expect(try agent.call(.mlock, arena + 8 * pg, 16 * pg).ret == 0)
        try Settler().settle()
        let full = try reader.read()
        var lean: [SmapsVMA] = []
        try reader.readVMAs(into: &lean)
        let summary = try reader.readStatusSummary()
        #expect(lean.map(\.start) == full.smaps.map(\.start) && lean.map(\.end) == full.smaps.map(\.end))
        #expect(lean.map(\.lockedKB) == full.smaps.map(\.lockedKB) && lean.map(\.rssKB) == full.smaps.map(\.rssKB))
        #expect(lean.map(\.isLocked) == full.smaps.map(\.isLocked))
        #expect(summary.vmLckKB == full.vmLckKB && summary.vmLckKB >= 64 && summary.capEff == full.status.capEff)
        // Three ranges, one of them across the locked part: the same pages as one by one.
        let ranges: [(start: UInt64, pages: Int)] = [(arena, 8), (arena + 8 * pg, 24), (arena + 48 * pg, 16)]
        let together = try pages.read(ranges: ranges)
        for (r, t) in zip(ranges, together) {
            let alone = try pages.read(start: r.start, pages: r.pages)
            #expect(t.start == alone.start && t.pagemap.map { $0 >> 55 } == alone.pagemap.map { $0 >> 55 })
            #expect(t.map(\.pfn) == alone.map(\.pfn) && t.map(\.mlocked) == alone.map(\.mlocked))
        }
        #expect(together[1].prefix(16).allSatisfy(\.mlocked) && !together[2].contains { $0.present })
        #expect(try pages.read(ranges: []).isEmpty)
    } }

    /// Settled global deltas are exact up to other processes (PID 1 moves the host's
    /// baseline now and then): retry a few times, and require one exact reading.
    @Test(.enabled(if: Kernel.isRoot, "stat_refresh needs root"))
    func settledGlobalDeltaOfMlock() throws { try Exclusive.run {
        let settler = try Settler()
        let counters = try GlobalCountersReader()
        var seen: [String] = []
        for attempt in 0..<5 {
            let cpus = try Kernel.affinity()
            let agent = try Agent(executable: try agentPath(), cpu: cpus[attempt % cpus.count], tmpdir: "/tmp")
            defer { agent.kill() }
            _ = try agent.call(.mmap, arena, 64 * pg, 3, mapPrivateAnon, noSlot, 0)
            _ = try agent.call(.touch, arena, 64 * pg, 1)
            try settler.settle()
            let before = try counters.read()
            _ = try agent.call(.mlock, arena, 64 * pg)
            try settler.settle()
            let d = try counters.read().delta(from: before)
            if d.mlockedKB == 256 && d.nrMlock == 64 && d.nrUnevictable == 64 && d.pgMlocked == 64 { return }
            seen.append("\(d)")
        }
        Issue.record("no exact settled delta in 5 attempts: \(seen)")
    } }

    /// A PMD THP mlocked in the agent is one mlocked folio (when the kernel gives a THP).
    @Test(.enabled(if: Kernel.isRoot, "kpageflags needs root"))
    func mlockedTHPIsOneFolio() throws { try Exclusive.run {
        let agent = try Agent(executable: try agentPath(), cpu: -1, tmpdir: "/tmp")
        defer { agent.kill() }
        let length = UInt64(2 << 20)
        #expect(try agent.call(.mmap, arena, length, 3, mapPrivateAnon, noSlot, 0).ret == Int64(arena))
        #expect(try agent.call(.madvise, arena, length, 14).ret == 0)   // MADV_HUGEPAGE
        #expect(try agent.call(.touch, arena, length, 1).ret == 512)
        #expect(try agent.call(.mlock, arena, length).ret == 0)
        let r = try PageFlagsReader(pid: agent.pid).read(start: arena, pages: 512)
        guard r[0].thp else {
            print("no THP was allocated (THP disabled or memory fragmented): folio check not made")
            return
        }
        #expect(r.folios.count == 1 && r.folios[0].thp && r.folios[0].mlocked && r.pagesInMlockedFolios == 512)
        let smaps = try ProcessReading.read(pid: agent.pid).smaps.entry(containing: arena)
        #expect(smaps?.anonHugePagesKB == 2048 && smaps?.lockedKB == 2048)
    } }

    @Test func memcgOfSelfIsReadable() throws {
        let cg: MemoryCgroup
        do { cg = try MemoryCgroup.of() } catch {
            // A machine without any memory cgroup: nothing to check.
            return
        }
        let stat = try cg.readStat()
        #expect(MemoryCgroup.unevictableBytes(stat) != nil, "\(cg)")
    }

    @Test(.enabled(if: Kernel.isRoot, "kpageflags needs root"))
    func pageFlagsOfOwnMemoryAreFast() throws { try Exclusive.run {
        let b = try PageFlagsReader.benchmark(pages: 16384, repetitions: 2)
        #expect(b.summary.present == 16384)
        #expect(b.best.totalNanoseconds < 500_000_000, "\(b)")
    } }

    /// selfcheck's simulated bugs: the filter is in force in the agent (the kernel says
    /// so), and the syscall lies as described: munlock returns 0 and VmLck stays.
    @Test func agentUnderSimulatedBug() throws { try Exclusive.run {
        #expect(Simulations.names.contains("munlock-noop") && Simulations.names.contains("control-filter"))
        #expect(throws: AgentError.self) {
            _ = try Agent(executable: try agentPath(), cpu: -1, tmpdir: "/tmp", simulate: "no-such-bug")
        }
        let agent = try Agent(executable: try agentPath(), cpu: try Kernel.affinity()[0], tmpdir: "/tmp", simulate: "munlock-noop")
        let status = try readTextFile("/proc/\(agent.pid)/status")
        #expect(status.contains("Seccomp:\t2"))
        #expect(try agent.call(.mmap, arena, 4 * pg, 3, mapPrivateAnon, noSlot, 0).ret == Int64(arena))
        #expect(try agent.call(.mlock, arena, 4 * pg).ret == 0)
        #expect(try agent.call(.munlock, arena, 4 * pg).ret == 0)
        #expect(try ProcessReading.read(pid: agent.pid).status.vmLckKB == 4 * pg / 1024)
        // Wrong answers: mlock fails EAGAIN without running.
        let eagain = try Agent(executable: try agentPath(), cpu: -1, tmpdir: "/tmp", simulate: "mlock-eagain")
        #expect(try eagain.call(.mmap, arena, pg, 3, mapPrivateAnon, noSlot, 0).ret == Int64(arena))
        #expect(try eagain.call(.mlock, arena, pg) == AgentReply(ret: -1, errno: Errno.EAGAIN.rawValue))
    } }
}
