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

/* Probes (SocketKit/Probes): error queues and control messages. Its own guard, so these lines stay an
   append-only block. No <netinet/ip_icmp.h>, <netinet/icmp6.h> or <netinet/ip.h>: they re-include
   <netinet/in.h>, which the Glibc module owns, and a release (whole-module) build then loses IPPROTO_IP &
   co. in files that import Glibc alone; the few ICMP numbers needed are named in Swift (ICMPPacket.swift). */
#ifndef SOCKPIT_CLINUX_PROBES_H
#define SOCKPIT_CLINUX_PROBES_H
#include <linux/errqueue.h>

/* CMSG_* are macros (CMSG_NXTHDR expands to a call of glibc's __cmsg_nxthdr): functions for Swift. */
static inline struct cmsghdr *sockpit_cmsg_firsthdr(struct msghdr *message) { return CMSG_FIRSTHDR(message); }
static inline struct cmsghdr *sockpit_cmsg_nxthdr(struct msghdr *message, struct cmsghdr *header) {
    return CMSG_NXTHDR(message, header);
}
static inline unsigned char *sockpit_cmsg_data(struct cmsghdr *header) { return CMSG_DATA(header); }
static inline size_t sockpit_cmsg_space(size_t length) { return CMSG_SPACE(length); }
#endif

/* Control messages (SocketKit/ControlMessage.swift): what glibc declares only under _GNU_SOURCE, with the
   kernel's layouts (cmsg(3), unix(7), ipv6(7)). Its own guard, an append-only block like the one above; no
   <netinet/in.h> for the same reason, so the IPv6 address is its 16 bytes. */
#ifndef SOCKPIT_CLINUX_CONTROL_H
#define SOCKPIT_CLINUX_CONTROL_H
/* struct ucred */
struct sockpit_ucred {
    int pid;
    unsigned int uid;
    unsigned int gid;
};
/* struct in6_pktinfo */
struct sockpit_in6_pktinfo {
    unsigned char addr[16];
    unsigned int ifindex;
};
/* SCM_CREDENTIALS, the control message type of struct ucred. */
enum { SOCKPIT_SCM_CREDENTIALS = 2 };
/* CMSG_LEN: the cmsg_len of a message with `length` bytes of data. */
static inline size_t sockpit_cmsg_len(size_t length) { return CMSG_LEN(length); }
#endif

/* Network namespaces (SocketKit/NetworkNamespace.swift): setns(2) and the numbers Glibc's module leaves out
   (<sched.h> declares setns only under _GNU_SOURCE). Its own guard, an append-only block like the ones above. */
#ifndef SOCKPIT_CLINUX_NETNS_H
#define SOCKPIT_CLINUX_NETNS_H
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <linux/sockios.h>
/* CLONE_NEWNET from <linux/sched.h>. */
enum { SOCKPIT_CLONE_NEWNET = 0x40000000 };
/* NS_GET_NSTYPE from <linux/nsfs.h>: _IO(0xb7, 0x3). */
enum { SOCKPIT_NS_GET_NSTYPE = 0xb703 };
static inline int sockpit_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }
/* SIOCGSKNS: a descriptor of the network namespace a socket was made in. */
static inline int sockpit_socket_netns(int fd) { return ioctl(fd, SIOCGSKNS); }
static inline int sockpit_ns_type(int fd) { return ioctl(fd, SOCKPIT_NS_GET_NSTYPE); }
/* The calling thread's name, as `ps -L` and `top -H` show it (15 bytes at most). */
static inline int sockpit_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }
#endif
