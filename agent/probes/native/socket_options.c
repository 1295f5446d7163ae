// Per-module socket options of the probes: DSCP, interface and source address (issue #14).
//
// node:net and node:dgram set neither IP_TOS nor SO_BINDTODEVICE, and must set them before the
// first packet (a TCP probe's SYN is its measurement). The addon's own sockets (ICMP, UDP) apply
// them at open; sockets Node creates get them through sockopt.apply(fd, ...), called on the fd
// between bind() and connect() (agent/probes/socket-options.ts).
//
// JavaScript API (N-API, exports.sockopt):
//   apply(fd: number, family: 4 | 6, options: { dscp?: number, device?: string }) -> undefined
// Errors thrown carry `code` (ENODEV for an unknown interface, EPERM...).
#define _GNU_SOURCE
#include "socket_options.h"
#include "polled_socket.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/** Throws a TypeError; -1 for the caller to return. */
static int reject(napi_env env, const char *message) {
  throw_type(env, message);
  return -1;
}

/** The named property if present and not undefined; NULL otherwise. */
static napi_value property(napi_env env, napi_value object, const char *name) {
  bool has = false;
  napi_value value;
  napi_valuetype type;
  if (napi_has_named_property(env, object, name, &has) != napi_ok || !has) return NULL;
  napi_get_named_property(env, object, name, &value);
  napi_typeof(env, value, &type);
  return type == napi_undefined ? NULL : value;
}

int native_read_socket_options(napi_env env, napi_value object, int family, int allow_source, native_socket_options *out) {
  memset(out, 0, sizeof *out);
  out->dscp = -1;
  napi_valuetype type = napi_undefined;
  if (object) napi_typeof(env, object, &type);
  if (type == napi_undefined) return 0;
  if (type != napi_object) return reject(env, "socket options must be an object");
  napi_value dscp = property(env, object, "dscp");
  if (dscp) {
    int32_t value;
    if (napi_get_value_int32(env, dscp, &value) != napi_ok || value < 0 || value > 63) return reject(env, "dscp must be an integer from 0 to 63");
    out->dscp = value;
  }
  napi_value device = property(env, object, "device");
  if (device) {
    char name[64];
    size_t length;
    if (napi_get_value_string_utf8(env, device, name, sizeof name, &length) != napi_ok || length == 0 || length >= sizeof out->device) {
      return reject(env, "device must be an interface name of 1 to 15 characters");
    }
    memcpy(out->device, name, length + 1);
  }
  napi_value source = property(env, object, "source");
  if (source) {
    char text[INET6_ADDRSTRLEN + 1];
    size_t length;
    if (!allow_source || napi_get_value_string_utf8(env, source, text, sizeof text, &length) != napi_ok) return reject(env, "source must be an IP address string");
    if (family == AF_INET) {
      struct sockaddr_in *in = (struct sockaddr_in *)&out->source;
      in->sin_family = AF_INET;
      if (inet_pton(AF_INET, text, &in->sin_addr) != 1) return reject(env, "source must be an IPv4 address for an IPv4 socket");
      out->source_length = sizeof *in;
    } else {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->source;
      in6->sin6_family = AF_INET6;
      if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1) return reject(env, "source must be an IPv6 address for an IPv6 socket");
      out->source_length = sizeof *in6;
    }
  }
  return 0;
}

int native_apply_socket_options(int fd, int family, const native_socket_options *options, const char **what) {
  if (options->dscp >= 0) {
    int tos = options->dscp << 2;
    int failed = family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) : setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
    if (failed < 0) {
      *what = family == AF_INET ? "setsockopt(IP_TOS)" : "setsockopt(IPV6_TCLASS)";
      return errno;
    }
  }
  if (options->device[0] != '\0' && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, options->device, strlen(options->device) + 1) < 0) {
    *what = "setsockopt(SO_BINDTODEVICE)";
    return errno;
  }
  if (options->source_length > 0 && bind(fd, (const struct sockaddr *)&options->source, options->source_length) < 0) {
    *what = "bind to the source address";
    return errno;
  }
  return 0;
}

static napi_value apply(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, version;
  if (argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 || napi_get_value_int32(env, argv[1], &version) != napi_ok || (version != 4 && version != 6)) {
    throw_type(env, "apply(fd, family: 4 | 6, { dscp?, device? })");
    return NULL;
  }
  int family = version == 4 ? AF_INET : AF_INET6;
  native_socket_options options;
  if (native_read_socket_options(env, argv[2], family, 0, &options) < 0) return NULL;
  const char *what = NULL;
  int err = native_apply_socket_options(fd, family, &options, &what);
  if (err) return throw_errno(env, err, what);
  return NULL;
}

/** Sets exports.sockopt = { apply } (addon.c calls this at load). */
napi_value socket_options_init(napi_env env, napi_value exports) {
  export_function(env, exports, "sockopt", "apply", apply);
  return exports;
}
