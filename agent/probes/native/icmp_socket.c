// ICMP/ICMPv6 sockets for linkmon's ICMP prober with kernel receive timestamps: raw sockets
// (root or CAP_NET_RAW) and unprivileged ping sockets (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6; allowed
// when the process's group is in the network namespace's net.ipv4.ping_group_range).
//
// raw-socket (net-ping's transport) reads with recvfrom(), so a reply can only be timestamped
// when JavaScript runs, after the event loop wakes up: ~0.1 ms late on an idle VM, milliseconds
// on a busy one. This addon asks the kernel for SO_TIMESTAMPNS and reads with recvmsg(), so the
// receive time is when the packet reached the socket, as fping and ping measure it.
//
// A ping socket differs from a raw one in what it hands back: the kernel sets the echo identifier
// to the socket's port (returned as handle.identifier), delivers only the replies to that
// identifier, without the IPv4 header, and reports ICMP errors about our requests on the socket's
// error queue (IP_RECVERR / IPV6_RECVERR) instead of as packets.
//
// JavaScript API (N-API, exports.icmp; see agent/probes/icmp/socket-kernel.ts):
//   open(family: 4 | 6, type: "raw" | "ping", onMessage, options?: { dscp?, device?, source? })
//     -> handle ({ identifier } for a ping socket); options: the module's (socket_options.h)
//     onMessage(packet: Buffer, source: string, receivedNs: bigint, queuedError?)
//       a packet as received; or, from a ping socket's error queue, the request an ICMP error
//       quoted (ICMP header first), who sent the error, and queuedError = { type, code, destination }
//   send(handle, packet: Buffer, address: string) -> bigint   CLOCK_MONOTONIC ns just before sendto()
//   close(handle)
// Times are CLOCK_MONOTONIC nanoseconds, the clock of process.hrtime.bigint(). Errors thrown
// carry `code` (e.g. "EPERM"), never only a message.
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include "polled_socket.h"
#include "socket_options.h"

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

static void deliver(polled_socket *s, received_message *m) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[4];
  size_t argc = 3;
  void *copy;
  char source[INET6_ADDRSTRLEN];
  const struct sock_extended_err *error = queued_error(m);
  if (error && error->ee_origin != SO_EE_ORIGIN_ICMP && error->ee_origin != SO_EE_ORIGIN_ICMP6) {
    napi_close_handle_scope(env, scope); // a local error (e.g. EMSGSIZE): sendto() already returned it
    return;
  }
  // A queued error's sender is the router or host that sent it; its msg_name is our request's destination.
  address_text(error ? SO_EE_OFFENDER(error) : (struct sockaddr *)&m->from, source, sizeof source);
  napi_create_buffer_copy(env, m->length, m->data, &copy, &argv[0]);
  napi_create_string_utf8(env, source, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_bigint_uint64(env, m->received_ns, &argv[2]);
  if (error) {
    char destination[INET6_ADDRSTRLEN];
    address_text((struct sockaddr *)&m->from, destination, sizeof destination);
    napi_value value;
    napi_create_object(env, &argv[3]);
    napi_create_uint32(env, error->ee_type, &value);
    napi_set_named_property(env, argv[3], "type", value);
    napi_create_uint32(env, error->ee_code, &value);
    napi_set_named_property(env, argv[3], "code", value);
    napi_create_string_utf8(env, destination, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, argv[3], "destination", value);
    argc = 4;
  }
  polled_socket_call(s, argc, argv);
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  polled_socket *s = poll->data;
  if (s->closed) return;
  received_message m;
  // libuv stops a poll handle that reports POLLERR (status UV_EBADF): a ping socket's queued ICMP
  // error, or an error an ICMP message left pending on a raw socket ("administratively
  // prohibited"). Read the queue (empty on a raw socket), clear the pending error, poll again.
  if (status < 0) {
    for (int i = 0; i < MAX_PER_WAKEUP && !s->closed && receive_message(s, MSG_ERRQUEUE, &m); i++) deliver(s, &m);
    if (s->closed) return; // closed by JavaScript run from a callback
    clear_pending_error(s->fd);
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
  }
  // Stops when drained (EAGAIN); on any other error the next readable event retries.
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed && receive_message(s, 0, &m); i++) deliver(s, &m);
}

/**
 * A raw or ping socket of `family` with the module's options (DSCP, device, source), or -1 with
 * errno and `*what` naming the call that failed. A ping socket is always bound (to the source or
 * any address, port 0: the kernel picks a free echo identifier, which is its port) and reports
 * ICMP errors on its error queue.
 */
static int open_fd(int family, int ping, const native_socket_options *options, const char **what) {
  *what = NULL;
  int fd = timestamped_socket(family, ping ? SOCK_DGRAM : SOCK_RAW, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
  if (fd < 0) return -1;
  native_socket_options effective = *options;
  if (ping && effective.source_length == 0) {
    memset(&effective.source, 0, sizeof effective.source);
    effective.source.ss_family = family;
    effective.source_length = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  }
  int on = 1, err = 0;
  if (ping && setsockopt(fd, family == AF_INET ? SOL_IP : SOL_IPV6, family == AF_INET ? IP_RECVERR : IPV6_RECVERR, &on, sizeof on) < 0) {
    err = errno;
    *what = "setsockopt(IP_RECVERR)";
  }
  if (!err) err = native_apply_socket_options(fd, family, &effective, what);
  if (err) {
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "open(family: 4 | 6, type: 'raw' | 'ping', onMessage: function, options?)";
  int32_t version;
  char type_name[8];
  size_t type_length;
  napi_valuetype callback_type = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &callback_type);
  if (argc < 3 || napi_get_value_int32(env, argv[0], &version) != napi_ok || (version != 4 && version != 6) || callback_type != napi_function ||
      napi_get_value_string_utf8(env, argv[1], type_name, sizeof type_name, &type_length) != napi_ok || (strcmp(type_name, "raw") != 0 && strcmp(type_name, "ping") != 0)) {
    return throw_type(env, usage);
  }
  int family = version == 4 ? AF_INET : AF_INET6;
  int ping = strcmp(type_name, "ping") == 0;
  native_socket_options options;
  if (native_read_socket_options(env, argc == 4 ? argv[3] : NULL, family, 1, &options) < 0) return NULL;
  const char *failed;
  int fd = open_fd(family, ping, &options, &failed);
  if (fd < 0) {
    char what[96];
    if (failed) snprintf(what, sizeof what, "%s socket: %s", ping ? "ping" : "raw", failed);
    else snprintf(what, sizeof what, "socket(%s, %s, %s)", family == AF_INET ? "AF_INET" : "AF_INET6", ping ? "SOCK_DGRAM" : "SOCK_RAW", family == AF_INET ? "IPPROTO_ICMP" : "IPPROTO_ICMPV6");
    return throw_errno(env, errno, what);
  }
  int size = RECEIVE_BUFFER_BYTES;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  int identifier = -1;
  if (ping) {
    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, err, "getsockname on a ping socket");
    }
    identifier = ntohs(family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port : ((struct sockaddr_in6 *)&bound)->sin6_port);
  } else {
    filter_in_kernel(fd, family); // a ping socket gets only its own replies anyway
  }
  napi_value handle = polled_socket_start(env, fd, family, argv[2], "linkmon:icmp", on_readable);
  if (ping) {
    napi_value id;
    napi_create_int32(env, identifier, &id);
    napi_set_named_property(env, handle, "identifier", id);
  }
  return handle;
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
