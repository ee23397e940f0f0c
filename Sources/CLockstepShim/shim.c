#define _GNU_SOURCE
#include "lockstep_shim.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

long ls_move_pages(unsigned long count, void **pages, const int *nodes, int *status, int flags) {
    long r = syscall(SYS_move_pages, 0, count, pages, nodes, status, flags);
    return r < 0 ? -errno : r;
}

long ls_move_pages_of(int pid, unsigned long count, void **pages, const int *nodes, int *status, int flags) {
    long r = syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
    return r < 0 ? -errno : r;
}

long ls_mlock2(const void *addr, size_t len, unsigned int flags) {
    long r = syscall(SYS_mlock2, addr, len, flags);
    return r < 0 ? -errno : r;
}

int ls_memfd_create(const char *name, unsigned int flags) {
    int r = (int)syscall(SYS_memfd_create, name, flags);
    return r < 0 ? -errno : r;
}

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

int ls_memfd_secret(unsigned int flags) {
    int r = (int)syscall(SYS_memfd_secret, flags);
    return r < 0 ? -errno : r;
}

int ls_pin_to_cpu(pid_t pid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(pid, sizeof set, &set) < 0 ? -errno : 0;
}

int ls_get_affinity(pid_t pid, uint64_t *mask, int words) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(pid, sizeof set, &set) < 0) return -errno;
    for (int w = 0; w < words; w++) mask[w] = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && cpu / 64 < words; cpu++)
        if (CPU_ISSET(cpu, &set)) mask[cpu / 64] |= 1ULL << (cpu % 64);
    return 0;
}

int ls_set_affinity(pid_t pid, const uint64_t *mask, int words) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu = 0; cpu < CPU_SETSIZE && cpu / 64 < words; cpu++)
        if (mask[cpu / 64] & (1ULL << (cpu % 64))) CPU_SET(cpu, &set);
    return sched_setaffinity(pid, sizeof set, &set) < 0 ? -errno : 0;
}

int ls_current_cpu(void) { return sched_getcpu(); }

void ls_touch(void *addr, size_t len, size_t page_size, int write) {
    volatile unsigned char *p = addr;
    for (size_t off = 0; off < len; off += page_size) {
        unsigned char v = p[off];
        if (write) p[off] = v;
    }
}

extern char **environ;

pid_t ls_spawn_piped(const char *path, char *const argv[], int *to_child, int *from_child) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0) return -errno;
    if (pipe2(out, O_CLOEXEC) < 0) { int e = errno; close(in[0]); close(in[1]); return -e; }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0) { close(in[1]); close(out[0]); return -rc; }
    *to_child = in[1];
    *from_child = out[0];
    return pid;
}

int ls_swapon(const char *path, int flags) {
    int r = (int)syscall(SYS_swapon, path, flags);
    return r < 0 ? -errno : r;
}

int ls_swapoff(const char *path) {
    int r = (int)syscall(SYS_swapoff, path);
    return r < 0 ? -errno : r;
}

char ls_process_state(pid_t pid) {
    char path[32], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0) return 0;
    buf[got] = 0;
    char *close_paren = strrchr(buf, ')');   // comm may hold anything but ends at the last ')'
    return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : 0;
}
