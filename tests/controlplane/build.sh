#!/usr/bin/env bash
# Builds the local control plane for the real-cluster test tier (docs/testing.md):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (a `tool` of the module),
# all from this directory's Go module, versions pinned by go.mod/go.sum. One module, so the
# Kubernetes libraries are compiled once for all five. Binaries go to a cache outside the work
# tree, keyed by the Kubernetes version:
#   ${KDEPLOY_CONTROL_PLANE_DIR:-${XDG_CACHE_HOME:-~/.cache}/kdeploy/control-plane/<version>}
# A stamp file holds a hash of every build input; when it matches, nothing is built.
# Progress goes to stderr; the last line on stdout is the directory holding the binaries.
# Exit codes: 0 built or reused, 1 a step failed (the message names it), 3 no Go toolchain.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
say() { echo "control-plane: $*" >&2; }
fail() {
  say "FAILED at step '$1': $2"
  exit 1
}

if ! command -v go >/dev/null 2>&1; then
  say "no Go toolchain ('go' is not on PATH); cannot build the control plane"
  exit 3
fi

version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/go.mod")
[ -n "$version" ] || fail "read version" "no k8s.io/kubernetes requirement in $here/go.mod"
dest=${KDEPLOY_CONTROL_PLANE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kdeploy/control-plane/$version}
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# Everything that decides the binaries' content: both modules and the main packages.
inputs=$(cd "$here" && cat go.mod go.sum cmd/*/main.go build.sh | sha256sum | cut -c1-16)
if [ -f "$dest/.inputs" ] && [ "$(cat "$dest/.inputs")" = "$inputs" ]; then
  ok=1
  for b in "${binaries[@]}"; do [ -x "$dest/$b" ] || ok=0; done
  if [ $ok = 1 ]; then
    say "reusing $version binaries in $dest"
    echo "$dest"
    exit 0
  fi
fi

export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
# -mod=readonly: the committed go.sum is the pin; a build never edits it.
export GOFLAGS="-mod=readonly -buildvcs=false ${CONTROL_PLANE_GOFLAGS:-}"
jobs=${CONTROL_PLANE_JOBS:-2}
# Stamp the version as the Kubernetes release build does; without it the servers report
# "v0.0.0-master+$Format:%H$" at /version and clients checking the version refuse them.
minor=${version#v1.}
minor=${minor%%.*}
vpkg=k8s.io/component-base/version
ldflags="-s -w -X $vpkg.gitVersion=$version -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
build_flags=(-p "$jobs" -trimpath "-ldflags=$ldflags")

mkdir -p "$(dirname "$dest")"
work=$(mktemp -d "$(dirname "$dest")/.build-$version.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

say "building $version into $dest (Go $(go env GOVERSION), -p $jobs; the first build compiles all of Kubernetes and takes long)"
# A broken main is reported at once here; go build would first compile everything else.
say "step 1/4: check the sources"
"$(go env GOROOT)/bin/gofmt" -e -l "$here/cmd" >/dev/null ||
  fail "check the sources" "a Go file under $here/cmd does not parse (error above)"

say "step 2/4: download modules (proxy $(go env GOPROXY))"
(cd "$here" && go mod download) >&2 ||
  fail "download modules" "could not fetch the control plane's modules; is the Go module proxy ($(go env GOPROXY)) reachable?"

say "step 3/4: compile and link ${binaries[*]}"
(cd "$here" && go build "${build_flags[@]}" -o "$work/" ./cmd/... sigs.k8s.io/kwok/cmd/kwok) >&2 ||
  fail "compile" "go build failed in $here (compiler output above)"

say "step 4/4: install into $dest"
for b in "${binaries[@]}"; do
  "$work/$b" --version >/dev/null 2>&1 || "$work/$b" --help >/dev/null 2>&1 ||
    fail "install" "$b was built but does not run"
done
mkdir -p "$dest"
for b in "${binaries[@]}"; do mv -f "$work/$b" "$dest/$b"; done
echo "$inputs" >"$dest/.inputs"
say "built in $(($(date +%s) - start)) s; $(du -sh "$dest" | cut -f1) in $dest"
echo "$dest"
