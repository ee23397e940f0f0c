import Testing
import KernelInterface
@testable import KernelObserver

/// A fake /proc/kpageflags: flags by PFN, counting preads.
final class FakeKpageflags {
    var flags: [UInt64: UInt64]
    var reads = 0
    var entriesRead = 0
    init(_ flags: [UInt64: UInt64]) { self.flags = flags }
    func read(_ pfn: UInt64, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        reads += 1
        let n = buffer.count / 8
        entriesRead += n
        let out = buffer.bindMemory(to: UInt64.self)
        for i in 0..<n { out[i] = flags[pfn + UInt64(i)] ?? 0 }
        return buffer.count
    }
}

let present: UInt64 = 1 << 63
let mlockedUnevictable: UInt64 = 1 << 33 | 1 << 18 | 1 << 5

@Suite("pagemap and kpageflags decoding")
struct PageFlagsTests {
    @Test func pagemapBits() {
        // Little-endian bytes of: present + exclusive + PFN 0x12345; and swapped + file.
        var bytes: [UInt8] = [0x45, 0x23, 0x01, 0, 0, 0, 0, 0x81]
        bytes += [0, 0, 0, 0, 0, 0, 0, 0x60]
        let e = PagemapEntry.decode(bytes).map(PagemapEntry.init(rawValue:))
        #expect(e[0].present && e[0].exclusive && !e[0].swapped && e[0].pfn == 0x12345)
        #expect(!e[1].present && e[1].swapped && e[1].fileOrSharedAnon && e[1].pfn == 0)
        #expect(PagemapEntry(rawValue: present | 1 << 55).softDirty)
        #expect(PagemapEntry(rawValue: present | (1 << 55) - 1).pfn == (1 << 55) - 1)
    }

    @Test func kpageflagsBits() {
        // The flags the probe saw on a freshly mlocked anon page: 0x60004582c.
        let f = PageFlags(address: 0x1000, pagemap: PagemapEntry(rawValue: present | 0x140534), raw: 0x6_0004_582c)
        #expect(f.present && f.pfn == 0x140534)
        #expect(f.mlocked && f.unevictable && f.lru && f.anon && !f.thp && !f.zeroPage)
        #expect(!f.compoundHead && !f.compoundTail)
        #expect(KPF.describe(0x6_0004_582c) == "referenced,uptodate,lru,mmap,anon,swapbacked,unevictable,mlocked,mappedtodisk")
        let head = PageFlags(address: 0, pagemap: PagemapEntry(rawValue: present | 512),
                             raw: 1 << 15 | 1 << 22 | 1 << 33 | 1 << 17)
        #expect(head.compoundHead && head.thp && head.huge && head.mlocked)
        let zero = PageFlags(address: 0, pagemap: PagemapEntry(rawValue: present | 9), raw: 1 << 24)
        #expect(zero.zeroPage && !zero.mlocked)
    }

    /// Every page gets the flags of its own PFN, whatever the PFN pattern.
    static let patterns: [(String, [UInt64])] = {
        let ascending: [UInt64] = (0..<64).map { UInt64(0x1000 + $0) }
        let descending: [UInt64] = (0..<64).map { UInt64(0x2000 - $0) }
        let zero = [UInt64](repeating: 0x77, count: 64)
        let scattered: [UInt64] = (0..<64).map { (i: Int) -> UInt64 in UInt64(0x10000 + (i * 7919) % 4096) }
        let mixed: [UInt64] = [5, 6, 7, 100, 99, 98, 98, 98, 5000, 5001, 3, 2, 1]
        return [("ascending", ascending), ("descending", descending), ("zero page repeated", zero),
                ("scattered", scattered), ("mixed", mixed)]
    }()

    @Test(arguments: PageFlagsTests.patterns)
    func gatherMatchesNaiveLookup(_ name: String, _ pfns: [UInt64]) throws {
        var pagemap = pfns.map { present | $0 }
        pagemap.insert(0, at: 3)           // an absent page
        pagemap.append(1 << 62 | 0x55)     // a swapped page: not present, no PFN
        var table: [UInt64: UInt64] = [:]
        for p in pfns { table[p] = p &* 0x9E37_79B9 | 1 }
        let fake = FakeKpageflags(table)
        var stats = PageReadStats()
        let flags = try PageFlagsReader.gatherFlags(pagemap: pagemap, stats: &stats, readKpageflags: fake.read)
        #expect(flags.count == pagemap.count)
        for (i, e) in pagemap.enumerated() {
            let expected = e >> 63 == 1 ? table[e & PagemapEntry.pfnMask]! : 0
            #expect(flags[i] == expected, "page \(i) of \(name)")
        }
        #expect(stats.kpageflagsReads == fake.reads)
    }

    /// Runs in PFN order as a stable sort by PFN leaves them, on both paths (numbers
    /// packed with the index, and the struct sort for PFNs past 2^40).
    @Test func runsSortByPFNStably() {
        var rng = SystemRandomNumberGenerator()
        for high in [false, true] {
            var runs = (0..<500).map { i in
                PageFlagsReader.Run(va: i, count: 1, pfn: UInt64.random(in: 0..<64, using: &rng) + (high ? 1 << 41 : 0), stride: 1)
            }
            let expected = runs.sorted { $0.low < $1.low }.map(\.va)   // stable
            PageFlagsReader.sortByPFN(&runs)
            #expect(runs.map(\.va) == expected)
        }
    }

