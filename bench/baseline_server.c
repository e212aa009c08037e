/*
 * Baseline for bench/http_baseline.sh: the smallest libmicrohttpd server configured like Sockpit's
 * transport (Sources/HTTPServer/MicroHTTPDTransport.swift, Sources/CMicroHTTPD/shim.h), answering
 * GET /v1/health with a constant JSON body of about the size of Sockpit's health answer.
 *
 * It measures what libmicrohttpd itself costs with these settings, so that the ratio Sockpit/baseline
 * shows what the Swift side (routing, task hand-off, handler, JSON, logging) adds on top.
 *
 * Usage: baseline_server PORT      (listens on 127.0.0.1 only; prints nothing but errors;
 *                                   SIGTERM or SIGINT stops it, exit status 0)
 * Build: cc -O2 -o baseline_server baseline_server.c $(pkg-config --cflags --libs libmicrohttpd)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

/* Same shape and size (249 bytes) as Sockpit's GET /v1/health answer while benchmarked (pretty-printed,
 * sorted keys, data dir under /tmp/sockpit-bench.XXXXXXXXXX); only the bytes matter, they never change. */
static const char health_body[] =
    "{\n"
    "  \"database\" : {\n"
    "    \"ok\" : true,\n"
    "    \"path\" : \"/tmp/sockpit-bench.XXXXXXXXXX/data-info/sockpit.sqlite\",\n"
    "    \"schema_version\" : 1\n"
    "  },\n"
    "  \"started_at\" : \"2026-01-01T00:00:00.000Z\",\n"
    "  \"status\" : \"ok\",\n"
    "  \"uptime_ms\" : 1446.45,\n"
    "  \"version\" : \"0.1.0\"\n"
    "}";

static const char not_found_body[] = "{\"title\":\"Not Found\",\"status\":404}";

/* Marks a request seen; any non-NULL pointer works, nothing is allocated per request. */
static int request_marker;

static struct MHD_Response *health_response;
static struct MHD_Response *not_found_response;

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls)
{
    (void)cls; (void)version; (void)upload_data;
    /* First call: only mark the request. Queuing here makes libmicrohttpd 0.9.75 send
     * "Connection: close" (STYLE.md, Known pitfalls), which would turn keep-alive off. */
    if (*con_cls == NULL) {
        *con_cls = &request_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* discard any request body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 && strcmp(url, "/v1/health") == 0)
        return MHD_queue_response(connection, MHD_HTTP_OK, health_response);
    return MHD_queue_response(connection, MHD_HTTP_NOT_FOUND, not_found_response);
}

/* Sockpit releases its per-request context here; the baseline only clears the marker. */
static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)connection; (void)toe;
    *con_cls = NULL;
}

/* Identity unescaping, as Sockpit's shim (sockpit_mhd_unescape_none). */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls; (void)c;
    return strlen(s);
}

static struct MHD_Response *json_response(const char *body, size_t length)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(length, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL
        || MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8") != MHD_YES) {
        fprintf(stderr, "baseline_server: cannot create a response\n");
        exit(1);
    }
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    char *end = NULL;
    long port = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "baseline_server: bad port '%s'\n", argv[1]);
        return 2;
    }

    /* Block the stop signals before the daemon's threads start so they inherit the mask, then wait
     * for them synchronously in the main thread. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
        fprintf(stderr, "baseline_server: cannot block signals\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    health_response = json_response(health_body, sizeof health_body - 1);
    not_found_response = json_response(not_found_body, sizeof not_found_body - 1);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    /* Exactly Sockpit's flags and options (MicroHTTPDTransport.start + sockpit_mhd_start). */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME
                         | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 << 10),
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "baseline_server: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }

    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {
    }

    MHD_stop_daemon(daemon);
    MHD_destroy_response(health_response);
    MHD_destroy_response(not_found_response);
    return 0;
}
