// linkmon's native addon: socket and memory operations Node does not offer, each in its own source
// file with an init function that adds its object to the exports (see binding.gyp); what the
// sockets share is in polled_socket.c.
#include <node_api.h>

napi_value icmp_socket_init(napi_env env, napi_value exports);
napi_value ttl_probe_init(napi_env env, napi_value exports);
napi_value udp_socket_init(napi_env env, napi_value exports);
napi_value tcp_info_init(napi_env env, napi_value exports);
napi_value socket_options_init(napi_env env, napi_value exports);
napi_value memory_init(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  icmp_socket_init(env, exports);
  ttl_probe_init(env, exports);
  udp_socket_init(env, exports);
  tcp_info_init(env, exports);
  socket_options_init(env, exports);
  memory_init(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
