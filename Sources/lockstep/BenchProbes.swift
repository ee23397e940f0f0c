import Glibc
import KernelInterface
import KernelObserver

/// The KernelObserver calls that `bench` times, kept in one place.
enum BenchProbes {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One settle() (drain + fold), set up once. Fails when it cannot drain.
    static func settle() throws -> () throws -> Void {
        let settler = try Settler()
        return {
            let report = try settler.settle()
            if !report.drained { throw Failure(description: "settle did not drain: \(report.why ?? "unknown")") }
        }
    }

    /// A small process to read: a lockstep-agent, which maps almost nothing.
    static func smallProcess(agentPath: String?) throws -> (pid: Int32, stop: () -> Void) {
        guard let path = agentPath ?? Agent.defaultExecutable() else {
            throw Failure(description: "lockstep-agent not found (build it, or pass --agent)")
        }
        let agent = try Agent(executable: path, cpu: -1, tmpdir: "/tmp")
        return (agent.pid, { agent.kill() })
    }

    /// One smaps + status reading of `pid`, through fds kept open.
    static func processRead(pid: Int32) throws -> () throws -> Void {
        let reader = try ProcessReader(pid: pid)
        return { _ = try reader.read() }
    }

    /// The page flags of `pages` pages of this process from `address`: how many are
    /// present and how many MLOCKED.
    static func mlockedPages(address: UInt64, pages: Int) throws -> (present: Int, mlocked: Int) {
        let reader = try PageFlagsReader(pid: getpid())
        let summary = try reader.read(start: address, pages: pages).summary
        return (summary.present, summary.mlocked)
    }
}
