{
  "targets": [
    {
      "target_name": "cpg",
      "sources": [
        "src/addon.c",
        "src/errors.c",
        "src/conn.c",
        "src/cpg.c",
        "src/votequorum.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-pthread", "-Wall", "-Wextra", "-Wunused-parameter"],
      "ldflags": ["-pthread"],
      "libraries": ["-lcpg", "-lvotequorum"]
    }
  ]
}
