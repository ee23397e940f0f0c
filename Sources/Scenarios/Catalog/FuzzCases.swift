import MlockModel

/// Cases the fuzzer found and shrank, kept as regression scenarios (`./run.sh fuzz`).
enum FuzzCases {
    static let scenarios: [Scenario] = [plantedMunlockall]

    /// Found by `./run.sh fuzz --plant munlock-keeps-pages-mlocked --seed 0x5eed` (sequence 0,
    /// seed 0x9f1fd9d03f0a9b4) and shrunk from 50 ops to these 4: with the planted rule the
    /// model keeps the page mlocked after munlockall; the correct model and the kernel both
    /// munlock it (page p, Mlocked -1, munlocked +1, rescued +1).
    static let plantedMunlockall = Scenario(
        "fuzz.planted-munlock.munlockall-after-move",
        "fuzz case (planted munlock-keeps-pages-mlocked, shrunk 50 -> 4 ops): a page moved by mremap, mlocked, then munlockall: munlocked and rescued",
        covers: ["fuzz/0x5eed"]) { b in
        let p = b.region(pages: 1)
        let moved = b.region(pages: 1)
        b.map(p, .rw, .privateAnon, [], "one private anonymous page")
        b.step(.mremap(old: p.addr, oldLength: p.length, newLength: p.length,
                       flags: UAPI.MREMAP_MAYMOVE | UAPI.MREMAP_FIXED, newAddr: moved.addr), "moved elsewhere in the arena")
        b.mlock(moved, "mlock populates and mlocks it")
        b.step(.munlockall, "munlockall: the page is munlocked (the planted rule forgets it)")
    }
}
