// testbed-tool: what the nested test bed's scenarios need that busybox has not: vsock
// and Unix-socket echo servers and clients, Firecracker's hybrid vsock handshake, and
// HTTP requests over a Unix socket. Built static by scripts/nested/testbed.py, for L1
// (the host SwiftVMM runs on) and L2 (the guest).
//
//   testbed-tool echo-server vsock PORT [COUNT]
//                                              accept vsock connections, echo each; with
//                                              COUNT, exit once COUNT have been served
//   testbed-tool echo-server unix PATH [COUNT] the same on a Unix socket
//   testbed-tool echo-client vsock CID PORT SIZE SEED
//   testbed-tool echo-client hybrid PATH PORT SIZE SEED
//                                              connect (hybrid: to SwiftVMM's Unix socket,
//                                              then "CONNECT PORT\n", expecting "OK ..."),
//                                              send SIZE bytes made from SEED, read them
//                                              back; prints "echo ok SIZE" or "echo FAIL ..."
//   testbed-tool http SOCKET METHOD PATH [BODY]
//                                              one HTTP/1.1 request; prints "status N" and
//                                              the response body
// Servers fork a child per connection and, without a COUNT, run until killed.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail(const char *what) {
    printf("echo FAIL %s: %s\n", what, strerror(errno));
    exit(1);
}

static int unix_address(const char *path, struct sockaddr_un *address) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address->sun_path) return -1;
    strcpy(address->sun_path, path);
    return 0;
}

static int listen_on(const char *kind, const char *where) {
    int fd;
    if (strcmp(kind, "vsock") == 0) {
        struct sockaddr_vm address = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                                      .svm_port = (unsigned)atoi(where)};
        fd = socket(AF_VSOCK, SOCK_STREAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0) fail("vsock bind");
    } else {
        struct sockaddr_un address;
        unlink(where);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || unix_address(where, &address) != 0 ||
            bind(fd, (struct sockaddr *)&address, sizeof address) != 0)
            fail("unix bind");
    }
    if (listen(fd, 64) != 0) fail("listen");
    return fd;
}

static int echo_server(const char *kind, const char *where, int count) {
    int server = listen_on(kind, where);
    if (count == 0) signal(SIGCHLD, SIG_IGN);
    printf("listening %s %s\n", kind, where);
    fflush(stdout);
    for (int served = 0; count == 0 || served < count; served++) {
        int connection = accept(server, NULL, NULL);
        if (connection < 0) {
            if (errno == EINTR) continue;
            fail("accept");
        }
        if (fork() == 0) {
            char buffer[65536];
            ssize_t count;
            while ((count = read(connection, buffer, sizeof buffer)) > 0) {
                for (ssize_t done = 0; done < count;) {
                    ssize_t written = write(connection, buffer + done, (size_t)(count - done));
                    if (written <= 0) _exit(1);
                    done += written;
                }
            }
            _exit(0);
        }
        close(connection);
    }
    // Every connection accepted: wait for their echoes to end.
    int status, failed = 0;
    while (wait(&status) > 0)
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    printf("served %d connections, %d failed\n", count, failed);
    return failed == 0 ? 0 : 1;
}

// The byte at `offset` of a stream made from `seed` (xorshift, so every connection's
// bytes differ).
static uint8_t pattern(uint64_t seed, uint64_t offset) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + offset / 8 + 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (uint8_t)(x >> (8 * (offset % 8)));
}

static int read_line(int fd, char *line, size_t size) {
    size_t used = 0;
    while (used + 1 < size) {
        if (read(fd, line + used, 1) != 1) return -1;
        if (line[used++] == '\n') break;
    }
    line[used] = 0;
    return 0;
}

static int echo_client(int argc, char **argv) {
    if (argc < 7) return 2;
    const char *kind = argv[2];
    int fd;
    if (strcmp(kind, "vsock") == 0) {
        struct sockaddr_vm address = {.svm_family = AF_VSOCK, .svm_cid = (unsigned)atoi(argv[3]),
                                      .svm_port = (unsigned)atoi(argv[4])};
        fd = socket(AF_VSOCK, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) fail("vsock connect");
    } else {
        struct sockaddr_un address;
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || unix_address(argv[3], &address) != 0 ||
            connect(fd, (struct sockaddr *)&address, sizeof address) != 0)
            fail("unix connect");
        char request[64], answer[64];
        snprintf(request, sizeof request, "CONNECT %s\n", argv[4]);
        if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) fail("CONNECT");
        if (read_line(fd, answer, sizeof answer) != 0 || strncmp(answer, "OK ", 3) != 0) {
            printf("echo FAIL CONNECT %s answered '%s'\n", argv[4], answer);
            return 1;
        }
    }
    uint64_t size = strtoull(argv[5], NULL, 10), seed = strtoull(argv[6], NULL, 10);
    // Write and read at once (the echo comes back while the rest is still going out).
    pid_t writer = fork();
    if (writer == 0) {
        uint8_t buffer[4096];
        for (uint64_t sent = 0; sent < size;) {
            size_t chunk = size - sent < sizeof buffer ? (size_t)(size - sent) : sizeof buffer;
            for (size_t i = 0; i < chunk; i++) buffer[i] = pattern(seed, sent + i);
            ssize_t written = write(fd, buffer, chunk);
            if (written <= 0) _exit(1);
            sent += (uint64_t)written;
        }
        _exit(0);
    }
    uint8_t buffer[4096];
    uint64_t received = 0;
    while (received < size) {
        ssize_t count = read(fd, buffer, sizeof buffer);
        if (count <= 0) break;
        for (ssize_t i = 0; i < count; i++) {
            if (buffer[i] != pattern(seed, received + (uint64_t)i)) {
                printf("echo FAIL byte %llu differs\n", (unsigned long long)(received + (uint64_t)i));
                return 1;
            }
        }
        received += (uint64_t)count;
    }
    int status = 0;
    waitpid(writer, &status, 0);
    if (received != size || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("echo FAIL received %llu of %llu bytes\n", (unsigned long long)received, (unsigned long long)size);
        return 1;
    }
    printf("echo ok %llu\n", (unsigned long long)size);
    return 0;
}

static int http(int argc, char **argv) {
    if (argc < 5) return 2;
    const char *body = argc > 5 ? argv[5] : "";
    struct sockaddr_un address;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || unix_address(argv[2], &address) != 0 ||
        connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        printf("status 0 (cannot connect: %s)\n", strerror(errno));
        return 1;
    }
    char request[8192];
    int length = snprintf(request, sizeof request,
                          "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          argv[3], argv[4], strlen(body), body);
    if (length <= 0 || length >= (int)sizeof request || write(fd, request, (size_t)length) != length) {
        printf("status 0 (cannot send)\n");
        return 1;
    }
    char response[65536];
    size_t used = 0;
    ssize_t count;
    while (used + 1 < sizeof response && (count = read(fd, response + used, sizeof response - 1 - used)) > 0)
        used += (size_t)count;
    response[used] = 0;
    int status = 0;
    sscanf(response, "HTTP/1.%*d %d", &status);
    const char *content = strstr(response, "\r\n\r\n");
    printf("status %d %s\n", status, content ? content + 4 : "");
    return status >= 200 && status < 300 ? 0 : 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 4 && strcmp(argv[1], "echo-server") == 0)
        return echo_server(argv[2], argv[3], argc >= 5 ? atoi(argv[4]) : 0);
    if (argc >= 3 && strcmp(argv[1], "echo-client") == 0) return echo_client(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "http") == 0) return http(argc, argv);
    fprintf(stderr, "usage: see the comment at the top of testbed-tool.c\n");
    return 2;
}
