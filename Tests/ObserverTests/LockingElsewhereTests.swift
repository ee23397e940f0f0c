import Testing
import KernelObserver

@Suite("Other processes' locked memory")
struct LockingElsewhereTests {
    typealias P = LockingElsewhere.Process
    let daemon = P(name: "process_api", lockedKB: 50956, rssKB: 10224, faults: 38726)

    @Test func unchangedFiguresAreNoActivity() {
        let s = LockingElsewhere(processes: [1: daemon])
        #expect(s.changes(since: s).isEmpty)
        #expect(LockingElsewhere(processes: [:]).changes(since: LockingElsewhere(processes: [:])).isEmpty)
    }

    @Test func aFaultIntoLockedMemoryIsActivity() {
        var later = daemon
        later.faults += 2
        let moved = LockingElsewhere(processes: [1: later]).changes(since: LockingElsewhere(processes: [1: daemon]))
        #expect(moved == ["pid 1 (process_api): 2 faults"])
    }

    @Test func anUnmapOfLockedPagesIsActivityEvenWithoutFaults() {
        var later = daemon
        later.rssKB -= 8
        later.lockedKB -= 8
        let moved = LockingElsewhere(processes: [1: later]).changes(since: LockingElsewhere(processes: [1: daemon]))
        #expect(moved == ["pid 1 (process_api): VmLck 50956 -> 50948 kB, VmRSS 10224 -> 10216 kB"])
    }

    @Test func aLockingProcessThatComesOrGoesIsActivity() {
        let none = LockingElsewhere(processes: [:]), one = LockingElsewhere(processes: [7: daemon])
        #expect(one.changes(since: none) == ["pid 7 (process_api) appeared with 50956 kB locked"])
        #expect(none.changes(since: one) == ["pid 7 (process_api) had 50956 kB locked and exited or unlocked it all"])
    }
}
