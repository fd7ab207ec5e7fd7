#!/usr/bin/env bash
# Installs the pinned gitlab-ci-local (npm) into DEST/gitlab-ci-local and, when the machine has no
# rsync (gitlab-ci-local needs it for artifacts), unpacks Debian's rsync into DEST/rsync without
# root (apt-get download + dpkg -x), with a wrapper DEST/bin/rsync. Put DEST/bin on PATH.
# What it cannot install (no node/npm; no rsync and no apt-get) it names and exits 0:
# tests/e2e/test_gitlab_ci_local.py is then skipped (or fails, with KDEPLOY_REQUIRE_REAL_CLUSTER=1).
set -euo pipefail
dest=${1:-.tools}
version=${GITLAB_CI_LOCAL_VERSION:-4.65.1}   # engines: node >= 18
mkdir -p "$dest/bin"
dest=$(cd "$dest" && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "gitlab-ci-local not installed: node and npm are not on PATH"
  exit 0
fi
glci="$dest/gitlab-ci-local/node_modules/.bin/gitlab-ci-local"
if [ "$("$glci" --version 2>/dev/null || true)" != "$version" ]; then
  npm install --prefix "$dest/gitlab-ci-local" "gitlab-ci-local@$version" --no-audit --no-fund --loglevel=error >/dev/null
fi
ln -sf "$glci" "$dest/bin/gitlab-ci-local"
echo "gitlab-ci-local $("$glci" --version)"

if command -v rsync >/dev/null 2>&1; then
  echo "rsync: $(command -v rsync)"
  exit 0
fi
if [ ! -x "$dest/rsync/usr/bin/rsync" ]; then
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
    echo "rsync not installed: not on PATH, and no apt-get/dpkg to fetch it (install rsync)" >&2
    exit 0
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"   # apt's _apt user downloads into it
  (cd "$tmp" && apt-get download -q rsync libpopt0 >/dev/null 2>&1) || {
    echo "rsync not installed: 'apt-get download rsync libpopt0' failed (run apt-get update?)" >&2
    exit 0
  }
  rm -rf "$dest/rsync"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$dest/rsync"; done
fi
# libpopt comes from the unpacked package; every other library rsync needs is the system's
libs=$(find "$dest/rsync" -name 'libpopt.so*' -printf '%h\n' | sort -u | paste -sd:)
cat > "$dest/bin/rsync" <<WRAP
#!/bin/sh
LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$dest/rsync/usr/bin/rsync" "\$@"
WRAP
chmod +x "$dest/bin/rsync"
echo "rsync: $("$dest/bin/rsync" --version | head -1)"
