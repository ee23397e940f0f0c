import Testing
@testable import KernelObserver

/// The per-step byte parsers (`SmapsVMA`, `StatusSummary`, `GlobalCounters.scan`) read
/// what the full parsers read, on the same fixtures and on the edges.
@Suite("Per-step parsers agree with the full ones")
struct StepParserTests {
    @Test func smapsVMAsMatchSmapsEntries() throws {
        let full = try SmapsEntry.parse(Fixtures.smaps)
        let lean = try SmapsVMA.parse(Fixtures.smaps)
        #expect(lean.count == full.count)
        for (v, e) in zip(lean, full) {
            #expect(v.start == e.start && v.end == e.end)
            #expect(v.readable == e.readable && v.writable == e.writable && v.executable == e.executable)
            #expect(v.shared == e.shared && v.isVsyscall == (e.path == "[vsyscall]"))
            #expect(v.rssKB == e.rssKB && v.lockedKB == e.lockedKB && v.anonHugePagesKB == e.anonHugePagesKB)
            #expect(v.shmemPmdMappedKB == e[kB: "ShmemPmdMapped"] && v.filePmdMappedKB == e[kB: "FilePmdMapped"])
            #expect(v.isLocked == e.isLocked && v.flags.contains(.lockOnFault) == e.isLockOnFault)
            // Every mnemonic of the fixture is in the table, so the bits say the same.
            #expect(Set(v.flags.names) == e.vmFlags)
        }
        #expect(lean.last?.isVsyscall == true && lean.filter(\.isVsyscall).count == 1)
    }

    @Test func vmFlagsLines() throws {
        let text = """
            200000000000-200000001000 rw-p 00000000 00:00 0
            Rss:                   4 kB
            VmFlags: rd wr mr mw me lo lf hg dc zz x abc \u{20}
            200000001000-200000002000 rw-p 00000000 00:00 0
            VmFlags:
            200000002000-200000003000 rw-p 00000000 00:00 0
            """
        let v = try SmapsVMA.parse(text)
        #expect(v.count == 3)
        // Unknown mnemonics ("zz") and tokens that are not two letters are not kept.
        #expect(v[0].flags.names == ["rd", "wr", "mr", "mw", "me", "lo", "dc", "hg", "lf"])
        #expect(v[0].isLocked && v[0].rssKB == 4)
        #expect(v[1].flags.isEmpty && v[2].flags.isEmpty)
        #expect(VMFlagBits(mnemonic: "zz") == nil && VMFlagBits(mnemonic: "lo") == .locked)
        #expect(VMFlagBits(mnemonic: "l") == nil && VMFlagBits(mnemonic: "loo") == nil)
    }

    @Test func smapsMissingAndHugeFields() throws {
        // No Rss, Locked or AnonHugePages line: 0, as SmapsEntry's accessors say.
        let bare = try SmapsVMA.parse("200000000000-200000001000 r--s 00000000 00:01 4 /memfd:x (deleted)\n")
        #expect(bare.count == 1 && bare[0].rssKB == 0 && bare[0].lockedKB == 0 && bare[0].anonHugePagesKB == 0)
        #expect(bare[0].readable && !bare[0].writable && bare[0].shared && !bare[0].isVsyscall && !bare[0].isLocked)
        // Values past 2^32 kB, and the largest 64-bit number.
        let huge = try SmapsVMA.parse("""
            200000000000-300000000000 rw-p 00000000 00:00 0
            Rss:        17179869184 kB
            Locked:     18446744073709551615 kB
            AnonHugePages: 4294967296 kB
            ShmemPmdMapped:     2048 kB
            FilePmdMapped:      4096 kB
            """)
        #expect(huge[0].rssKB == 17_179_869_184 && huge[0].lockedKB == UInt64.max && huge[0].anonHugePagesKB == 1 << 32)
        #expect(huge[0].shmemPmdMappedKB == 2048 && huge[0].filePmdMappedKB == 4096)
        // Keys that only share a first letter or a prefix are not taken for the kept ones.
        let near = try SmapsVMA.parse("""
            200000000000-200000001000 rw-p 00000000 00:00 0
            Rss:                   8 kB
            RssX:                 99 kB
            Referenced:           99 kB
            LockedX:              99 kB
            Anonymous:            99 kB
            AnonHugePagesX:       99 kB
            """)
        #expect(near[0].rssKB == 8 && near[0].lockedKB == 0 && near[0].anonHugePagesKB == 0)
    }

