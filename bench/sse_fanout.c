// The load generator and clock of bench/sse_fanout.sh: SSE subscribers and an event driver in one process,
// one thread, one epoll set, one clock (CLOCK_MONOTONIC) for both the send and the receive times.
//
//   sse_fanout PORT SUBSCRIBERS RATE SECONDS OUT_PREFIX SERVER_PID
//
// 1. Opens SUBSCRIBERS connections with GET /v1/events/stream (HTTP/1.1; the body is chunked
//    text/event-stream), waits for every greeting, then polls GET /v1/stats until the server counts them all
//    as attached (the greeting is written before the subscription is made).
// 2. Drives RATE socket operations per second for SECONDS on DRIVERS keep-alive connections, at fixed slots
//    (timerfd): POST /v1/sockets (inet dgram) and DELETE /v1/sockets/{id} alternately, each producing one
//    event (create, close). The time taken just before write() of the request is the event's send time.
//    After every 201, at once GET /v1/events?socket_id=ID on the same connection: the create event must be
//    there (read-after-write visibility); if not, the GET is repeated, for up to 50 ms.
// 3. Every subscriber parses the chunked SSE stream and stamps each `id:`/`data:` frame with the time the
//    read() that completed it returned. Waits until every subscriber has one event per successful operation
//    (or 5 s), then writes OUT_PREFIX.ops, .recv and .vis and prints key=value figures on stdout; the
//    matching and the percentiles are done by sse_fanout.sh.
// Only 127.0.0.1. Exit status 0 when the run completed (missing events are reported, not fatal).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define DRIVERS 4
#define BUF 65536
#define VIS_WINDOW_NS 50000000LL

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sse_fanout: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static int port;

static int connect_loopback(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect 127.0.0.1:%d: %s", port, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) { // the kernel buffer of a fresh loopback connection never fills here
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (w <= 0) die("write: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

// ------------------------------------------------------------------------------------------ subscribers
typedef struct {
    int64_t id, t;
    char op[16];
    char sid[40];
} Rec;

typedef struct {
    int fd;
    int headers_done, status;
    char hbuf[4096];
    size_t hlen;
    // chunked decoding
    int cstate; // 0 size line, 1 data, 2 CRLF after data, 3 ended
    char sizeline[32];
    size_t slen;
    size_t remaining;
    // SSE lines
    char line[8192];
    size_t llen;
    int64_t cur_id;
    char cur_op[16], cur_sid[40];
    int has_data, is_end;
    int greeted, ended, eof, end_event, last_chunk;
    char end_reason[32];
    long heartbeats, frames, dups, disorder;
    int64_t last_id;
    Rec *recs;
    long nrec, cap;
} Sub;

static Sub *subs;
static int nsubs;
static int64_t t_read; // when the current read() returned

static void json_str(const char *data, const char *key, char *out, size_t cap) {
    out[0] = 0;
    const char *p = strstr(data, key);
    if (!p) return;
    p += strlen(key);
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < cap) out[i++] = *p++;
    out[i] = 0;
}

static void sse_line(Sub *s) {
    s->line[s->llen] = 0;
    char *l = s->line;
    if (s->llen == 0) { // dispatch
        if (s->has_data && !s->is_end) {
            if (s->nrec == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 4096;
                s->recs = realloc(s->recs, (size_t)s->cap * sizeof(Rec));
                if (!s->recs) die("out of memory");
            }
            Rec *r = &s->recs[s->nrec++];
            r->id = s->cur_id;
            r->t = t_read;
            strcpy(r->op, s->cur_op);
            strcpy(r->sid, s->cur_sid);
            if (s->cur_id == s->last_id) s->dups++;
            else if (s->cur_id < s->last_id) s->disorder++;
            s->last_id = s->cur_id;
            s->frames++;
        }
        if (s->is_end) s->ended = s->end_event = 1;
        s->has_data = s->is_end = 0;
        return;
    }
    if (l[0] == ':') {
        if (strstr(l, "heartbeat")) s->heartbeats++;
        if (strstr(l, "connected")) s->greeted = 1;
    } else if (!strncmp(l, "id: ", 4)) {
        s->cur_id = atoll(l + 4);
    } else if (!strncmp(l, "data: ", 6)) {
        s->has_data = 1;
        if (s->is_end) json_str(l + 6, "\"reason\":\"", s->end_reason, sizeof s->end_reason);
        json_str(l + 6, "\"op\":\"", s->cur_op, sizeof s->cur_op);
        json_str(l + 6, "\"socket_id\":\"", s->cur_sid, sizeof s->cur_sid);
    } else if (!strncmp(l, "event: end", 10)) {
        s->is_end = 1;
    }
}

static void sse_bytes(Sub *s, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            sse_line(s);
            s->llen = 0;
        } else if (s->llen + 1 < sizeof s->line) {
            s->line[s->llen++] = p[i];
        }
    }
}

