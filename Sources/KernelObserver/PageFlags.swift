import Glibc
import KernelInterface

/// kpageflags bit numbers (include/uapi/linux/kernel-page-flags.h; 32+ are the
/// "kernel hacking" bits, which /proc/kpageflags reports too).
public enum KPF {
    public static let locked = 0, error = 1, referenced = 2, uptodate = 3, dirty = 4, lru = 5
    public static let active = 6, slab = 7, writeback = 8, reclaim = 9, buddy = 10, mmap = 11
    public static let anon = 12, swapcache = 13, swapbacked = 14, compoundHead = 15, compoundTail = 16
    public static let huge = 17, unevictable = 18, hwpoison = 19, nopage = 20, ksm = 21, thp = 22
    public static let offline = 23, zeroPage = 24, idle = 25, pgtable = 26
    public static let reserved = 32, mlocked = 33, mappedToDisk = 34, `private` = 35, private2 = 36
    public static let ownerPrivate = 37, arch = 38, uncached = 39, softDirty = 40, arch2 = 41

    /// Short names for printing raw flags.
    public static let names: [Int: String] = [
        0: "locked", 1: "error", 2: "referenced", 3: "uptodate", 4: "dirty", 5: "lru", 6: "active",
        7: "slab", 8: "writeback", 9: "reclaim", 10: "buddy", 11: "mmap", 12: "anon", 13: "swapcache",
        14: "swapbacked", 15: "compound_head", 16: "compound_tail", 17: "huge", 18: "unevictable",
        19: "hwpoison", 20: "nopage", 21: "ksm", 22: "thp", 23: "offline", 24: "zero_page", 25: "idle",
        26: "pgtable", 32: "reserved", 33: "mlocked", 34: "mappedtodisk", 35: "private", 36: "private_2",
        37: "owner_private", 38: "arch", 39: "uncached", 40: "softdirty", 41: "arch_2",
    ]
    public static func describe(_ flags: UInt64) -> String {
        (0..<64).filter { flags & (1 << UInt64($0)) != 0 }.map { names[$0] ?? "bit\($0)" }.joined(separator: ",")
    }
}

/// One /proc/PID/pagemap entry.
public struct PagemapEntry: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let pfnMask: UInt64 = (1 << 55) - 1

    /// Bit 63.
    public var present: Bool { rawValue >> 63 & 1 == 1 }
    /// Bit 62.
    public var swapped: Bool { rawValue >> 62 & 1 == 1 }
    /// Bit 61: file page or shared anon.
    public var fileOrSharedAnon: Bool { rawValue >> 61 & 1 == 1 }
    /// Bit 58 (6.15+): a guard region.
    public var guardRegion: Bool { rawValue >> 58 & 1 == 1 }
    /// Bit 57: userfaultfd write-protected.
    public var uffdWriteProtected: Bool { rawValue >> 57 & 1 == 1 }
    /// Bit 56: exclusively mapped.
    public var exclusive: Bool { rawValue >> 56 & 1 == 1 }
    /// Bit 55.
    public var softDirty: Bool { rawValue >> 55 & 1 == 1 }
    /// Decodes raw little-endian pagemap (or kpageflags) bytes into 64-bit entries.
    public static func decode(_ bytes: [UInt8]) -> [UInt64] {
        precondition(bytes.count % 8 == 0, "pagemap entries are 8 bytes")
        var out = [UInt64](repeating: 0, count: bytes.count / 8)
        for i in out.indices {
            var v: UInt64 = 0
            for b in 0..<8 { v |= UInt64(bytes[i * 8 + b]) << UInt64(8 * b) }
            out[i] = v
        }
        return out
    }

    /// Bits 0-54 when present (0 without CAP_SYS_ADMIN); swap type/offset when swapped.
    public var pfn: UInt64 { present ? rawValue & PagemapEntry.pfnMask : 0 }
}

