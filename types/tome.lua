---@meta tome
-- luacheck: ignore
-- Type definitions of the tome module for lua-language-server (LuaLS):
-- completion, hover documentation and type checks in editors.  Point the
-- language server at this directory, e.g. in .luarc.json:
--
--   { "workspace.library": ["/path/to/tome/types"] }
--
-- types/tome_host.lua adds the globals of the `tome` command (m, M, and
-- line, NR, FNR, FILE, F, NF in -n/-p chunks).
--
-- Positions are 1-based byte offsets and i, j ranges are inclusive;
-- negative values count from the end; out-of-range ranges clamp exactly
-- as string.sub clamps.  Every read method answers as the string function
-- of the same name applied to v:sub() would, without copying the data.

---@alias tome.mode
---| "r"   # read-only (the default)
---| "r+"  # read-write: writes reach the file
---| "c"   # copy-on-write: writable, the file never changes

---@alias tome.lineformat
---| "l"  # lines as strings, without the newline (the default)
---| "L"  # lines as strings, with the newline
---| "v"  # lines as views (no copy)

---@alias tome.splitformat
---| "l"  # fields as strings (the default)
---| "v"  # fields as views (no copy)

---@alias tome.advice
---| "normal"
---| "sequential"
---| "random"
---| "willneed"
---| "dontneed"

---@alias tome.readformat
---| "n"  # a number
---| "l"  # a line without its newline
---| "L"  # a line with its newline
---| "a"  # everything from the cursor
---| integer  # that many bytes

---@alias tome.seekwhence
---| "set"  # from the start
---| "cur"  # from the cursor (the default)
---| "end"  # from the end

---Values that tome.parallel moves between Lua states.
---@alias tome.portable nil|boolean|number|string|table

---@class tome.view
---A zero-copy window [i, j] of a map: it behaves like a Lua string (length,
---indexing, the string methods) and like a file handle (a cursor, read,
---seek, write).  It keeps its map alive.  A map is a view of all its bytes.
---@operator len: integer
---@field [integer] integer|nil  # the byte at that position (negative from the end), nil outside; writable maps accept `v[i] = byte`
local view = {}

---@class tome.map: tome.view
---A mapped file (or standard input, a pipe, a string): see tome.open,
---tome.create, tome.wrap.  It supports `<close>`:
---`local m <close> = assert(tome.open(path))`.
local map = {}

---@class tome.writer
---An output stream: tome.output(path), tome.stdout, tome.stderr.
local writer = {}

---@class tomelib
---@field version string      # e.g. "tome 0.1.0"
---@field stdout tome.writer  # a writer on standard output
---@field stderr tome.writer  # a writer on standard error
tome = {}