    @Test func batchingCoalescesRuns() throws {
        // 1024 pages in 4 ascending runs of 256 PFNs, far apart, given in shuffled order.
        let bases: [UInt64] = [0x90000, 0x10000, 0x50000, 0x30000]
        let pagemap = bases.flatMap { b in (0..<256).map { present | (b + UInt64($0)) } }
        let fake = FakeKpageflags([:])
        var stats = PageReadStats()
        _ = try PageFlagsReader.gatherFlags(pagemap: pagemap, stats: &stats, readKpageflags: fake.read)
        #expect(stats.pfnRuns == 4 && fake.reads == 4 && fake.entriesRead == 1024)
        // Runs closer than the merge gap are read in one pread (gap entries read through).
        let near = (0..<8).map { present | (0x1000 + UInt64($0) * 10) }
        let fake2 = FakeKpageflags([:])
        var stats2 = PageReadStats()
        _ = try PageFlagsReader.gatherFlags(pagemap: near, mergeGap: 16, stats: &stats2, readKpageflags: fake2.read)
        #expect(fake2.reads == 1 && fake2.entriesRead == 71)
        let fake3 = FakeKpageflags([:])
        _ = try PageFlagsReader.gatherFlags(pagemap: near, mergeGap: 0, stats: &stats2, readKpageflags: fake3.read)
        #expect(fake3.reads == 8 && fake3.entriesRead == 8)
    }

    @Test func hiddenPFNsMeanUnavailable() {
        // Without CAP_SYS_ADMIN the kernel zeroes PFNs of present pages.
        var stats = PageReadStats()
        #expect(throws: PageLayerUnavailable.self) {
            _ = try PageFlagsReader.gatherFlags(pagemap: [present, present], stats: &stats) { _, b in b.count }
        }
        // Nothing present: nothing to read, no error.
        let none = try? PageFlagsReader.gatherFlags(pagemap: [0, 0], stats: &stats) { _, _ in
            Issue.record("kpageflags read for absent pages"); return 0
        }
        #expect(none == [0, 0])
    }

    @Test func rangeSummaryAndLookup() {
        let pm: [UInt64] = [present | 10, present | 11, 0, present | 12]
        let kf: [UInt64] = [mlockedUnevictable, mlockedUnevictable, 0, 1 << 24]
        let r = PageRange(start: 0x7000, pageSize: 4096, pagemap: pm, kpageflags: kf)
        let s = r.summary
        #expect(s.pages == 4 && s.present == 3 && s.mlocked == 2 && s.unevictable == 2 && s.zeroPage == 1 && s.lru == 2)
        #expect(r.page(at: 0x7000 + 4096 * 3 + 5)?.zeroPage == true)
        #expect(r.page(at: 0x7000 + 4096 * 4) == nil && r.page(at: 0x6fff) == nil)
        #expect(r[2].present == false)
    }

    @Test func foliosCountLockedMemoryPerFolio() {
        let head: UInt64 = 1 << 15 | 1 << 22, tail: UInt64 = 1 << 16 | 1 << 22
        // 6.1: a PMD THP shows MLOCKED on its head only; then two base pages, one absent.
        var pm: [UInt64] = (0..<512).map { present | (0x40000 + UInt64($0)) }
        var kf: [UInt64] = [head | mlockedUnevictable] + [UInt64](repeating: tail, count: 511)
        pm += [present | 7, 0, present | 9]
        kf += [mlockedUnevictable, 0, 0]
        let r = PageRange(start: 0, pageSize: 4096, pagemap: pm, kpageflags: kf)
        #expect(r.summary.mlocked == 2)   // the per-page bits undercount
        let f = r.folios
        #expect(f.count == 3)
        #expect(f[0].pages == 0..<512 && f[0].headPFN == 0x40000 && f[0].compound && f[0].thp && f[0].mlocked)
        #expect(f[1].pages == 512..<513 && !f[1].compound && f[1].mlocked)
        #expect(f[2].pages == 514..<515 && !f[2].mlocked)
        #expect(r.pagesInMlockedFolios == 513)
        // A range starting inside a folio: the tails form one folio without a head.
        let part = PageRange(start: 0, pageSize: 4096, pagemap: Array(pm[100..<512]), kpageflags: Array(kf[100..<512]))
        #expect(part.folios.count == 1 && part.folios[0].headPFN == nil && !part.folios[0].mlocked)
        // Two THPs back to back with consecutive PFNs are still two folios.
        let two = PageRange(start: 0, pageSize: 4096, pagemap: (0..<1024).map { present | (0x80000 + UInt64($0)) },
                            kpageflags: (0..<1024).map { $0 % 512 == 0 ? head : tail })
        #expect(two.folios.map(\.pages.count) == [512, 512])
    }
}
