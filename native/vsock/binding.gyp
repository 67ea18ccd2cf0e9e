{
  "targets": [
    {
      "target_name": "vsock",
      "sources": [
        "src/addon.c",
        "src/datagram.c",
        "src/errors.c",
        "src/handle.c",
        "src/memory.c",
        "src/vsock.c",
        "src/device.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wunused-parameter"]
    }
  ]
}
