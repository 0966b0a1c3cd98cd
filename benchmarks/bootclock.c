// bootclock: runs a VMM, copies what it prints, and measures the same three figures
// for whichever VMM it runs, so two VMMs are measured alike:
//   - marker: seconds from starting the VMM to the first appearance of MARKER in its
//     output (the guest's console), found however the output is split;
//   - exit: seconds from starting it to its exit;
//   - peak RSS: the VMM's maximum resident set size, from wait4(2)'s rusage.
//
//   bootclock MARKER COMMAND [ARGUMENT...]
//
// prints the VMM's output unchanged, then one line on stderr:
//   bootclock: marker=S exit=S maxrss_kib=N status=N
// (marker=none when MARKER never appeared). Its exit status is the VMM's. Built static by
// scripts/nested/testbed.py, for the nested test bed's side-by-side figures
// (scripts/nested/boot.sh --compare).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bootclock MARKER COMMAND [ARGUMENT...]\n");
        return 2;
    }
    const char *marker = argv[1];
    size_t marker_length = strlen(marker);
    int output[2];
    if (marker_length == 0 || pipe(output) != 0) {
        perror("bootclock");
        return 2;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t child = fork();
    if (child < 0) {
        perror("bootclock: fork");
        return 2;
    }
    if (child == 0) {
        dup2(output[1], STDOUT_FILENO);
        close(output[0]);
        close(output[1]);
        execvp(argv[2], argv + 2);
        perror("bootclock: exec");
        _exit(127);
    }
    close(output[1]);

    // The marker may be split across reads: keep its length less one byte of the
    // previous read in front of the next.
    char buffer[65536];
    size_t kept = 0;
    double marker_seconds = -1;
    for (;;) {
        ssize_t count = read(output[0], buffer + kept, sizeof buffer - kept - 1);
        if (count <= 0) break;
        fwrite(buffer + kept, 1, (size_t)count, stdout);
        size_t length = kept + (size_t)count;
        if (marker_seconds < 0) {
            buffer[length] = 0;
            if (memmem(buffer, length, marker, marker_length) != NULL) marker_seconds = seconds_since(&start);
        }
        kept = length < marker_length ? length : marker_length - 1;
        memmove(buffer, buffer + length - kept, kept);
    }
    fflush(stdout);

    int status = 0;
    struct rusage usage;
    if (wait4(child, &status, 0, &usage) < 0) {
        perror("bootclock: wait4");
        return 2;
    }
    double exit_seconds = seconds_since(&start);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (marker_seconds < 0)
        fprintf(stderr, "bootclock: marker=none exit=%.3f maxrss_kib=%ld status=%d\n", exit_seconds, usage.ru_maxrss, code);
    else
        fprintf(stderr, "bootclock: marker=%.3f exit=%.3f maxrss_kib=%ld status=%d\n", marker_seconds, exit_seconds,
                usage.ru_maxrss, code);
    return code;
}
