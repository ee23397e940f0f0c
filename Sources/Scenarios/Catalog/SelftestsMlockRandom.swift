import MlockModel

/// Kernel selftests tools/testing/selftests/mm/mlock-random-test.c (2 results).
///
/// The reference draws its ranges from srand(time(NULL)) and never prints the seed, locks
/// malloc'd memory, checks only an upper bound on VmLck within the limit and not the errno
/// beyond it. Here the ranges come from SplitMix64 with the seed in the id and the summary,
/// the memory is an arena mapping of the same size as the reference's malloc, and every
/// call is checked exactly (return, errno, VmLck, VMAs, every page) at each of its steps.
enum SelftestsMlockRandom {
    static let prefix = "selftests.mlock-random."
    /// Same numbers as the reference: CHUNK_UNIT 128 KiB, RLIMIT 2 units, 100 calls.
    static let chunk: UInt64 = 128 * Cat.kib
    static let rlimit: UInt64 = 2 * chunk
    static let loops = 100

    static let withinSeeds: [UInt64] = [0x5EED_0001, 0xC0FF_EE00_D15C_0B01, 0x0123_4567_89AB_CDEF]
    static let outOfSeeds: [UInt64] = [0x5EED_0002, 0xFEED_FACE_CAFE_BEEF]

    static let scenarios: [Scenario] = withinSeeds.map(within(seed:)) + outOfSeeds.map(outOf(seed:))

    /// test_mlock_within_limit: 100 random mlock / mlock2(ONFAULT) calls on byte ranges
    /// inside a 128 KiB area with RLIMIT_MEMLOCK 256 KiB and no CAP_IPC_LOCK: all succeed.
    static func within(seed: UInt64) -> Scenario {
        let hexSeed = Cat.hex(seed)
        return Scenario(prefix + "within-limit.seed-" + String(seed, radix: 16),
                        "test_mlock_within_limit, seed \(hexSeed): 100 random mlock/mlock2(ONFAULT) byte ranges in a 128 KiB arena mapping (reference: malloc) under a 256 KiB limit all succeed; exact VmLck, not an upper bound",
                        covers: ["selftests/mlock-random-test#1", "digest/P-06", "digest/P-07"]) { b in
            var rng = SplitMix64(seed: seed)
            let pages = chunk / pageSize
            let p = b.region(pages: pages)
            b.unprivileged(memlock: rlimit)
            b.map(p, .rw, .privateAnon, [], "the 128 KiB area the reference mallocs")
            // malloc'd memory is partly touched (the chunk header); touch every 4th page so
            // ONFAULT calls meet present and absent pages alike.
            for i in stride(from: UInt64(0), to: pages, by: 4) {
                b.touch(p.sub(i, 1), "pre-fault page \(i)")
            }
            for i in 0..<loops {
                let isMlock = rng.coin()
                let lockSize = rng.below(chunk)
                let start = rng.below(chunk - lockSize)
                randomLock(&b, mlock: isMlock, index: i, base: p.addr, offset: start, length: lockSize)
            }
            b.munlock(p, "the reference munlocks the whole area before the next test")
        }
    }

    /// One of the reference's random calls: mlock or mlock2(MLOCK_ONFAULT), by the coin.
    static func randomLock(_ b: inout ScenarioBuilder, mlock: Bool, index i: Int, base: UInt64,
                           offset start: UInt64, length: UInt64, expecting: String = "") {
        let range = "p+\(Cat.hex(start)), \(Cat.hex(length))"
        if mlock {
            b.mlock(addr: base + start, length: length, "[\(i)] mlock(\(range))\(expecting)")
        } else {
            b.mlock2(addr: base + start, length: length, flags: Cat.onfault,
                     "[\(i)] mlock2(\(range), ONFAULT)\(expecting)")
        }
    }

    /// test_mlock_outof_limit: 100 random calls, each spanning more than the 256 KiB limit,
    /// inside a 384 KiB area: every one fails with ENOMEM and nothing is locked.
    static func outOf(seed: UInt64) -> Scenario {
        let hexSeed = Cat.hex(seed)
        return Scenario(prefix + "outof-limit.seed-" + String(seed, radix: 16),
                        "test_mlock_outof_limit, seed \(hexSeed): 100 random mlock/mlock2(ONFAULT) ranges over 256 KiB in a 384 KiB arena mapping (reference: malloc) fail with ENOMEM, then the exact limit boundary is probed",
                        covers: ["selftests/mlock-random-test#2", "digest/P-12"]) { b in
            var rng = SplitMix64(seed: seed)
            let size = 3 * chunk
            let pages = size / pageSize
            let p = b.region(pages: pages)
            b.unprivileged(memlock: rlimit)
            b.map(p, .rw, .privateAnon, [], "the 384 KiB area the reference mallocs")
            b.touch(p.sub(0, 1), "the chunk header page malloc would have touched")
            for i in 0..<loops {
                let isMlock = rng.coin()
                // The reference draws [256 KiB, 384 KiB); a page-aligned 256 KiB exactly at a
                // page boundary would fit the limit, so draw from (256 KiB, 384 KiB): every
                // range spans at least 65 pages and must fail.
                let lockSize = rlimit + 1 + rng.below(size - rlimit - 1)
                let start = rng.below(size - lockSize)
                randomLock(&b, mlock: isMlock, index: i, base: p.addr, offset: start, length: lockSize,
                           expecting: " -> ENOMEM")
            }
            // Beyond the reference: the boundary itself.
            let limitPages = rlimit / pageSize
            b.mlock(p.sub(0, limitPages), "exactly the limit (64 pages): succeeds")
            b.mlock2(p.sub(0, limitPages), flags: Cat.onfault,
                     "re-lock of the same 64 pages as ONFAULT: counted once, succeeds")
            b.mlock(p.sub(limitPages, 1), "one page more: ENOMEM")
            b.mlock(p.sub(limitPages - 1, 2), "overlapping by one page, one new: still ENOMEM")
            b.munlock(p.sub(0, 1), "free one page of the budget")
            b.mlock(p.sub(limitPages, 1), "now fits: succeeds")
        }
    }
}
