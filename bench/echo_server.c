/*
 * Echo peer for bench/sockets_lifecycle.sh: a single-threaded epoll TCP echo server on 127.0.0.1, the
 * far end of the sockets that Sockpit connects during the benchmark. It is meant to cost next to nothing,
 * so that the figures measure Sockpit and not the peer.
 *
 * Usage: echo_server PORT     (127.0.0.1 only; PORT 0 lets the kernel choose. Once listening it prints
 *                              "port N" on stdout and flushes; then nothing but errors. SIGTERM or SIGINT
 *                              stops it with exit status 0.)
 * Build: cc -O2 -o echo_server echo_server.c
 *
 * Every byte read is written back. When the peer's receive buffer is full the rest waits in a per-connection
 * buffer until EPOLLOUT; reading from that connection pauses meanwhile (back-pressure, no unbounded memory).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE 16384

/* One accepted connection: bytes read but not yet written back. */
struct conn {
    int fd;
    size_t off, len;
    char buf[BUFFER_SIZE];
};

static int epfd;

static void die(const char *what)
{
    fprintf(stderr, "echo_server: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void drop(struct conn *c)
{
    close(c->fd); /* also removes it from the epoll set */
    free(c);
}

static void watch(struct conn *c, int op, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };
    if (epoll_ctl(epfd, op, c->fd, &ev) != 0) die("epoll_ctl");
}

/* Writes what is pending; returns 1 when all is written, 0 when the socket is full, -1 on error. */
static int flush(struct conn *c)
{
    while (c->off < c->len) {
        ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n > 0) { c->off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    c->off = c->len = 0;
    return 1;
}

/* Reads and echoes until the socket is drained; returns -1 when the connection is done with. */
static int serve(struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
        if (n == 0) return -1;
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        c->off = 0;
        c->len = (size_t)n;
        int r = flush(c);
        if (r < 0) return -1;
        if (r == 0) { watch(c, EPOLL_CTL_MOD, EPOLLOUT); return 0; } /* pause reading until drained */
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    char *end = NULL;
    long port = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || port < 0 || port > 65535) {
        fprintf(stderr, "echo_server: bad port '%s'\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    /* Stop signals arrive through a signalfd in the same epoll loop. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0) die("sigprocmask");
    int sfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) die("signalfd");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
    if (listen(lfd, 4096) != 0) die("listen");
    socklen_t alen = sizeof addr;
    if (getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) die("getsockname");
    printf("port %u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    /* The listener and the signalfd are told apart by their data pointer: &lfd and &sfd. */
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &lfd };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) != 0) die("epoll_ctl listener");
    ev.data.ptr = &sfd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) != 0) die("epoll_ctl signalfd");

    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(epfd, events, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &sfd) return 0;
            if (p == &lfd) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED) continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                        if (errno == EMFILE || errno == ENFILE) {
                            fprintf(stderr, "echo_server: accept: %s\n", strerror(errno));
                            break;
                        }
                        die("accept4");
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = malloc(sizeof *c);
                    if (c == NULL) { close(fd); continue; }
                    c->fd = fd;
                    c->off = c->len = 0;
                    watch(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP);
                }
                continue;
            }
            struct conn *c = p;
            if (events[i].events & EPOLLOUT) {
                int r = flush(c);
                if (r < 0) { drop(c); continue; }
                if (r == 0) continue;
                watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
            }
            if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                if (c->len > 0) continue; /* still draining: read again once written */
                if (serve(c) < 0) drop(c);
            }
        }
    }
}
