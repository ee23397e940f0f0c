// The fuzzer's yardstick for `bench`: a minimal C loop that sends the same agent requests
// as the fuzzer (fork and exit too, each op to the newest living process) and, after
// each, does the same settle and observation of every living process, with no model and
// no comparison. The fuzzer's verified ops/s over this loop's ops/s is the cost of the
// Swift side (model, parsing, comparing).
#define _GNU_SOURCE
#include "lockstep_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARENA_LO 0x200000000000ULL
#define ARENA_HI (ARENA_LO + (1ULL << 40))

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int full_io(int fd, void *buf, size_t n, int writing) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = writing ? write(fd, (char *)buf + done, n - done) : read(fd, (char *)buf + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

static ssize_t read_all(int fd, char *buf, size_t cap) {
    ssize_t got = 0;
    for (;;) {
        ssize_t r = pread(fd, buf + got, cap - 1 - (size_t)got, got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0 || (size_t)(got + r) >= cap - 1) { got += r; break; }
        got += r;
    }
    buf[got] = 0;
    return got;
}

static long long field_after(const char *text, const char *key) {
    const char *p = strstr(text, key);
    return p ? atoll(p + strlen(key)) : 0;
}

struct bench_state {
    int kpf, refresh;
    char *scratch;
    int node;
    char *buf;
    size_t cap;
    uint64_t *entries;
    uint64_t *flags;
    long pages_read;
    long long sink;   // keeps the parsing from being optimised away
};

static void settle(struct bench_state *s) {
    void *pages[1] = {s->scratch};
    int status[1] = {-1};
    s->scratch[0] = 1;
    ls_move_pages(1, pages, &s->node, status, LS_MPOL_MF_MOVE);
    if (s->refresh >= 0) (void)!pwrite(s->refresh, "1", 1, 0);
}

// What the fuzzer reads after a step: the agent's smaps (arena VMAs: bounds, perms, Rss,
// Locked, VmFlags lo) and status (VmLck), pagemap + kpageflags of every arena page and
// of every page of its locked VMAs outside the arena (mlockall locks them; the fuzzer
// turns what their pages did into counter deltas), meminfo (Mlocked, Unevictable) and
// vmstat (unevictable_pgs_*).
// `all_foreign`: once a sequence has forked, every VMA outside the arena (a child's VMAs are
// unlocked but share pages a parent may lock), as the fuzzer does; `flags` 0: pagemap only
// (the fuzzer's look at each process before settling). meminfo < 0: no global counters.
static int observe(struct bench_state *s, int smaps, int status, int pagemap, int meminfo, int vmstat,
                   int all_foreign, int flags) {
    if (smaps < 0) goto counters;
    if (read_all(smaps, s->buf, s->cap) < 0) return -1;
    unsigned long long starts[128], ends[128];
    int n = 0;
    int foreign = 0;   // the current VMA is outside the arena
    int gate = 0;
    unsigned long long cur_a = 0, cur_b = 0;
    for (char *line = s->buf; line && *line; ) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        unsigned long long a, b;
        if (line[0] != ' ' && strchr(line, '-') && sscanf(line, "%llx-%llx", &a, &b) == 2) {
            foreign = !(a >= ARENA_LO && a < ARENA_HI);
            gate = a >= 0xffffffffff600000ULL;   // [vsyscall]: the gate area is no VMA of the mm
            cur_a = a; cur_b = b;
            if (!foreign && n < 128) { starts[n] = a; ends[n] = b; n++; }
        } else if (strncmp(line, "Rss:", 4) == 0 || strncmp(line, "Locked:", 7) == 0) {
            s->sink += atoll(strchr(line, ':') + 1);
        } else if (strncmp(line, "VmFlags:", 8) == 0) {
            int lo = strstr(line, " lo") != NULL;
            s->sink += lo;
            // A locked VMA outside the arena that is not VM_IO/PFNMAP/DONTEXPAND/MIXEDMAP.
            if (foreign && !gate && (lo || all_foreign) && !strstr(line, " io") && !strstr(line, " pf") && !strstr(line, " de") &&
                !strstr(line, " mm") && n < 128) {
                starts[n] = cur_a; ends[n] = cur_b; n++;
            }
        }
        line = next;
    }
    if (read_all(status, s->buf, s->cap) < 0) return -1;
    s->sink += field_after(s->buf, "VmLck:");
    for (int v = 0; v < n; v++) {
        size_t pages = (size_t)((ends[v] - starts[v]) / 4096);
        if (pages > 65536) pages = 65536;
        if (pread(pagemap, s->entries, pages * 8, (off_t)(starts[v] / 4096 * 8)) != (ssize_t)(pages * 8)) return -1;
        // kpageflags in runs of consecutive PFNs.
        for (size_t i = 0; flags && i < pages; ) {
            if (!(s->entries[i] >> 63)) { i++; continue; }
            uint64_t pfn = s->entries[i] & ((1ULL << 55) - 1);
            size_t j = i + 1;
            while (j < pages && s->entries[j] >> 63 && (s->entries[j] & ((1ULL << 55) - 1)) == pfn + (j - i)) j++;
            if (pread(s->kpf, s->flags, (j - i) * 8, (off_t)(pfn * 8)) < 0) return -1;
            for (size_t k = 0; k < j - i; k++) s->sink += (long long)(s->flags[k] >> 33 & 1) + (long long)(s->flags[k] >> 18 & 1);
            s->pages_read += (long)(j - i);
            i = j;
        }
    }
counters:
    if (meminfo < 0) return 0;
    if (read_all(meminfo, s->buf, s->cap) < 0) return -1;
    s->sink += field_after(s->buf, "Mlocked:") + field_after(s->buf, "Unevictable:");
    if (read_all(vmstat, s->buf, s->cap) < 0) return -1;
    static const char *events[] = {"unevictable_pgs_mlocked ", "unevictable_pgs_munlocked ", "unevictable_pgs_culled ",
                                   "unevictable_pgs_rescued ", "unevictable_pgs_cleared ", "unevictable_pgs_stranded "};
    for (int i = 0; i < 6; i++) s->sink += field_after(s->buf, events[i]);
    return 0;
}

