#ifndef SOCKPIT_CLINUX_SHIM_H
#define SOCKPIT_CLINUX_SHIM_H

/* Linux interfaces that Swift's Glibc module does not bring in. Header-only: nothing to link. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc declares accept4 only under _GNU_SOURCE, which the Glibc module is not built with; the raw
   system call is the same operation (-1 and errno on failure). */
static inline int sockpit_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return (int)syscall(SYS_accept4, fd, address, length, flags);
}

#endif
