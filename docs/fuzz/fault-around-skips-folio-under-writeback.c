// Fault-around maps only the page-cache folios it can lock at that moment: a folio
// that writeback holds (here a child running sync() in a loop) is left out of the
// window. The parent fills a fresh O_TMPFILE of 32 pages page by page (dirty, small
// folios, as lockstep's agent fills its files), maps it shared at a 64 KiB-aligned
// address and reads page 8: fault-around (fault_around_bytes 64 KiB) should map pages
// 0-15. pagemap's present bit says which it did.
//
//   cc -O2 -o fault-around this.c && sudo ./fault-around [iterations] [quiet]
//
// Exit 1 when some window came out short (the behaviour shown), 0 when none did.
// With "quiet" there is no sync child: every window should be whole (exit 0).
// Written for lockstep (docs/fuzz/fault-around-skips-folio-under-writeback.json).
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGES 32
#define WINDOW 16
#define AT ((void *)0x300000000000ULL)   /* 64 KiB-aligned: the window is pages 0-15 */

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5000, quiet = argc > 2 && strcmp(argv[2], "quiet") == 0;
    int pagemap = open("/proc/self/pagemap", O_RDONLY);
    if (pagemap < 0) { perror("/proc/self/pagemap"); return 2; }
    pid_t syncer = 0;
    if (!quiet && (syncer = fork()) == 0)
        for (;;) sync();
    static char page[4096];
    memset(page, 'x', sizeof page);
    int short_windows = 0;
    for (int i = 0; i < n; i++) {
        int fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
        if (fd < 0) { perror("O_TMPFILE in /tmp"); return 2; }
        for (int k = 0; k < PAGES; k++)
            if (pwrite(fd, page, sizeof page, (off_t)k * 4096) != (ssize_t)sizeof page) { perror("pwrite"); return 2; }
        volatile char *p = mmap(AT, PAGES * 4096, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
        if (p == MAP_FAILED) { perror("mmap"); return 2; }
        (void)p[8 * 4096];
        uint64_t e[WINDOW];
        if (pread(pagemap, e, sizeof e, (off_t)((uintptr_t)p / 4096) * 8) != (ssize_t)sizeof e) { perror("pagemap"); return 2; }
        int present = 0;
        for (int j = 0; j < WINDOW; j++) present += (int)(e[j] >> 63);
        if (present != WINDOW && ++short_windows <= 5) {
            printf("iteration %d: %d of %d pages mapped: ", i, present, WINDOW);
            for (int j = 0; j < WINDOW; j++) putchar(e[j] >> 63 ? 'p' : '.');
            putchar('\n');
        }
        munmap((void *)p, PAGES * 4096);
        close(fd);
    }
    if (syncer > 0) { kill(syncer, SIGKILL); waitpid(syncer, NULL, 0); }
    printf("%d of %d fault-around windows short (%s)\n", short_windows, n, quiet ? "quiet" : "sync() looping beside");
    return short_windows != 0;
}
