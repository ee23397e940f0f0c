// Re-exported so that clients name agent ops and shim constants (LS_MLOCK,
// LS_MAP_FIXED_NOREPLACE, ...) with `import KernelInterface` alone.
@_exported import CLockstepShim
import Glibc

/// The agent's ops, mirroring `enum ls_op` in agent_protocol.h (see there for the args).
public enum AgentOp: UInt32, CaseIterable, Sendable {
    case ping = 0, exit = 1, createObject = 2, mmap = 3, munmap = 4, mprotect = 5, mremap = 6
    case touch = 7, mlock = 8, mlock2 = 9, munlock = 10, mlockall = 11, munlockall = 12
    case madvise = 13, setrlimit = 14, dropCap = 15, setuid = 16, closeObject = 17
    case msync = 18, fork = 19
    case forkServe = 20, closeFD = 21
    case shmget = 30, shmat = 31, shmdt = 32, shmctl = 33, createSpecial = 34, ftruncate = 35, fallocate = 36
    case movePages = 48, mbind = 49
}

/// One reply of the agent: the syscall's return value and errno (0 on success).
public struct AgentReply: Hashable, Sendable, CustomStringConvertible {
    public var ret: Int64
    public var errno: Int32
    /// Op-specific extra (`ls_reply.reserved`): for touch, the pages touched before a fault.
    public var extra: Int32
    public init(ret: Int64, errno: Int32, extra: Int32 = 0) { self.ret = ret; self.errno = errno; self.extra = extra }
    public var failed: Bool { ret == -1 }
    public var description: String {
        errno == 0 ? "\(ret)" : "-1 \(Errno(errno).name)" + (extra != 0 ? " (extra \(extra))" : "")
    }
}

/// How a child process ended, decoded from a waitpid(2) status.
public enum ExitStatus: Hashable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public init(waitStatus s: Int32) {
        self = (s & 0x7f) == 0 ? .exited((s >> 8) & 0xff) : .signaled(s & 0x7f)
    }
    public var description: String {
        switch self {
        case .exited(let c): return "exited with status \(c)"
        case .signaled(let s):
            let name = s == SIGKILL ? " (SIGKILL)" : s == SIGSEGV ? " (SIGSEGV)" : s == SIGBUS ? " (SIGBUS)" : ""
            return "killed by signal \(s)\(name)"
        }
    }
}

public enum AgentError: Error, CustomStringConvertible {
    /// The agent could not be started.
    case spawn(path: String, Errno)
    /// The agent ended (EOF or short read on its stdout) while `op` was outstanding.
    case died(pid: Int32, op: UInt32, status: ExitStatus?)
    /// A write to or read from the agent's pipes failed.
    case io(pid: Int32, Errno)
    /// The agent answered something unexpected (a PING with the wrong pid).
    case protocolError(String)
    /// The agent was already killed or exited.
    case gone(pid: Int32)

    public var description: String {
        switch self {
        case let .spawn(path, e): return "cannot start lockstep-agent at \(path): \(e)"
        case let .died(pid, op, status):
            let name = AgentOp(rawValue: op).map { "\($0)" } ?? "op \(op)"
            return "lockstep-agent \(pid) died during \(name): \(status.map { "\($0)" } ?? "status unknown")"
        case let .io(pid, e): return "lockstep-agent \(pid): pipe error \(e)"
        case let .protocolError(s): return "lockstep-agent protocol error: \(s)"
        case let .gone(pid): return "lockstep-agent \(pid) is no longer running"
        }
    }
}

/// One lockstep-agent process: a scenario's address space, driven one syscall at a time.
///
/// Spawned with posix_spawn (`ls_spawn_piped`), never fork. Each `call` is one write of a
/// request and one read of a reply. `kill()` (and deinit) SIGKILLs and reaps it, so that
/// nothing it locked stays locked.
public final class Agent {
    public let pid: Int32
    public let executable: String
    private var toAgent: Int32
    private var fromAgent: Int32
    /// How the agent ended, once it has been reaped.
    public private(set) var exitStatus: ExitStatus?
    /// Processes the agent forked (LS_FORK): the last one is the live agent, the agent
    /// process itself and the earlier ones are frozen parents. Not our children: `kill()`
    /// SIGKILLs them and waits until they are gone (the frozen parent ignores SIGCHLD,
    /// so the kernel reaps them).
    public private(set) var forked: [Int32] = []

    /// The pid that now answers requests: the last forked child, else the agent.
    public var livePid: Int32 { forked.last ?? pid }

    /// Records a child the agent forked (the reply to LS_FORK), so that `kill()` ends it.
    public func adopt(forkedChild child: Int32) {
        if child > 0 { forked.append(child) }
    }

