// TTL-limited UDP probes for path tracing, without privileges: what Linux traceroute's default
// method does. The socket is an ordinary UDP socket with IP_RECVERR (IPV6_RECVERR): the ICMP
// time-exceeded and destination-unreachable messages that our probes provoke are queued on the
// socket's error queue with the address of the router that sent them (SO_EE_OFFENDER) and the
// payload of the probe they quote, so no raw socket (CAP_NET_RAW) is needed. SO_TIMESTAMPNS
// stamps each message with the kernel's receive time, as icmp_socket.c does for echo replies.
//
// JavaScript API (N-API, exports.ttlProbe; see agent/path-tracing/probe-socket.ts):
//   open(family: 4 | 6, onMessage) -> handle
//     onMessage(payload: Buffer, from: string, origin: 'icmp' | 'local' | 'reply',
//               icmpType: number, icmpCode: number, receivedNs: bigint, errno: number)
//       'icmp': an ICMP error quoting our probe `payload`, sent by router `from`;
//       'local': the kernel refused the probe (errno, e.g. EMSGSIZE);
//       'reply': a UDP datagram from `from` (the destination answered the probe's port).
//   send(handle, address: string, port: number, ttl: number, payload: Buffer) -> bigint
//     CLOCK_MONOTONIC ns just before sendto(); throws with `code` on failure
//   close(handle)
// Times are CLOCK_MONOTONIC nanoseconds, the clock of process.hrtime.bigint().
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>
#include "polled_socket.h"

#define MAX_PER_WAKEUP 64

static void deliver(polled_socket *s, const char *payload, size_t length, const char *from, const char *origin, int type, int code, uint64_t received, int err) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[7];
  void *copy;
  napi_create_buffer_copy(env, length, payload, &copy, &argv[0]);
  napi_create_string_utf8(env, from, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_string_utf8(env, origin, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, type, &argv[3]);
  napi_create_int32(env, code, &argv[4]);
  napi_create_bigint_uint64(env, received, &argv[5]);
  napi_create_int32(env, err, &argv[6]);
  polled_socket_call(s, 7, argv);
  napi_close_handle_scope(env, scope);
}

/** Reads one message from the error queue (`flags` = MSG_ERRQUEUE) or the receive queue; 0 when empty. */
static int read_one(polled_socket *s, int flags) {
  received_message m;
  if (!receive_message(s, flags, &m)) return 0;
  char from[INET6_ADDRSTRLEN] = "";
  if (!(flags & MSG_ERRQUEUE)) {
    address_text((struct sockaddr *)&m.from, from, sizeof from);
    deliver(s, m.data, m.length, from, "reply", 0, 0, m.received_ns, 0);
    return 1;
  }
  const struct sock_extended_err *ee = queued_error(&m);
  if (ee) {
    int icmp = ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6;
    if (icmp) address_text(SO_EE_OFFENDER(ee), from, sizeof from);
    deliver(s, m.data, m.length, from, icmp ? "icmp" : "local", ee->ee_type, ee->ee_code, m.received_ns, (int)ee->ee_errno);
  }
  return 1;
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  polled_socket *s = poll->data;
  if (s->closed) return;
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed && read_one(s, MSG_ERRQUEUE); i++) {
  }
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed && read_one(s, 0); i++) {
  }
  // libuv stops a poll handle that reports POLLERR (status UV_EBADF): a queued ICMP error is
  // exactly that here, and has just been read, so the handle is started again.
  if (status < 0 && !s->closed) uv_poll_start(&s->poll, UV_READABLE, on_poll);
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  int family;
  napi_value on_message;
  if (polled_socket_open_args(env, info, "open(family: 4 | 6, onMessage: function)", &family, &on_message, NULL) != 0) return NULL;
  int fd = timestamped_socket(family, SOCK_DGRAM, IPPROTO_UDP);
  if (fd < 0) return throw_errno(env, errno, "socket(SOCK_DGRAM, IPPROTO_UDP)");
  int on = 1;
  if ((family == AF_INET ? setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof on) : setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on)) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "setsockopt(IP_RECVERR)");
  }
  return polled_socket_start(env, fd, family, on_message, "linkmon:ttl-probe", on_poll);
}

static napi_value send_probe(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  polled_socket *s = polled_socket_arg(env, info, 5, argv);
  if (!s) return throw_type(env, "send(handle, address, port, ttl, payload)");
  if (s->closed) return throw_errno(env, EBADF, "send on a closed TTL probe socket");
  char address[INET6_ADDRSTRLEN + 1];
  size_t address_length;
  int32_t port, ttl;
  void *data;
  size_t length;
  if (napi_get_value_string_utf8(env, argv[1], address, sizeof address, &address_length) != napi_ok) return throw_type(env, "send: address must be a string");
  if (napi_get_value_int32(env, argv[2], &port) != napi_ok || port < 1 || port > 65535) return throw_type(env, "send: port must be 1-65535");
  if (napi_get_value_int32(env, argv[3], &ttl) != napi_ok || ttl < 1 || ttl > 255) return throw_type(env, "send: ttl must be 1-255");
  if (napi_get_buffer_info(env, argv[4], &data, &length) != napi_ok) return throw_type(env, "send: payload must be a Buffer");

  struct sockaddr_storage to;
  socklen_t to_length;
  if (socket_address(s->family, address, (uint16_t)port, &to, &to_length) != 0) return throw_errno(env, EINVAL, s->family == AF_INET ? "send: not an IPv4 address" : "send: not an IPv6 address");
  int set = s->family == AF_INET ? setsockopt(s->fd, SOL_IP, IP_TTL, &ttl, sizeof ttl) : setsockopt(s->fd, SOL_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  if (set < 0) return throw_errno(env, errno, "setsockopt(IP_TTL)");
  return send_timed(env, s, data, length, &to, to_length);
}

/** Sets exports.ttlProbe = { open, send, close } (addon.c calls this at load). */
napi_value ttl_probe_init(napi_env env, napi_value exports) {
  polled_socket_export(env, exports, "ttlProbe", open_socket, send_probe);
  return exports;
}