static void sub_body(Sub *s, const char *p, size_t n) {
    while (n > 0) {
        if (s->cstate == 0) {
            char c = *p++;
            n--;
            if (c == '\n') {
                s->sizeline[s->slen] = 0;
                s->remaining = strtoul(s->sizeline, NULL, 16);
                s->slen = 0;
                s->cstate = s->remaining ? 1 : 3;
                if (s->cstate == 3) s->ended = s->last_chunk = 1;
            } else if (c != '\r' && s->slen + 1 < sizeof s->sizeline) {
                s->sizeline[s->slen++] = c;
            }
        } else if (s->cstate == 1) {
            size_t take = n < s->remaining ? n : s->remaining;
            sse_bytes(s, p, take);
            p += take;
            n -= take;
            s->remaining -= take;
            if (!s->remaining) s->cstate = 2;
        } else if (s->cstate == 2) {
            if (*p == '\n') s->cstate = 0;
            p++;
            n--;
        } else {
            return;
        }
    }
}

static void sub_readable(Sub *s) {
    char buf[BUF];
    for (;;) {
        ssize_t r = read(s->fd, buf, sizeof buf);
        t_read = now_ns();
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (r <= 0) {
            s->eof = 1;
            return;
        }
        const char *p = buf;
        size_t n = (size_t)r;
        if (!s->headers_done) {
            size_t take = n < sizeof s->hbuf - 1 - s->hlen ? n : sizeof s->hbuf - 1 - s->hlen;
            memcpy(s->hbuf + s->hlen, p, take);
            s->hlen += take;
            s->hbuf[s->hlen] = 0;
            char *end = strstr(s->hbuf, "\r\n\r\n");
            if (!end) continue;
            s->headers_done = 1;
            s->status = atoi(s->hbuf + 9);
            if (s->status != 200 || !strcasestr(s->hbuf, "transfer-encoding: chunked"))
                die("stream answered: %.300s", s->hbuf);
            size_t used = (size_t)(end + 4 - s->hbuf) - (s->hlen - take);
            p += used;
            n -= used;
        }
        sub_body(s, p, n);
    }
}

// ----------------------------------------------------------------------------------------------- driver
enum { IDLE, CREATE, DELETE, CHECK, STATS };
typedef struct {
    int fd, kind;
    char rbuf[BUF];
    size_t rlen;
    long op; // index into ops (CREATE, DELETE), or vis (CHECK)
} Drv;

typedef struct {
    int create; // 1 create, 0 delete
    char sid[40];
    int64_t slot, sent, done;
    int status;
} Op;
typedef struct {
    char sid[40];
    int64_t t201, tvis;
    int tries, visible;
} Vis;

static Drv drv[DRIVERS];
static Op *ops;
static long nops, opcap;
static Vis *vis;
static long nvis;
static char (*pending)[40]; // created sockets waiting for their DELETE (a FIFO)
static long phead, ptail;
static long last_subscribers = -1;

