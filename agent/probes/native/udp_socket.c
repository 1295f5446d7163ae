// A connected UDP socket whose received datagrams carry the kernel's receive time.
//
// node:dgram reads with recvmmsg() inside libuv and hands a datagram to JavaScript when the event
// loop gets to it, so a receive time taken there includes however long the loop was busy (a
// /metrics render, another probe's callbacks). Here the socket asks for SO_TIMESTAMPNS and is read
// with recvmsg(), so the time is when the datagram reached the socket, as for ICMP (icmp_socket.c).
// The payload is opaque: any request/reply protocol over UDP (linkmon's probe packets, STAMP) can
// use it (agent/probes/timestamped-udp.ts is the TypeScript side).
//
// JavaScript API (N-API, exports.udp):
//   open(family: 4 | 6, onEvent, options?) -> handle
//     options: the module's { dscp?, device?, source? } (socket_options.h), set before connect, so
//     every datagram carries them
//     onEvent(packet: Buffer, receivedNs: bigint, undefined) for a datagram;
//     onEvent(undefined, receivedNs, code: string) for a receive error on the connected socket
//       (an ICMP port unreachable from the peer comes back as ECONNREFUSED)
//   connect(handle, address: string, port: number)       connect(2): no packet is sent
//   send(handle, packet: Buffer) -> bigint               CLOCK_MONOTONIC ns just before sending
//   close(handle)
// Times are CLOCK_MONOTONIC nanoseconds (process.hrtime.bigint()); errors thrown carry `code`.
// Datagrams are read into polled_socket.h's 4 KiB buffer: probe packets are at most 1472 bytes.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>
#include "polled_socket.h"
#include "socket_options.h"

#define MAX_PER_WAKEUP 64

static void deliver(polled_socket *s, const received_message *m, int err) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[3];
  void *copy;
  napi_get_undefined(env, &argv[0]);
  napi_get_undefined(env, &argv[2]);
  if (err == 0) napi_create_buffer_copy(env, m->length, m->data, &copy, &argv[0]);
  else napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_bigint_uint64(env, err == 0 ? m->received_ns : clock_ns(CLOCK_MONOTONIC), &argv[1]);
  polled_socket_call(s, 3, argv);
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  polled_socket *s = poll->data;
  if (s->closed) return;
  received_message m;
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed; i++) {
    errno = 0;
    if (receive_message(s, 0, &m)) {
      deliver(s, &m, 0);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == 0) break;
    if (errno != EINTR) deliver(s, &m, errno); // reading it cleared the socket's pending error
  }
  // A pending socket error (an ICMP port unreachable) is POLLERR, on which libuv stops the handle
  // (status UV_EBADF); it has just been read, so polling starts again (as in ttl_probe.c).
  if (status < 0 && !s->closed) uv_poll_start(&s->poll, UV_READABLE, on_readable);
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  int family;
  napi_value callback, options_arg;
  if (polled_socket_open_args(env, info, "open(family: 4 | 6, onEvent, options?)", &family, &callback, &options_arg) < 0) return NULL;
  native_socket_options options;
  if (native_read_socket_options(env, options_arg, family, 1, &options) < 0) return NULL;
  int fd = timestamped_socket(family, SOCK_DGRAM, IPPROTO_UDP);
  if (fd < 0) return throw_errno(env, errno, "socket(SOCK_DGRAM) with SO_TIMESTAMPNS");
  const char *what = NULL;
  int err = native_apply_socket_options(fd, family, &options, &what);
  if (err) {
    close(fd);
    return throw_errno(env, err, what);
  }
  return polled_socket_start(env, fd, family, callback, "linkmon:udp", on_readable);
}

static napi_value connect_socket(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  polled_socket *s = polled_socket_arg(env, info, 3, argv);
  if (!s) return throw_type(env, "connect(handle, address, port)");
  if (s->closed) return throw_errno(env, EBADF, "connect on a closed UDP socket");
  char address[64];
  size_t address_length;
  int32_t port;
  if (napi_get_value_string_utf8(env, argv[1], address, sizeof address, &address_length) != napi_ok) return throw_type(env, "connect: address must be a string");
  if (napi_get_value_int32(env, argv[2], &port) != napi_ok || port < 1 || port > 65535) return throw_type(env, "connect: port must be 1-65535");
  struct sockaddr_storage to;
  socklen_t to_length;
  if (socket_address(s->family, address, (uint16_t)port, &to, &to_length) != 0) return throw_errno(env, EINVAL, "connect: not an address of the socket's family");
  if (connect(s->fd, (struct sockaddr *)&to, to_length) < 0) return throw_errno(env, errno, "connect");
  return NULL;
}

static napi_value send_packet(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  polled_socket *s = polled_socket_arg(env, info, 2, argv);
  if (!s) return throw_type(env, "send(handle, packet)");
  if (s->closed) return throw_errno(env, EBADF, "send on a closed UDP socket");
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) return throw_type(env, "send: packet must be a Buffer");
  // To the connected peer: sendto() without an address is send().
  return send_timed(env, s, data, length, NULL, 0);
}

/** Sets exports.udp = { open, connect, send, close } (addon.c calls this at load). */
napi_value udp_socket_init(napi_env env, napi_value exports) {
  polled_socket_export(env, exports, "udp", open_socket, send_packet);
  napi_value udp, connect_method;
  napi_get_named_property(env, exports, "udp", &udp);
  napi_create_function(env, "connect", NAPI_AUTO_LENGTH, connect_socket, NULL, &connect_method);
  napi_set_named_property(env, udp, "connect", connect_method);
  return exports;
}
