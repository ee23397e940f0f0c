// Wire format between the lockstep runner (Swift) and lockstep-agent (C).
//
// The runner writes one ls_request to the agent's stdin and reads one ls_reply from
// its stdout; the agent executes exactly one syscall (or one touch loop) per request
// and then blocks in read(), so the runner can observe /proc/<agent>/ at rest.
//
// Arguments are raw: addresses, lengths and flags reach the kernel unchanged (a "slot"
// of -1 is ~0ULL). `ret` is the syscall's return value, -1 on failure with `err` set.
// Unknown ops reply ret=-1 err=ENOSYS. EOF on stdin makes the agent _exit(0).
#ifndef LOCKSTEP_AGENT_PROTOCOL_H
#define LOCKSTEP_AGENT_PROTOCOL_H

#include <stdint.h>

enum ls_op {
    LS_PING = 0,          // -> ret = getpid()
    LS_EXIT = 1,          // agent _exit(0)s without replying
    LS_CREATE_OBJECT = 2, // a0 slot 0..15, a1 kind (0 memfd, 1 regular file in --tmpdir, unlinked),
                          // a2 bytes (ftruncate), a3 filled: pwrite every page, one page at a time,
                          // with a non-zero pattern (order-0 page cache). ret = fd.
                          // EBUSY if the slot is in use, EINVAL for a bad slot or kind.
    LS_MMAP = 3,          // a0 addr, a1 len, a2 prot, a3 raw mmap flags (the runner composes them:
                          // MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE|MAP_LOCKED|...),
                          // a4 slot (-1 = no object, fd -1), a5 offset bytes. ret = address.
    LS_MUNMAP = 4,        // a0 addr, a1 len
    LS_MPROTECT = 5,      // a0 addr, a1 len, a2 prot
    LS_MREMAP = 6,        // a0 old, a1 oldlen, a2 newlen, a3 flags, a4 newaddr. ret = address.
    LS_TOUCH = 7,         // a0 addr, a1 len, a2 write: one byte per page, in address order, at
                          // a0 + i*pagesize for i < ceil(a1/pagesize); a write stores the byte it
                          // read. ret = pages touched. A page that faults (SIGSEGV/SIGBUS) stops
                          // the loop: ret=-1 err=EFAULT, and reply.reserved = the number of pages
                          // touched BEFORE the faulting one (those were faulted in).
    LS_MLOCK = 8,         // a0 addr, a1 len
    LS_MLOCK2 = 9,        // a0 addr, a1 len, a2 flags (raw syscall)
    LS_MUNLOCK = 10,      // a0 addr, a1 len
    LS_MLOCKALL = 11,     // a0 flags
    LS_MUNLOCKALL = 12,
    LS_MADVISE = 13,      // a0 addr, a1 len, a2 advice
    LS_SETRLIMIT = 14,    // a0 resource, a1 soft, a2 hard (prlimit64 on self; ~0 = RLIM_INFINITY)
    LS_DROP_CAP = 15,     // a0 capability number: removed from effective, permitted, inheritable
                          // (capget + capset, version 3). EINVAL if a0 > 63.
    LS_SETUID = 16,       // a0 uid (setresuid(uid, uid, uid)), keeps nothing
    LS_CLOSE_OBJECT = 17, // a0 slot: close the object's fd (its mappings stay). EBADF if empty.
    LS_MSYNC = 18,        // a0 addr, a1 len, a2 flags (raw, passed as int)
    LS_FORK = 19,         // fork(): the child carries on as the agent (same pipes) and replies
                          // ret = its pid, once the parent sleeps; the parent closes its stdout
                          // and sleeps until stdin is closed (then _exit(0)s) or it is killed.
    // 20-29: processes (fork with both sides serving, exit).
    LS_FORK_SERVE = 20,   // fork(); both processes go on serving requests. The child's stdin and
                          // stdout are two new pipes; the parent keeps the runner's ends of them
                          // open and replies, once the child sleeps in read(), ret = child pid and
                          // reserved = (fd writing the child's stdin) | (fd reading its stdout) << 16.
                          // The runner opens /proc/<parent>/fd/<fd> for its own ends (O_CLOEXEC),
                          // then sends LS_CLOSE_FD for both. SIGCHLD is ignored (the kernel reaps).
    LS_CLOSE_FD = 21,     // a0 fd: close(fd) (the parent's copies of a child's pipe ends). EBADF for
                          // fds 0-2 or an object's fd.
    // 30-39: SysV shared memory, special files.
    LS_SHMGET = 30,       // a0 key, a1 bytes, a2 shmflg (raw). ret = shmid.
    LS_SHMAT = 31,        // a0 shmid, a1 addr, a2 shmflg (raw). ret = address.
    LS_SHMDT = 32,        // a0 addr
    LS_SHMCTL = 33,       // a0 shmid, a1 cmd (raw: IPC_RMID 0, SHM_LOCK 11, SHM_UNLOCK 12), buf NULL
    LS_CREATE_SPECIAL = 34, // object slot a0 of kind a1: 0 a file on ramfs (mounted, the first
                          // time, in a mount namespace of the agent's own: unshare(CLONE_NEWNS),
                          // / made private, ramfs over /dev/shm, else /mnt; gone with the agent),
                          // 1 memfd_secret(0). a2 bytes (ftruncate), a3 filled (as LS_CREATE_OBJECT).
                          // ret = fd. EBUSY/EINVAL as LS_CREATE_OBJECT.
    LS_FTRUNCATE = 35,    // a0 slot, a1 bytes
    LS_FALLOCATE = 36,    // a0 slot, a1 mode (raw), a2 offset, a3 len
    // 48-55: migration.
    LS_MOVE_PAGES = 48,   // a0 addr, a1 pages (<= LS_MOVE_PAGES_MAX), a2 node, a3 flags:
                          // move_pages(0, a1, {a0 + i*pagesize}, {a2 for all}, status, a3).
                          // The reply is followed by a1 int32 status values (INT32_MIN
                          // where the kernel wrote none). EINVAL for a1 > LS_MOVE_PAGES_MAX.
    LS_MBIND = 49,        // a0 addr, a1 len, a2 mode, a3 node (~0: no nodemask), a4 flags:
                          // mbind(a0, a1, a2, {a3} (maxnode 65) or NULL (maxnode 0), a4).
};

enum { LS_MOVE_PAGES_MAX = 4096 };

struct ls_request {
    uint32_t op;
    uint32_t reserved;
    uint64_t a[6];
};

struct ls_reply {
    int64_t ret;       // the syscall's return value (-1 on failure)
    int32_t err;       // errno when ret == -1, else 0
    int32_t reserved;  // op-specific extra: LS_TOUCH's pages touched before a fault, else 0
};

#endif
