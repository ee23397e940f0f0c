// lockstep-agent: the scenario process.
//
//   lockstep-agent [--cpu N] [--tmpdir DIR] [--simulate NAME]
//
// --simulate NAME installs a simulated kernel bug (a seccomp filter, see simulate.c in
// CLockstepShim) first thing, before the rest of setup and any request: every op
// then meets the lying syscall. libseccomp allocates while building the filter, so a
// simulated run's agent has a heap mapping; the runner reads it like any other.
//
// Reads `struct ls_request` from fd 0, executes exactly one syscall (or one touch loop)
// per request, writes `struct ls_reply` to fd 1, and blocks in read() again, so that
// the runner observes /proc/<pid>/ at rest. EOF on stdin: _exit(0).
//
// The agent allocates nothing after start (no malloc, no stdio: read/write and static
// buffers; libcap's one allocation is made and freed at start, making the heap), so its
// address space holds only its own image, libc, its heap, its stack and what the
// scenario maps. Syscalls are made with syscall(2) so that arguments reach the
// kernel unchanged. See agent_protocol.h for the ops.
#define _GNU_SOURCE
#include "agent_protocol.h"
#include "lockstep_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/capability.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

enum { MAX_OBJECTS = 16, FILL_BUFFER = 65536 };

static long page_size;
static const char *tmpdir = "/tmp";
static int objects[MAX_OBJECTS];
static unsigned char fill_page[FILL_BUFFER];
static char path_buffer[4096];

// ---- small helpers (no stdio) ----

