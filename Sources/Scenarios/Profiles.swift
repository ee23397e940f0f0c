import MlockModel

/// Chooses the model profile for a kernel release.
public enum Profiles {
    /// The profile the release's version implies, and why.
    public static func choose(release: String) -> (KernelProfile, String) {
        guard let (major, minor) = version(release) else {
            return (.rmapLargeFolio, "release '\(release)' has no version number: assuming the newest rules")
        }
        let v = "\(major).\(minor)"
        if (major, minor) < (5, 18) { return (.pre518, "uname -r \(release): \(v) < 5.18 (munlock by rmap walk)") }
        if (major, minor) < (6, 7) { return (.mlockCount, "uname -r \(release): 5.18 <= \(v) < 6.7 (mlock_count, no large-folio mlock)") }
        if (major, minor) < (6, 18) { return (.largeFolio, "uname -r \(release): 6.7 <= \(v) < 6.18 (large-folio mlock)") }
        return (.rmapLargeFolio, "uname -r \(release): \(v) >= 6.18 (large-folio mlock, rmap mlocks whole large folios)")
    }

    /// The facts stable backports changed within a series, and why, from the full version:
    /// uname -r, or for Debian's "6.1.0-N" ABI names the "Debian 6.1.192-2" of uname -v.
    /// Boundaries are the first stable release carrying the commit (Debian changelogs,
    /// sources compared); a series not listed keeps the old rule until its version is known.
    public static func versionFacts(release: String, version: String = "") -> (VersionFacts, String) {
        guard let v = fullVersion(release: release, version: version) else {
            return (VersionFacts(), "no full version in '\(release)': no stable-backport facts")
        }
        let text = "\(v.0).\(v.1).\(v.2)"
        // "mm/secretmem: properly account locked pages" (CVE-2026-93243): mainline 7.3-rc
        // (mm-hotfixes), stable 6.12.113 and 6.1.191 (Debian changelogs of 6.12.113-1 and
        // 6.1.192-1). TODO(profile): 6.6.y has it (stable-rc push of 2026-10-07, version
        // not known here); 6.18.y lacks it at 6.18.44 (this host), later 6.18.y unknown.
        let secret: Bool
        switch (v.0, v.1) {
        case (6, 1): secret = v.2 >= 191
        case (6, 12): secret = v.2 >= 113
        default: secret = (v.0, v.1) >= (7, 3)
        }
        // "mm/memory: do not populate page table entries beyond i_size": mainline 6.18,
        // stable 6.12.59 (Debian 6.12.117 changelog); not in Debian 6.1.192's.
        // TODO(profile): 6.17.y and 6.6.y backports not known here.
        let eof: Bool
        switch (v.0, v.1) {
        case (6, 12): eof = v.2 >= 59
        default: eof = (v.0, v.1) >= (6, 18)
        }
        let facts = VersionFacts(secretmemChargesUserOnFault: secret, faultAroundMapsNoTableAtEOF: eof)
        let why = facts.names.isEmpty ? "version \(text): no stable-backport facts"
            : "version \(text): " + facts.names.joined(separator: ", ")
        return (facts, why)
    }

    /// (major, minor, patch): from uname -r, unless it reads "X.Y.0-N" and uname -v names
    /// the Debian upstream version "X.Y.Z".
    public static func fullVersion(release: String, version: String = "") -> (Int, Int, Int)? {
        func triple<S: StringProtocol>(_ s: S) -> (Int, Int, Int)? {
            let parts = s.split(whereSeparator: { !$0.isNumber }).prefix(3).compactMap { Int($0) }
            return parts.count == 3 ? (parts[0], parts[1], parts[2]) : nil
        }
        guard let r = triple(release) else { return nil }
        let words = version.split(separator: " ")
        if r.2 == 0, let i = words.firstIndex(of: "Debian"), i + 1 < words.count,
           let d = triple(words[i + 1]), (d.0, d.1) == (r.0, r.1) {
            return d
        }
        return r
    }

    /// "6.18.44-fc-v782" -> (6, 18).
    public static func version(_ release: String) -> (Int, Int)? {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }
}
