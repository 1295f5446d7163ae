// trimMallocHeap(): malloc_trim(0). glibc keeps the memory of freed chunks (socket read buffers
// of a throughput test, Buffers a garbage collection released) resident inside its heap; this
// returns every free page of it to the kernel. A no-op without glibc. Why the agent calls it, and
// how often: agent/memory-release.ts.
//
// JavaScript API (N-API, exports.memory):
//   trimMallocHeap() -> boolean   true when malloc returned memory to the kernel
#include <node_api.h>
#include "polled_socket.h"
#ifdef __GLIBC__
#include <malloc.h>
#endif

static napi_value trim_malloc(napi_env env, napi_callback_info info) {
  napi_value result;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) == 1, &result);
#else
  napi_get_boolean(env, false, &result);
#endif
  return result;
}

/** Sets exports.memory = { trimMallocHeap } (addon.c calls this at load). */
napi_value memory_init(napi_env env, napi_value exports) {
  export_function(env, exports, "memory", "trimMallocHeap", trim_malloc);
  return exports;
}