    /// A process forked with LS_FORK_SERVE: it answers on its own pipes.
    struct Served {
        var pid: Int32
        var to: Int32
        var from: Int32
        var exited = false
    }
    /// Processes 1, 2, ... of the scenario (process 0 is the agent itself), in fork order.
    private var served: [Served] = []
    /// Process 0 exited on request (LS_EXIT) while others go on.
    private var firstExited = false

    /// The pid of process `p` (0: the agent), nil if there is no such process.
    public func pid(ofProcess p: Int) -> Int32? {
        if p == 0 { return pid }
        return p - 1 < served.count ? served[p - 1].pid : nil
    }

    /// Process `p` forks (LS_FORK_SERVE); the child becomes the next process and answers
    /// on its own pipes. Returns the parent's reply (ret = the child's pid).
    public func forkServing(from p: Int) throws -> AgentReply {
        let reply = try call(process: p, AgentOp.forkServe.rawValue, [])
        guard reply.errno == 0, reply.ret > 0 else { return reply }
        let child = Int32(reply.ret)
        let parent = pid(ofProcess: p)!
        let toFD = reply.extra & 0xffff, fromFD = reply.extra >> 16
        // Our own ends of the child's pipes, opened through the parent's copies.
        let to = Glibc.open("/proc/\(parent)/fd/\(toFD)", O_WRONLY | O_CLOEXEC)
        let from = Glibc.open("/proc/\(parent)/fd/\(fromFD)", O_RDONLY | O_CLOEXEC)
        if to < 0 || from < 0 {
            let e = errno
            if to >= 0 { _ = Glibc.close(to) }
            if from >= 0 { _ = Glibc.close(from) }
            _ = Glibc.kill(child, SIGKILL)
            throw AgentError.io(pid: parent, Errno(e))
        }
        served.append(Served(pid: child, to: to, from: from))
        // The parent drops its copies: the child sees EOF when we close ours.
        for fd in [toFD, fromFD] {
            let r = try call(process: p, AgentOp.closeFD.rawValue, [UInt64(fd)])
            if r.errno != 0 { throw AgentError.protocolError("LS_CLOSE_FD \(fd) answered \(r)") }
        }
        let ping = try call(process: served.count, AgentOp.ping.rawValue, [])
        if ping.ret != Int64(child) { throw AgentError.protocolError("the forked child answered PING with \(ping)") }
        return reply
    }

    /// Whether process `p` exists and has not exited.
    public func isServing(_ p: Int) -> Bool {
        if p == 0 { return !firstExited && exitStatus == nil }
        return p - 1 < served.count && !served[p - 1].exited
    }

    /// Sends one request to process `p` and waits for its reply.
    public func call(process p: Int, _ op: UInt32, _ args: [UInt64]) throws -> AgentReply {
        if p == 0 {
            if firstExited { throw AgentError.gone(pid: pid) }
            return try call(op, args)
        }
        guard p - 1 < served.count, !served[p - 1].exited else { throw AgentError.gone(pid: pid(ofProcess: p) ?? -1) }
        let s = served[p - 1]
        return try Agent.exchange(pid: s.pid, to: s.to, from: s.from, op, args) { nil }
    }

    /// Process `p` exits (LS_EXIT); returns once its address space is gone (it is a
    /// zombie or reaped: exit_mm() runs before either).
    public func exitProcess(_ p: Int) throws {
        var rq = ls_request()
        rq.op = AgentOp.exit.rawValue
        if p == 0 {
            guard !firstExited, exitStatus == nil else { throw AgentError.gone(pid: pid) }
            _ = withUnsafeBytes(of: &rq) { raw in Agent.writeAll(toAgent, raw) }
            firstExited = true
            _ = reap(blocking: true)
            return
        }
        guard p - 1 < served.count, !served[p - 1].exited else { throw AgentError.gone(pid: pid(ofProcess: p) ?? -1) }
        let s = served[p - 1]
        _ = withUnsafeBytes(of: &rq) { raw in Agent.writeAll(s.to, raw) }
        _ = Glibc.close(s.to)
        _ = Glibc.close(s.from)
        served[p - 1].exited = true
        Agent.waitEnded(s.pid)
    }

