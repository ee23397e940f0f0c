import Dispatch
import Glibc
import KernelInterface

/// Undoes the run's journaled changes (settings, segments, cgroups...) however the
/// process ends, short of SIGKILL: at exit(), and on SIGINT, SIGTERM and SIGHUP, which
/// are turned into an exit. SIGKILL is left to the next run's `recover()`.
enum UndoAtExit {
    nonisolated(unsafe) private static var installed = false
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        guard !installed else { return }
        installed = true
        atexit {
            for line in SettingsJournal.shared.undoAll() { Out.err(line) }
        }
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                Out.err("stopped by signal \(sig); undoing this run's changes")
                exit(128 + sig)
            }
            source.resume()
            sources.append(source)
        }
    }
}
