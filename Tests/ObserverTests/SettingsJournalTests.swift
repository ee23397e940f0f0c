import Glibc
import Testing
@testable import KernelInterface

/// The journal's promises, on plain files standing in for sysfs settings: a change is
/// written down before it is made, and a later run (a new journal on the same file)
/// undoes what a killed run left.
@Suite("Settings journal")
struct SettingsJournalTests {
    let dir: String

    init() throws {
        var template = Array("/tmp/lockstep-journal-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        dir = String(cString: try #require(made))
    }

    func file(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        let fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        try Array(text.utf8).withUnsafeBytes { try fd.writeAll($0) }
        try fd.close()
        return path
    }

    @Test func aSelectorsValueIsItsBracketedChoice() throws {
        #expect(try SettingsJournal.currentValue(file("enabled", "always [madvise] never\n")) == "madvise")
        #expect(try SettingsJournal.currentValue(file("swappiness", "60\n")) == "60")
    }

    @Test func aKilledRunsSettingIsRestoredByTheNextRun() throws {
        let setting = try file("enabled", "[always] madvise never\n")
        let killed = SettingsJournal(path: dir + "/journal")
        #expect(try killed.set(setting, to: "never") == "always")
        #expect(try readTextFile(setting) == "never")
        // The killed run never undoes; the next one finds the journal.
        let next = SettingsJournal(path: dir + "/journal")
        #expect(next.recover() == ["restored \(setting) to always"])
        #expect(try readTextFile(setting) == "always")
        #expect(next.recover() == [], "a second recovery finds nothing left")
    }

    @Test func aSwapEntryRoundTripsThroughItsJournalLine() throws {
        for e in [SettingsJournal.Entry.swap(zram: 3, hotAdded: true), .swap(zram: 0, hotAdded: false)] {
            #expect(SettingsJournal.Entry(line: Substring(e.line)) == e)
        }
        #expect(SettingsJournal.Entry.swap(zram: 3, hotAdded: true).description == "swap on /dev/zram3 (hot-added)")
    }

    @Test func aSettingChangedTwiceKeepsItsFirstOriginal() throws {
        let setting = try file("defrag", "5\n")
        let journal = SettingsJournal(path: dir + "/journal")
        try journal.set(setting, to: "6")
        try journal.set(setting, to: "7")
        #expect(journal.undoAll() == ["restored \(setting) to 5"])
        #expect(try readTextFile(setting) == "5")
    }

    @Test func restoreUndoesOneSettingAndForgetsIt() throws {
        let a = try file("a", "1\n"), b = try file("b", "2\n")
        let journal = SettingsJournal(path: dir + "/journal")
        try journal.set(a, to: "10")
        try journal.set(b, to: "20")
        try journal.restore(a)
        #expect(try readTextFile(a) == "1")
        #expect(SettingsJournal(path: dir + "/journal").recover() == ["restored \(b) to 2"])
    }

    @Test func removedFilesAndOddPathsSurviveTheJournal() throws {
        let victim = try file("tab\tand\\slash", "x")
        let killed = SettingsJournal(path: dir + "/journal")
        try killed.note(.file(path: victim))
        let lines = SettingsJournal(path: dir + "/journal").recover()
        #expect(lines == ["removed file \(victim)"])
        #expect(!fileExists(victim))
    }

    @Test func aResourceAlreadyGoneIsSaidSo() throws {
        let killed = SettingsJournal(path: dir + "/journal")
        try killed.note(.cgroup(path: dir + "/no-such-cgroup"))
        #expect(SettingsJournal(path: dir + "/journal").recover() == ["cgroup \(dir)/no-such-cgroup: already gone"])
    }
}
