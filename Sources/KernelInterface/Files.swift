import Glibc

/// An open file descriptor. A value, like swift-system's: close it explicitly.
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// open(2) with O_CLOEXEC added.
    public static func open(_ path: String, _ flags: Int32 = O_RDONLY, mode: mode_t = 0o600) throws -> FileDescriptor {
        let fd = try retryingOnEINTR { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(rawValue: fd)
    }

    public func close() throws {
        // Linux closes the fd even when close() fails with EINTR: never retry.
        if Glibc.close(rawValue) == -1 { throw Errno.current }
    }

    /// One pread(2); returns the bytes read (0 at end of file).
    public func pread(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try retryingOnEINTR { Glibc.pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// pread(2) until `buffer` is full or the file ends; returns the bytes read.
    public func preadFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try pread(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// One pwrite(2); returns the bytes written.
    public func pwrite(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        try retryingOnEINTR { Glibc.pwrite(rawValue, bytes.baseAddress, bytes.count, off_t(offset)) }
    }

    /// write(2) of all of `bytes`.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let n = try retryingOnEINTR { Glibc.write(rawValue, rest.baseAddress, rest.count) }
            if n == 0 { throw Errno.EIO }
            done += n
        }
    }

    /// read(2) until `buffer` is full or end of file; returns the bytes read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let n = try retryingOnEINTR { Glibc.read(rawValue, rest.baseAddress, rest.count) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads from offset 0 to end of file into `buffer`, growing it; returns the length.
    /// /proc files report size 0, so the size is found by reading.
    public func readToEnd(into buffer: inout [UInt8]) throws -> Int {
        if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: 4096) }
        var total = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { raw in
                try pread(into: UnsafeMutableRawBufferPointer(rebasing: raw[total...]), at: Int64(total))
            }
            if n == 0 { return total }
            total += n
            if total == buffer.count {
                buffer.append(contentsOf: repeatElement(0, count: buffer.count))
            }
        }
    }
}

/// The whole contents of a file, read through one descriptor with pread into a growing
/// buffer (works for /proc and /sys files, which report size 0).
public func readWholeFile(_ path: String) throws -> [UInt8] {
    let fd = try FileDescriptor.open(path)
    defer { try? fd.close() }
    var buffer: [UInt8] = []
    let n = try fd.readToEnd(into: &buffer)
    buffer.removeSubrange(n...)
    return buffer
}

/// The whole contents of a text file.
public func readTextFile(_ path: String) throws -> String {
    let bytes = try readWholeFile(path)
    return String(decoding: bytes, as: UTF8.self)
}

/// Writes `text` to `path` in one write(2) (sysctl and sysfs files want one write),
/// without creating or truncating it.
public func writeFile(_ path: String, _ text: String) throws {
    let fd = try FileDescriptor.open(path, O_WRONLY)
    defer { try? fd.close() }
    var text = text
    try text.withUTF8 { try fd.writeAll(UnsafeRawBufferPointer($0)) }
}

/// Whether `path` exists (stat succeeds).
public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// A file kept open and re-read from offset 0 on every `read`: for /proc files read
/// again and again (a seq_file restarts its walk when read at offset 0). Saves the path
/// lookup and keeps its buffer, so a reading costs one or two pread(2) calls.
public final class ProcFile {
    public let path: String
    public let fd: FileDescriptor
    private var buffer: [UInt8]
    private var length = 0

    public init(_ path: String) throws {
        self.path = path
        self.fd = try FileDescriptor.open(path)
        self.buffer = [UInt8](repeating: 0, count: 16384)
    }

    deinit { try? fd.close() }

    /// Reads the file again and hands its bytes to `body` (valid only inside it).
    public func withContents<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        length = try fd.readToEnd(into: &buffer)
        return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[..<length])) }
    }

    /// Reads the file again; returns a copy of its bytes.
    public func read() throws -> [UInt8] {
        try withContents { Array($0) }
    }
}
