import CLockstepShim
import Glibc

/// Swap on a zram device of the suite's own, for the reclaim scenarios only.
///
/// Without swap, reclaim never scans the anonymous LRU lists, and shmem (SysV segments,
/// memfd) lives there: its SHM_LOCK'd pages would never be culled, nor the pages of a
/// locked VMA that lack PG_mlocked be found. The device is hot-added
/// (/sys/class/zram-control) or, without hot_add, zram0 when unused; it is journaled
/// before it is made, so that a killed run's next start swaps it off, resets it and
/// removes it.
public enum ZramSwap {
    static let control = "/sys/class/zram-control"

    /// Why swap on zram cannot be set up here, or nil when it can.
    public static func unavailable() -> String? {
        if geteuid() != 0 { return "needs root (zram, swapon)" }
        if fileExists(control + "/hot_add") { return nil }
        if let size = try? readTextFile("/sys/block/zram0/disksize") {
            return size.hasPrefix("0") ? nil : "zram0 is in use and the kernel has no zram hot_add"
        }
        return "no zram device (CONFIG_ZRAM off, or the zram module not loaded): no swap for reclaim to scan anon/shmem"
    }

    /// A swap device of `megabytes` (compressed on use, so nearly free until written),
    /// swapped on. Returns the journal entry that undoes it.
    public static func enable(megabytes: Int) throws -> SettingsJournal.Entry {
        let n: Int, added: Bool
        if fileExists(control + "/hot_add") {
            // Reading hot_add makes the device and answers its number.
            guard let id = Int(try readTextFile(control + "/hot_add").filter { $0.isNumber }) else {
                throw Errno(rawValue: EIO)
            }
            n = id; added = true
        } else {
            n = 0; added = false
        }
        let entry = SettingsJournal.Entry.swap(zram: n, hotAdded: added)
        try SettingsJournal.shared.note(entry)
        do {
            try writeFile("/sys/block/zram\(n)/disksize", "\(megabytes)M")
            let dev = "/dev/zram\(n)"
            try writeSwapHeader(dev, bytes: UInt64(megabytes) << 20)
            let r = ls_swapon(dev, 0)
            if r < 0 { throw Errno(rawValue: -r) }
        } catch {
            SettingsJournal.shared.release(entry)
            throw error
        }
        return entry
    }

    /// swapoff, reset, hot_remove (the journal's undo).
    static func teardown(device n: Int, hotAdded: Bool) throws {
        let dev = "/dev/zram\(n)"
        let r = ls_swapoff(dev)
        // EINVAL: not a swap device (the run died before swapon).
        if r < 0 && r != -EINVAL { throw Errno(rawValue: -r) }
        try writeFile("/sys/block/zram\(n)/reset", "1")
        if hotAdded { try writeFile(control + "/hot_remove", "\(n)") }
    }

    /// mkswap's work: a version-1 swap header in the first page (last_page at byte 1028,
    /// "SWAPSPACE2" in the page's last 10 bytes), written with one pwrite.
    static func writeSwapHeader(_ path: String, bytes: UInt64) throws {
        var page = [UInt8](repeating: 0, count: 4096)
        func put32(_ v: UInt32, at o: Int) { for i in 0..<4 { page[o + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) } }
        put32(1, at: 1024)                                   // version
        put32(UInt32(bytes / 4096 - 1), at: 1028)            // last_page
        for (i, c) in "SWAPSPACE2".utf8.enumerated() { page[4086 + i] = c }
        let fd = try FileDescriptor.open(path, O_WRONLY)
        defer { try? fd.close() }
        let n = page.withUnsafeBytes { pwrite(fd.rawValue, $0.baseAddress, 4096, 0) }
        guard n == 4096 else { throw n < 0 ? Errno.current : Errno(rawValue: EIO) }
        guard fsync(fd.rawValue) == 0 else { throw Errno.current }
    }
}