static void say(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static _Noreturn void die(const char *what, int code) {
    say("lockstep-agent: ");
    say(what);
    say("\n");
    _exit(code);
}

// Parses a non-negative decimal; -1 if it is not one.
static long parse_long(const char *s) {
    long v = 0;
    if (*s == 0) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000) return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int full_read(int fd, void *buf, size_t n) {   // 1 done, 0 EOF at start, -1 error
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

static int full_write(int fd, const void *buf, size_t n) {
    size_t put = 0;
    while (put < n) {
        ssize_t w = write(fd, (const char *)buf + put, n - put);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        put += (size_t)w;
    }
    return 0;
}

// A reply from a raw syscall result: -1 means failure with errno.
static struct ls_reply result(long r) {
    struct ls_reply rep = {0};
    rep.ret = r;
    rep.err = r == -1 ? errno : 0;
    return rep;
}

static struct ls_reply failure(int err) {
    struct ls_reply rep = {0};
    rep.ret = -1;
    rep.err = err;
    return rep;
}

// ---- objects ----

static int open_regular_tmpfile(void) {
    int fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    // Filesystems without O_TMPFILE: mkstemp + unlink.
    size_t n = strlen(tmpdir);
    const char *suffix = "/lockstep-obj-XXXXXX";
    if (n + strlen(suffix) + 1 > sizeof path_buffer) { errno = ENAMETOOLONG; return -1; }
    memcpy(path_buffer, tmpdir, n);
    memcpy(path_buffer + n, suffix, strlen(suffix) + 1);
    fd = mkostemp(path_buffer, O_CLOEXEC);
    if (fd < 0) return -1;
    unlink(path_buffer);
    return fd;
}

static struct ls_reply op_create_object(const uint64_t *a) {
    uint64_t slot = a[0], kind = a[1], bytes = a[2], filled = a[3];
    if (slot >= MAX_OBJECTS || kind > 1) return failure(EINVAL);
    if (objects[slot] >= 0) return failure(EBUSY);
    int fd;
    if (kind == 0) {
        char name[] = "lockstep-obj-00";
        name[13] = (char)('0' + slot / 10);
        name[14] = (char)('0' + slot % 10);
        fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
    } else {
        fd = open_regular_tmpfile();
    }
    if (fd < 0) return failure(errno);
    if (syscall(SYS_ftruncate, fd, (long)bytes) < 0) {
        int e = errno;
        close(fd);
        return failure(e);
    }
    if (filled) {
        for (uint64_t off = 0; off < bytes; off += (uint64_t)page_size) {
            size_t n = bytes - off < (uint64_t)page_size ? (size_t)(bytes - off) : (size_t)page_size;
            if (pwrite(fd, fill_page, n, (off_t)off) != (ssize_t)n) {
                int e = errno ? errno : EIO;
                close(fd);
                return failure(e);
            }
        }
    }
    objects[slot] = fd;
    struct ls_reply rep = {0};
    rep.ret = fd;
    return rep;
}

// Fills the first `bytes` of fd with the pattern, one page per pwrite (order-0 folios).
static int fill_object(int fd, uint64_t bytes) {
    for (uint64_t off = 0; off < bytes; off += (uint64_t)page_size) {
        size_t n = bytes - off < (uint64_t)page_size ? (size_t)(bytes - off) : (size_t)page_size;
        if (pwrite(fd, fill_page, n, (off_t)off) != (ssize_t)n) return errno ? errno : EIO;
    }
    return 0;
}

// A ramfs of the agent's own: a private mount namespace, so that the mount is seen by
// nobody else and goes away with the agent however it ends (nothing to clean up).
static const char *ramfs_dir;

static int mount_private_ramfs(void) {
    if (ramfs_dir) return 0;
    if (unshare(CLONE_NEWNS) < 0) return errno;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return errno;
    static const char *candidates[] = {"/dev/shm", "/mnt"};
    int err = ENOENT;
    for (unsigned i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (mount("lockstep-ramfs", candidates[i], "ramfs", MS_NOSUID | MS_NODEV, "mode=0700") == 0) {
            ramfs_dir = candidates[i];
            return 0;
        }
        err = errno;
    }
    return err;
}

static struct ls_reply op_create_special(const uint64_t *a) {
    uint64_t slot = a[0], kind = a[1], bytes = a[2], filled = a[3];
    if (slot >= MAX_OBJECTS || kind > 1) return failure(EINVAL);
    if (objects[slot] >= 0) return failure(EBUSY);
    int fd;
    if (kind == 0) {
        int err = mount_private_ramfs();
        if (err) return failure(err);
        fd = open(ramfs_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    } else {
        fd = (int)syscall(SYS_memfd_secret, 0);
    }
    if (fd < 0) return failure(errno);
    int err = 0;
    if (syscall(SYS_ftruncate, fd, (long)bytes) < 0) err = errno;
    if (!err && filled) err = fill_object(fd, bytes);
    if (err) {
        close(fd);
        return failure(err);
    }
    objects[slot] = fd;
    struct ls_reply rep = {0};
    rep.ret = fd;
    return rep;
}

static struct ls_reply op_ftruncate(const uint64_t *a) {
    if (a[0] >= MAX_OBJECTS || objects[a[0]] < 0) return failure(EBADF);
    return result(syscall(SYS_ftruncate, objects[a[0]], (long)a[1]));
}

static struct ls_reply op_fallocate(const uint64_t *a) {
    if (a[0] >= MAX_OBJECTS || objects[a[0]] < 0) return failure(EBADF);
    return result(syscall(SYS_fallocate, objects[a[0]], (int)a[1], (long)a[2], (long)a[3]));
}

static struct ls_reply op_close_object(const uint64_t *a) {
    if (a[0] >= MAX_OBJECTS || objects[a[0]] < 0) return failure(EBADF);
    struct ls_reply rep = result(close(objects[a[0]]));
    objects[a[0]] = -1;
    return rep;
}

// ---- memory ops ----

static struct ls_reply op_mmap(const uint64_t *a) {
    long fd = -1;
    if (a[4] != UINT64_MAX) {
        if (a[4] >= MAX_OBJECTS || objects[a[4]] < 0) return failure(EBADF);
        fd = objects[a[4]];
    }
    return result(syscall(SYS_mmap, a[0], a[1], a[2], a[3], fd, a[5]));
}

// Touch: a fault on the touched byte lands in on_fault(), which jumps back here.
static sigjmp_buf touch_env;
static volatile sig_atomic_t touch_armed;

static void on_fault(int sig) {
    if (touch_armed) {
        touch_armed = 0;
        siglongjmp(touch_env, 1);
    }
    // A fault outside a touch is a bug in the agent: die of it.
    signal(sig, SIG_DFL);
    raise(sig);
}

static struct ls_reply op_touch(const uint64_t *a) {
    volatile unsigned char *base = (volatile unsigned char *)(uintptr_t)a[0];
    uint64_t pages = (a[1] + (uint64_t)page_size - 1) / (uint64_t)page_size;
    int write_it = a[2] != 0;
    static volatile uint64_t done;   // survives siglongjmp
    done = 0;
    if (sigsetjmp(touch_env, 1) != 0) {
        struct ls_reply rep = failure(EFAULT);
        rep.reserved = done > INT32_MAX ? INT32_MAX : (int32_t)done;
        return rep;
    }
    touch_armed = 1;
    for (uint64_t i = 0; i < pages; i++) {
        volatile unsigned char *p = base + i * (uint64_t)page_size;
        if (write_it) {
            *p = *p;
        } else {
            (void)*p;
        }
        done = i + 1;
    }
    touch_armed = 0;
    struct ls_reply rep = {0};
    rep.ret = (int64_t)done;
    return rep;
}

static struct ls_reply op_setrlimit(const uint64_t *a) {
    struct rlimit64 lim = {.rlim_cur = a[1], .rlim_max = a[2]};
    return result(syscall(SYS_prlimit64, 0, a[0], &lim, NULL));
}

// Through libcap: the capability sets as a program would drop them. libcap allocates;
// setup() made its heap before the first request (warm_libcap), and the chunk freed
// there is reused, so dropping a capability maps nothing new mid-scenario.
static struct ls_reply op_drop_cap(const uint64_t *a) {
    if (a[0] > 63) return failure(EINVAL);
    cap_value_t cap = (cap_value_t)a[0];
    cap_t caps = cap_get_proc();
    if (caps == NULL) return failure(errno);
    int rc = 0;
    for (cap_flag_t flag = CAP_EFFECTIVE; flag <= CAP_INHERITABLE && rc == 0; flag++)
        rc = cap_set_flag(caps, flag, 1, &cap, CAP_CLEAR);
    if (rc == 0) rc = cap_set_proc(caps);
    int err = errno;
    cap_free(caps);
    return rc == 0 ? result(0) : failure(err);
}

// libcap's first allocation makes the agent's heap: done at start, so the heap is part
// of the address space the runner reads before step 1, in every agent alike.
static void warm_libcap(void) {
    cap_t caps = cap_get_proc();
    if (caps == NULL) die("cap_get_proc failed", 3);
    cap_free(caps);
}

// ---- fork ----

// Whether process `pid` sleeps interruptibly (state S in /proc/<pid>/stat).
static int sleeping(pid_t pid) { return ls_process_state(pid) == 'S'; }

// The parent of a fork: it keeps its address space and locks as they are and does
// nothing more. Its stdout is closed (a dead child must end the runner's read); it
// sleeps in poll() on stdin with no events, which wakes only on POLLHUP/POLLERR: when
// the runner closes the pipe, it exits. The runner also SIGKILLs it.
static _Noreturn void frozen_parent(void) {
    close(1);
    struct pollfd p = {.fd = 0, .events = 0, .revents = 0};
    for (;;) {
        int r = poll(&p, 1, -1);
        if (r > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) _exit(0);
    }
}

// Fork: the child carries on as the agent. It answers only once the parent sleeps, so
// that the parent's own writes after fork (its copy-on-write breaks of its stack and
// data) are over before the runner reads.
static struct ls_reply op_fork(void) {
    // The kernel reaps a killed child by itself: the frozen parent never waits.
    signal(SIGCHLD, SIG_IGN);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return failure(errno);
    if (pid > 0) frozen_parent();
    for (int i = 0; i < 200000 && !sleeping(parent); i++) {
        struct timespec ts = {0, 20000};
        sched_yield();
        nanosleep(&ts, NULL);
    }
    struct ls_reply rep = {0};
    rep.ret = getpid();
    return rep;
}

// Fork where both sides go on serving: the child gets two new pipes as stdin/stdout,
// the parent keeps the runner's ends until the runner has opened its own copies through
// /proc/<parent>/fd (then LS_CLOSE_FD). The parent answers only once the child sleeps in
// read(), so that the child's copy-on-write breaks of its own stack and data are over
// before the runner reads.
static struct ls_reply op_fork_serve(void) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) < 0) return failure(errno);
    if (pipe2(from_child, O_CLOEXEC) < 0) {
        int e = errno;
        close(to_child[0]);
        close(to_child[1]);
        return failure(e);
    }
    // The kernel reaps an exited child by itself: nobody waits for it.
    signal(SIGCHLD, SIG_IGN);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(to_child[0]); close(to_child[1]); close(from_child[0]); close(from_child[1]);
        return failure(e);
    }
    if (pid == 0) {
        // dup2 clears FD_CLOEXEC on 0 and 1; the pipes' other fds go.
        if (dup2(to_child[0], 0) < 0 || dup2(from_child[1], 1) < 0) _exit(6);
        close(to_child[0]); close(to_child[1]); close(from_child[0]); close(from_child[1]);
        // Back to the request loop in main(): the child answers nothing for this op.
        struct ls_reply none = {0};
        none.ret = -2;
        return none;
    }
    close(to_child[0]);
    close(from_child[1]);
    for (int i = 0; i < 200000 && !sleeping(pid); i++) {
        struct timespec ts = {0, 20000};
        sched_yield();
        nanosleep(&ts, NULL);
    }
    struct ls_reply rep = {0};
    rep.ret = pid;
    rep.reserved = (int32_t)(to_child[1] | (from_child[0] << 16));
    return rep;
}

