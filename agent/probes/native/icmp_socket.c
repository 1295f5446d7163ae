// Raw ICMP/ICMPv6 socket for linkmon's ICMP prober with kernel receive timestamps.
//
// raw-socket (net-ping's transport) reads with recvfrom(), so a reply can only be timestamped
// when JavaScript runs, after the event loop wakes up: ~0.1 ms late on an idle VM, milliseconds
// on a busy one. This addon asks the kernel for SO_TIMESTAMPNS and reads with recvmsg(), so the
// receive time is when the packet reached the socket, as fping and ping measure it.
//
// JavaScript API (N-API, exports.icmp; see agent/probes/icmp/socket-kernel.ts):
//   open(family: 4 | 6, onPacket: (packet: Buffer, source: string, receivedNs: bigint) => void) -> handle
//   send(handle, packet: Buffer, address: string) -> bigint   CLOCK_MONOTONIC ns just before sendto()
//   close(handle)
// Times are CLOCK_MONOTONIC nanoseconds, the clock of process.hrtime.bigint(). Errors thrown
// carry `code` (e.g. "EPERM"), never only a message.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include "polled_socket.h"

#define RECEIVE_BUFFER_BYTES (1 << 20)
#define MAX_PER_WAKEUP 64

// Only echo replies and the errors that can quote an echo request wake us up.
static void filter_in_kernel(int fd, int family) {
  if (family == AF_INET) {
    struct icmp_filter filter = {~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) | (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB))};
    setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
  } else {
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &filter);
    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
  }
}

static void deliver(polled_socket *s, const char *data, size_t length, const char *source, uint64_t received_ns) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[3];
  void *copy;
  napi_create_buffer_copy(env, length, data, &copy, &argv[0]);
  napi_create_string_utf8(env, source, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_bigint_uint64(env, received_ns, &argv[2]);
  polled_socket_call(s, 3, argv);
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  polled_socket *s = poll->data;
  if (status < 0 || s->closed) return;
  received_message m;
  // Stops when drained (EAGAIN); on any other error the next readable event retries.
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed && receive_message(s, 0, &m); i++) {
    char source[INET6_ADDRSTRLEN];
    address_text((struct sockaddr *)&m.from, source, sizeof source);
    deliver(s, m.data, m.length, source, m.received_ns);
  }
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  int family;
  napi_value on_packet;
  if (polled_socket_open_args(env, info, "open(family: 4 | 6, onPacket: function)", &family, &on_packet) != 0) return NULL;
  int fd = timestamped_socket(family, SOCK_RAW, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
  if (fd < 0) return throw_errno(env, errno, family == AF_INET ? "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)" : "socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)");
  int size = RECEIVE_BUFFER_BYTES;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  filter_in_kernel(fd, family);
  return polled_socket_start(env, fd, family, on_packet, "linkmon:icmp", on_readable);
}

static napi_value send_packet(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  polled_socket *s = polled_socket_arg(env, info, 3, argv);
  if (!s) return throw_type(env, "send(handle, packet, address)");
  if (s->closed) return throw_errno(env, EBADF, "send on a closed ICMP socket");
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) return throw_type(env, "send: packet must be a Buffer");
  char address[INET6_ADDRSTRLEN + 1];
  size_t address_length;
  if (napi_get_value_string_utf8(env, argv[2], address, sizeof address, &address_length) != napi_ok) return throw_type(env, "send: address must be a string");

  struct sockaddr_storage to;
  socklen_t to_length;
  if (socket_address(s->family, address, 0, &to, &to_length) != 0) return throw_errno(env, EINVAL, s->family == AF_INET ? "send: not an IPv4 address" : "send: not an IPv6 address");
  return send_timed(env, s, data, length, &to, to_length);
}

/** Sets exports.icmp = { open, send, close } (addon.c calls this at load). */
napi_value icmp_socket_init(napi_env env, napi_value exports) {
  polled_socket_export(env, exports, "icmp", open_socket, send_packet);
  return exports;
}
