import KernelInterface

/// The VMA layer of one process, read in one go: smaps and status.
public struct ProcessReading: Hashable, Sendable {
    public var pid: Int32
    public var smaps: [SmapsEntry]
    public var status: ProcessStatus
    /// When it was read (CLOCK_MONOTONIC ns).
    public var takenAt: UInt64

    public init(pid: Int32, smaps: [SmapsEntry], status: ProcessStatus, takenAt: UInt64 = 0) {
        self.pid = pid; self.smaps = smaps; self.status = status; self.takenAt = takenAt
    }

    /// status VmLck in kB.
    public var vmLckKB: UInt64 { status.vmLckKB }
    /// Sum of smaps Locked over all VMAs, kB.
    public var smapsLockedKB: UInt64 { smaps.reduce(0) { $0 + $1.lockedKB } }
    /// The VMAs overlapping [start, end).
    public func vmas(in start: UInt64, _ end: UInt64) -> [SmapsEntry] { smaps.overlapping(start, end) }

    /// Reads /proc/PID/smaps and /proc/PID/status once.
    public static func read(pid: Int32) throws -> ProcessReading { try ProcessReader(pid: pid).read() }
}

/// Reads a process's smaps, maps and status again and again through fds kept open.
public final class ProcessReader {
    public let pid: Int32
    private let smapsFile: ProcFile
    private let statusFile: ProcFile
    private var mapsFile: ProcFile?

    public init(pid: Int32) throws {
        self.pid = pid
        smapsFile = try ProcFile("/proc/\(pid)/smaps")
        statusFile = try ProcFile("/proc/\(pid)/status")
    }

    public func read() throws -> ProcessReading {
        let smaps = try readSmaps()
        let status = try readStatus()
        return ProcessReading(pid: pid, smaps: smaps, status: status, takenAt: Kernel.monotonicNanoseconds())
    }

    public func readSmaps() throws -> [SmapsEntry] {
        let entries = try smapsFile.withContents { try SmapsEntry.parse($0) }
        if entries.isEmpty { try checkAlive() }
        return entries
    }

    /// smaps as a step compares it (`SmapsVMA`), into `out` (its storage reused).
    public func readVMAs(into out: inout [SmapsVMA]) throws {
        try smapsFile.withContents { try SmapsVMA.parse($0, into: &out) }
        if out.isEmpty { try checkAlive() }
    }

    /// status as a step compares it (`StatusSummary`).
    public func readStatusSummary() throws -> StatusSummary {
        try statusFile.withContents { bytes in
            if bytes.isEmpty { throw ObserverError("/proc/\(pid)/status is empty (process gone?)") }
            return try StatusSummary.parse(bytes)
        }
    }

    public func readStatus() throws -> ProcessStatus {
        try statusFile.withContents { bytes in
            if bytes.isEmpty { throw ObserverError("/proc/\(pid)/status is empty (process gone?)") }
            return try ProcessStatus.parse(bytes)
        }
    }

    /// /proc/PID/maps: VMA boundaries without the per-VMA page walk of smaps.
    public func readMaps() throws -> [MapsEntry] {
        if mapsFile == nil { mapsFile = try ProcFile("/proc/\(pid)/maps") }
        return try mapsFile!.withContents { try MapsEntry.parse($0) }
    }

    /// /proc/PID/limits (RLIMIT_MEMLOCK and the rest).
    public func readLimits() throws -> ProcessLimits {
        try ProcessLimits.parse(readTextFile("/proc/\(pid)/limits"))
    }

    private func checkAlive() throws {
        if !fileExists("/proc/\(pid)") { throw ObserverError("process \(pid) is gone") }
    }
}