static struct ls_reply op_close_fd(const uint64_t *a) {
    if (a[0] <= 2 || a[0] > INT32_MAX) return failure(EBADF);
    for (int i = 0; i < MAX_OBJECTS; i++)
        if (objects[i] == (int)a[0]) return failure(EBADF);
    return result(close((int)a[0]));
}

// ---- migration ----

static void *move_addrs[LS_MOVE_PAGES_MAX];
static int move_nodes[LS_MOVE_PAGES_MAX];
static int move_status[LS_MOVE_PAGES_MAX];
static uint64_t move_count;   // status values to send after the reply

static struct ls_reply op_move_pages(const uint64_t *a) {
    move_count = 0;
    if (a[1] > LS_MOVE_PAGES_MAX) return failure(EINVAL);
    for (uint64_t i = 0; i < a[1]; i++) {
        move_addrs[i] = (void *)(uintptr_t)(a[0] + i * (uint64_t)page_size);
        move_nodes[i] = (int)a[2];
        move_status[i] = INT32_MIN;
    }
    move_count = a[1];
    return result(syscall(SYS_move_pages, 0, a[1], move_addrs, move_nodes, move_status, (int)a[3]));
}

static struct ls_reply op_mbind(const uint64_t *a) {
    unsigned long mask[2] = {0, 0};
    if (a[3] == UINT64_MAX) return result(syscall(SYS_mbind, a[0], a[1], a[2], NULL, 0UL, a[4]));
    if (a[3] >= 64) return failure(EINVAL);
    mask[0] = 1UL << a[3];
    return result(syscall(SYS_mbind, a[0], a[1], a[2], mask, 65UL, a[4]));
}

