// The fuzzer's yardstick for `bench`: a minimal C loop that sends the same agent requests
// as the fuzzer and, after each, does the same settle and observation, with no model and
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
static int observe(struct bench_state *s, int smaps, int status, int pagemap, int meminfo, int vmstat) {
    if (read_all(smaps, s->buf, s->cap) < 0) return -1;
    unsigned long long starts[128], ends[128];
    int n = 0;
    int foreign = 0;   // the current VMA is outside the arena
    unsigned long long cur_a = 0, cur_b = 0;
    for (char *line = s->buf; line && *line; ) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        unsigned long long a, b;
        if (line[0] != ' ' && strchr(line, '-') && sscanf(line, "%llx-%llx", &a, &b) == 2) {
            foreign = !(a >= ARENA_LO && a < ARENA_HI);
            cur_a = a; cur_b = b;
            if (!foreign && n < 128) { starts[n] = a; ends[n] = b; n++; }
        } else if (strncmp(line, "Rss:", 4) == 0 || strncmp(line, "Locked:", 7) == 0) {
            s->sink += atoll(strchr(line, ':') + 1);
        } else if (strncmp(line, "VmFlags:", 8) == 0) {
            int lo = strstr(line, " lo") != NULL;
            s->sink += lo;
            // A locked VMA outside the arena that is not VM_IO/PFNMAP/DONTEXPAND/MIXEDMAP.
            if (foreign && lo && !strstr(line, " io") && !strstr(line, " pf") && !strstr(line, " de") &&
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
        for (size_t i = 0; i < pages; ) {
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
    for (int q = 0; q < sequences && now_seconds() - t0 < max_seconds; q++) {
        int first = sequence_starts[q], last = q + 1 < sequences ? sequence_starts[q + 1] : total;
        int to = -1, from = -1;
        pid_t pid = ls_spawn_piped(agent, argv, &to, &from);
        if (pid < 0) { rc = (int)pid; break; }
        int smaps = open_proc(pid, "smaps"), st = open_proc(pid, "status"), pm = open_proc(pid, "pagemap");
        for (int i = first; i < last && rc == 0; i++) {
            struct ls_request rq = requests[i];
            struct ls_reply rep;
            if (full_io(to, &rq, sizeof rq, 1) < 0 || full_io(from, &rep, sizeof rep, 0) < 0) { rc = -EPIPE; break; }
            settle(&s);
            if (observe(&s, smaps, st, pm, meminfo, vmstat) < 0) { rc = -EIO; break; }
            out->ops++;
        }
        close(smaps); close(st); close(pm); close(to); close(from);
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
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