-- {====== module functions ======

---@class tome.openopts
---@field decompress? boolean  # false: the raw bytes of a compressed file
---@field memory? integer      # bytes kept in memory before spilling
---@field tmpdir? string       # where streams spill (default $TMPDIR or /tmp)
---@field workers? integer     # threads decompressing multi-member/frame files

---Map the file at `path`.  `"-"` is standard input.  Gzip, zstd, xz and
---bzip2 files (by their magic bytes) open as a read-only map of the
---decompressed bytes.  Streams (pipes, FIFOs, devices, /proc files) are
---read through, spilling beyond 64 MB into an unlinked file in $TMPDIR;
---an empty file is a map of length 0.
---@param path string
---@param mode? tome.mode  # "r" by default
---@param opts? tome.openopts
---@return tome.map|nil map
---@return string? message  # on failure: "path: reason"
---@return integer? errno
---@nodiscard
function tome.open(path, mode, opts) end

---Create (or truncate) `path` with `size` zero bytes and map it "r+".
---@param path string
---@param size integer
---@return tome.map|nil map
---@return string? message
---@return integer? errno
---@nodiscard
function tome.create(path, size) end

---A read-write map over a private copy of the string `s`.
---@param s string
---@return tome.map
---@nodiscard
function tome.wrap(s) end

---Iterate over the lines of any input (a file, "-", a pipe, a gzip, zstd,
---xz or bzip2 file) read once as a stream, as io.lines does.
---@param path string
---@param fmt? "l"|"L"
---@param opts? { decompress?: boolean }
---@return fun(): string|nil
function tome.lines(path, fmt, opts) end

---Maps of about opts.size bytes (4 MB) of whole records (ending after
---opts.sep, "\n"), one after the other, over any input read as a stream;
---each chunk is closed at the next step.  Also yields its position.
---@param path string
---@param opts? { size?: integer, sep?: string, decompress?: boolean }
---@return fun(): tome.map|nil, integer?
function tome.chunks(path, opts) end

---A writer that replaces `path` atomically: the data goes to a temporary
---file in the same directory, renamed over `path` when `w:close()`
---succeeds.  A writer that is aborted or garbage-collected leaves no file.
---@param path string
---@return tome.writer|nil writer
---@return string? message
---@return integer? errno
---@nodiscard
function tome.output(path) end

---@class tome.parallelopts
---@field workers? integer  # threads (default: the number of CPUs)
---@field sep? string       # chunks end just after this separator (default "\n")
---@field reduce? fun(a: any, b: any): any  # fold the results in chunk order
---@field chunks? integer   # how many chunks (default: 4 per worker)
---@field arg? tome.portable  # passed to fn as its second argument
---@field quote? string     # cut only outside fields quoted with it ('"' for CSV)

---Run `fn(view, opts.arg, name)` on chunks of `src` (a map, a view, a
---path, or a list of them; chunks never span two inputs and `name` is the
---input's path) in worker threads, each with
---its own Lua state.  `fn` must not capture local variables (upvalues
---other than _ENV are an error).  Results (nil, booleans, numbers,
---strings and tables of them) come back in chunk order as a list (with a
---field n), or folded with `opts.reduce`.  An error in a worker is raised
---here with the chunk's byte range.
---@param src tome.view|string|(tome.view|string)[]  # maps, views, paths
---@param fn fun(v: tome.view, arg: any, name: string?): tome.portable
---@param opts? tome.parallelopts
---@return any result  # nil, message, errno when a path cannot be opened
---@return string? message
---@return integer? errno
function tome.parallel(src, fn, opts) end

---@class tome.jobspec
---@field map fun(v: tome.view, arg: any): tome.portable  # runs on chunks in worker states (no upvalues but _ENV)
---@field reduce? fun(a: any, b: any): any  # folds the results in input order
---@field finish? fun(result: any): any     # runs once on the folded result (plain runs and --reduce)
---@field input? string|tome.view|(string|tome.view)[]  # default: the script's arguments, else standard input
---@field arg? tome.portable  # passed to map as its second argument
---@field sep? string         # records end just after it (default "\n")
---@field workers? integer    # threads per process (default tome.cpus())

---A job stated once.  Run plainly it is tome.parallel over the inputs
---followed by finish (what map prints is written in chunk order); with
---`tome --shard K/N --partial DIR` it writes shard K's part, with
---`tome --reduce DIR` it checks and folds the parts and runs finish.
---@param spec tome.jobspec
---@return any  # finish's value, or the folded result
function tome.job(spec) end

---The number of CPUs this process may run on (its affinity mask, as taskset
---and cpusets narrow it), capped by SLURM_CPUS_PER_TASK when set: the
---default number of tome.parallel's workers.
---@return integer
---@nodiscard
function tome.cpus() end

---Encode `v` (nil, booleans, numbers, strings and tables of them) in the
---portable, versioned layout tome.parallel and shard parts use: a header
---(magic, version, length, checksum), then fixed little-endian fields.
---Raises an error naming the path from `name` (default "value") to what
---cannot be encoded: `"value.list[3]: function cannot be encoded ..."`.
---@param v tome.portable
---@param name? string
---@return string
---@nodiscard
function tome.encode(v, name) end

---Decode what tome.encode wrote.  Truncated, damaged or hostile bytes
---raise an error ("tome.decode: corrupt data: ...").
---@param s string
---@return tome.portable
---@nodiscard
function tome.decode(s) end

---`"map"`, `"view"`, `"closed map"`, or nil for anything else.
---@param x any
---@return "map"|"view"|"closed map"|nil
---@nodiscard
function tome.type(x) end

---Show a progress line on standard error while long scans run (only when
---it is a terminal).  Returns whether it will show.
---@param on boolean
---@return boolean
function tome.progress(on) end
-- }======

-- {====== reading (maps and views) ======

---The length in bytes (as `#v`).
---@return integer
---@nodiscard
function view:len() end

---As string.byte: the bytes at positions i (default 1) to j (default i).
---@param i? integer
---@param j? integer
---@return integer ...
---@nodiscard
function view:byte(i, j) end

---As string.sub: a copy of the bytes [i, j] as a Lua string (for small
---pieces; use view for big ones).
---@param i integer
---@param j? integer
---@return string
---@nodiscard
function view:sub(i, j) end

---A zero-copy view of [i, j], clamped as sub clamps.
---@param i? integer
---@param j? integer
---@return tome.view
---@nodiscard
function view:view(i, j) end

---As string.find, Lua patterns included, in place over the mapping.
---@param pattern string
---@param init? integer
---@param plain? boolean
---@return integer|nil start
---@return integer|nil end_
---@return any ... captures
---@nodiscard
function view:find(pattern, init, plain) end

---As string.match.  Captures are strings (position captures integers).
---@param pattern string
---@param init? integer
---@return any ...
---@nodiscard
function view:match(pattern, init) end

---As string.gmatch.
---@param pattern string
---@param init? integer
---@return fun(): any, ...
function view:gmatch(pattern, init) end

---As string.gsub.  With a writer `w` the result streams into `w`
---(unchanged stretches are written without a copy) and only the count is
---returned.
---@param pattern string
---@param repl string|table|fun(...: string): any
---@param n? integer
---@return string result
---@return integer count
---@overload fun(self: tome.view, pattern: string, repl: string|table|function, n: integer|nil, w: tome.writer): integer
function view:gsub(pattern, repl, n) end

---The last plain occurrence of `s` that starts at or before `init`
---(default: the end).
---@param s string
---@param init? integer
---@return integer|nil start
---@return integer|nil end_
---@nodiscard
function view:rfind(s, init) end

---The number of non-overlapping plain occurrences of `s` (not empty) in
---[i, j].  `v:count("\n")` counts lines at memory speed.
---@param s string
---@param i? integer
---@param j? integer
---@return integer
---@nodiscard
function view:count(s, i, j) end

---Iterate over the lines from position `init` (default 1), as io.lines
---splits them; each step also gives the line's start position.  "\r" is
---kept; the last line needs no newline.  The cursor does not move.
---@param fmt? "l"|"L"
---@param init? integer
---@return fun(): string, integer
---@overload fun(self: tome.view, fmt: "v", init?: integer): (fun(): tome.view, integer)
function view:lines(fmt, init) end

---Iterate over the fields between plain separators `sep`: n separators
---give n + 1 fields.  Each step also gives the field's start position.
---@param sep string
---@param fmt? "l"
---@return fun(): string, integer
---@overload fun(self: tome.view, sep: string, fmt: "v"): (fun(): tome.view, integer)
function view:split(sep, fmt) end

---Iterate over the lines that contain `s` (plain text, or a Lua pattern
---when `plain` is false), with their start positions.
---@param s string
---@param plain? boolean  # true by default
---@return fun(): string, integer
function view:grep(s, plain) end

---Iterate over the lines, yielding for each the columns `col...` (1-based;
---negative ones count from the last), split in C without making a string
---of the line.  `sep` " " splits on runs of blanks as awk does; any other
---`sep` is a plain separator.  `fmt`: "l" strings (the default), "n"
---numbers (as tonumber converts them), "v" views.  A missing column, or
---with "n" one that is not a number, is false.
---@param sep string
---@param col integer
---@param ... integer|"l"|"n"|"v"  # more columns (16 at most), then fmt
---@return fun(): any, ...
function view:fields(sep, col, ...) end

---How often each value occurs: of column `col` of every line (split as
---`fields` splits: `" "` is awk's runs of blanks, any other `sep` a plain
---separator; negative columns count from the last field), or of the whole
---lines when no column is given.  Lines without the column are not
---counted.  Counted in C; merge the tables of `tome.parallel` workers by
---adding counts.
---@param sep? string
---@param col? integer
---@return table<string, integer>
---@nodiscard
function view:tally(sep, col) end

---@class tome.csvopts
---@field sep? string          # the field separator, one byte (default ",")
---@field header? boolean      # the first record names the fields
---@field columns? (integer|string)[]  # yield these fields as values, no table
---@field format? "l"|"n"      # "n": fields as numbers (false when not one)
---@field strict? boolean      # an unterminated quote raises (default true)

---Iterate over the RFC 4180 records (as Python's csv module reads them):
---a table of the fields and the record's start position per step, or with
---`opts.columns` those fields as values.
---@param opts? tome.csvopts
---@return fun(): any, ...
function view:csv(opts) end

---Iterate over the JSON Lines, decoded with lua-cjson: the value and its
---line number per step.  A bad line raises, or with `opts.strict = false`
---yields false, the reason and the line number.
---@param opts? { strict?: boolean }
---@return fun(): any, integer|string, integer?
function view:jsonl(opts) end

---The 1-based line number of byte position `pos`.
---@param pos integer
---@return integer
---@nodiscard
function view:lineno(pos) end

---As string.unpack, over the mapping.
---@param fmt string
---@param pos? integer
---@return any ...
---@nodiscard
function view:unpack(fmt, pos) end

---The position of the view's first byte in its map (1 for a map).
---@return integer
---@nodiscard
function view:offset() end

---The map the view belongs to.
---@return tome.map
---@nodiscard
function view:map() end
-- }======

-- {====== as a file handle (each map and view keeps a cursor) ======

---As file:read, from the cursor: formats "n", "l", "L", "a" and byte
---counts.
---@param ... tome.readformat
---@return any ...
function view:read(...) end

---As file:seek (0-based offsets): the new position, or nil, message,
---errno.
---@param whence? tome.seekwhence
---@param offset? integer
---@return integer|nil position
---@return string? message
---@return integer? errno
function view:seek(whence, offset) end

---Write strings and numbers at the cursor (writable maps only).  Writing
---past the end is an error: resize the map first.
---@param ... string|number
---@return tome.view self
function view:write(...) end

---As string.pack, written in place at `pos` (writable maps only).
---@param pos integer
---@param fmt string
---@param ... any
---@return tome.view self
function view:pack(pos, fmt, ...) end

---Unmap a map (its views become unusable); for a view, only drop it.
---@return boolean
function view:close() end
-- }======

-- {====== maps only ======

---Grow or shrink the file and the mapping to `n` bytes (writable maps).
---Views that now lie outside raise an error when used.
---@param n integer
---@return tome.map|nil self
---@return string? message
---@return integer? errno
function map:resize(n) end

---Write the changes of [i, j] (default: everything) back to the file
---(msync).
---@param i? integer
---@param j? integer
---@return tome.map|nil self
---@return string? message
---@return integer? errno
function map:flush(i, j) end

---Tell the kernel how [i, j] will be read (madvise).
---@param hint tome.advice
---@param i? integer
---@param j? integer
---@return tome.map|nil self
---@return string? message
---@return integer? errno
function map:advise(hint, i, j) end
-- }======

-- {====== writers ======

---Write strings, numbers and views (views go straight from the mapping,
---without a copy).  Returns the writer, or nil, message, errno.
---@param ... string|number|tome.view
---@return tome.writer|nil self
---@return string? message
---@return integer? errno
function writer:write(...) end

---Hand what the writer holds in its buffer to the operating system (no
---fsync).
---@return tome.writer|nil self
---@return string? message
---@return integer? errno
function writer:flush() end

---Finish: for tome.output, flush, sync and rename over the target.
---@return true|nil ok
---@return string? message
---@return integer? errno
function writer:close() end

---Drop everything written; tome.output leaves no file behind.
function writer:abort() end
-- }======

return tome
