import Testing
import MlockModel

// memfd_secret after "mm/secretmem: properly account locked pages" (stable 6.12.113,
// 6.1.191; VersionFacts.secretmemChargesUserOnFault): no VM_LOCKED, the creator's
// user->locked_vm charged per page at fault against RLIMIT_MEMLOCK, SIGBUS over it.
// Each rule is also checked on the old side, where the mapping is VM_LOCKED.

let chargesAtFault = VersionFacts(secretmemChargesUserOnFault: true)

@Test func chargedSecretmemIsNeitherLockedNorCountedAndItsPagesAreOnlyUnevictable() {
    var p = Proc(facts: chargesAtFault)
    p.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    #expect(p.run(mapObject(A, 2, slot: 0, shared: true)) == ok(A))
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true, advice: ["dd"])])   // VM_DONTDUMP only
    #expect(p.vmLck == 0)
    p.run(read(A, 1))
    #expect(p.pages(A, 2) == [unevictableOnly, absent])               // AS_UNEVICTABLE, no PG_mlocked
    #expect(p.counters == counts(unevictable: 1, culled: 1))
    #expect(p.run(mlock(A, 2)) == .fail(Err.ENOMEM))                  // mlock_fixup skips, GUP refuses
    #expect(p.vmLck == 0)
    #expect(p.run(munlock(A, 2)) == .ok)
    p.run(munmap(A, 2))                                               // nothing was mlocked
    #expect(p.counters == counts(unevictable: 1, culled: 1))
}

@Test func beforeTheBackportTheSameStepsLockAtMmapAndMlockAtFault() {
    var p = Proc()
    p.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    p.run(mapObject(A, 2, slot: 0, shared: true))
    #expect(p.vmLck == 8)
    p.run(read(A, 1))
    #expect(p.page(A) == mlockedPage)
    p.run(munmap(A, 2))
    #expect(p.counters == counts(unevictable: 1, pgMlocked: 1, pgMunlocked: 1, culled: 1))
}

@Test func chargedSecretmemMapsOverTheLimitAndFaultsSIGBUSPastIt() {
    var p = Proc(soft: P, hard: P, cap: false, facts: chargesAtFault)
    p.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    #expect(p.run(mapObject(A, 2, slot: 0, shared: true)) == ok(A))  // no mlock_future_ok
    #expect(p.run(write(A, 2)) == .fail(Err.EFAULT))                 // page 2: 2 > 1 page
    #expect(p.pages(A, 2) == [unevictableOnly, absent])
    #expect(p.counters == counts(unevictable: 1, culled: 1))
}

@Test func capIpcLockDoesNotExemptTheFaultCharge() {
    var p = Proc(soft: P, hard: P, cap: true, facts: chargesAtFault)
    p.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    p.run(mapObject(A, 2, slot: 0, shared: true))
    #expect(p.run(write(A, 2)) == .fail(Err.EFAULT))
    // The old rule: CAP_IPC_LOCK passes mlock_future_ok, both pages fault and are mlocked.
    var q = Proc(soft: P, hard: P, cap: true)
    q.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    #expect(q.run(mapObject(A, 2, slot: 0, shared: true)) == ok(A))
    #expect(q.run(write(A, 2)) == ret(2))
}

@Test func theChargeIsPerPageOfTheFileAndOutlivesTheMapping() {
    var p = Proc(soft: P, hard: P, cap: false, facts: chargesAtFault)
    p.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    p.run(mapObject(A, 1, slot: 0, shared: true))
    #expect(p.run(write(A, 1)) == ret(1))                             // 1 page charged
    p.run(mapObject(A + 4 * P, 1, slot: 0, shared: true))             // same file page again
    #expect(p.run(read(A + 4 * P, 1)) == ret(1))                      // cached: no new charge
    p.run(munmap(A, 1))
    p.run(munmap(A + 4 * P, 1))                                       // the fd keeps file and charge
    p.run(mapObject(A, 2, slot: 0, shared: true))
    #expect(p.run(read(A, 2)) == .fail(Err.EFAULT))                   // page 1 would be the 2nd
    #expect(p.pages(A, 2) == [unevictableOnly, absent])
}

@Test func underMclFutureTheChargedMappingIsStillLockedByDoMmap() {
    var p = Proc(facts: chargesAtFault)
    p.run(.mlockall(flags: UAPI.MCL_FUTURE))
    p.run(.createObject(slot: 0, kind: .secret, pages: 2, filled: false))
    #expect(p.run(mapObject(A, 2, slot: 0, shared: true)) == ok(A))
    #expect(p.vmas == [vma(A, A + 2 * P, shared: true, locked: true, advice: ["dd"])])
    #expect(p.vmLck == 8)                                             // mm->def_flags VM_LOCKED
    p.run(read(A, 1))
    #expect(p.page(A) == mlockedPage)
}
