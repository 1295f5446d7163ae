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
#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

// From <net/if.h>, which clashes with <linux/icmp.h>'s <linux/if.h>.
extern unsigned int if_nametoindex(const char *ifname);

#define RECEIVE_BUFFER_BYTES (1 << 20)
#define MAX_PACKET 4096
#define MAX_PER_WAKEUP 64

typedef struct {
  int fd;
  int family;
  uv_poll_t poll;
  napi_env env;
  napi_ref on_packet;
  napi_ref self;
  napi_async_context async_context;
  int closed;
} icmp_socket;

static uint64_t ns_of(const struct timespec *ts) { return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec; }

static uint64_t now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ns_of(&ts);
}

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

// Only echo replies and the errors that can quote an echo request wake us up.
static void filter_in_kernel(icmp_socket *s) {
  if (s->family == AF_INET) {
    struct icmp_filter filter = {~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) | (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB))};
    setsockopt(s->fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
  } else {
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &filter);
    ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &filter);
    setsockopt(s->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
  }
}

static void deliver(icmp_socket *s, const char *data, size_t length, const char *source, uint64_t received_ns) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, self, argv[3], result;
  napi_get_reference_value(env, s->on_packet, &callback);
  napi_get_reference_value(env, s->self, &self);
  void *copy;
  napi_create_buffer_copy(env, length, data, &copy, &argv[0]);
  napi_create_string_utf8(env, source, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_bigint_uint64(env, received_ns, &argv[2]);
  // make_callback (not call_function) so promise reactions and nextTicks run afterwards, as for any I/O callback.
  if (napi_make_callback(env, s->async_context, self, callback, 3, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error); // an exception in the handler is a bug: 'uncaughtException', as for any callback
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  icmp_socket *s = poll->data;
  if (status < 0 || s->closed) return;
  char data[MAX_PACKET];
  char control[256];
  struct sockaddr_storage from;
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed; i++) {
    struct iovec iov = {data, sizeof data};
    struct msghdr msg = {0};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t length = recvmsg(s->fd, &msg, MSG_DONTWAIT);
    if (length < 0) return; // EAGAIN: drained; anything else: the next readable event retries
    // The kernel stamps CLOCK_REALTIME; move it onto CLOCK_MONOTONIC with the two clocks read now
    // (a clock step between arrival and now, microseconds apart, is the only way to get this wrong).
    uint64_t mono = now_ns(CLOCK_MONOTONIC);
    uint64_t received = mono;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec kernel;
        memcpy(&kernel, CMSG_DATA(c), sizeof kernel);
        uint64_t real = now_ns(CLOCK_REALTIME);
        uint64_t age = real > ns_of(&kernel) ? real - ns_of(&kernel) : 0;
        if (age < mono) received = mono - age;
      }
    }
    char source[INET6_ADDRSTRLEN] = "";
    if (from.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, source, sizeof source);
    else if (from.ss_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, source, sizeof source);
    deliver(s, data, (size_t)length, source, received);
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  icmp_socket *s = data;
  if (!s->closed) {
    // Unreachable in practice: the JavaScript side closes before dropping the handle.
    s->closed = 1;
    uv_poll_stop(&s->poll);
    close(s->fd);
  }
}

static void on_poll_closed(uv_handle_t *handle) { free(handle->data); }

static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t version;
  napi_valuetype type;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &version) != napi_ok || (version != 4 && version != 6)) return throw_type(env, "open(family: 4 | 6, onPacket)");
  napi_typeof(env, argv[1], &type);
  if (type != napi_function) return throw_type(env, "open: onPacket must be a function");

  int family = version == 4 ? AF_INET : AF_INET6;
  int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, version == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
  if (fd < 0) return throw_errno(env, errno, version == 4 ? "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)" : "socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)");
  int on = 1, size = RECEIVE_BUFFER_BYTES;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "setsockopt(SO_TIMESTAMPNS)");
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);

  icmp_socket *s = calloc(1, sizeof *s);
  s->fd = fd;
  s->family = family;
  s->env = env;
  filter_in_kernel(s);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);

  napi_value handle, name;
  napi_create_object(env, &handle);
  napi_wrap(env, handle, s, finalize, NULL, NULL);
  napi_create_reference(env, argv[1], 1, &s->on_packet);
  napi_create_reference(env, handle, 1, &s->self);
  napi_create_string_utf8(env, "linkmon:icmp", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, handle, name, &s->async_context);
  return handle;
}

/** The socket behind argv[0] of a call that takes exactly `expected` arguments (into argv), or NULL. */
static icmp_socket *socket_arg(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  icmp_socket *s = NULL;
  if (argc != expected || napi_unwrap(env, argv[0], (void **)&s) != napi_ok) return NULL;
  return s;
}

static napi_value send_packet(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  icmp_socket *s = socket_arg(env, info, 3, argv);
  if (!s) return throw_type(env, "send(handle, packet, address)");
  if (s->closed) return throw_errno(env, EBADF, "send on a closed ICMP socket");
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) return throw_type(env, "send: packet must be a Buffer");
  char address[INET6_ADDRSTRLEN + 1];
  size_t address_length;
  if (napi_get_value_string_utf8(env, argv[2], address, sizeof address, &address_length) != napi_ok) return throw_type(env, "send: address must be a string");

  struct sockaddr_storage to = {0};
  socklen_t to_length;
  if (s->family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&to;
    in->sin_family = AF_INET;
    if (inet_pton(AF_INET, address, &in->sin_addr) != 1) return throw_errno(env, EINVAL, "send: not an IPv4 address");
    to_length = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&to;
    in6->sin6_family = AF_INET6;
    char *zone = strchr(address, '%');
    if (zone) {
      *zone = '\0';
      in6->sin6_scope_id = if_nametoindex(zone + 1);
    }
    if (inet_pton(AF_INET6, address, &in6->sin6_addr) != 1) return throw_errno(env, EINVAL, "send: not an IPv6 address");
    to_length = sizeof *in6;
  }
  uint64_t sent = now_ns(CLOCK_MONOTONIC);
  if (sendto(s->fd, data, length, 0, (struct sockaddr *)&to, to_length) < 0) return throw_errno(env, errno, "sendto");
  napi_value result;
  napi_create_bigint_uint64(env, sent, &result);
  return result;
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  icmp_socket *s = socket_arg(env, info, 1, argv);
  if (!s) return throw_type(env, "close(handle)");
  if (s->closed) return NULL;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  napi_async_destroy(env, s->async_context);
  napi_delete_reference(env, s->on_packet);
  napi_delete_reference(env, s->self);
  napi_remove_wrap(env, argv[0], NULL);
  s->poll.data = s;
  uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  return NULL;
}

/** Sets exports.icmp = { open, send, close } (addon.c calls this at load). */
napi_value icmp_socket_init(napi_env env, napi_value exports) {
  napi_value icmp;
  napi_create_object(env, &icmp);
  napi_property_descriptor methods[] = {
      {"open", NULL, open_socket, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, send_packet, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_socket, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, icmp, sizeof methods / sizeof methods[0], methods);
  napi_set_named_property(env, exports, "icmp", icmp);
  return exports;
}
