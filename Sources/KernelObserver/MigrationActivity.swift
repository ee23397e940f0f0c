import KernelInterface

/// How many pages the machine has migrated or isolated for compaction so far
/// (/proc/vmstat pgmigrate_success + pgmigrate_fail + compact_isolated), plus the
/// collapses khugepaged has made (transparent_hugepage/khugepaged/pages_collapsed).
///
/// Migration moves a locked page through the unevictable events (mlocked, culled,
/// rescued and stranded +1 each) and leaves it briefly off the LRU, where an mlock or
/// munlock of it is deferred: kcompactd or another process compacting during a scenario
/// changes the page layer the scenario sees. A scenario that failed while this count
/// moved, and that migrates nothing itself, was disturbed and is run again.
/// khugepaged is the other background writer of a scenario's page layer: every 10 s it
/// may collapse a MADV_HUGEPAGE range that a scenario left PTE-mapped (seen once in 20
/// runs: thp.pmd.fork-parent-cow's parent found PMD-mapped again). Its counter moves
/// only for khugepaged's own collapses, not for MADV_COLLAPSE (madvise_collapse does
/// not count in khugepaged_pages_collapsed).
public enum MigrationActivity {
    static let fields: Set<Substring> = ["pgmigrate_success", "pgmigrate_fail", "compact_isolated"]

    /// The sum, or nil when /proc/vmstat has none of the fields (no CONFIG_MIGRATION).
    public static func read() -> UInt64? {
        var sum = VmstatSum.read(fields)
        if let text = try? readTextFile(khugepagedCollapsed),
           let n = UInt64(text.filter(\.isNumber)) {
            sum = (sum ?? 0) &+ n
        }
        return sum
    }

    static let khugepagedCollapsed = "/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed"
}

/// Pages written back on the machine so far (/proc/vmstat nr_written). A regular file's
/// dirty pages are written back by whoever syncs (sync(), the flusher, another process's
/// fsync of the filesystem's journal): its folios are then clean, so MADV_PAGEOUT drops
/// them instead of keeping them with PG_reclaim, and while a folio is being written
/// fault-around skips it. A run in which this moved without an op of its own writing
/// back (msync MS_SYNC) was disturbed by someone else's writeback.
public enum WritebackActivity {
    public static func read() -> UInt64? { VmstatSum.read(["nr_written"]) }
}

/// The sum of some /proc/vmstat fields, or nil when it has none of them.
enum VmstatSum {
    static func read(_ fields: Set<Substring>) -> UInt64? {
        guard let text = try? readTextFile("/proc/vmstat") else { return nil }
        var sum: UInt64 = 0, seen = false
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, fields.contains(parts[0]), let n = UInt64(parts[1]) else { continue }
            sum &+= n
            seen = true
        }
        return seen ? sum : nil
    }
}
