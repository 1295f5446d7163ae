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
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_PAYLOAD 2048
#define MAX_PER_WAKEUP 64

typedef struct {
  int fd;
  int family;
  uv_poll_t poll;
  napi_env env;
  napi_ref on_message;
  napi_ref self;
  napi_async_context async_context;
  int closed;
} ttl_socket;

static uint64_t timespec_ns(const struct timespec *ts) { return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec; }

static uint64_t clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return timespec_ns(&ts);
}

static napi_value throw_code(napi_env env, int err, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_usage(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static void address_text(const struct sockaddr *address, char *text, size_t size) {
  text[0] = '\0';
  if (address->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)address)->sin_addr, text, size);
  else if (address->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)address)->sin6_addr, text, size);
}

/** The kernel's CLOCK_REALTIME receive stamp moved onto CLOCK_MONOTONIC (both clocks read now). */
static uint64_t received_monotonic(struct msghdr *msg) {
  uint64_t mono = clock_ns(CLOCK_MONOTONIC);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec kernel;
      memcpy(&kernel, CMSG_DATA(c), sizeof kernel);
      uint64_t real = clock_ns(CLOCK_REALTIME);
      uint64_t age = real > timespec_ns(&kernel) ? real - timespec_ns(&kernel) : 0;
      return age < mono ? mono - age : mono;
    }
  }
  return mono;
}

static void deliver(ttl_socket *s, const char *payload, size_t length, const char *from, const char *origin, int type, int code, uint64_t received, int err) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, self, argv[7], result;
  napi_get_reference_value(env, s->on_message, &callback);
  napi_get_reference_value(env, s->self, &self);
  void *copy;
  napi_create_buffer_copy(env, length, payload, &copy, &argv[0]);
  napi_create_string_utf8(env, from, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_string_utf8(env, origin, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, type, &argv[3]);
  napi_create_int32(env, code, &argv[4]);
  napi_create_bigint_uint64(env, received, &argv[5]);
  napi_create_int32(env, err, &argv[6]);
  if (napi_make_callback(env, s->async_context, self, callback, 7, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error); // a throwing handler is a bug: 'uncaughtException', as for any callback
  }
  napi_close_handle_scope(env, scope);
}

/** Reads one message from the error queue (`flags` = MSG_ERRQUEUE) or the receive queue; 0 when empty. */
static int read_one(ttl_socket *s, int flags) {
  char payload[MAX_PAYLOAD];
  char control[512];
  struct sockaddr_storage name;
  struct iovec iov = {payload, sizeof payload};
  struct msghdr msg = {0};
  msg.msg_name = &name;
  msg.msg_namelen = sizeof name;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t length = recvmsg(s->fd, &msg, flags | MSG_DONTWAIT);
  if (length < 0) return 0;
  uint64_t received = received_monotonic(&msg);
  char from[INET6_ADDRSTRLEN] = "";
  if (!(flags & MSG_ERRQUEUE)) {
    address_text((struct sockaddr *)&name, from, sizeof from);
    deliver(s, payload, (size_t)length, from, "reply", 0, 0, received, 0);
    return 1;
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    int v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
    int v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4 && !v6) continue;
    struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(c);
    int icmp = ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6;
    if (icmp) address_text(SO_EE_OFFENDER(ee), from, sizeof from);
    deliver(s, payload, (size_t)length, from, icmp ? "icmp" : "local", ee->ee_type, ee->ee_code, received, (int)ee->ee_errno);
  }
  return 1;
}

static void drain(ttl_socket *s) {
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed && read_one(s, MSG_ERRQUEUE); i++) {
  }
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed && read_one(s, 0); i++) {
  }
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  ttl_socket *s = poll->data;
  if (s->closed) return;
  drain(s);
  // libuv stops a poll handle that reports POLLERR (status UV_EBADF): a queued ICMP error is
  // exactly that here, and has just been read, so the handle is started again.
  if (status < 0 && !s->closed) uv_poll_start(&s->poll, UV_READABLE, on_poll);
}

