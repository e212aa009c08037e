#ifndef SOCKPIT_CMICROHTTPD_SHIM_H
#define SOCKPIT_CMICROHTTPD_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <string.h>
#include <microhttpd.h>

/* Leaves the URL and query arguments percent-encoded: the OpenAPI runtime decodes path and query
 * parameters itself, and decoding twice would corrupt values containing %25. */
static size_t sockpit_mhd_unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls; (void)c;
    return strlen(s);
}

/* Where libmicrohttpd's own error messages go, formatted (its logger is printf-style with a va_list,
 * which Swift cannot take): `sink(cls, message)`. Lives as long as the daemon. */
struct sockpit_mhd_logger {
    void (*sink)(void *cls, const char *message);
    void *cls;
};

static void sockpit_mhd_log(void *cls, const char *format, va_list arguments)
{
    const struct sockpit_mhd_logger *logger = cls;
    char message[512];
    vsnprintf(message, sizeof message, format, arguments);
    logger->sink(logger->cls, message);
}

/* Two inactivity timeouts, in seconds: `request` until a connection has sent a whole request, `idle` after
 * that (between keep-alive requests and while a response streams) — but only `request` again while the daemon
 * holds `crowded` connections or more, so that idle keep-alive connections give their slots back sooner when
 * the connection limit is near. Lives as long as the daemon. */
struct sockpit_mhd_timeouts {
    unsigned int request;
    unsigned int idle;
    unsigned int crowded;
    /* The daemon whose connections are counted: the one MHD_start_daemon returned (a connection's own is a
     * worker of its pool, which counts only its share). NULL until started. */
    struct MHD_Daemon *daemon;  /* read and written with __atomic builtins */
};

/* A new connection starts on the short timeout: one that sends nothing, or only part of a request, is closed
 * after `request` seconds of silence instead of holding a slot for `idle`. (In 0.9.75 the daemon calls this
 * with no lock held and the connection already in its timeout list, so setting the option here is safe.) */
static void sockpit_mhd_connection_notify(void *cls, struct MHD_Connection *connection, void **socket_context,
                                          enum MHD_ConnectionNotificationCode code)
{
    const struct sockpit_mhd_timeouts *timeouts = cls;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED && timeouts->request < timeouts->idle)
        MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, timeouts->request);
}

/* Called when a connection's request is complete: the `idle` timeout, or `request` while crowded. */
static inline void sockpit_mhd_request_complete(struct MHD_Connection *connection,
                                                const struct sockpit_mhd_timeouts *timeouts)
{
    unsigned int wanted = timeouts->idle;
    struct MHD_Daemon *daemon = __atomic_load_n(&timeouts->daemon, __ATOMIC_ACQUIRE);
    if (daemon != NULL) {
        const union MHD_DaemonInfo *count = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (count != NULL && count->num_connections >= timeouts->crowded)
            wanted = timeouts->request;
    }
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_TIMEOUT);
    if (info != NULL && info->connection_timeout != wanted)
        MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, wanted);
}

/* MHD_start_daemon is variadic, which Swift cannot call: this wrapper fixes the option list we use
 * (STYLE.md rule 4). `addr` may be an IPv4 or IPv6 sockaddr; `ipv6` must say which. */
static inline struct MHD_Daemon *sockpit_mhd_start(
    unsigned int flags, const struct sockaddr *addr,
    MHD_AccessHandlerCallback handler, void *handler_cls,
    MHD_RequestCompletedCallback completed, void *completed_cls,
    unsigned int thread_pool_size, unsigned int connection_limit, unsigned int per_ip_connection_limit,
    const struct sockpit_mhd_timeouts *timeouts, size_t connection_memory_limit,
    const struct sockpit_mhd_logger *logger)
{
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_EXTERNAL_LOGGER, sockpit_mhd_log, (void *)logger,
                            MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
                            MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeouts->idle,
                            MHD_OPTION_NOTIFY_CONNECTION, sockpit_mhd_connection_notify, (void *)timeouts,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory_limit,
                            MHD_OPTION_UNESCAPE_CALLBACK, sockpit_mhd_unescape_none, NULL,
                            MHD_OPTION_END);
}

/* Records the started daemon for `sockpit_mhd_request_complete`'s count. */
static inline void sockpit_mhd_timeouts_started(struct sockpit_mhd_timeouts *timeouts, struct MHD_Daemon *daemon)
{
    __atomic_store_n(&timeouts->daemon, daemon, __ATOMIC_RELEASE);
}

/* The port the daemon is bound to (useful after binding port 0); 0 when unknown. */
static inline uint16_t sockpit_mhd_bound_port(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/* The library's version string, e.g. "0.9.75". */
static inline const char *sockpit_mhd_version(void) { return MHD_get_version(); }

#endif