/// One page of a range: pagemap entry and, when present, the kpageflags of its PFN.
public struct PageFlags: Hashable, Sendable, CustomStringConvertible {
    public var address: UInt64
    public var pagemap: PagemapEntry
    /// kpageflags of the PFN (0 when not present).
    public var raw: UInt64

    public init(address: UInt64, pagemap: PagemapEntry, raw: UInt64) {
        self.address = address; self.pagemap = pagemap; self.raw = raw
    }

    public var present: Bool { pagemap.present }
    public var pfn: UInt64 { pagemap.pfn }
    public func has(_ bit: Int) -> Bool { raw >> UInt64(bit) & 1 == 1 }
    public var mlocked: Bool { has(KPF.mlocked) }
    public var unevictable: Bool { has(KPF.unevictable) }
    public var thp: Bool { has(KPF.thp) }
    public var zeroPage: Bool { has(KPF.zeroPage) }
    public var compoundHead: Bool { has(KPF.compoundHead) }
    public var compoundTail: Bool { has(KPF.compoundTail) }
    public var lru: Bool { has(KPF.lru) }
    public var anon: Bool { has(KPF.anon) }
    public var huge: Bool { has(KPF.huge) }

    public var description: String {
        present ? "\(String(address, radix: 16)) pfn=\(String(pfn, radix: 16)) [\(KPF.describe(raw))]"
                : "\(String(address, radix: 16)) not present"
    }
}

/// Counts over a range of pages.
public struct PageSummary: Hashable, Sendable, CustomStringConvertible {
    public var pages = 0, present = 0, mlocked = 0, unevictable = 0, thp = 0, zeroPage = 0
    public var lru = 0, compoundHead = 0, compoundTail = 0
    public init() {}
    public var description: String {
        "pages=\(pages) present=\(present) MLOCKED=\(mlocked) UNEVICTABLE=\(unevictable) THP=\(thp) ZERO=\(zeroPage) LRU=\(lru) HEAD=\(compoundHead)"
    }
}

/// The page layer of a range of virtual addresses: struct of arrays, one entry per page.
public struct PageRange: RandomAccessCollection, Sendable {
    public let start: UInt64
    public let pageSize: UInt64
    /// Raw pagemap entries, one per page.
    public let pagemap: [UInt64]
    /// Raw kpageflags of each page's PFN (0 for pages not present).
    public let kpageflags: [UInt64]

    public init(start: UInt64, pageSize: UInt64, pagemap: [UInt64], kpageflags: [UInt64]) {
        precondition(pagemap.count == kpageflags.count)
        self.start = start; self.pageSize = pageSize; self.pagemap = pagemap; self.kpageflags = kpageflags
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { pagemap.count }
    public subscript(i: Int) -> PageFlags {
        PageFlags(address: start + UInt64(i) * pageSize, pagemap: PagemapEntry(rawValue: pagemap[i]), raw: kpageflags[i])
    }
    /// The page containing `address`, if inside the range.
    public func page(at address: UInt64) -> PageFlags? {
        guard address >= start else { return nil }
        let i = Int((address - start) / pageSize)
        return i < count ? self[i] : nil
    }

    public var summary: PageSummary {
        var s = PageSummary()
        s.pages = count
        for i in 0..<count where pagemap[i] >> 63 == 1 {
            let f = kpageflags[i]
            s.present += 1
            if f >> 33 & 1 == 1 { s.mlocked += 1 }
            if f >> 18 & 1 == 1 { s.unevictable += 1 }
            if f >> 22 & 1 == 1 { s.thp += 1 }
            if f >> 24 & 1 == 1 { s.zeroPage += 1 }
            if f >> 5 & 1 == 1 { s.lru += 1 }
            if f >> 15 & 1 == 1 { s.compoundHead += 1 }
            if f >> 16 & 1 == 1 { s.compoundTail += 1 }
        }
        return s
    }
}

/// The page layer could not be read exactly: a named reason the caller turns into a skip.
public struct PageLayerUnavailable: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "page layer unavailable: \(reason)" }
}