// ---- dispatch ----

static struct ls_reply dispatch(const struct ls_request *rq) {
    const uint64_t *a = rq->a;
    switch (rq->op) {
    case LS_PING: return result(syscall(SYS_getpid));
    case LS_EXIT: _exit(0);
    case LS_CREATE_OBJECT: return op_create_object(a);
    case LS_CLOSE_OBJECT: return op_close_object(a);
    case LS_MMAP: return op_mmap(a);
    case LS_MUNMAP: return result(syscall(SYS_munmap, a[0], a[1]));
    case LS_MPROTECT: return result(syscall(SYS_mprotect, a[0], a[1], a[2]));
    case LS_MREMAP: return result(syscall(SYS_mremap, a[0], a[1], a[2], a[3], a[4]));
    case LS_TOUCH: return op_touch(a);
    case LS_MLOCK: return result(syscall(SYS_mlock, a[0], a[1]));
    case LS_MLOCK2: return result(syscall(SYS_mlock2, a[0], a[1], a[2]));
    case LS_MUNLOCK: return result(syscall(SYS_munlock, a[0], a[1]));
    case LS_MLOCKALL: return result(syscall(SYS_mlockall, a[0]));
    case LS_MUNLOCKALL: return result(syscall(SYS_munlockall));
    case LS_MADVISE: return result(syscall(SYS_madvise, a[0], a[1], a[2]));
    case LS_MSYNC: return result(syscall(SYS_msync, a[0], a[1], (int)a[2]));
    case LS_SETRLIMIT: return op_setrlimit(a);
    case LS_DROP_CAP: return op_drop_cap(a);
    case LS_SETUID: return result(syscall(SYS_setresuid, a[0], a[0], a[0]));
    case LS_FORK: return op_fork();
    case LS_FORK_SERVE: return op_fork_serve();
    case LS_CLOSE_FD: return op_close_fd(a);
    case LS_SHMGET: return result(syscall(SYS_shmget, (long)(int)a[0], a[1], (long)(int)a[2]));
    case LS_SHMAT: return result(syscall(SYS_shmat, (long)(int)a[0], a[1], (long)(int)a[2]));
    case LS_SHMDT: return result(syscall(SYS_shmdt, a[0]));
    case LS_SHMCTL: return result(syscall(SYS_shmctl, (long)(int)a[0], (long)(int)a[1], NULL));
    case LS_CREATE_SPECIAL: return op_create_special(a);
    case LS_FTRUNCATE: return op_ftruncate(a);
    case LS_FALLOCATE: return op_fallocate(a);
    case LS_MOVE_PAGES: return op_move_pages(a);
    case LS_MBIND: return op_mbind(a);
    default: return failure(ENOSYS);
    }
}

