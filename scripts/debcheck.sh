#!/bin/sh
# debcheck.sh DIR VERSION -- what a user of the Debian packages does with
# them (make deb-check, a stage of make test): lintian must report no
# error; then apt-get installs the three packages built in DIR, and the
# command, the module from a stock lua5.4 and a C program built with
# pkg-config are tried; then the packages are purged again.
#
# It needs root (or sudo) for apt-get; without, it says so and only runs
# lintian.  When tome's packages are already installed on this machine it
# leaves them alone (no install, no purge).  Two checks at once (several
# work trees on one machine) take turns through a lock.
set -eu
DIR=$1
VERSION=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PKGS="tome lua-tome libtome-dev"
ARCH=$(dpkg --print-architecture)

debs=""
for p in $PKGS; do
  f=$DIR/${p}_${VERSION}_$ARCH.deb
  [ -f "$f" ] || { echo "debcheck: $f is missing (make deb)"; exit 1; }
  f="$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
  debs="$debs $f"
  [ "$p" = tome ] && tomedeb=$f
done

echo "== lintian"
# shellcheck disable=SC2086
lintian --fail-on error --display-level ">=warning" $debs
echo "lintian: no errors"

if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then
  SUDO="sudo -n"; else
  echo "debcheck: not root and no sudo: the install check is skipped"
  exit 0
fi
for p in $PKGS; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    echo "debcheck: $p is installed on this machine: the install check is skipped"
    exit 0
  fi
done

APT="$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600"
WORK=$(mktemp -d)
purge() {
  # shellcheck disable=SC2086
  $APT purge $PKGS > "$WORK/purge.log" 2>&1 || cat "$WORK/purge.log"
  rm -rf "$WORK"
}

check() {
  echo "== apt-get install$debs"
  # shellcheck disable=SC2086
  $APT install --no-install-recommends $debs
  trap purge EXIT
  cd "$WORK"
  echo "== tome -v"
  out=$(/usr/bin/tome -v)
  echo "$out"
  case $out in "tome $VERSION "*) ;; *) echo "expected tome $VERSION"; exit 1 ;; esac
  echo "== the man page"
  dpkg-deb -c "$tomedeb" | grep -q "/usr/share/man/man1/tome.1.gz$"
  # (minimal images may tell dpkg to leave manual pages out)
  grep -qs "^path-exclude.*/usr/share/man" /etc/dpkg/dpkg.cfg.d/* ||
    test -f /usr/share/man/man1/tome.1.gz
  echo "== lua5.4 -e 'require \"tome\"'"
  env -u LUA_CPATH -u LUA_CPATH_5_4 -u LUA_INIT -u LUA_INIT_5_4 lua5.4 -e '
    local tome = require "tome"
    assert(package.searchpath("tome", package.cpath):find("^/usr/lib/"))
    local m = tome.wrap("a\nb\n")
    assert(m:count("\n") == 2)
    print(tome.version, package.searchpath("tome", package.cpath))'
  echo "== cc embed_example.c \$(pkg-config --cflags --libs tome)"
  # shellcheck disable=SC2046
  cc -std=c11 -Wall -o embed "$HERE/embed_example.c" \
    $(pkg-config --cflags --libs tome)
  ./embed > embed.out
  tail -1 embed.out
  grep -q "all good" embed.out
  cd /
  purge
  trap - EXIT
  for f in /usr/bin/tome /usr/include/tome.h; do
    if [ -e "$f" ]; then echo "debcheck: $f is left after purge"; exit 1; fi
  done
  echo "debcheck: installed, checked and purged"
}

# one check at a time on this machine
LOCK=${TMPDIR:-/tmp}/tome-debcheck.lock
exec 9> "$LOCK"
flock -w 1200 9 || { echo "debcheck: waited too long for $LOCK"; exit 1; }
check