/// What the last `PageFlagsReader.read` cost.
public struct PageReadStats: Hashable, Sendable, CustomStringConvertible {
    public var pages = 0
    public var pagemapNanoseconds: UInt64 = 0
    public var kpageflagsNanoseconds: UInt64 = 0
    /// Runs of consecutive PFNs found, and preads of /proc/kpageflags after merging.
    public var pfnRuns = 0
    public var kpageflagsReads = 0
    public var kpageflagsEntries = 0
    public init() {}
    public var totalNanoseconds: UInt64 { pagemapNanoseconds + kpageflagsNanoseconds }
    public var description: String {
        let ms = { (ns: UInt64) in String(Double(ns) / 1e6) }
        return "\(pages) pages: pagemap \(ms(pagemapNanoseconds)) ms, kpageflags \(ms(kpageflagsNanoseconds)) ms (\(pfnRuns) PFN runs, \(kpageflagsReads) preads, \(kpageflagsEntries) entries)"
    }
}

/// Reads /proc/PID/pagemap and /proc/kpageflags for ranges of a process's address space,
/// in batches: one pread of pagemap for the whole range, then the PFNs grouped into
/// runs (consecutive or repeated PFNs), sorted, merged when close, and one pread of
/// kpageflags per merged run.
public final class PageFlagsReader {
    public let pid: Int32
    public let pageSize: UInt64
    private let pagemapFD: FileDescriptor
    private let kpageflagsFD: FileDescriptor?
    private let kpageflagsError: String?
    /// Cost of the last read.
    public private(set) var lastStats = PageReadStats()
    /// PFN gaps up to this many entries are read through rather than split into two preads.
    /// Each entry read through costs the kernel a page-flags snapshot: 4, not 32, took
    /// ~15% less system time over 2,000 fuzz ops (foreign VMAs scatter their PFNs).
    public var mergeGap: UInt64 = 4

    /// Opens /proc/PID/pagemap (throws if that fails) and /proc/kpageflags (whose failure
    /// is reported by `unavailableReason` and by `read`).
    public init(pid: Int32) throws {
        self.pid = pid
        self.pageSize = UInt64(Kernel.pageSize)
        self.pagemapFD = try FileDescriptor.open("/proc/\(pid)/pagemap")
        do {
            kpageflagsFD = try FileDescriptor.open("/proc/kpageflags")
            kpageflagsError = nil
        } catch let e as Errno {
            kpageflagsFD = nil
            kpageflagsError = e == .ENOENT
                ? "no /proc/kpageflags (CONFIG_PROC_PAGE_MONITOR off)"
                : "/proc/kpageflags: \(e)\(Kernel.isRoot ? "" : " (needs root)")"
        }
    }

    deinit {
        try? pagemapFD.close()
        try? kpageflagsFD?.close()
    }

    /// nil when kpageflags can be read (PFN visibility is checked on each read).
    public var unavailableReason: String? { kpageflagsError }

    /// Raw pagemap entries for `pages` pages from `start` (page-aligned): one pread.
    /// Works without root (PFNs then read as 0).
    public func readPagemap(start: UInt64, pages: Int) throws -> [UInt64] {
        precondition(start % pageSize == 0, "start must be page-aligned")
        var entries = [UInt64](repeating: 0, count: pages)
        let got = try entries.withUnsafeMutableBytes { raw in
            try pagemapFD.preadFully(into: raw, at: Int64(bitPattern: start / pageSize * 8))
        }
        if got != pages * 8 { throw ObserverError("pagemap of \(pid): short read \(got)/\(pages * 8) bytes") }
        return entries
    }

    /// Pagemap and kpageflags for `pages` pages from `start`. Throws `PageLayerUnavailable`
    /// when kpageflags is not readable or PFNs are hidden (no CAP_SYS_ADMIN).
    public func read(start: UInt64, pages: Int) throws -> PageRange {
        guard kpageflagsFD != nil else { throw PageLayerUnavailable(kpageflagsError ?? "kpageflags") }
        return try read(ranges: [(start: start, pages: pages)])[0]
    }

