-- LuaRocks build of tome: `luarocks make` in the source tree (Lua 5.4).
-- The module embeds Lua files compiled in by the Makefile, so the build
-- is the project's own `make`; the install puts tome.so where rocks keep
-- C modules and the `tome` command with the rock's scripts.  The C
-- library, header, pkg-config file and man page stay in the rock's own
-- directory (use `make install` for a system-wide copy of those).
rockspec_format = "3.0"
package = "tome"
version = "0.1.0-1"
source = {
  -- TODO: the project's public repository, once there is one
  url = "git+https://example.invalid/tome.git",
  tag = "v0.1.0",
}
description = {
  summary = "Memory-mapped files that behave like Lua strings and file handles",
  detailed = [[
tome maps files into memory and hands them to Lua 5.4 as objects that
behave like a Lua string and a Lua file handle at once: slice them, index
them, search them with Lua patterns, read them line by line and write
into them, without loading the whole file.  Also: writers that replace a
file atomically, tome.parallel over all CPUs, and the `tome` command (a
lua drop-in with awk-like one-liners and a REPL).
]],
  license = "MIT",
  labels = { "mmap", "files", "text", "logs" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "make",
  build_target = "build/tome.so build/tome build/libtome.a",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA_INC = "$(LUA_INCDIR)",
  },
  install_variables = {
    PREFIX = "$(PREFIX)",
    bindir = "$(BINDIR)",
    luacmoddir = "$(LIBDIR)",
    libdir = "$(PREFIX)/dev/lib",
    includedir = "$(PREFIX)/dev/include",
    mandir = "$(PREFIX)/doc/man",
  },
}