    @Test func smapsVMARejectsWhatSmapsEntryRejects() throws {
        for bad in ["Size: 4 kB\n", "zzzz-1000 rw-p\n", "1000-2000 rw-p 0 00:00\n", "1000-2000 rwp 0 00:00 0\n"] {
            #expect(throws: ObserverError.self) { try SmapsVMA.parse(bad) }
            #expect(throws: ObserverError.self) { try SmapsEntry.parse(bad) }
        }
        #expect(try SmapsVMA.parse("").isEmpty)
        // The output array is emptied and refilled.
        var out = try SmapsVMA.parse(Fixtures.smaps)
        try Array("1000-2000 rw-p 00000000 00:00 0\n".utf8).withUnsafeBufferPointer { try SmapsVMA.parse($0, into: &out) }
        #expect(out == [SmapsVMA(start: 0x1000, end: 0x2000).with { $0.readable = true; $0.writable = true }])
    }

    @Test func statusSummaryMatchesProcessStatus() throws {
        let full = try ProcessStatus.parse(Fixtures.status)
        let lean = try StatusSummary.parse(Fixtures.status)
        #expect(lean.vmLckKB == full.vmLckKB && lean.vmLckKB == 4416)
        #expect(lean.uid == full.uids.first && lean.capEff == full.capEff)
        for cap in [7, 14, 24, 40, 63, 64] { #expect(lean.hasCapability(cap) == full.hasCapability(cap)) }
    }

    @Test func statusSummaryEdges() throws {
        let cases = [
            "Name:\tx\nVmLck:\t      12 kB\nCapEff:\t0000000000000000\n",
            "Name:\tx\n",                                        // no VmLck, Uid, CapEff
            "VmLck:\t 18446744073709551615 kB\nUid:\t4294967295\t1\t2\t3\n",
            "Name:\tx\nVmLck:\t12\nUid:\tnope\t1000\t0\t0\nCapEff:\tffffffffffffffff\n",   // VmLck without kB
            "Name:\tx\nUid:\t4294967296\t7\nCapEff:\t1ffffffffffffffff\n",                   // overflows
            "Name:\tx\nCapEff:\t00000000zz\n",
        ]
        for text in cases {
            let full = try ProcessStatus.parse(text)
            let lean = try StatusSummary.parse(text)
            #expect(lean.vmLckKB == full.vmLckKB, "\(text)")
            #expect(lean.uid == (full.uids.first ?? 0), "\(text)")
            #expect(lean.capEff == full.capEff, "\(text)")
        }
        #expect(throws: ObserverError.self) { try StatusSummary.parse("Pid:\t1\n") }
        #expect(throws: ObserverError.self) { try ProcessStatus.parse("Pid:\t1\n") }
    }

    @Test func countersScanMatchesFullParse() throws {
        let full = try GlobalCounters.parse(meminfo: Fixtures.meminfo, vmstat: Fixtures.vmstat)
        let lean = try withBytes(Fixtures.meminfo) { m in
            try withBytes(Fixtures.vmstat) { v in try GlobalCounters.scan(meminfo: m, vmstat: v) }
        }
        #expect(lean.mlockedKB == full.mlockedKB && lean.unevictableKB == full.unevictableKB)
        #expect(lean.nrMlock == full.nrMlock && lean.nrUnevictable == full.nrUnevictable)
        #expect(lean.events == full.events && lean.events != nil)
        #expect(lean.delta(from: full).isZero)
        // Only the counters: the dictionaries stay empty.
        #expect(lean.meminfo.isEmpty && lean.vmstat.isEmpty)
    }

    @Test func countersScanEdges() throws {
        func scan(_ meminfo: String, _ vmstat: String) throws -> GlobalCounters {
            try withBytes(meminfo) { m in try withBytes(vmstat) { v in try GlobalCounters.scan(meminfo: m, vmstat: v) } }
        }
        // Without event counters; a negative (wrapped) nr_mlock; keys that only share a prefix.
        let g = try scan("Mlocked_x: 9 kB\nMlocked: 4 kB\nUnevictable: 8 kB\n",
                         "nr_mlock -1\nnr_mlockx 5\nnr_unevictable 2\nunevictable_pgs_mlockedx 3\n")
        #expect(g.mlockedKB == 4 && g.unevictableKB == 8 && Int64(bitPattern: g.nrMlock) == -1 && g.events == nil)
        // Events: the ones printed, 0 for the others (as UnevictableEvents(vmstat:)).
        let e = try scan("Mlocked: 0 kB\nUnevictable: 0 kB\n",
                         "nr_mlock 0\nnr_unevictable 0\nunevictable_pgs_mlocked 18446744073709551615\nunevictable_pgs_stranded 2\n")
        #expect(e.events?.mlocked == UInt64.max && e.events?.stranded == 2 && e.events?.culled == 0)
        #expect(throws: ObserverError.self) { try scan("MemTotal: 1 kB\n", "nr_mlock 0\nnr_unevictable 0\n") }
        #expect(throws: ObserverError.self) { try scan("Mlocked: 4 kB\nUnevictable: 8 kB\n", "nr_mlock 1\n") }
    }
}

extension SmapsVMA {
    func with(_ change: (inout SmapsVMA) -> Void) -> SmapsVMA {
        var v = self
        change(&v)
        return v
    }
}
