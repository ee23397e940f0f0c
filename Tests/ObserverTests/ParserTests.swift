import Testing
import KernelInterface
@testable import KernelObserver

@Suite("Parsers on fixture text")
struct ParserTests {
    @Test func smapsEntriesAndFields() throws {
        let entries = try SmapsEntry.parse(Fixtures.smaps)
        #expect(entries.count == 9)
        let text = entries[0]
        #expect(text.start == 0x400000 && text.end == 0x4a2000)
        #expect(text.perms == "r-xp" && text.readable && !text.writable && text.executable && !text.shared)
        #expect(text.device == "fe:00" && text.inode == 16229227)
        #expect(text.path == "/opt/lockstep/bin/lockstep-agent")
        #expect(text.vmFlags == ["rd", "ex", "mr", "mw", "me"])
        #expect(entries[1].path == "[heap]")

        let anon = try #require(entries.entry(containing: 0x2000_0000_0000))
        #expect(anon.path == "" && anon.inode == 0 && anon.offset == 0)
        #expect(anon.sizeKB == 256 && anon.rssKB == 256 && anon.lockedKB == 256)
        #expect(anon.isLocked && !anon.isLockOnFault)
        #expect(anon[kB: "KernelPageSize"] == 4 && anon[kB: "NoSuchField"] == 0)
        #expect(anon.fields["THPeligible"] != nil)

        let thp = try #require(entries.entry(containing: 0x2000_0040_0000))
        #expect(thp.length == 4 << 20 && thp.anonHugePagesKB == 4096 && thp.lockedKB == 4096)
        #expect(thp.vmFlags.isSuperset(of: ["lo", "lf", "hg"]) && thp.isLockOnFault)

        let memfd = entries.overlapping(0x2000_00a0_0000, 0x2000_00a1_0000)
        #expect(memfd.count == 2)
        #expect(memfd.allSatisfy { $0.shared && $0.path == "/memfd:lockstep-obj-00 (deleted)" })
        #expect(memfd.map(\.lockedKB) == [32, 0] && memfd.map(\.offset) == [0, 0x8000])

        // PROT_READ private mapping of zero pages, locked: VM_LOCKED, no Rss, no Locked.
        let zero = try #require(entries.entry(containing: 0x2000_00c0_0000))
        #expect(zero.perms == "r--p" && zero.isLocked && zero.rssKB == 0 && zero.lockedKB == 0)

        #expect(entries.last?.path == "[vsyscall]" && entries.last?.start == 0xffff_ffff_ff60_0000)
        #expect(entries.reduce(0) { $0 + $1.lockedKB } == 4384)
    }

    @Test func smapsFromBytesEqualsFromString() throws {
        let a = try SmapsEntry.parse(Fixtures.smaps)
        let b = try SmapsEntry.parse(Array(Fixtures.smaps.utf8))
        #expect(a == b)
    }

    @Test func smapsRejectsGarbage() {
        #expect(throws: ObserverError.self) { try SmapsEntry.parse("Size: 4 kB\n") }
        #expect(throws: ObserverError.self) { try SmapsEntry.parse("zzzz-1000 rw-p\n") }
        #expect((try? SmapsEntry.parse("")) == [])
    }

