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

    /// "6.18.44-fc-v782" -> (6, 18).
    public static func version(_ release: String) -> (Int, Int)? {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }
}
