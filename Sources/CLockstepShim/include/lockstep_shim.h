// Syscalls and constants Swift cannot reach through Glibc: variadic syscall(),
// flags glibc's headers on Debian 12 lack, and function-like macros.
#ifndef LOCKSTEP_SHIM_H
#define LOCKSTEP_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "agent_protocol.h"

#define LS_MLOCK_ONFAULT 0x01
#define LS_MCL_ONFAULT 4
#define LS_MAP_FIXED_NOREPLACE 0x100000
#define LS_MAP_DROPPABLE 0x08
#define LS_MPOL_MF_MOVE (1 << 1)

// move_pages(2) for the calling process; returns 0 or -errno.
long ls_move_pages(unsigned long count, void **pages, const int *nodes, int *status, int flags);
// move_pages(2) on process `pid` (0: the caller); returns 0 or -errno.
long ls_move_pages_of(int pid, unsigned long count, void **pages, const int *nodes, int *status, int flags);
// mlock2(2); returns 0 or -errno.
long ls_mlock2(const void *addr, size_t len, unsigned int flags);
// memfd_create(2); returns an fd or -errno.
int ls_memfd_create(const char *name, unsigned int flags);
// memfd_secret(2) (syscall 447 on x86_64); returns an fd or -errno (ENOSYS: not built
// in, or secretmem.enable=0).
int ls_memfd_secret(unsigned int flags);
// swapon(2) / swapoff(2) of a block device; return 0 or -errno.
int ls_swapon(const char *path, int flags);
int ls_swapoff(const char *path);
// The state letter of /proc/<pid>/stat (R, S, D, Z, X...), or 0 when there is no such
// process (or it cannot be read).
char ls_process_state(pid_t pid);
// Pins the calling thread (pid 0) or process pid to one CPU; returns 0 or -errno.
int ls_pin_to_cpu(pid_t pid, int cpu);
// Affinity of the calling thread (pid 0) or pid as a bitmask of `words` 64-bit words
// (CPU n = bit n%64 of word n/64). Return 0 or -errno.
int ls_get_affinity(pid_t pid, uint64_t *mask, int words);
int ls_set_affinity(pid_t pid, const uint64_t *mask, int words);
// The CPU the calling thread runs on.
int ls_current_cpu(void);
// Touches one byte per page of [addr, addr+len) through a volatile pointer: a read, or a
// write of the byte read (contents kept). The caller guarantees the range is mapped.
void ls_touch(void *addr, size_t len, size_t page_size, int write);
// Spawns `path argv` with stdin/stdout connected to pipes; *to_child and *from_child
// receive the parent's ends (close-on-exec). Returns the pid or -errno.
pid_t ls_spawn_piped(const char *path, char *const argv[], int *to_child, int *from_child);

// Simulated kernel bugs (simulate.c): seccomp filters that make one syscall lie.
int ls_simulation_count(void);
const char *ls_simulation_name(int i);      // NULL past the end
const char *ls_simulation_summary(int i);
// Installs the named simulation's filter in the calling process (every thread);
// 0 once the kernel reports a filter in force, -ENOENT for an unknown name, else -errno.
int ls_simulate_install(const char *name);

// bench: a minimal C loop driving a fresh agent per sequence with `requests` (sequence q is
// requests[sequence_starts[q] ..< next start or total]), settling and reading after each
// request what the fuzzer reads (smaps, status, pagemap+kpageflags of the arena, meminfo,
// vmstat), no model and no comparison, until `max_seconds`. Returns 0 or -errno.
struct ls_bench_result { long ops; long sequences; double seconds; long pages_read; long long sink; };
int ls_bench_loop(const char *agent, int cpu, const struct ls_request *requests, const int *sequence_starts,
                  int sequences, int total, double max_seconds, struct ls_bench_result *out);

#endif
