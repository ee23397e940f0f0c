import Glibc

/// The hugetlb pool of the default huge page size (2 MiB on x86_64), grown for a
/// scenario through the settings journal (vm.nr_hugepages is restored afterwards, also
/// by the next run if this one is killed).
public enum HugePages {
    public static let nrHugepages = "/proc/sys/vm/nr_hugepages"

    /// HugePages_Total and HugePages_Free from /proc/meminfo.
    public static func pool() -> (total: Int, free: Int)? {
        guard let text = try? readTextFile("/proc/meminfo") else { return nil }
        var total: Int?, free: Int?
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 2 else { continue }
            if f[0] == "HugePages_Total:" { total = Int(f[1]) }
            if f[0] == "HugePages_Free:" { free = Int(f[1]) }
        }
        guard let total, let free else { return nil }
        return (total, free)
    }

    /// Makes `count` huge pages free, raising nr_hugepages if needed (journaled). Returns
    /// nil when they are free, else why not (after putting nr_hugepages back).
    public static func reserve(_ count: Int, journal: SettingsJournal = .shared) -> String? {
        guard let before = pool() else { return "no HugePages_* in /proc/meminfo (CONFIG_HUGETLB_PAGE off)" }
        if before.free >= count { return nil }
        let want = before.total + count - before.free
        do {
            try journal.set(nrHugepages, to: String(want))
        } catch {
            return "cannot raise \(nrHugepages) to \(want): \(error)"
        }
        guard let after = pool(), after.free >= count else {
            release(journal: journal)
            let got = pool()?.free ?? 0
            return "could reserve only \(got) of \(count) free 2 MiB huge pages (nr_hugepages \(want) asked; memory too fragmented?)"
        }
        return nil
    }

    /// Puts nr_hugepages back to its journaled value, if it was changed.
    public static func release(journal: SettingsJournal = .shared) {
        try? journal.restore(nrHugepages)
    }
}