static int open_proc(pid_t pid, const char *what) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
    return open(path, O_RDONLY | O_CLOEXEC);
}

// One process of a sequence: the agent, or a child it forked with LS_FORK_SERVE.
struct proc { pid_t pid; int to, from, smaps, status, pagemap, alive; };
#define MAX_PROCS 64

static int call(struct proc *p, const struct ls_request *rq, struct ls_reply *rep) {
    if (full_io(p->to, (void *)rq, sizeof *rq, 1) < 0 || full_io(p->from, rep, sizeof *rep, 0) < 0) return -EPIPE;
    return 0;
}

static int open_observers(struct proc *p) {
    p->smaps = open_proc(p->pid, "smaps");
    p->status = open_proc(p->pid, "status");
    p->pagemap = open_proc(p->pid, "pagemap");
    p->alive = 1;
    return p->smaps < 0 || p->status < 0 || p->pagemap < 0 ? -EIO : 0;
}

static void close_proc(struct proc *p) {
    int fds[] = {p->to, p->from, p->smaps, p->status, p->pagemap};
    for (int i = 0; i < 5; i++) if (fds[i] >= 0) close(fds[i]);
    p->to = p->from = p->smaps = p->status = p->pagemap = -1;
    p->alive = 0;
}

// Released its mm: gone, or a zombie (as Agent.waitEnded polls it).
static int ended(pid_t pid) {
    char state = ls_process_state(pid);
    return state == 0 || state == 'Z' || state == 'X';
}

// LS_FORK_SERVE as Agent.forkServing does it: our own ends of the child's pipes opened
// through the parent's copies, the parent's copies closed, the child pinged.
static int fork_serving(struct proc *parent, const struct ls_request *rq, struct proc *child) {
    struct ls_reply rep;
    if (call(parent, rq, &rep) < 0) return -EPIPE;
    if (rep.ret <= 0) return 0;
    int to_fd = rep.reserved & 0xffff, from_fd = (rep.reserved >> 16) & 0xffff;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)parent->pid, to_fd);
    child->to = open(path, O_WRONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)parent->pid, from_fd);
    child->from = open(path, O_RDONLY | O_CLOEXEC);
    child->pid = (pid_t)rep.ret;
    if (child->to < 0 || child->from < 0) return -EIO;
    int fds[2] = {to_fd, from_fd};
    for (int i = 0; i < 2; i++) {
        struct ls_request close_rq = {0};
        close_rq.op = LS_CLOSE_FD;
        close_rq.a[0] = (uint64_t)fds[i];
        if (call(parent, &close_rq, &rep) < 0 || rep.err) return -EPROTO;
    }
    struct ls_request ping = {0};
    ping.op = LS_PING;
    if (call(child, &ping, &rep) < 0 || rep.ret != child->pid) return -EPROTO;
    return open_observers(child);
}