    /// Several ranges at once: one pread of pagemap per range, then the kpageflags of all
    /// of them gathered together (runs sorted and merged across ranges, so pages of two
    /// ranges in nearby frames share a pread). Page-aligned starts; a short pagemap read throws;
    /// no ranges (or no pages): no read at all.
    public func read(ranges: [(start: UInt64, pages: Int)]) throws -> [PageRange] {
        let total = ranges.reduce(0) { $0 + $1.pages }
        if total == 0 { return ranges.map { PageRange(start: $0.start, pageSize: pageSize, pagemap: [], kpageflags: []) } }
        var stats = PageReadStats()
        stats.pages = total
        let t0 = Kernel.monotonicNanoseconds()
        var entries = [UInt64](repeating: 0, count: total)
        try entries.withUnsafeMutableBytes { raw in
            var at = 0
            for r in ranges {
                precondition(r.start % pageSize == 0, "start must be page-aligned")
                let part = UnsafeMutableRawBufferPointer(rebasing: raw[(at * 8)..<((at + r.pages) * 8)])
                let got = try pagemapFD.preadFully(into: part, at: Int64(bitPattern: r.start / pageSize * 8))
                if got != r.pages * 8 { throw ObserverError("pagemap of \(pid): short read \(got)/\(r.pages * 8) bytes") }
                at += r.pages
            }
        }
        let t1 = Kernel.monotonicNanoseconds()
        stats.pagemapNanoseconds = t1 - t0
        guard let kfd = kpageflagsFD else { throw PageLayerUnavailable(kpageflagsError ?? "kpageflags") }
        let flags = try PageFlagsReader.gatherFlags(pagemap: entries, mergeGap: mergeGap, stats: &stats) { pfn, buffer in
            try kfd.preadFully(into: buffer, at: Int64(pfn * 8))
        }
        stats.kpageflagsNanoseconds = Kernel.monotonicNanoseconds() - t1
        lastStats = stats
        if ranges.count == 1 { return [PageRange(start: ranges[0].start, pageSize: pageSize, pagemap: entries, kpageflags: flags)] }
        var out: [PageRange] = []
        out.reserveCapacity(ranges.count)
        var at = 0
        for r in ranges {
            out.append(PageRange(start: r.start, pageSize: pageSize, pagemap: Array(entries[at..<(at + r.pages)]),
                                 kpageflags: Array(flags[at..<(at + r.pages)])))
            at += r.pages
        }
        return out
    }

    /// Pages of [start, end).
    public func read(start: UInt64, end: UInt64) throws -> PageRange {
        try read(start: start, pages: Int((end - start + pageSize - 1) / pageSize))
    }

    struct Run {
        var va: Int          // index of the first page
        var count: Int       // pages
        var pfn: UInt64      // PFN of the first page
        var stride: Int      // +1 ascending PFNs, -1 descending, 0 the same PFN repeated (zero page)
        var slot = 0         // index into the flags buffer of `low`
        init(va: Int, count: Int, pfn: UInt64, stride: Int) {
            self.va = va; self.count = count; self.pfn = pfn; self.stride = stride
        }
        /// Lowest PFN and number of PFNs covered.
        var low: UInt64 { stride < 0 ? pfn - UInt64(count - 1) : pfn }
        var span: UInt64 { stride == 0 ? 1 : UInt64(count) }
    }

    /// Runs in PFN order, as a stable sort by `low` leaves them. Runs come in address
    /// order and often already sorted; else, when PFNs and indices fit, the sort is of
    /// plain numbers (PFN << 24 | index: equal PFNs keep their order), cheaper than
    /// sorting the structs.
    static func sortByPFN(_ runs: inout [Run]) {
        if runs.indices.dropFirst().allSatisfy({ runs[$0 - 1].low <= runs[$0].low }) { return }
        guard runs.count < 1 << 24, runs.allSatisfy({ $0.low < 1 << 40 }) else {
            runs.sort { $0.low < $1.low }
            return
        }
        var keys = runs.indices.map { runs[$0].low << 24 | UInt64($0) }
        keys.sort()
        runs = keys.map { runs[Int($0 & 0xFF_FFFF)] }
    }

