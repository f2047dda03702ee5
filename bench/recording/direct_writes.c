/* How a disk writer's commit should submit its direct writes, measured
 * without the rest of citywatch: 25 files, each given 512 KiB per commit
 * (about 2 s of a 2 Mbit/s stream), then fdatasync'ed, 40 commits. Prints
 * device requests and process CPU per file and commit.
 *
 *   cc -O2 -o /tmp/direct_writes bench/recording/direct_writes.c
 *   /tmp/direct_writes MODE DIR [BLOCKDEV]     e.g. /tmp/direct_writes 1 /var/tmp vda
 *
 * MODE 0: one pwrite per file (citywatch before d5c017f)
 *      1: one io_submit for all files (aio_batch.rs)
 *      2: one io_submit, files preallocated and sized with fallocate first
 *      3: one pwrite per file, files preallocated and sized
 *      4: one io_submit, each file sized ahead with fallocate by 32 writes'
 *         worth as it grows (the steps' cost counted; what append_file.rs does)
 * Run the modes alternately a few times: a VM's costs drift. The machine's
 * figure counts the kernel's worker threads too; it needs a quiet machine.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FILES 25
#define ROUNDS 40
#define CHUNK (512 * 1024)
#define STEP (32 * CHUNK)

static double cpu_seconds(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* Busy CPU seconds of the whole machine (user, nice, system, irq, softirq
 * from /proc/stat): work the kernel defers to its worker threads, such as
 * converting preallocated extents after a write, is not the process's. */
static double machine_busy_seconds(void) {
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (!f) return 0;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7) v[0] = 0;
    fclose(f);
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / sysconf(_SC_CLK_TCK);
}

/* Writes completed and flushes completed, from /sys/block/DEV/stat. */
static int device_requests(const char *dev, long *writes, long *flushes) {
    char path[256];
    snprintf(path, sizeof path, "/sys/block/%s/stat", dev);
    FILE *f = fopen(path, "r");
    long v[17] = {0};
    if (!f) return -1;
    for (int i = 0; i < 17; i++) if (fscanf(f, "%ld", &v[i]) != 1) break;
    fclose(f);
    *writes = v[4];
    *flushes = v[15];
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODE(0-4) DIR [BLOCKDEV]\n", argv[0]);
        return 2;
    }
    int mode = atoi(argv[1]);
    const char *dir = argv[2], *dev = argc > 3 ? argv[3] : "vda";
    int batched = mode == 1 || mode == 2 || mode == 4, sized = mode == 2 || mode == 3, stepped = mode == 4;
    off_t allocated[FILES] = {0};
    int fds[FILES];
    void *buf;
    if (posix_memalign(&buf, 4096, CHUNK)) return 1;
    memset(buf, 7, CHUNK);
    for (int i = 0; i < FILES; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/direct_writes.%d", dir, i);
        unlink(p);
        fds[i] = open(p, O_WRONLY | O_CREAT | O_DIRECT, 0644);
        if (fds[i] < 0) { perror(p); return 1; }
        if (sized && (fallocate(fds[i], 0, 0, (off_t)CHUNK * ROUNDS) || fdatasync(fds[i]))) { perror("fallocate"); return 1; }
    }
    aio_context_t ctx = 0;
    if (batched && syscall(SYS_io_setup, FILES, &ctx)) { perror("io_setup"); return 1; }
    long w0 = 0, f0 = 0, w1 = 0, f1 = 0;
    int have_stats = device_requests(dev, &w0, &f0) == 0;
    double c0 = cpu_seconds(), m0 = machine_busy_seconds();
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; stepped && i < FILES; i++) {
            off_t end = (off_t)(r + 1) * CHUNK;
            if (end > allocated[i]) {
                off_t to = end + STEP;
                if (fallocate(fds[i], 0, allocated[i], to - allocated[i])) { perror("fallocate"); return 1; }
                allocated[i] = to;
            }
        }
        if (batched) {
            struct iocb cbs[FILES], *ps[FILES];
            for (int i = 0; i < FILES; i++) {
                memset(&cbs[i], 0, sizeof cbs[i]);
                cbs[i].aio_fildes = fds[i];
                cbs[i].aio_lio_opcode = IOCB_CMD_PWRITE;
                cbs[i].aio_buf = (unsigned long)buf;
                cbs[i].aio_nbytes = CHUNK;
                cbs[i].aio_offset = (long long)r * CHUNK;
                ps[i] = &cbs[i];
            }
            if (syscall(SYS_io_submit, ctx, FILES, ps) != FILES) { perror("io_submit"); return 1; }
            struct io_event ev[FILES];
            for (int got = 0; got < FILES;) {
                long k = syscall(SYS_io_getevents, ctx, FILES - got, FILES - got, ev, NULL);
                if (k < 0) { perror("io_getevents"); return 1; }
                for (int j = 0; j < k; j++) if (ev[j].res != CHUNK) { fprintf(stderr, "write: %lld\n", (long long)ev[j].res); return 1; }
                got += k;
            }
        } else {
            for (int i = 0; i < FILES; i++)
                if (pwrite(fds[i], buf, CHUNK, (off_t)r * CHUNK) != CHUNK) { perror("pwrite"); return 1; }
        }
        for (int i = 0; i < FILES; i++) fdatasync(fds[i]);
    }
    double c1 = cpu_seconds(), m1 = machine_busy_seconds();
    int n = FILES * ROUNDS;
    if (have_stats && device_requests(dev, &w1, &f1) == 0)
        printf("mode %d: %.2f write requests, %.2f flushes per file and commit; ", mode, (double)(w1 - w0) / n, (double)(f1 - f0) / n);
    else
        printf("mode %d: ", mode);
    printf("CPU %.0f us per file and commit (the whole machine: %.0f us)\n", 1e6 * (c1 - c0) / n, 1e6 * (m1 - m0) / n);
    for (int i = 0; i < FILES; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/direct_writes.%d", dir, i);
        close(fds[i]);
        unlink(p);
    }
    return 0;
}
