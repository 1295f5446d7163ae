{
  "targets": [
    {
      "target_name": "linkmon_native",
      "sources": ["addon.c", "polled_socket.c", "icmp_socket.c", "ttl_probe.c", "udp_socket.c", "tcp_info.c", "socket_options.c", "memory.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