    /// The batching core, pure but for `readKpageflags(firstPFN, buffer)`, which fills
    /// `buffer` with the 8-byte kpageflags entries from `firstPFN` and returns the bytes
    /// read. Returns the kpageflags of each present page's PFN (0 for absent pages).
    /// Throws `PageLayerUnavailable` when a present page shows PFN 0 (PFNs hidden).
    public static func gatherFlags(pagemap entries: [UInt64], mergeGap: UInt64 = 32, stats: inout PageReadStats,
                                   readKpageflags: (UInt64, UnsafeMutableRawBufferPointer) throws -> Int) throws -> [UInt64] {
        let n = entries.count
        // 1. Runs in address order.
        var runs: [Run] = []
        try entries.withUnsafeBufferPointer { e in
            var i = 0
            while i < n {
                let v = e[i]
                if v >> 63 == 0 { i += 1; continue }
                let pfn = v & PagemapEntry.pfnMask
                if pfn == 0 {
                    throw PageLayerUnavailable("pagemap hides PFNs (needs CAP_SYS_ADMIN)")
                }
                var run = Run(va: i, count: 1, pfn: pfn, stride: 1)
                var j = i + 1
                if j < n, e[j] >> 63 == 1 {
                    let next = e[j] & PagemapEntry.pfnMask
                    if next == pfn { run.stride = 0 } else if next &+ 1 == pfn && pfn > 1 { run.stride = -1 }
                }
                while j < n, e[j] >> 63 == 1,
                      e[j] & PagemapEntry.pfnMask == pfn &+ UInt64(bitPattern: Int64(run.stride * (j - i))),
                      e[j] & PagemapEntry.pfnMask != 0 {
                    j += 1
                }
                run.count = j - i
                runs.append(run)
                i = j
            }
        }
        stats.pfnRuns = runs.count
        var flags = [UInt64](repeating: 0, count: n)
        if runs.isEmpty { return flags }

        // 2. Sort by PFN; merge runs closer than mergeGap into reads; give each run its slot.
        Self.sortByPFN(&runs)
        var reads: [(lo: UInt64, hi: UInt64, slot: Int)] = []
        var total = 0
        runs.withUnsafeMutableBufferPointer { rs in
            for k in rs.indices {
                let lo = rs[k].low, hi = lo + rs[k].span
                if let last = reads.last, lo <= last.hi + mergeGap {
                    if hi > last.hi {
                        total += Int(hi - last.hi)
                        reads[reads.count - 1].hi = hi
                    }
                } else {
                    reads.append((lo, hi, total))
                    total += Int(hi - lo)
                }
                let r = reads[reads.count - 1]
                rs[k].slot = r.slot + Int(lo - r.lo)
            }
        }
        // 3. One pread per merged read.
        var buffer = [UInt64](repeating: 0, count: total)
        try buffer.withUnsafeMutableBytes { raw in
            for r in reads {
                let bytes = UnsafeMutableRawBufferPointer(rebasing: raw[(r.slot * 8)..<((r.slot + Int(r.hi - r.lo)) * 8)])
                let got = try readKpageflags(r.lo, bytes)
                if got != bytes.count {
                    throw ObserverError("kpageflags: short read at PFN \(String(r.lo, radix: 16)): \(got)/\(bytes.count)")
                }
            }
        }
        stats.kpageflagsReads = reads.count
        stats.kpageflagsEntries = total
        // 4. Scatter back to pages.
        buffer.withUnsafeBufferPointer { b in
            flags.withUnsafeMutableBufferPointer { f in
                for r in runs {
                    switch r.stride {
                    case 1: for k in 0..<r.count { f[r.va + k] = b[r.slot + k] }
                    case -1: for k in 0..<r.count { f[r.va + k] = b[r.slot + r.count - 1 - k] }
                    default:
                        let v = b[r.slot]
                        for k in 0..<r.count { f[r.va + k] = v }
                    }
                }
            }
        }
        return flags
    }
}