    @Test func mapsLines() throws {
        let maps = try MapsEntry.parse(Fixtures.maps)
        #expect(maps.count == 15)
        let arena = maps.filter { $0.start >= 0x2000_0000_0000 && $0.start < 0x3000_0000_0000 }
        #expect(arena.map(\.start) == [0x2000_0000_0000, 0x2000_0040_0000, 0x2000_00a0_0000, 0x2000_00a0_8000,
                                       0x2000_00c0_0000])
        #expect(arena[2].device == "00:01" && arena[2].inode == 4)
        #expect(maps.first { $0.path == "[stack]" } != nil)
        // A path with spaces survives; trailing spaces of anonymous lines do not make a path.
        let odd = try MapsEntry.parse("7f00-7f01 rw-s 00000000 00:05 77   /dev/shm/a b (deleted)\n1000-2000 rw-p 00000000 00:00 0 \n")
        #expect(odd[0].path == "/dev/shm/a b (deleted)" && odd[1].path == "")
    }

    @Test func status() throws {
        let s = try ProcessStatus.parse(Fixtures.status)
        #expect(s.name == "lockstep-agent")
        #expect(s.vmLckKB == 4416 && s.vmPinKB == 0)
        #expect(s.capEff == 0x1ff_feff_ffff && s.capPrm == 0x1ff_feff_ffff && s.capInh == 0)
        #expect(s.hasCapability(14))   // CAP_IPC_LOCK
        #expect(s.uids == [0, 0, 0, 0] && s.threads == 1)
        #expect(s.kB["VmRSS"] != nil && s.kB["Threads"] == nil)
        let dropped = try ProcessStatus.parse("Name:\tx\nVmLck:\t      12 kB\nCapEff:\t0000000000000000\n")
        #expect(dropped.vmLckKB == 12 && !dropped.hasCapability(14))
    }

    @Test func limits() throws {
        let l = try ProcessLimits.parse(Fixtures.limits)
        #expect(l.memlock == ProcessLimits.Limit(soft: 8388608, hard: 8388608, unit: "bytes"))
        #expect(l.addressSpace?.soft == UInt64.max)
        #expect(l.limits["Max stack size"]?.hard == UInt64.max && l.limits["Max cpu time"]?.unit == "seconds")
        #expect(l.limits.count == 16)
    }

    @Test func globalCounters() throws {
        let g = try GlobalCounters.parse(meminfo: Fixtures.meminfo, vmstat: Fixtures.vmstat)
        #expect(g.mlockedKB == 10644 && g.unevictableKB == 12136)
        #expect(g.nrMlock == 2661 && g.nrUnevictable == 3034)
        let e = try #require(g.events)
        #expect(e.mlocked == 1078013 && e.munlocked == 1075352 && e.culled == 1078200)
        #expect(e.rescued == 1075166 && e.cleared == 0 && e.stranded == 0 && e.scanned == 0)
        #expect(g.meminfo["MemTotal"] == 24683656 && g.meminfo["HugePages_Total"] == 0)
        #expect(g.vmstat.count > 150)
    }

    @Test func globalCountersWithoutEventCounters() throws {
        // CONFIG_VM_EVENT_COUNTERS off (tinyconfig): no unevictable_pgs_* lines.
        let g = try GlobalCounters.parse(meminfo: "Mlocked: 4 kB\nUnevictable: 8 kB\n",
                                         vmstat: "nr_mlock 1\nnr_unevictable 2\n")
        #expect(g.events == nil && g.nrUnevictable == 2 && g.unevictableKB == 8)
        #expect(throws: ObserverError.self) { try GlobalCounters.parse(meminfo: "MemTotal: 1 kB\n", vmstat: "") }
    }

    @Test func countersDelta() throws {
        let a = try GlobalCounters.parse(meminfo: "Mlocked: 100 kB\nUnevictable: 200 kB\n",
            vmstat: "nr_mlock 25\nnr_unevictable 50\nunevictable_pgs_mlocked 10\nunevictable_pgs_munlocked 5\n")
        let b = try GlobalCounters.parse(meminfo: "Mlocked: 356 kB\nUnevictable: 200 kB\n",
            vmstat: "nr_mlock 89\nnr_unevictable 40\nunevictable_pgs_mlocked 74\nunevictable_pgs_munlocked 5\n")
        let d = b.delta(from: a)
        #expect(d.mlockedKB == 256 && d.nrMlock == 64 && d.nrUnevictable == -10 && d.pgMlocked == 64)
        #expect(d.hasEvents && !d.isZero && a.delta(from: a).isZero)
    }

    @Test func negativeVmstatValuesWrap() throws {
        // The kernel prints a transiently negative global counter as a huge unsigned number.
        let v = GlobalCounters.parseVmstat("nr_mlock 18446744073709551615\nnr_x -3\n")
        #expect(Int64(bitPattern: v["nr_mlock"]!) == -1 && Int64(bitPattern: v["nr_x"]!) == -3)
    }

    @Test func memoryStatV1AndV2() {
        let v1 = MemoryCgroup.parseStat(Fixtures.memoryStatV1)
        #expect(v1["unevictable"] == 0 && v1["total_unevictable"] == 0 && v1["cache"] == 154513408)
        #expect(v1["hierarchical_memory_limit"] == 9223372036854771712)
        #expect(MemoryCgroup.unevictableBytes(v1) == 0)
        let v2 = MemoryCgroup.parseStat(Fixtures.memoryStatV2)
        #expect(MemoryCgroup.unevictableBytes(v2) == 1048576 && v2["anon"] == 1384448 && v2["pgfault"] == 4207)
    }

    @Test func procCgroupLines() {
        let v1 = CgroupMembership.parse(Fixtures.procCgroupV1)
        #expect(v1.count == 11 && v1.allSatisfy { !$0.isUnified })
        #expect(v1[1].controllers == ["cpu", "cpuacct"] && v1[10].controllers == ["name=systemd"])
        let hybrid = CgroupMembership.parse(Fixtures.procCgroupHybrid)
        #expect(hybrid.last == CgroupMembership(hierarchyID: 0, controllers: [], path: "/"))
        let v2 = CgroupMembership.parse(Fixtures.procCgroupV2)
        #expect(v2 == [CgroupMembership(hierarchyID: 0, controllers: [],
                                        path: "/user.slice/user-1000.slice/user@1000.service/app.slice/run-u42.scope")])
        // A path containing ':' is kept whole.
        #expect(CgroupMembership.parse("0::/a:b/c").first?.path == "/a:b/c")
    }

    @Test func memcgResolution() {
        let hybrid = MemoryCgroup.resolve(procCgroup: Fixtures.procCgroupHybrid, mountinfo: Fixtures.mountinfoHybrid)
        #expect(hybrid == MemoryCgroup(version: 1, cgroupPath: "/process_api/910f329d076fa672ce6fa7feb37e78e3",
            directory: "/sys/fs/cgroup/memory/process_api/910f329d076fa672ce6fa7feb37e78e3"))
        let v1 = MemoryCgroup.resolve(procCgroup: Fixtures.procCgroupV1, mountinfo: Fixtures.mountinfoV1)
        #expect(v1?.version == 1)
        #expect(v1?.statPath == "/sys/fs/cgroup/memory/user.slice/user-1000.slice/session-3.scope/memory.stat")
        let v2 = MemoryCgroup.resolve(procCgroup: Fixtures.procCgroupV2, mountinfo: Fixtures.mountinfoV2)
        #expect(v2?.version == 2)
        #expect(v2?.directory == "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/run-u42.scope")
        // The root cgroup of a v2 mount is the mount point itself.
        #expect(MemoryCgroup.resolve(procCgroup: "0::/", mountinfo: Fixtures.mountinfoV2)?.directory == "/sys/fs/cgroup")
        // No memory hierarchy and no cgroup2: nothing.
        #expect(MemoryCgroup.resolve(procCgroup: Fixtures.procCgroupV1, mountinfo: Fixtures.mountinfoV2) == nil)
    }

    @Test func mountinfoParsing() {
        let mounts = CgroupMount.parse(mountinfo: Fixtures.mountinfoV1)
        #expect(mounts.count == 4)
        #expect(mounts.first { $0.isV2 }?.mountPoint == "/sys/fs/cgroup/unified")
        #expect(mounts.first { $0.superOptions.contains("memory") }?.mountPoint == "/sys/fs/cgroup/memory")
        #expect(CgroupMount.unescape("/mnt/with\\040space") == "/mnt/with space")
        // A namespaced / bind-mounted hierarchy: paths are relative to the mount's root.
        let m = CgroupMount(root: "/lxc/c1", mountPoint: "/sys/fs/cgroup", fsType: "cgroup2", superOptions: ["rw"])
        #expect(m.directory(of: "/lxc/c1/app") == "/sys/fs/cgroup/app")
        #expect(m.directory(of: "/lxc/c1") == "/sys/fs/cgroup")
        #expect(m.directory(of: "/lxc/c10") == nil)
    }

    @Test func errnoNames() {
        #expect(Errno.ENOMEM.name == "ENOMEM" && Errno.ENOMEM.rawValue == 12)
        #expect(Errno.EAGAIN.description == "EAGAIN (Resource temporarily unavailable)")
        #expect(Errno(name: "EPERM") == .EPERM && Errno(name: "EWOULDBLOCK") == .EAGAIN && Errno(name: "EBOGUS") == nil)
        #expect(Errno(4095).name == "errno 4095")
        for e in 1...133 where !Errno(Int32(e)).name.hasPrefix("errno") {
            #expect(Errno(name: Errno(Int32(e)).name) == Errno(Int32(e)))
        }
    }
}
