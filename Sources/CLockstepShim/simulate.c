// Simulated kernel bugs for `lockstep selfcheck`: seccomp filters (libseccomp) that make
// one syscall lie. SCMP_ACT_ERRNO(0) makes the syscall return 0 without running it (a
// kernel whose syscall "succeeds" and does nothing); SCMP_ACT_ERRNO(e) makes it fail
// with e without running it (a wrong answer). Installed by lockstep-agent right after
// startup (`--simulate NAME`), before any scenario op, and by `lockstep settle-check` in
// itself; never in the runner that observes.
#define _GNU_SOURCE
#include "lockstep_shim.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#ifndef MCL_FUTURE
#define MCL_FUTURE 2
#endif

enum { ANY = -1 };   // no argument condition

// One rule: `syscall` answers `err` (0: success without running) when argument `arg`
// masked with `mask` equals `value` (arg ANY: always). `arg2`/`ne2`: a second condition,
// argument arg2 != 0 (prlimit64 with a new limit).
struct rule {
    const char *syscall;
    int err;
    int arg;
    uint64_t mask, value;
    int arg2_nonzero;
};

struct simulation {
    const char *name;
    const char *summary;
    struct rule rules[3];
};

#define ALWAYS(sc, e) {sc, e, ANY, 0, 0, -1}
#define WHEN(sc, e, a, m, v) {sc, e, a, m, v, -1}

static const struct simulation simulations[] = {
    {"control-filter", "a filter that breaks nothing (acct(2) returns 0): the suite must still pass",
     {ALWAYS("acct", 0)}},
    // Calls that succeed and do nothing.
    {"munlock-noop", "munlock returns 0 and unlocks nothing", {ALWAYS("munlock", 0)}},
    {"munlockall-noop", "munlockall returns 0 and unlocks nothing", {ALWAYS("munlockall", 0)}},
    {"mlock-noop", "mlock returns 0 and locks nothing", {ALWAYS("mlock", 0)}},
    {"mlockall-future-noop", "mlockall with MCL_FUTURE returns 0 and does nothing",
     {WHEN("mlockall", 0, 0, MCL_FUTURE, MCL_FUTURE)}},
    {"mlock2-onfault-noop", "mlock2(MLOCK_ONFAULT) returns 0 and locks nothing",
     {WHEN("mlock2", 0, 2, LS_MLOCK_ONFAULT, LS_MLOCK_ONFAULT)}},
    {"madvise-hugepage-noop", "madvise(MADV_HUGEPAGE) returns 0 and does nothing",
     {WHEN("madvise", 0, 2, ~0ULL, 14 /* MADV_HUGEPAGE */)}},
    {"shm-lock-noop", "shmctl(SHM_LOCK) returns 0 and locks nothing",
     // The low byte is the command (IPC_64 may be or-ed in).
     {WHEN("shmctl", 0, 1, 0xff, 11 /* SHM_LOCK */)}},
    {"memlock-rlimit-noop", "setrlimit/prlimit64(RLIMIT_MEMLOCK) return 0 and change nothing",
     {WHEN("setrlimit", 0, 0, ~0ULL, 8 /* RLIMIT_MEMLOCK */),
      {"prlimit64", 0, 1, ~0ULL, 8, 2 /* a new limit is given */}}},
    {"mprotect-noop", "mprotect returns 0 and changes nothing", {ALWAYS("mprotect", 0)}},
    {"move-pages-noop", "move_pages returns 0 and neither moves nor reports", {ALWAYS("move_pages", 0)}},
    // Wrong answers.
    {"mlock2-onfault-einval", "mlock2(MLOCK_ONFAULT) fails EINVAL, as a kernel without MLOCK_ONFAULT answers",
     {WHEN("mlock2", EINVAL, 2, LS_MLOCK_ONFAULT, LS_MLOCK_ONFAULT)}},
    {"mlock2-enosys", "mlock2 fails ENOSYS, as a kernel before 4.4 answers", {ALWAYS("mlock2", ENOSYS)}},
    {"madvise-hugepage-einval", "madvise(MADV_HUGEPAGE) fails EINVAL, as a kernel without transparent huge pages answers",
     {WHEN("madvise", EINVAL, 2, ~0ULL, 14 /* MADV_HUGEPAGE */)}},
    {"mlock-enomem", "mlock fails ENOMEM where none is due", {ALWAYS("mlock", ENOMEM)}},
    {"mlock-eagain", "mlock fails EAGAIN where none is due", {ALWAYS("mlock", EAGAIN)}},
    {"mlock2-eagain", "mlock2 fails EAGAIN where none is due", {ALWAYS("mlock2", EAGAIN)}},
    {"munlock-enomem", "munlock fails ENOMEM where none is due", {ALWAYS("munlock", ENOMEM)}},
    {"mlockall-enomem", "mlockall fails ENOMEM where none is due", {ALWAYS("mlockall", ENOMEM)}},
    {"mmap-locked-eagain", "mmap with MAP_LOCKED fails EAGAIN where none is due",
     {WHEN("mmap", EAGAIN, 3, MAP_LOCKED, MAP_LOCKED)}},
    // The agent's own helper calls.
    {"ftruncate-noop", "ftruncate returns 0 and sizes nothing (the agent's memfd and file objects)",
     {ALWAYS("ftruncate", 0)}},
    {"capset-noop", "capset returns 0 and drops nothing (the agent's CAP_IPC_LOCK drop)", {ALWAYS("capset", 0)}},
};

enum { SIMULATIONS = sizeof simulations / sizeof simulations[0] };

int ls_simulation_count(void) { return SIMULATIONS; }

const char *ls_simulation_name(int i) { return i >= 0 && i < SIMULATIONS ? simulations[i].name : NULL; }

const char *ls_simulation_summary(int i) { return i >= 0 && i < SIMULATIONS ? simulations[i].summary : NULL; }

int ls_simulate_install(const char *name) {
    const struct simulation *s = NULL;
    for (int i = 0; i < SIMULATIONS; i++)
        if (strcmp(simulations[i].name, name) == 0) s = &simulations[i];
    if (s == NULL) return -ENOENT;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL) return -ENOMEM;
    // Every thread of the process (the CLI has more than one); the agent has one.
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    for (int i = 0; rc == 0 && i < 3 && s->rules[i].syscall != NULL; i++) {
        const struct rule *r = &s->rules[i];
        int nr = seccomp_syscall_resolve_name(r->syscall);
        if (nr == __NR_SCMP_ERROR) { rc = -ENOSYS; break; }
        struct scmp_arg_cmp cmp[2];
        unsigned n = 0;
        if (r->arg != ANY)
            cmp[n++] = (struct scmp_arg_cmp){(unsigned)r->arg, SCMP_CMP_MASKED_EQ, r->mask, r->value};
        if (r->arg2_nonzero >= 0)
            cmp[n++] = (struct scmp_arg_cmp){(unsigned)r->arg2_nonzero, SCMP_CMP_NE, 0, 0};
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO((unsigned)r->err), nr, n, cmp);
    }
    if (rc == 0) rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) return rc;
    // The kernel says whether a filter is in force (2 = SECCOMP_MODE_FILTER).
    return prctl(PR_GET_SECCOMP) == 2 ? 0 : -EPERM;
}
