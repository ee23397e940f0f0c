import Glibc

/// An errno value (Linux numbering), thrown by every wrapper in this module.
///
/// Named like the C constants (`Errno.ENOMEM`) so that expectations read like man pages.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno.
    public static var current: Errno { Errno(rawValue: errno) }

    /// "ENOMEM", or "errno N" for a number without a name.
    public var name: String {
        if rawValue >= 0 && Int(rawValue) < Errno.names.count && !Errno.names[Int(rawValue)].isEmpty {
            return Errno.names[Int(rawValue)]
        }
        return rawValue == 0 ? "0" : "errno \(rawValue)"
    }

    /// The C library's message ("Cannot allocate memory").
    public var message: String { String(cString: strerror(rawValue)) }

    /// "ENOMEM (Cannot allocate memory)".
    public var description: String { rawValue == 0 ? "0" : "\(name) (\(message))" }

    /// The errno called `name` ("ENOMEM"), if Linux has one.
    public init?(name: String) {
        guard let i = Errno.names.firstIndex(of: name), i > 0 else {
            if name == "EWOULDBLOCK" { self = .EAGAIN; return }
            if name == "EDEADLOCK" { self = .EDEADLK; return }
            if name == "ENOTSUP" { self = .EOPNOTSUPP; return }
            return nil
        }
        self.rawValue = Int32(i)
    }

    public static let EPERM = Errno(1)
    public static let ENOENT = Errno(2)
    public static let ESRCH = Errno(3)
    public static let EINTR = Errno(4)
    public static let EIO = Errno(5)
    public static let ENXIO = Errno(6)
    public static let E2BIG = Errno(7)
    public static let ENOEXEC = Errno(8)
    public static let EBADF = Errno(9)
    public static let ECHILD = Errno(10)
    public static let EAGAIN = Errno(11)
    public static let ENOMEM = Errno(12)
    public static let EACCES = Errno(13)
    public static let EFAULT = Errno(14)
    public static let EBUSY = Errno(16)
    public static let EEXIST = Errno(17)
    public static let EXDEV = Errno(18)
    public static let ENODEV = Errno(19)
    public static let ENOTDIR = Errno(20)
    public static let EISDIR = Errno(21)
    public static let EINVAL = Errno(22)
    public static let ENFILE = Errno(23)
    public static let EMFILE = Errno(24)
    public static let ENOTTY = Errno(25)
    public static let EFBIG = Errno(27)
    public static let ENOSPC = Errno(28)
    public static let ESPIPE = Errno(29)
    public static let EROFS = Errno(30)
    public static let EPIPE = Errno(32)
    public static let ERANGE = Errno(34)
    public static let EDEADLK = Errno(35)
    public static let ENAMETOOLONG = Errno(36)
    public static let ENOSYS = Errno(38)
    public static let ENOTEMPTY = Errno(39)
    public static let ELOOP = Errno(40)
    public static let ENODATA = Errno(61)
    public static let EOVERFLOW = Errno(75)
    public static let EOPNOTSUPP = Errno(95)
    public static let ETIMEDOUT = Errno(110)
    public static let EHWPOISON = Errno(133)

    /// Index = errno (Linux, x86_64 and asm-generic numbering agree for 1...133).
    static let names: [String] = [
        "", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
        "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR",
        "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS",
        "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
        "ELOOP", "", "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH",
        "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL", "ENOANO", "EBADRQC", "EBADSLT", "", "EBFONT",
        "ENOSTR", "ENODATA", "ETIME", "ENOSR", "ENONET", "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT",
        "ECOMM", "EPROTO", "EMULTIHOP", "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG",
        "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS",
        "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT",
        "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL",
        "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET", "ENOBUFS", "EISCONN",
        "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH",
        "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM", "ENAVAIL", "EISNAM", "EREMOTEIO",
        "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED", "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED",
        "EKEYREJECTED", "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL", "EHWPOISON",
    ]
}

/// Runs `body` until it does not fail with EINTR; a result of -1 throws `Errno.current`.
@inline(__always)
func retryingOnEINTR<T: BinaryInteger>(_ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r != -1 { return r }
        let e = errno
        if e != EINTR { throw Errno(e) }
    }
}
