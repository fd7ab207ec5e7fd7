#!/usr/bin/env bash
# `make demo`: the main job of kdeploy on the example project, from the repository root.
# Each step is a function, so later steps (e.g. a cluster emulator) slot in without reshuffling.
set -euo pipefail
cd "$(dirname "$0")/.."

KDEPLOY=${KDEPLOY_BIN:-$PWD/.venv/bin/kdeploy}
# KDEPLOY_BIN names the kdeploy to run; KDEPLOY_DEMO_OUT moves the output directory;
# KDEPLOY_DEMO_KUBECONFIG runs the live steps on
# that cluster instead of a fresh emulator (the real-control-plane tests do this).
OUT=${KDEPLOY_DEMO_OUT:-.demo}
ENVIRONMENTS=(local dev staging prod)

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$PLAIN"; }

# Step 1: render every example environment to files, one per release.
render_all() {
  step "Render every example environment into $OUT/<env>/"
  rm -rf "$OUT"
  for env in "${ENVIRONMENTS[@]}"; do
    "$KDEPLOY" render -e "$env" --out "$OUT/$env"
  done
}

# Step 2: show what the local environment renders to.
show_local() {
  step "kdeploy render -e local web   (the web release of the local environment)"
  "$KDEPLOY" render -e local web
}

# Step 3: lint every environment: values schemas, Kubernetes schemas, best-practice rules.
lint_all() {
  step "Lint every example environment"
  local failed=0
  for env in "${ENVIRONMENTS[@]}"; do
    printf '\n  -- %s --\n' "$env"
    "$KDEPLOY" lint -e "$env" || failed=1
  done
  if [ "$failed" -ne 0 ]; then
    echo "lint found errors (see above)" >&2
    return 1
  fi
}

# Step 4: start the built-in API emulator (an in-memory Kubernetes API server on 127.0.0.1).
EMULATOR_PID=
start_emulator() {
  if [ -n "${KDEPLOY_DEMO_KUBECONFIG:-}" ]; then
    step "Use the cluster of $KDEPLOY_DEMO_KUBECONFIG"
    export KUBECONFIG="$KDEPLOY_DEMO_KUBECONFIG"
    # the local environment names the emulator's context; use that kubeconfig's own instead
    KDEPLOY_CONTEXT=$(sed -n 's/^[[:space:]]*"\{0,1\}current-context"\{0,1\}:[[:space:]]*"\{0,1\}\([^",]*\)"\{0,1\},\{0,1\}[[:space:]]*$/\1/p' "$KDEPLOY_DEMO_KUBECONFIG" | head -n 1)
    export KDEPLOY_CONTEXT
    return 0
  fi
  step "Start the built-in API emulator (kdeploy emulator --port 0)"
  mkdir -p "$OUT"
  KUBECONFIG_FILE="$(cd "$OUT" && pwd)/kubeconfig"
  rm -f "$KUBECONFIG_FILE"
  "$KDEPLOY" emulator --port 0 --kubeconfig-out "$KUBECONFIG_FILE" --ready-delay 0.5 \
    >"$OUT/emulator.log" 2>&1 &
  EMULATOR_PID=$!
  trap stop_emulator EXIT
  for _ in $(seq 1 100); do
    [ -s "$KUBECONFIG_FILE" ] && grep -q "$KUBECONFIG_FILE" "$OUT/emulator.log" 2>/dev/null && break
    sleep 0.1
  done
  [ -s "$KUBECONFIG_FILE" ] || { cat "$OUT/emulator.log" >&2; echo "the emulator did not start" >&2; return 1; }
  export KUBECONFIG="$KUBECONFIG_FILE"
  echo "emulator serving; kubeconfig: $KUBECONFIG_FILE"
}

stop_emulator() {
  if [ -n "$EMULATOR_PID" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill -INT "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
    echo "emulator stopped"
  fi
  EMULATOR_PID=
}

# Step 5: the live cycle on the local environment: apply, change, diff, apply, history, rollback.
live_cycle() {
  step "kdeploy apply -e local --yes   (first install: creates everything, waits until healthy)"
  "$KDEPLOY" apply -e local --yes

  step "kdeploy diff -e local --detailed-exitcode   (right after apply: no changes, exit 0)"
  "$KDEPLOY" diff -e local --detailed-exitcode

  step "Change a value: kdeploy diff -e local web --set replicas=3"
  local rc=0
  "$KDEPLOY" diff -e local web --set replicas=3 --detailed-exitcode || rc=$?
  [ "$rc" -eq 2 ] || { echo "expected diff to report changes (exit 2), got $rc" >&2; return 1; }

  step "kdeploy apply -e local web --set replicas=3 --yes   (revision 2)"
  "$KDEPLOY" apply -e local web --set replicas=3 --yes

  step "kdeploy history web -n demo"
  "$KDEPLOY" history web -n demo

  step "kdeploy rollback web --to 1 -n demo --yes   (needs no project files)"
  (cd "$OUT" && "$KDEPLOY" rollback web --to 1 -n demo --yes)

  step "kdeploy history web -n demo   (revision 3: rollback to 1)"
  "$KDEPLOY" history web -n demo

  step "kdeploy status web -n demo"
  "$KDEPLOY" status web -n demo
}

render_all
show_local
lint_all
start_emulator
live_cycle
stop_emulator
step "Done. Rendered manifests are in $OUT/; next: docs/getting-started.md"