static void drv_send(Drv *d, int kind, const char *req) {
    d->kind = kind;
    d->rlen = 0;
    write_all(d->fd, req, strlen(req));
}

static void send_op(Drv *d, Op *o) {
    char req[512];
    if (o->create) {
        const char *body = "{\"family\":\"inet\",\"type\":\"dgram\"}";
        snprintf(req, sizeof req,
                 "POST /v1/sockets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    } else {
        snprintf(req, sizeof req, "DELETE /v1/sockets/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", o->sid);
    }
    d->op = o - ops;
    o->sent = now_ns();
    drv_send(d, o->create ? CREATE : DELETE, req);
}

static void send_check(Drv *d, long v) {
    char req[256];
    snprintf(req, sizeof req, "GET /v1/events?socket_id=%s&limit=10 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", vis[v].sid);
    d->op = v;
    vis[v].tries++;
    drv_send(d, CHECK, req);
}

// A complete response in d->rbuf: its length, or 0 while incomplete. Sets status, body and body length.
static size_t response(Drv *d, int *status, char **body, size_t *blen) {
    d->rbuf[d->rlen] = 0;
    char *end = strstr(d->rbuf, "\r\n\r\n");
    if (!end) return 0;
    *status = atoi(d->rbuf + 9);
    char *cl = strcasestr(d->rbuf, "content-length:");
    size_t len = (cl && cl < end) ? strtoul(cl + 15, NULL, 10) : 0;
    if (!cl && strcasestr(d->rbuf, "transfer-encoding: chunked")) die("unexpected chunked response");
    size_t total = (size_t)(end + 4 - d->rbuf) + len;
    if (d->rlen < total) return 0;
    *body = end + 4;
    *blen = len;
    return total;
}

static void drv_readable(Drv *d) {
    for (;;) {
        ssize_t r = read(d->fd, d->rbuf + d->rlen, sizeof d->rbuf - 1 - d->rlen);
        int64_t t = now_ns();
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (r <= 0) die("driver connection closed by the server");
        d->rlen += (size_t)r;
        int status;
        char *body;
        size_t blen;
        if (!response(d, &status, &body, &blen)) continue;
        int kind = d->kind;
        d->kind = IDLE;
        if (kind == CREATE || kind == DELETE) {
            Op *o = &ops[d->op];
            o->done = t;
            o->status = status;
            if (kind == CREATE && status == 201) {
                char *loc = strcasestr(d->rbuf, "\r\nlocation: /v1/sockets/");
                if (!loc) die("201 without Location");
                json_str(loc, "/v1/sockets/", o->sid, sizeof o->sid); // up to the next '"' ...
                o->sid[strcspn(o->sid, "\r\n")] = 0;                 // ... or end of line
                strcpy(pending[ptail++], o->sid);
                Vis *v = &vis[nvis];
                strcpy(v->sid, o->sid);
                v->t201 = t;
                send_check(d, nvis++);
            }
        } else if (kind == CHECK) {
            Vis *v = &vis[d->op];
            if (status == 200 && memmem(body, blen, "\"create\"", 8)) {
                v->visible = 1;
                v->tvis = t;
            } else if (t - v->t201 < VIS_WINDOW_NS) {
                send_check(d, d->op);
            } else {
                v->tvis = t;
            }
        } else if (kind == STATS) {
            char *p = body ? strstr(body, "\"subscribers\"") : NULL;
            last_subscribers = p ? strtol(p + 13 + strspn(p + 13, " :"), NULL, 10) : -1;
        }
        return;
    }
}

static Drv *idle_driver(void) {
    for (int i = 0; i < DRIVERS; i++)
        if (drv[i].kind == IDLE) return &drv[i];
    return NULL;
}

// ------------------------------------------------------------------------------------------------- main
static int64_t proc_ticks(const char *pid) {
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    long long ut = 0, st = 0;
    // after ") ": state(3) ... utime is field 14, stime 15
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return ut + st;
}

// Ticks the whole machine spent busy (user, nice, system, irq, softirq, steal), all cores.
static int64_t machine_ticks(void) {
    long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    int n = fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    return n == 8 ? v[0] + v[1] + v[2] + v[5] + v[6] + v[7] : 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 7) die("usage: sse_fanout PORT SUBSCRIBERS RATE SECONDS OUT_PREFIX SERVER_PID");
    port = atoi(argv[1]);
    nsubs = atoi(argv[2]);
    double rate = atof(argv[3]), seconds = atof(argv[4]);
    const char *prefix = argv[5], *server_pid = argv[6];
    if (port <= 0 || nsubs <= 0 || rate <= 0 || seconds <= 0) die("bad arguments");
    long nslots = (long)(rate * seconds);
    opcap = nslots + 16;
    ops = calloc((size_t)opcap, sizeof(Op));
    vis = calloc((size_t)opcap, sizeof(Vis));
    pending = calloc((size_t)opcap, 40);
    subs = calloc((size_t)nsubs, sizeof(Sub));
    if (!ops || !vis || !pending || !subs) die("out of memory");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev;
    const char *sreq = "GET /v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    for (int i = 0; i < nsubs; i++) {
        subs[i].fd = connect_loopback();
        write_all(subs[i].fd, sreq, strlen(sreq));
        ev.events = EPOLLIN;
        ev.data.u64 = (uint64_t)i;
        epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev);
    }
    for (int i = 0; i < DRIVERS; i++) {
        drv[i].fd = connect_loopback();
        drv[i].kind = IDLE;
        ev.events = EPOLLIN;
        ev.data.u64 = (uint64_t)(1000000 + i);
        epoll_ctl(ep, EPOLL_CTL_ADD, drv[i].fd, &ev);
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    ev.events = EPOLLIN;
    ev.data.u64 = 2000000;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

    struct epoll_event evs[256];
    // Time from epoll_wait's return to the end of handling its batch: the most this client can add to a
    // frame's latency is about one batch (a frame stamped late in a batch may have arrived at its start).
    long batches = 0, batch_cap = 1 << 20;
    int64_t *batch_ns = malloc((size_t)batch_cap * sizeof(int64_t));
    if (!batch_ns) die("out of memory");
    int phase = 0; // 0 greetings, 1 attach (stats), 2 drive, 3 drain
    int64_t t0 = now_ns(), deadline = t0 + 10000000000LL, drive_start = 0, drive_end = 0, slot_ns = (int64_t)(1e9 / rate);
    int64_t next_slot = 0, attach_ns = 0, stats_next = 0;
    long slot = 0, late_slots = 0, expected = 0;
    int64_t max_late = 0;
    int64_t srv0 = 0, srv1 = 0, all0 = 0, all1 = 0, wall_ns = 1, t_term = 0, t_closed = 0;
    long early_ended = 0, early_eof = 0;
    double cpu0 = 0, cpu1 = 0;
    struct itimerspec its = {0};

    for (;;) {
        int64_t now = now_ns();
        if (phase == 0) {
            int greeted = 0;
            for (int i = 0; i < nsubs; i++) greeted += subs[i].greeted;
            if (greeted == nsubs) {
                phase = 1;
                stats_next = now;
            } else if (now > deadline) {
                die("only %d of %d subscribers were greeted within 10 s", greeted, nsubs);
            }
        }
        if (phase == 1 && drv[0].kind == IDLE) {
            if (last_subscribers == nsubs) {
                attach_ns = now - t0;
                phase = 2;
                srv0 = proc_ticks(server_pid);
                all0 = machine_ticks();
                cpu0 = cpu_seconds();
                drive_start = next_slot = now + 20000000; // start on a clean slot 20 ms from now
                its.it_value.tv_sec = next_slot / 1000000000LL;
                its.it_value.tv_nsec = next_slot % 1000000000LL;
                timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
            } else if (now > deadline) {
                die("the server counts %ld subscribers, not %d, after 10 s", last_subscribers, nsubs);
            } else if (now >= stats_next) {
                drv_send(&drv[0], STATS, "GET /v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                stats_next = now + 10000000;
            }
        }
        if (phase == 2) {
            // Issue every slot that is due, each on an idle connection; a slot with none idle waits (late).
            while (slot < nslots && next_slot <= now) {
                Drv *d = idle_driver();
                if (!d) break;
                Op *o = &ops[nops++];
                o->slot = next_slot;
                if (phead < ptail && (slot % 2 == 1 || ptail - phead > 4)) {
                    o->create = 0;
                    strcpy(o->sid, pending[phead++]);
                } else {
                    o->create = 1;
                }
                send_op(d, o);
                int64_t late = o->sent - o->slot;
                if (late > max_late) max_late = late;
                if (late > slot_ns) late_slots++;
                slot++;
                next_slot = drive_start + slot * slot_ns;
            }
            if (slot >= nslots) {
                // Close what is still open so that every create has its close, then drain.
                Drv *d;
                while (phead < ptail && nops < opcap && (d = idle_driver())) {
                    Op *o = &ops[nops++];
                    o->slot = now;
                    o->create = 0;
                    strcpy(o->sid, pending[phead++]);
                    send_op(d, o);
                }
                int busy = 0;
                for (int i = 0; i < DRIVERS; i++) busy |= drv[i].kind != IDLE;
                if (!busy && phead == ptail) {
                    phase = 3;
                    drive_end = now;
                    for (long i = 0; i < nops; i++) expected += (ops[i].status == 201 || ops[i].status == 204);
                    deadline = now + 5000000000LL;
                }
            } else if (next_slot > now) {
                its.it_value.tv_sec = next_slot / 1000000000LL;
                its.it_value.tv_nsec = next_slot % 1000000000LL;
                timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
            } else { // due but every connection busy: the next response wakes us, not the timer
                struct itimerspec off = {0};
                timerfd_settime(tfd, TFD_TIMER_ABSTIME, &off, NULL);
            }
        }
        if (phase == 3) {
            long behind = 0;
            for (int i = 0; i < nsubs; i++) behind += subs[i].nrec < expected;
            if (!behind || now > deadline) {
                // 4. Stop the server (SIGTERM) with every stream open: each should get `event: end` (reason
                // server-shutdown), the last chunk, and a closed connection, within the grace period.
                srv1 = proc_ticks(server_pid);
                cpu1 = cpu_seconds();
                all1 = machine_ticks();
                wall_ns = now - drive_start;
                for (int i = 0; i < nsubs; i++) { // streams that ended before the server was told to stop
                    early_ended += subs[i].ended;
                    early_eof += subs[i].eof;
                }
                for (int i = 0; i < DRIVERS; i++) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, drv[i].fd, NULL);
                    close(drv[i].fd);
                }
                if (kill((pid_t)atoi(server_pid), SIGTERM) < 0) die("kill %s: %s", server_pid, strerror(errno));
                t_term = now;
                deadline = now + 20000000000LL;
                phase = 4;
            }
        }
        if (phase == 4) {
            long open = 0;
            for (int i = 0; i < nsubs; i++) open += !subs[i].eof;
            if (!open) t_closed = now;
            if (!open || now > deadline) break;
        }
        int timeout = phase == 1 ? 2 : phase >= 3 ? 10 : 1000;
        int n = epoll_wait(ep, evs, 256, timeout);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("epoll_wait: %s", strerror(errno));
        int64_t woke = now_ns();
        for (int i = 0; i < n; i++) {
            uint64_t k = evs[i].data.u64;
            if (k == 2000000) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0 && errno != EAGAIN) die("timerfd read");
            } else if (k >= 1000000) {
                drv_readable(&drv[k - 1000000]);
            } else {
                sub_readable(&subs[k]);
            }
        }
        if (phase >= 2 && phase < 4 && n > 0 && batches < batch_cap) batch_ns[batches++] = now_ns() - woke;
    }
    qsort(batch_ns, (size_t)batches, sizeof(int64_t), cmp_i64);
    int64_t sum_batch_ns = 0;
    for (long i = 0; i < batches; i++) sum_batch_ns += batch_ns[i];
    double hz = (double)sysconf(_SC_CLK_TCK);
    double other = ((all1 - all0) / hz - (srv1 - srv0) / hz - (cpu1 - cpu0)) / (wall_ns / 1e9);

    char path[4096];
    snprintf(path, sizeof path, "%s.ops", prefix);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    for (long i = 0; i < nops; i++)
        fprintf(f, "%s %s %lld %lld %lld %d\n", ops[i].create ? "create" : "close", ops[i].sid[0] ? ops[i].sid : "-",
                (long long)ops[i].slot, (long long)ops[i].sent, (long long)ops[i].done, ops[i].status);
    fclose(f);
    snprintf(path, sizeof path, "%s.recv", prefix);
    f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    for (int s = 0; s < nsubs; s++)
        for (long i = 0; i < subs[s].nrec; i++) {
            Rec *r = &subs[s].recs[i];
            fprintf(f, "%d %lld %s %s %lld\n", s, (long long)r->id, r->op[0] ? r->op : "-", r->sid[0] ? r->sid : "-",
                    (long long)r->t);
        }
    fclose(f);
    snprintf(path, sizeof path, "%s.vis", prefix);
    f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    for (long i = 0; i < nvis; i++)
        fprintf(f, "%s %d %d %lld\n", vis[i].sid, vis[i].visible, vis[i].tries, (long long)(vis[i].tvis - vis[i].t201));
    fclose(f);

    long heartbeats = 0, eofs = 0, dups = 0, disorder = 0, end_events = 0, shutdown_reason = 0, last_chunks = 0;
    for (int s = 0; s < nsubs; s++) {
        heartbeats += subs[s].heartbeats;
        eofs += subs[s].eof;
        end_events += subs[s].end_event;
        shutdown_reason += !strcmp(subs[s].end_reason, "server-shutdown");
        last_chunks += subs[s].last_chunk;
        dups += subs[s].dups;
        disorder += subs[s].disorder;
    }
    double drive_s = (drive_end - drive_start) / 1e9;
    printf("subscribers=%d\nattach_ms=%.1f\nops=%ld\nexpected_events=%ld\ndrive_s=%.3f\nlate_slots=%ld\n"
           "max_late_ms=%.3f\nserver_cpu_ticks=%lld\nclient_cpu_s=%.3f\nwall_s=%.3f\nother_cores=%.2f\nmax_batch_ms=%.3f\n"
           "p99_batch_ms=%.3f\nmean_batch_us=%.1f\nheartbeats=%ld\nstreams_ended=%ld\nstreams_eof=%ld\ndups=%ld\n"
           "disorder=%ld\nshutdown_end_events=%ld\nshutdown_reason_ok=%ld\nshutdown_last_chunks=%ld\n"
           "shutdown_closed=%ld\nshutdown_all_closed_ms=%.1f\n",
           nsubs, attach_ns / 1e6, nops, expected, drive_s, late_slots, max_late / 1e6,
           (long long)(srv1 - srv0), cpu1 - cpu0, wall_ns / 1e9, other > 0 ? other : 0.0,
           batches ? batch_ns[batches - 1] / 1e6 : 0.0, batches ? batch_ns[(batches * 99) / 100] / 1e6 : 0.0,
           batches ? sum_batch_ns / 1e3 / batches : 0.0, heartbeats, early_ended, early_eof, dups, disorder,
           end_events, shutdown_reason, last_chunks, eofs, t_closed ? (t_closed - t_term) / 1e6 : -1.0);
    return 0;
}
