import CLockstepShim
import Glibc

/// Small typed syscalls: memory, NUMA, scheduling, identity. Each throws `Errno`.
public enum Kernel {
    /// The base page size.
    public static let pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))

    // MARK: memory

    /// mmap(2) of anonymous memory (private by default).
    public static func mapAnonymous(length: Int, prot: Int32 = PROT_READ | PROT_WRITE,
                                    flags: Int32 = MAP_PRIVATE | MAP_ANONYMOUS) throws -> UnsafeMutableRawPointer {
        guard let p = mmap(nil, length, prot, flags, -1, 0), p != MAP_FAILED else { throw Errno.current }
        return p
    }

    public static func unmap(_ address: UnsafeMutableRawPointer, length: Int) throws {
        if munmap(address, length) != 0 { throw Errno.current }
    }

    /// Touches one byte per page of [address, address+length): a read, or a write of
    /// the byte read (which keeps the contents). The caller guarantees it is mapped.
    public static func touch(_ address: UnsafeMutableRawPointer, length: Int, write: Bool) {
        ls_touch(address, length, pageSize, write ? 1 : 0)
    }

    /// move_pages(2) on the calling process. `nodes` nil queries where the pages are.
    /// Returns the kernel's result (0, or the number of pages not migrated).
    public static func movePages(_ pages: [UnsafeMutableRawPointer?], nodes: [Int32]?,
                                 status: inout [Int32], flags: Int32 = 0) throws -> Int {
        precondition(status.count >= pages.count && (nodes?.count ?? pages.count) >= pages.count)
        var pages = pages
        let r: Int = pages.withUnsafeMutableBufferPointer { pp in
            status.withUnsafeMutableBufferPointer { sp in
                if let nodes {
                    return nodes.withUnsafeBufferPointer { np in
                        Int(ls_move_pages(UInt(pp.count), pp.baseAddress, np.baseAddress, sp.baseAddress, flags))
                    }
                }
                return Int(ls_move_pages(UInt(pp.count), pp.baseAddress, nil, sp.baseAddress, flags))
            }
        }
        if r < 0 { throw Errno(Int32(-r)) }
        return r
    }

    /// The NUMA node of each page of process `pid` at the given addresses (move_pages
    /// with no nodes): a node number, or -errno (-ENOENT: nothing mapped there, -EFAULT:
    /// the zero page or no VMA).
    public static func pageNodes(pid: Int32, addresses: [UInt64]) throws -> [Int32] {
        var pages: [UnsafeMutableRawPointer?] = addresses.map { UnsafeMutableRawPointer(bitPattern: UInt($0)) }
        var status = [Int32](repeating: Int32.min, count: addresses.count)
        let r = pages.withUnsafeMutableBufferPointer { pp in
            status.withUnsafeMutableBufferPointer { sp in
                ls_move_pages_of(pid, UInt(pp.count), pp.baseAddress, nil, sp.baseAddress, 0)
            }
        }
        if r < 0 { throw Errno(Int32(-r)) }
        return status
    }

    /// mlock2(2) on the calling process.
    public static func mlock2(_ address: UnsafeRawPointer, length: Int, flags: UInt32) throws {
        let r = ls_mlock2(address, length, flags)
        if r < 0 { throw Errno(Int32(-r)) }
    }

    // MARK: scheduling

    /// Pins the calling thread (pid 0) or process `pid` to one CPU.
    public static func pinToCPU(_ cpu: Int, pid: Int32 = 0) throws {
        let r = ls_pin_to_cpu(pid, Int32(cpu))
        if r < 0 { throw Errno(-r) }
    }

    /// The CPUs the calling thread (or `pid`) may run on.
    public static func affinity(pid: Int32 = 0) throws -> [Int] {
        var mask = [UInt64](repeating: 0, count: 16)
        let r = ls_get_affinity(pid, &mask, Int32(mask.count))
        if r < 0 { throw Errno(-r) }
        var cpus: [Int] = []
        for (w, word) in mask.enumerated() where word != 0 {
            for b in 0..<64 where word & (1 << UInt64(b)) != 0 { cpus.append(w * 64 + b) }
        }
        return cpus
    }

    /// Restricts the calling thread (or `pid`) to `cpus`.
    public static func setAffinity(_ cpus: [Int], pid: Int32 = 0) throws {
        var mask = [UInt64](repeating: 0, count: 16)
        for c in cpus where c >= 0 && c < 1024 { mask[c / 64] |= 1 << UInt64(c % 64) }
        let r = ls_set_affinity(pid, mask, Int32(mask.count))
        if r < 0 { throw Errno(-r) }
    }

    /// The CPU the calling thread runs on now.
    public static func currentCPU() -> Int { Int(ls_current_cpu()) }

    /// Online CPUs.
    public static func onlineCPUs() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    // MARK: identity and clocks

    public static var uid: UInt32 { getuid() }
    public static var euid: UInt32 { geteuid() }
    /// Effective uid 0 (the page layer also needs CAP_SYS_ADMIN; see KernelObserver).
    public static var isRoot: Bool { geteuid() == 0 }
    public static var pid: Int32 { getpid() }

    /// `uname -r`.
    public static func release() throws -> String {
        var u = utsname()
        if uname(&u) != 0 { throw Errno.current }
        return withUnsafeBytes(of: &u.release) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// `uname -v` ("#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)"): Debian's 6.1
    /// kernels carry their upstream version only here (uname -r is "6.1.0-56-amd64").
    public static func unameVersion() throws -> String {
        var u = utsname()
        if uname(&u) != 0 { throw Errno.current }
        return withUnsafeBytes(of: &u.version) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// CLOCK_MONOTONIC in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// One page of anonymous memory of our own, mapped and touched (written) at creation and
/// unmapped at deinit: a cheap, always-present page for move_pages and similar probes.
public final class ScratchPage {
    public let address: UnsafeMutableRawPointer
    public init() throws {
        address = try Kernel.mapAnonymous(length: Kernel.pageSize)
        address.storeBytes(of: 0x5A, as: UInt8.self)
    }
    /// Writes the page again (it stays present even if something reclaimed it).
    public func touch() { Kernel.touch(address, length: Kernel.pageSize, write: true) }
    deinit { try? Kernel.unmap(address, length: Kernel.pageSize) }
}

// MARK: - small probes of the machine

extension Kernel {
    /// `uname -r` (same as `release()`).
    public static func unameRelease() throws -> String { try release() }
    public static func geteuid() -> UInt32 { Glibc.geteuid() }
    public static func getuid() -> UInt32 { Glibc.getuid() }

    /// Whether `path` can be opened for reading by this process (tries it: access(2)
    /// answers for the real uid and misses capability checks done at open).
    public static func canRead(_ path: String) -> Bool {
        guard let fd = try? FileDescriptor.open(path, O_RDONLY) else { return false }
        try? fd.close()
        return true
    }

    /// Whether `path` can be opened for writing (nothing is written).
    public static func canWrite(_ path: String) -> Bool {
        guard let fd = try? FileDescriptor.open(path, O_WRONLY) else { return false }
        try? fd.close()
        return true
    }

    public static func canExecute(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// read_ahead_kb of the block device holding `path` (its queue, or the queue of the
    /// disk a partition belongs to); nil when there is none (tmpfs, no sysfs).
    public static func readAheadKB(of path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let d = UInt64(st.st_dev)   // glibc's dev_t encoding (gnu_dev_major/minor are macros)
        let major = ((d >> 8) & 0xfff) | ((d >> 32) & ~0xfff)
        let minor = (d & 0xff) | ((d >> 12) & ~0xff)
        let dev = "/sys/dev/block/\(major):\(minor)"
        for q in [dev + "/queue/read_ahead_kb", dev + "/../queue/read_ahead_kb"] {
            if let text = try? readTextFile(q), let v = UInt64(text.split(separator: "\n").first ?? "") {
                return v
            }
        }
        return nil
    }

    /// The running executable (/proc/self/exe).
    public static func executablePath() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directory of the running executable ("." if unknown).
    public static func executableDirectory() -> String {
        guard let p = executablePath(), let slash = p.lastIndex(of: "/") else { return "." }
        return String(p[..<slash])
    }
}

/// Another name for `Kernel`, for call sites that read better as `Sys.geteuid()`.
public typealias Sys = Kernel

extension Sys {
    /// Why memfd_secret(2) cannot be used (it does not answer with an fd), or nil.
    public static func memfdSecretUnavailable() -> String? {
        let fd = ls_memfd_secret(0)
        if fd >= 0 { _ = close(fd); return nil }
        if -fd == ENOSYS {
            return "memfd_secret(2) is ENOSYS: kernel without CONFIG_SECRETMEM, booted with secretmem.enable=0, or without direct-map control"
        }
        return "memfd_secret(2) failed: \(Errno(-fd))"
    }

    /// An environment variable, nil when unset or empty.
    public static func environment(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }

    /// A line on stderr, unbuffered.
    public static func say(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    public static func sleepSeconds(_ s: UInt32) { _ = sleep(s) }
    public static func sleepMilliseconds(_ ms: UInt32) { _ = usleep(ms * 1000) }
}

/// SysV IPC constants the runner passes to the agent (x86_64 values).
public enum SysVConst {
    public static let IPC_CREAT: Int32 = 0o1000
    public static let IPC_EXCL: Int32 = 0o2000
    public static let SHM_RDONLY: Int32 = 0o10000
}
