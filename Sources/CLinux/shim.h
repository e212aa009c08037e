#ifndef SOCKPIT_CLINUX_SHIM_H
#define SOCKPIT_CLINUX_SHIM_H

/* Linux interfaces that Swift's Glibc module does not bring in. Header-only: nothing to link. */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#endif