// The pin must hold: a sched_setaffinity that did nothing would let the agent's per-CPU
// batches sit on a CPU the runner's settle does not expect. Checked by the mask read
// back and by the CPU we then run on (sched_getcpu reads the vDSO, no syscall to fake).
static void check_pinned(long cpu) {
    cpu_set_t now;
    CPU_ZERO(&now);
    if (sched_getaffinity(0, sizeof now, &now) < 0) die("sched_getaffinity failed", 3);
    if (CPU_COUNT(&now) != 1 || !CPU_ISSET((int)cpu, &now)) die("--cpu: sched_setaffinity returned 0 but the mask did not change", 3);
    sched_yield();
    if (sched_getcpu() != cpu) die("--cpu: sched_setaffinity returned 0 but the agent runs on another CPU", 3);
}

static void setup(int argc, char **argv) {
    long cpu = -1;
    const char *simulate = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc) {
            cpu = parse_long(argv[++i]);
            if (cpu < 0) die("--cpu wants a CPU number", 2);
        } else if (strcmp(argv[i], "--tmpdir") == 0 && i + 1 < argc) {
            tmpdir = argv[++i];
        } else if (strcmp(argv[i], "--simulate") == 0 && i + 1 < argc) {
            simulate = argv[++i];
        } else {
            die("usage: lockstep-agent [--cpu N] [--tmpdir DIR] [--simulate NAME]", 2);
        }
    }
    // First: the simulated bug is in force for the agent's own setup as for every
    // scenario op, so that a helper call it breaks is noticed here, not trusted.
    if (simulate != NULL) {
        int rc = ls_simulate_install(simulate);
        if (rc == -ENOENT) die("--simulate: unknown simulated bug", 2);
        if (rc < 0) die("--simulate: the seccomp filter could not be installed", 3);
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (cpu >= CPU_SETSIZE) die("--cpu out of range", 2);
        CPU_SET((int)cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity failed", 3);
        check_pinned(cpu);
    }
    page_size = sysconf(_SC_PAGESIZE);
    if (page_size <= 0 || page_size > FILL_BUFFER) die("unsupported page size", 3);
    for (int i = 0; i < MAX_OBJECTS; i++) objects[i] = -1;
    for (long i = 0; i < page_size; i++) fill_page[i] = (unsigned char)(0xA5 ^ (i & 0x3F));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) < 0 || sigaction(SIGBUS, &sa, NULL) < 0) die("sigaction failed", 3);
    // posix_spawn passes the spawning thread's signal mask on: a blocked SIGSEGV would
    // turn a caught touch fault into a kill.
    sigset_t faults;
    sigemptyset(&faults);
    sigaddset(&faults, SIGSEGV);
    sigaddset(&faults, SIGBUS);
    if (sigprocmask(SIG_UNBLOCK, &faults, NULL) < 0) die("sigprocmask failed", 3);
    warm_libcap();

}

int main(int argc, char **argv) {
    setup(argc, argv);
    struct ls_request rq;
    for (;;) {
        int r = full_read(0, &rq, sizeof rq);
        if (r == 0) _exit(0);
        if (r < 0) die("short read on stdin", 4);
        struct ls_reply rep = dispatch(&rq);
        // A child just forked by LS_FORK_SERVE (ret -2 only there) waits for its first request.
        if (rq.op == LS_FORK_SERVE && rep.ret == -2) continue;
        if (full_write(1, &rep, sizeof rep) < 0) _exit(5);
        if (rq.op == LS_MOVE_PAGES && move_count > 0
            && full_write(1, move_status, move_count * sizeof move_status[0]) < 0) _exit(5);
    }
}
