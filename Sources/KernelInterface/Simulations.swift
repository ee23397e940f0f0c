/// The simulated kernel bugs `selfcheck` runs the suite under: seccomp filters that make
/// one syscall lie, defined in C (simulate.c) and installed by the agent (`--simulate`).
public enum Simulations {
    public struct Entry: Sendable {
        public var name: String
        public var summary: String
    }

    public static let all: [Entry] = (0..<ls_simulation_count()).compactMap { i in
        guard let n = ls_simulation_name(i), let s = ls_simulation_summary(i) else { return nil }
        return Entry(name: String(cString: n), summary: String(cString: s))
    }

    public static var names: [String] { all.map(\.name) }

    /// Installs `name`'s filter in the calling process, every thread, for good (a seccomp
    /// filter cannot be removed): only for a process that exists to be checked under it.
    public static func install(_ name: String) throws {
        let r = ls_simulate_install(name)
        if r < 0 { throw Errno(-r) }
    }
}
