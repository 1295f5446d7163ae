// See polled_socket.h.
#define _GNU_SOURCE
#include "polled_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// From <net/if.h>, which clashes with <linux/icmp.h>'s <linux/if.h> in icmp_socket.c.
extern unsigned int if_nametoindex(const char *ifname);

static uint64_t timespec_ns(const struct timespec *ts) { return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec; }

uint64_t clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return timespec_ns(&ts);
}

napi_value throw_errno(napi_env env, int err, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

uint64_t received_monotonic(struct msghdr *msg) {
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

int receive_message(polled_socket *s, int flags, received_message *m) {
  m->iov.iov_base = m->data;
  m->iov.iov_len = sizeof m->data;
  memset(&m->msg, 0, sizeof m->msg);
  m->msg.msg_name = &m->from;
  m->msg.msg_namelen = sizeof m->from;
  m->msg.msg_iov = &m->iov;
  m->msg.msg_iovlen = 1;
  m->msg.msg_control = m->control;
  m->msg.msg_controllen = sizeof m->control;
  ssize_t length = recvmsg(s->fd, &m->msg, flags | MSG_DONTWAIT);
  if (length < 0) return 0;
  m->length = (size_t)length;
  m->received_ns = received_monotonic(&m->msg);
  return 1;
}

const struct sock_extended_err *queued_error(received_message *m) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m->msg); c; c = CMSG_NXTHDR(&m->msg, c)) {
    int v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
    int v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (v4 || v6) return (const struct sock_extended_err *)CMSG_DATA(c);
  }
  return NULL;
}

void clear_pending_error(int fd) {
  int pending;
  socklen_t length = sizeof pending;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length);
}

void address_text(const struct sockaddr *address, char *text, size_t size) {
  text[0] = '\0';
  if (address->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)address)->sin_addr, text, size);
  else if (address->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)address)->sin6_addr, text, size);
}

int socket_address(int family, char *address, uint16_t port, struct sockaddr_storage *to, socklen_t *to_length) {
  memset(to, 0, sizeof *to);
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)to;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    *to_length = sizeof *in;
    return inet_pton(AF_INET, address, &in->sin_addr) == 1 ? 0 : EINVAL;
  }
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)to;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  char *zone = strchr(address, '%');
  if (zone) {
    *zone = '\0';
    in6->sin6_scope_id = if_nametoindex(zone + 1);
  }
  *to_length = sizeof *in6;
  return inet_pton(AF_INET6, address, &in6->sin6_addr) == 1 ? 0 : EINVAL;
}

napi_value send_timed(napi_env env, polled_socket *s, const void *data, size_t length, const struct sockaddr_storage *to, socklen_t to_length) {
  clear_pending_error(s->fd);
  uint64_t sent = clock_ns(CLOCK_MONOTONIC);
  if (sendto(s->fd, data, length, 0, (const struct sockaddr *)to, to_length) < 0) return throw_errno(env, errno, "sendto");
  napi_value result;
  napi_create_bigint_uint64(env, sent, &result);
  return result;
}

int polled_socket_open_args(napi_env env, napi_callback_info info, const char *usage, int *family, napi_value *callback, napi_value *options) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t version;
  napi_valuetype type = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &type);
  int argc_ok = argc == 2 || (argc == 3 && options != NULL);
  if (!argc_ok || napi_get_value_int32(env, argv[0], &version) != napi_ok || (version != 4 && version != 6) || type != napi_function) {
    throw_type(env, usage);
    return -1;
  }
  *family = version == 4 ? AF_INET : AF_INET6;
  *callback = argv[1];
  if (options) *options = argc == 3 ? argv[2] : NULL;
  return 0;
}

int timestamped_socket(int family, int type, int protocol) {
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -1;
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static void finalize(napi_env env, void *data, void *hint) {
  polled_socket *s = data;
  if (!s->closed) {
    // Unreachable in practice: the JavaScript side closes before dropping the handle.
    s->closed = 1;
    uv_poll_stop(&s->poll);
    close(s->fd);
  }
}

static void on_poll_closed(uv_handle_t *handle) { free(handle->data); }

napi_value polled_socket_start(napi_env env, int fd, int family, napi_value callback, const char *resource_name, uv_poll_cb on_poll) {
  polled_socket *s = calloc(1, sizeof *s);
  s->fd = fd;
  s->family = family;
  s->env = env;
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, s->fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_poll);

  napi_value handle, name;
  napi_create_object(env, &handle);
  napi_wrap(env, handle, s, finalize, NULL, NULL);
  napi_create_reference(env, callback, 1, &s->callback);
  napi_create_reference(env, handle, 1, &s->self);
  napi_create_string_utf8(env, resource_name, NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, handle, name, &s->async_context);
  return handle;
}

polled_socket *polled_socket_arg(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  polled_socket *s = NULL;
  if (argc != expected || napi_unwrap(env, argv[0], (void **)&s) != napi_ok) return NULL;
  return s;
}

void polled_socket_call(polled_socket *s, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value callback, self, result;
  napi_get_reference_value(env, s->callback, &callback);
  napi_get_reference_value(env, s->self, &self);
  if (napi_make_callback(env, s->async_context, self, callback, argc, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

void polled_socket_close(napi_env env, polled_socket *s, napi_value handle) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  napi_async_destroy(env, s->async_context);
  napi_delete_reference(env, s->callback);
  napi_delete_reference(env, s->self);
  napi_remove_wrap(env, handle, NULL);
  s->poll.data = s;
  uv_close((uv_handle_t *)&s->poll, on_poll_closed);
}

static napi_value close_method(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  polled_socket *s = polled_socket_arg(env, info, 1, argv);
  if (!s) return throw_type(env, "close(handle)");
  polled_socket_close(env, s, argv[0]);
  return NULL;
}

void polled_socket_export(napi_env env, napi_value exports, const char *name, napi_callback open, napi_callback send) {
  napi_value object;
  napi_create_object(env, &object);
  napi_property_descriptor methods[] = {
      {"open", NULL, open, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_method, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, object, sizeof methods / sizeof methods[0], methods);
  napi_set_named_property(env, exports, name, object);
}

void export_function(napi_env env, napi_value exports, const char *space, const char *name, napi_callback fn) {
  napi_value object;
  napi_create_object(env, &object);
  napi_property_descriptor method = {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL};
  napi_define_properties(env, object, 1, &method);
  napi_set_named_property(env, exports, space, object);
}