int ls_bench_loop(const char *agent, int cpu, const struct ls_request *requests, const int *sequence_starts,
                  int sequences, int total, double max_seconds, struct ls_bench_result *out) {
    memset(out, 0, sizeof *out);
    struct bench_state s = {0};
    s.kpf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
    s.refresh = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
    int meminfo = open("/proc/meminfo", O_RDONLY | O_CLOEXEC), vmstat = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
    s.scratch = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    s.cap = 1 << 20;
    s.buf = malloc(s.cap);
    s.entries = malloc(65536 * 8);
    s.flags = malloc(65536 * 8);
    if (s.kpf < 0 || meminfo < 0 || vmstat < 0 || s.scratch == MAP_FAILED || !s.buf || !s.entries || !s.flags) return -EACCES;
    void *pages[1] = {s.scratch};
    int status[1] = {-1};
    s.scratch[0] = 1;
    ls_move_pages(1, pages, NULL, status, 0);
    s.node = status[0] < 0 ? 0 : status[0];
    if (cpu >= 0) ls_pin_to_cpu(0, cpu);
    char cpu_text[16];
    snprintf(cpu_text, sizeof cpu_text, "%d", cpu < 0 ? 0 : cpu);
    char *argv[] = {(char *)agent, "--tmpdir", "/tmp", "--cpu", cpu_text, NULL};
    double t0 = now_seconds();
    int rc = 0;
    static struct proc procs[MAX_PROCS];
    for (int q = 0; q < sequences && now_seconds() - t0 < max_seconds; q++) {
        int first = sequence_starts[q], last = q + 1 < sequences ? sequence_starts[q + 1] : total;
        int n = 1;
        for (int k = 0; k < MAX_PROCS; k++) procs[k] = (struct proc){-1, -1, -1, -1, -1, -1, 0};
        pid_t agent_pid = ls_spawn_piped(agent, argv, &procs[0].to, &procs[0].from);
        if (agent_pid < 0) { rc = (int)agent_pid; break; }
        procs[0].pid = agent_pid;
        if ((rc = open_observers(&procs[0])) < 0) break;
        for (int i = first; i < last && rc == 0; i++) {
            // Each op goes to the newest living process, as the fuzzer's steps do.
            int t = n - 1;
            while (t >= 0 && !procs[t].alive) t--;
            const struct ls_request *rq = &requests[i];
            struct ls_reply rep;
            if (t < 0) {
                // Every process has exited: the fuzzer's model answers ESRCH, nothing is read.
            } else if (rq->op == LS_FORK_SERVE) {
                if (n == MAX_PROCS) { rc = -ENOSPC; break; }
                if ((rc = fork_serving(&procs[t], rq, &procs[n])) < 0) break;
                if (procs[n].pid > 0) n++;
            } else if (rq->op == LS_EXIT) {
                if (full_io(procs[t].to, (void *)rq, sizeof *rq, 1) < 0) { rc = -EPIPE; break; }
                close_proc(&procs[t]);
                if (t == 0) { while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR) {} }
                else for (int k = 0; k < 10000 && !ended(procs[t].pid); k++) usleep(200);
            } else if (call(&procs[t], rq, &rep) < 0) {
                rc = -EPIPE;
                break;
            }
            int living = 0;
            for (int k = 0; k < n; k++) living += procs[k].alive;
            // With several processes, the fuzzer looks at each once before settling.
            for (int k = 0; living > 1 && k < n && rc == 0; k++)
                if (procs[k].alive && observe(&s, procs[k].smaps, procs[k].status, procs[k].pagemap, -1, -1, 1, 0) < 0) rc = -EIO;
            settle(&s);
            for (int k = 0; k < n && rc == 0; k++)
                if (procs[k].alive && observe(&s, procs[k].smaps, procs[k].status, procs[k].pagemap, -1, -1, n > 1, 1) < 0) rc = -EIO;
            if (rc == 0 && observe(&s, -1, -1, -1, meminfo, vmstat, 0, 0) < 0) rc = -EIO;
            if (rc == 0) out->ops++;
        }
        for (int k = n - 1; k >= 0; k--) {
            if (procs[k].pid > 0) kill(procs[k].pid, SIGKILL);
            close_proc(&procs[k]);
        }
        if (agent_pid > 0) while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR) {}
        out->sequences++;
        if (rc) break;
    }
    out->seconds = now_seconds() - t0;
    out->pages_read = s.pages_read;
    out->sink = s.sink;
    close(s.kpf); if (s.refresh >= 0) close(s.refresh); close(meminfo); close(vmstat);
    munmap(s.scratch, 4096);
    free(s.buf); free(s.entries); free(s.flags);
    return rc;
}
