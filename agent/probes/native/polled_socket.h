// What the addon's sockets share (icmp_socket.c, ttl_probe.c): a non-blocking socket that libuv
// polls and JavaScript holds as a wrapped object, its callback, kernel receive timestamps on the
// monotonic clock, and errors thrown with a `code`.
#ifndef LINKMON_POLLED_SOCKET_H
#define LINKMON_POLLED_SOCKET_H

#include <node_api.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h> // before linux/errqueue.h, which uses struct timespec
#include <linux/errqueue.h>
#include <uv.h>

typedef struct {
  int fd;
  int family;
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_ref self;
  napi_async_context async_context;
  int closed;
} polled_socket;

uint64_t clock_ns(clockid_t clock);

/** Throws an Error whose `code` is the errno's name (e.g. "EPERM"); returns NULL for the caller to return. */
napi_value throw_errno(napi_env env, int err, const char *what);
napi_value throw_type(napi_env env, const char *message);

/**
 * The kernel's SO_TIMESTAMPNS receive stamp of `msg` (CLOCK_REALTIME) moved onto CLOCK_MONOTONIC
 * with both clocks read now (a clock step in the microseconds between is the only way to get this
 * wrong); now when the message carries no stamp.
 */
uint64_t received_monotonic(struct msghdr *msg);

/** One message read from a socket: its data, its sender, its control messages, when it arrived. */
typedef struct {
  char data[4096];
  char control[512];
  struct sockaddr_storage from;
  struct iovec iov;
  struct msghdr msg;
  size_t length;
  /** received_monotonic() of the message. */
  uint64_t received_ns;
} received_message;

/** recvmsg(MSG_DONTWAIT | flags) into `m`: 1 when a message was read, 0 when none was waiting (or on error). */
int receive_message(polled_socket *s, int flags, received_message *m);

/**
 * The error of a message read from the error queue (its IP_RECVERR / IPV6_RECVERR control
 * message: origin, ICMP type and code, SO_EE_OFFENDER), or NULL when it carries none.
 */
const struct sock_extended_err *queued_error(received_message *m);

/**
 * Reads (and so clears) the socket's pending error. With IP_RECVERR every ICMP error sets it, and
 * on a raw socket some ICMP errors do ("administratively prohibited"); the next sendto() would
 * return it instead of sending, blaming an earlier packet's answer on this one.
 */
void clear_pending_error(int fd);

/** The printable address of an IPv4 or IPv6 socket address; "" otherwise. */
void address_text(const struct sockaddr *address, char *text, size_t size);

/**
 * The (family: 4 | 6, callback[, options]) arguments of an open() call, or -1 with a TypeError
 * thrown (`usage` shows the call). `options` NULL: the call takes none; else set to the third
 * argument, or NULL when it was not given.
 */
int polled_socket_open_args(napi_env env, napi_callback_info info, const char *usage, int *family, napi_value *callback, napi_value *options);

/** socket(family, type, protocol), non-blocking, with SO_TIMESTAMPNS on: the fd, or -1 with errno set. */
int timestamped_socket(int family, int type, int protocol);

/**
 * Hands socket `fd` of `family` to JavaScript: a new object wrapping its polled_socket, `callback`
 * kept for polled_socket_call, and the fd polled for reading with `on_poll` (poll.data is the
 * polled_socket).
 */
napi_value polled_socket_start(napi_env env, int fd, int family, napi_value callback, const char *resource_name, uv_poll_cb on_poll);

/** The socket behind argv[0] of a call that takes exactly `expected` arguments (into argv), or NULL. */
polled_socket *polled_socket_arg(napi_env env, napi_callback_info info, size_t expected, napi_value *argv);

/**
 * Calls the JavaScript callback with argv (inside the caller's handle scope), as an I/O callback:
 * promise reactions and nextTicks run afterwards, and an exception it throws is a bug
 * ('uncaughtException').
 */
void polled_socket_call(polled_socket *s, size_t argc, napi_value *argv);

/**
 * `address` (IPv4, or IPv6 with an optional %zone) and `port` as a socket address of `family`;
 * EINVAL when it is not one. `address` is modified (the zone is cut off).
 */
int socket_address(int family, char *address, uint16_t port, struct sockaddr_storage *to, socklen_t *to_length);

/**
 * sendto() on `s` after clear_pending_error(), returning (as a BigInt) the CLOCK_MONOTONIC ns read
 * just before; throws with `code` on failure.
 */
napi_value send_timed(napi_env env, polled_socket *s, const void *data, size_t length, const struct sockaddr_storage *to, socklen_t to_length);

/** Sets exports[name] = { open, send, close }, close being polled_socket's own. */
void polled_socket_export(napi_env env, napi_value exports, const char *name, napi_callback open, napi_callback send);

/** Sets exports[space] = { [name]: fn }: a feature that exports one function. */
void export_function(napi_env env, napi_value exports, const char *space, const char *name, napi_callback fn);

#endif