static void finalize(napi_env env, void *data, void *hint) {
  ttl_socket *s = data;
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
  if (argc < 2 || napi_get_value_int32(env, argv[0], &version) != napi_ok || (version != 4 && version != 6)) return throw_usage(env, "open(family: 4 | 6, onMessage)");
  napi_typeof(env, argv[1], &type);
  if (type != napi_function) return throw_usage(env, "open: onMessage must be a function");

  int family = version == 4 ? AF_INET : AF_INET6;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return throw_code(env, errno, "socket(SOCK_DGRAM, IPPROTO_UDP)");
  int on = 1;
  int recverr = family == AF_INET ? setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof on) : setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on);
  if (recverr < 0 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) {
    int err = errno;
    close(fd);
    return throw_code(env, err, "setsockopt(IP_RECVERR, SO_TIMESTAMPNS)");
  }

  ttl_socket *s = calloc(1, sizeof *s);
  s->fd = fd;
  s->family = family;
  s->env = env;
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_poll);

  napi_value handle, name;
  napi_create_object(env, &handle);
  napi_wrap(env, handle, s, finalize, NULL, NULL);
  napi_create_reference(env, argv[1], 1, &s->on_message);
  napi_create_reference(env, handle, 1, &s->self);
  napi_create_string_utf8(env, "linkmon:ttl-probe", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, handle, name, &s->async_context);
  return handle;
}

static ttl_socket *socket_arg(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ttl_socket *s = NULL;
  if (argc != expected || napi_unwrap(env, argv[0], (void **)&s) != napi_ok) return NULL;
  return s;
}

static napi_value send_probe(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  ttl_socket *s = socket_arg(env, info, 5, argv);
  if (!s) return throw_usage(env, "send(handle, address, port, ttl, payload)");
  if (s->closed) return throw_code(env, EBADF, "send on a closed TTL probe socket");
  char address[INET6_ADDRSTRLEN + 1];
  size_t address_length;
  int32_t port, ttl;
  void *data;
  size_t length;
  if (napi_get_value_string_utf8(env, argv[1], address, sizeof address, &address_length) != napi_ok) return throw_usage(env, "send: address must be a string");
  if (napi_get_value_int32(env, argv[2], &port) != napi_ok || port < 1 || port > 65535) return throw_usage(env, "send: port must be 1-65535");
  if (napi_get_value_int32(env, argv[3], &ttl) != napi_ok || ttl < 1 || ttl > 255) return throw_usage(env, "send: ttl must be 1-255");
  if (napi_get_buffer_info(env, argv[4], &data, &length) != napi_ok) return throw_usage(env, "send: payload must be a Buffer");

  struct sockaddr_storage to = {0};
  socklen_t to_length;
  int set;
  if (s->family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&to;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &in->sin_addr) != 1) return throw_code(env, EINVAL, "send: not an IPv4 address");
    to_length = sizeof *in;
    set = setsockopt(s->fd, SOL_IP, IP_TTL, &ttl, sizeof ttl);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&to;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &in6->sin6_addr) != 1) return throw_code(env, EINVAL, "send: not an IPv6 address");
    to_length = sizeof *in6;
    set = setsockopt(s->fd, SOL_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  }
  if (set < 0) return throw_code(env, errno, "setsockopt(IP_TTL)");
  // With IP_RECVERR every ICMP error also sets the socket's pending error, which the next sendto()
  // would return instead of sending: an earlier probe's answer is not this probe's failure.
  int pending;
  socklen_t pending_length = sizeof pending;
  getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &pending, &pending_length);
  uint64_t sent = clock_ns(CLOCK_MONOTONIC);
  if (sendto(s->fd, data, length, 0, (struct sockaddr *)&to, to_length) < 0) return throw_code(env, errno, "sendto");
  napi_value result;
  napi_create_bigint_uint64(env, sent, &result);
  return result;
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  ttl_socket *s = socket_arg(env, info, 1, argv);
  if (!s) return throw_usage(env, "close(handle)");
  if (s->closed) return NULL;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  napi_async_destroy(env, s->async_context);
  napi_delete_reference(env, s->on_message);
  napi_delete_reference(env, s->self);
  napi_remove_wrap(env, argv[0], NULL);
  s->poll.data = s;
  uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  return NULL;
}

/** Sets exports.ttlProbe = { open, send, close } (addon.c calls this at load). */
napi_value ttl_probe_init(napi_env env, napi_value exports) {
  napi_value object;
  napi_create_object(env, &object);
  napi_property_descriptor methods[] = {
      {"open", NULL, open_socket, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, send_probe, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_socket, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, object, sizeof methods / sizeof methods[0], methods);
  napi_set_named_property(env, exports, "ttlProbe", object);
  return exports;
}
