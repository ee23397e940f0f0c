import MlockModel

/// msync edges (mm/msync.c): MS_INVALIDATE is refused with EBUSY on any VM_LOCKED VMA
/// (lock-on-fault too), checked VMA by VMA as the walk reaches it; holes give ENOMEM
/// (at once for MS_ASYNC alone); flags and start are checked before anything else.
/// msync never changes what lockstep observes, so every step also checks that nothing
/// moved.
enum EdgesMsync {
    static func edge(_ id: String, _ summary: String, _ build: (inout ScenarioBuilder) -> Void) -> Scenario {
        Scenario("edge.msync." + id, summary, build)
    }

    static let asyncInv = UAPI.MS_ASYNC | UAPI.MS_INVALIDATE
    static let syncInv = UAPI.MS_SYNC | UAPI.MS_INVALIDATE

    static let scenarios: [Scenario] = [
        edge("onfault-locked",
             "msync(MS_INVALIDATE) of an mlock2(ONFAULT) range is EBUSY with nothing present and after a fault; MS_SYNC and MS_ASYNC alone succeed and populate nothing") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.mlock2(m, flags: Cat.onfault, "VM_LOCKED|VM_LOCKONFAULT, nothing present")
            b.step(.msync(addr: m.addr, length: m.length, flags: UAPI.MS_INVALIDATE), "EBUSY: VM_LOCKED is set")
            b.step(.msync(addr: m.addr, length: m.length, flags: UAPI.MS_SYNC), "0; still nothing present")
            b.touch(m.sub(1, 1), "fault page 1: mlocked at fault")
            b.step(.msync(addr: m.page(1), length: pageSize, flags: asyncInv), "EBUSY; page 1 stays mlocked")
            b.step(.msync(addr: m.addr, length: m.length, flags: UAPI.MS_ASYNC), "0")
            b.munlock(m)
            b.step(.msync(addr: m.addr, length: m.length, flags: syncInv), "0 once unlocked")
        },

        edge("locked-and-unlocked",
             "msync(MS_INVALIDATE) over an unlocked VMA followed by a locked one is EBUSY only when the range reaches the locked VMA; unlocked-only subranges and flags without MS_INVALIDATE succeed") { b in
            let m = b.region(pages: 4)
            b.map(m)
            b.touch(m)
            b.mlock(m.sub(2, 2), "split: pages 0-1 unlocked, 2-3 locked")
            b.step(.msync(addr: m.addr, length: 2 * pageSize, flags: asyncInv), "0: only the unlocked VMA")
            b.step(.msync(addr: m.addr, length: 3 * pageSize, flags: asyncInv), "EBUSY when the walk reaches the locked VMA")
            b.step(.msync(addr: m.addr, length: 2 * pageSize + 1, flags: syncInv), "EBUSY: the length rounds up into page 2")
            b.step(.msync(addr: m.page(3), length: pageSize, flags: syncInv), "EBUSY: inside the locked VMA")
            b.step(.msync(addr: m.addr, length: m.length, flags: UAPI.MS_SYNC), "0 without MS_INVALIDATE")
            b.step(.msync(addr: m.addr, length: m.length, flags: 0), "0: flags 0 is valid")
            b.munlock(m, "merge back to one VMA")
            b.step(.msync(addr: m.addr, length: m.length, flags: asyncInv), "0")
        },

        edge("hole",
             "msync over a hole: ENOMEM at the hole for MS_ASYNC alone, ENOMEM after the walk for MS_SYNC and 0, but EBUSY when MS_INVALIDATE then meets a locked VMA; a range that is only a hole is ENOMEM") { b in
            let m = b.region(pages: 3)
            b.map(m.sub(0, 1), .rw, .privateAnon, [], "page 0 mapped, page 1 a hole")
            b.map(m.sub(2, 1), .rw, .privateAnon, [.locked], "page 2 mapped locked")
            b.step(.msync(addr: m.addr, length: m.length, flags: UAPI.MS_ASYNC), "ENOMEM at the hole")
            b.step(.msync(addr: m.addr, length: m.length, flags: UAPI.MS_SYNC), "ENOMEM after the walk")
            b.step(.msync(addr: m.addr, length: m.length, flags: 0), "ENOMEM")
            b.step(.msync(addr: m.addr, length: m.length, flags: asyncInv), "EBUSY: the locked VMA's error wins over the hole")
            b.step(.msync(addr: m.page(1), length: pageSize, flags: syncInv), "ENOMEM: only the hole (the next VMA starts at end)")
            b.step(.msync(addr: m.page(1), length: 2 * pageSize, flags: UAPI.MS_SYNC), "ENOMEM: the hole, then the locked page without MS_INVALIDATE")
            b.step(.msync(addr: m.end + pageSize, length: pageSize, flags: UAPI.MS_SYNC), "ENOMEM: nothing mapped there")
        },

        edge("invalid-flags",
             "msync with an unknown flag bit, with MS_ASYNC and MS_SYNC together, or with an unaligned start is EINVAL before the range is looked at (even for length 0); lengths 0 and ULONG_MAX (PAGE_ALIGN wraps to 0) are 0, ULONG_MAX & PAGE_MASK is ENOMEM") { b in
            let m = b.region(pages: 2)
            b.map(m, .rw, .privateAnon, [.locked])
            b.step(.msync(addr: m.addr, length: m.length, flags: 8), "EINVAL: unknown bit")
            b.step(.msync(addr: m.addr, length: m.length, flags: -1), "EINVAL: every bit")
            b.step(.msync(addr: m.addr, length: m.length, flags: UAPI.MS_ASYNC | UAPI.MS_SYNC), "EINVAL")
            b.step(.msync(addr: m.addr, length: m.length, flags: UAPI.MS_ASYNC | UAPI.MS_SYNC | UAPI.MS_INVALIDATE), "EINVAL, not EBUSY")
            b.step(.msync(addr: m.addr + 1, length: pageSize, flags: UAPI.MS_INVALIDATE), "EINVAL: unaligned start, not EBUSY")
            b.step(.msync(addr: m.end + 8 * pageSize, length: 0, flags: 16), "EINVAL even for length 0 over nothing")
            b.step(.msync(addr: m.addr, length: 0, flags: syncInv), "0: nothing to do")
            b.step(.msync(addr: m.addr, length: Cat.ulongMax, flags: syncInv), "0: PAGE_ALIGN(ULONG_MAX) wraps to 0")
            b.step(.msync(addr: m.addr, length: Cat.ulongMaxAligned, flags: 0), "ENOMEM: start + len wraps")
        },
    ]
}
