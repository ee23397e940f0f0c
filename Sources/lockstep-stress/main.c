// lockstep-stress: processes and threads racing mlock, mlock2(ONFAULT), munlock, munmap
// (MAP_FIXED remap), faults and fork over shared arenas (private anon, shared anon, memfd)
// for a bounded time, then held quiescent so `lockstep fuzz --stress` can read every
// process's page layer before they exit.
//
// usage: lockstep-stress SECONDS WORKERS PAGES
// stdout: "ready ARENA_LEN BASE0 BASE1 BASE2 PID..." once every worker has stopped racing;
// then it waits for stdin to close, lets the workers exit, reaps them and exits 0.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { PRIVATE_ANON, SHARED_ANON, MEMFD, ARENAS };
enum { OP_MLOCK, OP_MLOCK_ONFAULT, OP_MUNLOCK, OP_TOUCH, OP_REMAP, OP_FORK, OPS };
static const char *op_names[OPS] = {"mlock", "mlock2-onfault", "munlock", "touch", "munmap+mmap", "fork"};

static char *base[ARENAS];
static size_t pages, page_size;
static int memfd = -1;
static volatile int stop;
static double seconds;

static void die(const char *what) { perror(what); exit(3); }

static void remap(int arena, size_t off, size_t len) {
    int flags = MAP_FIXED | (arena == PRIVATE_ANON ? MAP_PRIVATE | MAP_ANONYMOUS
                             : arena == SHARED_ANON ? MAP_SHARED | MAP_ANONYMOUS : MAP_SHARED);
    void *p = mmap(base[arena] + off, len, PROT_READ | PROT_WRITE, flags,
                   arena == MEMFD ? memfd : -1, arena == MEMFD ? (off_t)off : 0);
    if (p == MAP_FAILED) die("mmap MAP_FIXED");
    madvise(p, len, MADV_NOHUGEPAGE);  // small folios only: the page checks stay exact
}

static unsigned next(unsigned *s) { *s ^= *s << 13; *s ^= *s >> 17; *s ^= *s << 5; return *s; }

struct counts { unsigned long ok[OPS], failed[OPS]; };

static void one_op(unsigned *seed, struct counts *c, int may_fork) {
    int arena = next(seed) % ARENAS;
    size_t first = next(seed) % pages, n = 1 + next(seed) % 8;
    if (first + n > pages) n = pages - first;
    char *a = base[arena] + first * page_size;
    size_t len = n * page_size;
    int op = next(seed) % (OPS * 4);
    op = op < 4 * OP_FORK ? op / 4 : (may_fork && next(seed) % 8 == 0 ? OP_FORK : OP_TOUCH);
    int r = 0;
    switch (op) {
    case OP_MLOCK: r = mlock(a, len); break;
    case OP_MLOCK_ONFAULT: r = (int)syscall(SYS_mlock2, a, len, 1 /* MLOCK_ONFAULT */); break;
    case OP_MUNLOCK: r = munlock(a, len); break;
    case OP_TOUCH: for (size_t i = 0; i < n; i++) ((volatile char *)a)[i * page_size] += 1; break;
    case OP_REMAP: remap(arena, first * page_size, len); break;
    case OP_FORK: {
        pid_t pid = fork();
        if (pid == 0) {  // the child races a few ops single-threaded, then exits
            struct counts ignored;
            unsigned s = *seed ^ (unsigned)getpid();
            for (int i = 0; i < 16; i++) one_op(&s, &ignored, 0);
            _exit(0);
        }
        r = pid < 0 ? -1 : (waitpid(pid, NULL, 0) < 0 ? -1 : 0);
        break;
    }
    }
    if (r == 0) c->ok[op]++; else c->failed[op]++;
}

static void *racer(void *arg) {
    struct counts *c = arg;
    unsigned seed = (unsigned)(getpid() * 2654435761u) ^ (unsigned)(uintptr_t)arg;
    if (!seed) seed = 1;
    while (!stop) one_op(&seed, c, 1);
    return NULL;
}

static void worker(int ready_fd, int go_fd, int report_fd) {
    enum { THREADS = 2 };
    pthread_t t[THREADS];
    struct counts c[THREADS];
    memset(c, 0, sizeof c);
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, racer, &c[i])) die("pthread_create");
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    stop = 1;
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 1; i < THREADS; i++)
        for (int k = 0; k < OPS; k++) { c[0].ok[k] += c[i].ok[k]; c[0].failed[k] += c[i].failed[k]; }
    if (write(report_fd, &c[0], sizeof c[0]) != sizeof c[0]) die("write report");
    if (write(ready_fd, "r", 1) != 1) die("write ready");
    char b;
    while (read(go_fd, &b, 1) > 0) {}  // quiescent until the parent closes the pipe
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: lockstep-stress SECONDS WORKERS PAGES\n"); return 2; }
    seconds = atof(argv[1]);
    int workers = atoi(argv[2]);
    pages = (size_t)atol(argv[3]);
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    if (seconds <= 0 || workers < 1 || workers > 64 || pages < 8) { fprintf(stderr, "bad arguments\n"); return 2; }
    size_t len = pages * page_size;
    memfd = (int)syscall(SYS_memfd_create, "lockstep-stress", 0);
    if (memfd < 0) die("memfd_create");
    if (ftruncate(memfd, (off_t)len)) die("ftruncate");  // sized once: no truncation races
    for (int a = 0; a < ARENAS; a++) {
        base[a] = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       a == PRIVATE_ANON ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED | (a == SHARED_ANON ? MAP_ANONYMOUS : 0),
                       a == MEMFD ? memfd : -1, 0);
        if (base[a] == MAP_FAILED) die("mmap");
        madvise(base[a], len, MADV_NOHUGEPAGE);
        memset(base[a], 1, len);  // present before fork: private pages start COW-shared
    }
    int ready[2], go[2], report[2];
    if (pipe(ready) || pipe(go) || pipe(report)) die("pipe");
    pid_t pids[64];
    for (int w = 0; w < workers; w++) {
        pids[w] = fork();
        if (pids[w] < 0) die("fork");
        if (pids[w] == 0) { close(go[1]); worker(ready[1], go[0], report[1]); }
    }
    close(go[0]);
    struct counts total;
    memset(&total, 0, sizeof total);
    for (int w = 0; w < workers; w++) {
        char b;
        struct counts c;
        if (read(ready[0], &b, 1) != 1) die("read ready");
        if (read(report[0], &c, sizeof c) != sizeof c) die("read report");
        for (int k = 0; k < OPS; k++) { total.ok[k] += c.ok[k]; total.failed[k] += c.failed[k]; }
    }
    fprintf(stderr, "ops:");
    for (int k = 0; k < OPS; k++) fprintf(stderr, " %s=%lu(%lu failed)", op_names[k], total.ok[k] + total.failed[k], total.failed[k]);
    fprintf(stderr, "\n");
    printf("ready %zu %lu %lu %lu %d", len, (unsigned long)base[0], (unsigned long)base[1], (unsigned long)base[2], (int)getpid());
    for (int w = 0; w < workers; w++) printf(" %d", (int)pids[w]);
    printf("\n");
    fflush(stdout);
    char b;
    while (read(0, &b, 1) > 0) {}
    close(go[1]);
    for (int w = 0; w < workers; w++) waitpid(pids[w], NULL, 0);
    return 0;
}
