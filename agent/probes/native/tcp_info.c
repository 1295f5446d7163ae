// TCP_INFO of a connected socket: the kernel's own round-trip time of the handshake.
//
// A connect time taken in JavaScript (from connect() to the 'connect' event) includes however long
// the event loop took to notice the connection: under a burst of /metrics scrapes, 150 ms for a
// 1 ms path (issue #11). Right after the handshake, with nothing sent yet, the kernel's smoothed
// RTT is its first and only sample: SYN sent to SYN-ACK received, in microseconds. When the SYN
// was retransmitted that sample is the last exchange's (or none), so callers fall back to the
// wall clock, which is then dominated by the retransmission timeout anyway.
//
// JavaScript API (N-API, exports.tcp):
//   info(fd: number) -> { state: number, rttMicros: number, totalRetrans: number }   throws with `code`
// `state` is the kernel's TCP state (1 = ESTABLISHED, 2 = SYN_SENT, 8 = CLOSE_WAIT).
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <node_api.h>
#include <sys/socket.h>
#include "polled_socket.h"

static napi_value set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  napi_create_double(env, value, &number);
  napi_set_named_property(env, object, name, number);
  return object;
}

static napi_value tcp_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_type(env, "info(fd)");
  struct tcp_info ti;
  socklen_t length = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &length) < 0) return throw_errno(env, errno, "getsockopt(TCP_INFO)");
  napi_value result;
  napi_create_object(env, &result);
  set_number(env, result, "state", ti.tcpi_state);
  set_number(env, result, "rttMicros", ti.tcpi_rtt);
  set_number(env, result, "totalRetrans", ti.tcpi_total_retrans);
  return result;
}

/** Sets exports.tcp = { info } (addon.c calls this at load). */
napi_value tcp_info_init(napi_env env, napi_value exports) {
  export_function(env, exports, "tcp", "info", tcp_info);
  return exports;
}
