{
  "targets": [
    {
      "target_name": "linkmon_native",
      "sources": ["addon.c", "icmp_socket.c", "ttl_probe.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
