{
  "targets": [
    {
      "target_name": "icmp_socket",
      "sources": ["icmp_socket.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
