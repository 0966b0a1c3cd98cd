/*
 * The host's own answer to figure 6 of docs/PERFORMANCE.md, with no VMM and no guest:
 * one thread reads 4 KiB at a time (pread(2), sequentially over a file in the page
 * cache, wrapping round) and spends CPU_US microseconds of its own CPU time after each
 * read, as a vCPU spends emulating its guest's side of a request; another thread writes
 * MIB MiB to a second file and flushes it (fdatasync(2)). It prints the reads' rate
 * before the flush and during it, as the guest's lines give them for a VMM:
 *
 *   flushref: idle 5123/s, flushing 4987/s over 312 ms
 *
 *   cc -O2 -pthread -o flushref benchmarks/flushref.c
 *   flushref FLUSHED READ MIB CPU_US
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE 4096
#define WRITE_SIZE (1 << 20)
#define IDLE_MS 500

static const char *read_path;
static long cpu_us;
static atomic_long reads;
static atomic_int done;

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *reader(void *unused) {
    (void)unused;
    static char buffer[READ_SIZE];
    int fd = open(read_path, O_RDONLY);
    if (fd < 0) { perror(read_path); exit(1); }
    off_t size = lseek(fd, 0, SEEK_END) / READ_SIZE * READ_SIZE, offset = 0;
    while (!atomic_load(&done)) {
        if (pread(fd, buffer, READ_SIZE, offset) != READ_SIZE) { perror("pread"); exit(1); }
        offset = (offset + READ_SIZE) % size;
        /* The CPU a vCPU would spend on the request: this thread's own time, not the clock's. */
        double until = seconds(CLOCK_THREAD_CPUTIME_ID) + cpu_us / 1e6;
        while (seconds(CLOCK_THREAD_CPUTIME_ID) < until) {
        }
        atomic_fetch_add(&reads, 1);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: flushref FLUSHED READ MIB CPU_US\n"); return 2; }
    read_path = argv[2];
    long mib = atol(argv[3]);
    cpu_us = atol(argv[4]);
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(argv[1]); return 1; }
    char *data = malloc(WRITE_SIZE);
    memset(data, 0x5a, WRITE_SIZE);
    for (long i = 0; i < mib; i++) {
        if (pwrite(fd, data, WRITE_SIZE, (off_t)i * WRITE_SIZE) != WRITE_SIZE) { perror("pwrite"); return 1; }
    }
    pthread_t thread;
    pthread_create(&thread, 0, reader, 0);
    usleep(50000);  /* the reader under way */
    long r0 = atomic_load(&reads);
    double t0 = seconds(CLOCK_MONOTONIC);
    usleep(IDLE_MS * 1000);
    long r1 = atomic_load(&reads);
    double t1 = seconds(CLOCK_MONOTONIC);
    if (fdatasync(fd) != 0) { perror("fdatasync"); return 1; }
    long r2 = atomic_load(&reads);
    double t2 = seconds(CLOCK_MONOTONIC);
    atomic_store(&done, 1);
    pthread_join(thread, 0);
    close(fd);
    printf("flushref: idle %.0f/s, flushing %.0f/s over %.0f ms\n",
           (r1 - r0) / (t1 - t0), (r2 - r1) / (t2 - t1), (t2 - t1) * 1e3);
    return 0;
}
