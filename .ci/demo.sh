#!/usr/bin/env bash
# `make demo`: the main job of kdeploy on the example project, from the repository root.
# Each step is a function, so later steps (e.g. a cluster emulator) slot in without reshuffling.
set -euo pipefail
cd "$(dirname "$0")/.."

KDEPLOY=.venv/bin/kdeploy
OUT=.demo
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

render_all
show_local
lint_all
step "Done. Rendered manifests are in $OUT/; next: docs/getting-started.md"
