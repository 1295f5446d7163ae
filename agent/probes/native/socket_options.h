// Per-module socket options of the probes (issue #14): the DSCP to mark packets with, the
// interface to send them from (SO_BINDTODEVICE) and the source address to bind to.
#ifndef LINKMON_SOCKET_OPTIONS_H
#define LINKMON_SOCKET_OPTIONS_H
#include <node_api.h>
#include <sys/socket.h>

// IFNAMSIZ of <net/if.h>, which clashes with <linux/icmp.h> in icmp_socket.c.
#define NATIVE_IFNAMSIZ 16

typedef struct {
  int dscp;                // -1: leave the kernel's default (0)
  char device[NATIVE_IFNAMSIZ]; // "": any interface
  struct sockaddr_storage source;
  socklen_t source_length; // 0: no bind
} native_socket_options;

// Reads { dscp?: number, device?: string, source?: string } (each optional; `source` only where
// `allow_source`; `object` may be NULL or undefined: no options) into `out` for a socket of `family` (AF_INET or AF_INET6). Returns 0, or throws a
// TypeError and returns -1.
int native_read_socket_options(napi_env env, napi_value object, int family, int allow_source, native_socket_options *out);

// Applies DSCP (IP_TOS or IPV6_TCLASS, ECN bits 0) and device to `fd`, then binds to the source
// address (port 0) when one is given; before connect() or the first send, so every packet carries
// them. Returns 0, or an errno with `*what` naming the call that failed.
int native_apply_socket_options(int fd, int family, const native_socket_options *options, const char **what);

// exports.sockopt = { apply(fd, family: 4 | 6, { dscp?, device? }) } for sockets Node created.
napi_value socket_options_init(napi_env env, napi_value exports);
#endif