    /// Whether `pid` has released its mm: gone, or a zombie (state Z/X in /proc/PID/stat).
    static func ended(_ pid: Int32) -> Bool {
        let fd = Glibc.open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return true }
        defer { _ = Glibc.close(fd) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 512) }
        guard n > 0, let paren = buf[0..<n].lastIndex(of: UInt8(ascii: ")")), paren + 2 < n else { return true }
        let state = buf[paren + 2]
        return state == UInt8(ascii: "Z") || state == UInt8(ascii: "X")
    }

    /// Waits until `pid` has ended, at most about 2 s.
    static func waitEnded(_ pid: Int32) {
        var tries = 0
        while !ended(pid) && tries < 10000 { usleep(200); tries += 1 }
    }

    /// Starts `executable --cpu cpu --tmpdir tmpdir [--simulate NAME]` (cpu < 0: not
    /// pinned) and checks it answers a PING with its pid. `simulate` names a simulated
    /// kernel bug (`ls_simulation_name`) that the agent installs as a seccomp filter; the
    /// kernel's word that a filter is in force (/proc/PID/status Seccomp: 2) is checked.
    public init(executable: String, cpu: Int, tmpdir: String, simulate: String? = nil) throws {
        Agent.ignoreSIGPIPE
        var args = [executable, "--tmpdir", tmpdir]
        if cpu >= 0 { args += ["--cpu", String(cpu)] }
        if let name = simulate { args += ["--simulate", name] }
        let cargs = args.map { strdup($0) }
        defer { cargs.forEach { free($0) } }
        var argv: [UnsafeMutablePointer<CChar>?] = cargs + [nil]
        var to: Int32 = -1, from: Int32 = -1
        let r = argv.withUnsafeMutableBufferPointer { ls_spawn_piped(executable, $0.baseAddress, &to, &from) }
        if r < 0 { throw AgentError.spawn(path: executable, Errno(-r)) }
        self.pid = r
        self.executable = executable
        self.toAgent = to
        self.fromAgent = from
        let reply = try call(.ping)
        if reply.ret != Int64(pid) {
            kill()
            throw AgentError.protocolError("PING answered \(reply), expected pid \(pid)")
        }
        if simulate != nil && Agent.seccompMode(pid) != 2 {
            kill()
            throw AgentError.protocolError("--simulate: /proc/\(pid)/status does not show a seccomp filter in force")
        }
    }

    /// The `Seccomp:` field of /proc/PID/status (0 none, 1 strict, 2 filter), nil if unreadable.
    static func seccompMode(_ pid: Int32) -> Int? {
        guard let text = try? readTextFile("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Seccomp:") {
            return Int(line.dropFirst("Seccomp:".count).filter { $0 != " " && $0 != "\t" })
        }
        return nil
    }

    deinit { kill() }

    /// Sends one request and waits for its reply.
    public func call(_ op: UInt32, _ args: [UInt64]) throws -> AgentReply {
        guard exitStatus == nil, toAgent >= 0 else { throw AgentError.gone(pid: pid) }
        return try Agent.exchange(pid: pid, to: toAgent, from: fromAgent, op, args) { self.reap() }
    }

    /// One request on a pair of pipes and its reply; `status` says how a dead peer ended.
    static func exchange(pid: Int32, to: Int32, from: Int32, _ op: UInt32, _ args: [UInt64],
                         status: () -> ExitStatus?) throws -> AgentReply {
        precondition(args.count <= 6, "an agent request has at most 6 arguments")
        var rq = ls_request()
        rq.op = op
        withUnsafeMutableBytes(of: &rq.a) { raw in
            let a = raw.bindMemory(to: UInt64.self)
            for (i, v) in args.enumerated() { a[i] = v }
        }
        let wrote = withUnsafeBytes(of: &rq) { raw in Agent.writeAll(to, raw) }
        if wrote != 0 {
            if wrote == EPIPE { throw AgentError.died(pid: pid, op: op, status: status()) }
            throw AgentError.io(pid: pid, Errno(wrote))
        }
        var rep = ls_reply()
        let got = withUnsafeMutableBytes(of: &rep) { raw in Agent.readAll(from, raw) }
        if got < 0 { throw AgentError.io(pid: pid, Errno(Int32(-got))) }
        if got < MemoryLayout<ls_reply>.size { throw AgentError.died(pid: pid, op: op, status: status()) }
        return AgentReply(ret: rep.ret, errno: rep.err, extra: rep.reserved)
    }

    /// Reads `count` 32-bit values process `p` writes after some replies (LS_MOVE_PAGES'
    /// status array).
    public func readPayload(process p: Int = 0, int32s count: Int) throws -> [Int32] {
        let fd: Int32
        if p == 0 { fd = fromAgent } else {
            guard p - 1 < served.count, !served[p - 1].exited else { throw AgentError.gone(pid: pid(ofProcess: p) ?? -1) }
            fd = served[p - 1].from
        }
        var out = [Int32](repeating: 0, count: count)
        let got = out.withUnsafeMutableBytes { raw in Agent.readAll(fd, raw) }
        if got < 0 { throw AgentError.io(pid: pid(ofProcess: p) ?? pid, Errno(Int32(-got))) }
        if got < count * 4 {
            throw AgentError.died(pid: pid(ofProcess: p) ?? pid, op: AgentOp.movePages.rawValue, status: p == 0 ? reap() : nil)
        }
        return out
    }

    /// Sends one request named by its C constant (`LS_MLOCK`, re-exported from CLockstepShim).
    public func call(_ op: ls_op, _ args: [UInt64]) throws -> AgentReply {
        try call(op.rawValue, args)
    }

    /// Sends one request; `args` beyond those given are 0.
    @discardableResult
    public func call(_ op: AgentOp, _ args: UInt64...) throws -> AgentReply {
        try call(op.rawValue, args)
    }

    /// Asks the agent to exit, and reaps it.
    @discardableResult
    public func exit() -> ExitStatus? {
        if exitStatus == nil && toAgent >= 0 {
            var rq = ls_request()
            rq.op = AgentOp.exit.rawValue
            _ = withUnsafeBytes(of: &rq) { raw in Agent.writeAll(toAgent, raw) }
            closePipes()
            _ = reap(blocking: true)
        }
        kill()
        return exitStatus
    }

    /// SIGKILLs the agent (if still running), reaps it and closes the pipes. Idempotent.
    public func kill() {
        // Forked serving processes, the newest first (each parent, ignoring SIGCHLD, lets
        // the kernel reap it); wait until each has released what it locked.
        for i in served.indices.reversed() {
            if !served[i].exited {
                _ = Glibc.kill(served[i].pid, SIGKILL)
                _ = Glibc.close(served[i].to)
                _ = Glibc.close(served[i].from)
                served[i].exited = true
            }
            Agent.waitEnded(served[i].pid)
        }
        // The forked processes, the last first, each while its parent still lives: that
        // frozen parent ignores SIGCHLD, so the kernel reaps the child at once (init might
        // not). Wait until each is gone with what it locked, at most about 2 s each.
        for child in forked.reversed() {
            _ = Glibc.kill(child, SIGKILL)
            var tries = 0
            while Glibc.kill(child, 0) == 0 && tries < 2000 { usleep(200); tries += 1 }
        }
        forked = []
        if exitStatus == nil {
            _ = Glibc.kill(pid, SIGKILL)
            _ = reap(blocking: true)
        }
        closePipes()
    }

    /// Whether the agent has not been reaped yet.
    public var isRunning: Bool { exitStatus == nil && reap(blocking: false) == nil }

    /// Where lockstep-agent normally is: $LOCKSTEP_AGENT, else next to the running
    /// executable (SwiftPM puts products and test bundles in one directory).
    public static func defaultExecutable() -> String? {
        if let env = getenv("LOCKSTEP_AGENT") {
            let p = String(cString: env)
            if access(p, X_OK) == 0 { return p }
        }
        guard var path = Kernel.executablePath() else { return nil }
        // Walk up a few levels: a test bundle may live in .../debug/X.xctest or be nested.
        for _ in 0..<3 {
            guard let slash = path.lastIndex(of: "/") else { break }
            path = String(path[..<slash])
            let candidate = path + "/lockstep-agent"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    // MARK: internals

    private func closePipes() {
        if toAgent >= 0 { _ = Glibc.close(toAgent); toAgent = -1 }
        if fromAgent >= 0 { _ = Glibc.close(fromAgent); fromAgent = -1 }
    }

    /// Reaps the agent; blocking waits a moment for an agent that closed its stdout,
    /// then SIGKILLs it.
    @discardableResult
    private func reap(blocking: Bool = true) -> ExitStatus? {
        if let s = exitStatus { return s }
        var status: Int32 = 0
        for attempt in 0..<(blocking ? 200 : 1) {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { exitStatus = ExitStatus(waitStatus: status); return exitStatus }
            if r < 0 && errno != EINTR { return nil }   // not our child (already reaped)
            if !blocking { return nil }
            if attempt == 100 { _ = Glibc.kill(pid, SIGKILL) }
            usleep(1000)
        }
        _ = Glibc.kill(pid, SIGKILL)
        while true {
            let r = waitpid(pid, &status, 0)
            if r == pid { exitStatus = ExitStatus(waitStatus: status); return exitStatus }
            if r < 0 && errno != EINTR { return nil }
        }
    }

    /// 0, or the errno of the failed write.
    private static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Int32 {
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 { if errno == EINTR { continue }; return errno }
            done += n
        }
        return 0
    }

    /// Bytes read (short at EOF), or -errno.
    private static func readAll(_ fd: Int32, _ raw: UnsafeMutableRawBufferPointer) -> Int {
        var done = 0
        while done < raw.count {
            let n = Glibc.read(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 { if errno == EINTR { continue }; return -Int(errno) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// A write to a dead agent must fail with EPIPE, not kill the runner.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}