/// What `PageFlagsReader.benchmark` measured.
public struct PageFlagsBenchmark: Sendable, CustomStringConvertible {
    public var pages: Int
    public var hugepages: Bool
    /// Best of the repetitions.
    public var best: PageReadStats
    public var repetitions: Int
    public var summary: PageSummary
    public var description: String {
        "pagemap+kpageflags, \(pages) pages\(hugepages ? " (MADV_HUGEPAGE)" : ""), best of \(repetitions): "
            + "\(Double(best.totalNanoseconds) / 1e6) ms — \(best); \(summary)"
    }
}

public extension PageFlagsReader {
    /// Maps and writes `pages` pages of our own anonymous memory, reads their page layer
    /// `repetitions` times and returns the best time. Throws `PageLayerUnavailable`
    /// without root.
    static func benchmark(pages: Int = 1 << 20, hugepages: Bool = false, repetitions: Int = 3) throws -> PageFlagsBenchmark {
        let ps = Kernel.pageSize
        let length = pages * ps
        let p = try Kernel.mapAnonymous(length: length)
        defer { try? Kernel.unmap(p, length: length) }
        _ = madvise(p, length, hugepages ? 14 : 15)   // MADV_HUGEPAGE / MADV_NOHUGEPAGE
        Kernel.touch(p, length: length, write: true)
        let reader = try PageFlagsReader(pid: getpid())
        var best: PageReadStats?
        var summary = PageSummary()
        for _ in 0..<max(1, repetitions) {
            let r = try reader.read(start: UInt64(UInt(bitPattern: p)), pages: pages)
            if best == nil || reader.lastStats.totalNanoseconds < best!.totalNanoseconds { best = reader.lastStats }
            summary = r.summary
        }
        return PageFlagsBenchmark(pages: pages, hugepages: hugepages, best: best!, repetitions: max(1, repetitions),
                                  summary: summary)
    }
}

/// A folio of a `PageRange`: a base page, or a compound page's head and tails as far as
/// they are inside the range. Lock state is a folio's (PG_mlocked lives on the head):
/// on 6.1 only the head page of a THP shows MLOCKED, on 6.12+ every page does, so count
/// locked memory by folio.
public struct FolioView: Hashable, Sendable {
    /// Page indices in the range (address order).
    public var pages: Range<Int>
    /// The head's PFN, when the head is inside the range.
    public var headPFN: UInt64?
    /// More than one page (COMPOUND_HEAD/TAIL).
    public var compound: Bool
    public var thp: Bool
    /// The head's MLOCKED bit, or any page's when the head is outside the range.
    public var mlocked: Bool
    public var unevictable: Bool
}

public extension PageRange {
    /// The present pages grouped into folios: a head followed by tails with consecutive
    /// PFNs is one folio; a base page is its own; tails before any head (the range starts
    /// inside a folio) form one folio without a head.
    var folios: [FolioView] {
        var out: [FolioView] = []
        var i = 0
        while i < count {
            let p = self[i]
            guard p.present else { i += 1; continue }
            var j = i + 1
            if p.compoundHead || p.compoundTail {
                while j < count, self[j].present, self[j].compoundTail, !self[j].compoundHead,
                      self[j].pfn == p.pfn + UInt64(j - i) {
                    j += 1
                }
            }
            let members = (i..<j).map { self[$0] }
            let head = p.compoundHead ? p : nil
            out.append(FolioView(pages: i..<j, headPFN: head?.pfn, compound: p.compoundHead || p.compoundTail,
                                 thp: members.contains { $0.thp },
                                 mlocked: head.map(\.mlocked) ?? members.contains { $0.mlocked },
                                 unevictable: head.map(\.unevictable) ?? members.contains { $0.unevictable }))
            i = j
        }
        return out
    }

    /// Pages of the range in mlocked folios (each page counted once, per folio).
    var pagesInMlockedFolios: Int { folios.filter(\.mlocked).reduce(0) { $0 + $1.pages.count } }
}
