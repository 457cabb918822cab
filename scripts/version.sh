#!/bin/sh
# version.sh [NEW] -- print tome's version, or set it to NEW.
#
# The version is set in one place, TOME_VERSION in src/tome.h: tome.version,
# `tome -v` and tome.pc take it from there when they are built.  Three
# files cannot read it and repeat it: the rockspec (its file name and its
# version), the top entry of debian/changelog, and the .TH line of the man
# page.  `sh scripts/version.sh 1.2.3` (or `make version V=1.2.3`) rewrites
# them all; spec/product_spec.lua fails when any of them disagrees.
set -eu
cd "$(dirname "$0")/.."
old=$(sed -n 's/^#define TOME_VERSION "tome \(.*\)"$/\1/p' src/tome.h)
[ -n "$old" ] || { echo "version.sh: no TOME_VERSION in src/tome.h" >&2; exit 1; }
if [ $# -eq 0 ]; then
  echo "$old"
  exit 0
fi
new=$1
case $new in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "version.sh: '$new' is not a version like 1.2.3" >&2; exit 1 ;;
esac
[ "$new" != "$old" ] || { echo "version.sh: already $old"; exit 0; }

sed -i "s/^#define TOME_VERSION \"tome .*\"$/#define TOME_VERSION \"tome $new\"/" \
  src/tome.h

# the rockspec: tome-VERSION-1.rockspec, version and tag inside
spec=$(ls tome-*.rockspec)
sed -e "s/^version = \".*\"$/version = \"$new-1\"/" \
    -e "s/^\(  tag = \)\".*\",$/\1\"v$new\",/" "$spec" > "tome-$new-1.rockspec"
if [ "$spec" != "tome-$new-1.rockspec" ]; then
  if git ls-files --error-unmatch "$spec" >/dev/null 2>&1; then
    git rm -q "$spec" && git add "tome-$new-1.rockspec"
  else
    rm -f "$spec"
  fi
fi

# the man page's header: .TH TOME 1 "YEAR" "tome VERSION" ...
sed -i "s/^\(\.TH TOME 1 \"[^\"]*\" \)\"tome [^\"]*\"/\1\"tome $new\"/" doc/tome.1

# a new entry on top of debian/changelog, by the maintainer of the last one
who=$(sed -n 's/^ -- \(.*>\)  .*/\1/p' debian/changelog | head -n 1)
{
  printf 'tome (%s) unstable; urgency=medium\n\n' "$new"
  printf '  * Version %s.\n\n' "$new"
  printf ' -- %s  %s\n\n' "$who" "$(date -R)"
  cat debian/changelog
} > debian/changelog.new
mv debian/changelog.new debian/changelog
echo "tome $old -> $new: src/tome.h, tome-$new-1.rockspec, doc/tome.1, debian/changelog"
