#!/bin/sh
# dropcache.sh FILE... -- put FILE in the "read back from disk" state: write
# back its dirty pages, evict it from the page cache with
# posix_fadvise(POSIX_FADV_DONTNEED) (what GNU dd's iflag=nocache count=0
# does), then read it back with cat, so readahead refills the cache in
# large folios.  Needs no root: it only touches the files named.
set -eu
[ $# -gt 0 ] || { echo "usage: dropcache.sh FILE..." >&2; exit 2; }
for f in "$@"; do
  sync "$f"                  # DONTNEED skips dirty pages: write them first
  dd if="$f" iflag=nocache count=0 status=none
  cat "$f" > /dev/null
done
