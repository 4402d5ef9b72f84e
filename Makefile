# serving-operator: `make demo` and `make test` take a fresh machine to a running demo and a green suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ASSETS := .cache/bin
CONTROLPLANE_BINS := $(ASSETS)/etcd $(ASSETS)/kube-apiserver $(ASSETS)/kube-controller-manager \
	$(ASSETS)/kubectl
HELM := $(ASSETS)/helm
KSTATUS := $(ASSETS)/kstatus

.PHONY: all venv lock test-latest controlplane crds lint unit e2e test test-fast test-slow demo demo-stop bench \
	bench-quick clean image image-local chart-readme

all: test

# Every Python dependency of every extra, and pip and the build backend too, comes from
# lock/all.txt with its hashes (docs/dependencies.md); the project itself is installed
# without an index, so nothing outside the lock can arrive. LOCKFILE and VENV are variables
# so that `make test-latest` can build a second environment from a fresh resolution.
LOCKFILE ?= lock/all.txt

$(BIN)/serving-operator: pyproject.toml $(LOCKFILE)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r $(LOCKFILE)
	$(BIN)/python -m pip install --quiet --no-index --no-deps --no-build-isolation -e .
	$(BIN)/python hack/pip_check.py
	touch $@

venv: $(BIN)/serving-operator

# Re-resolve lock/all.txt after a change to pyproject.toml, keeping every pin that still
# fits; `make lock UPGRADE=1` moves every dependency to the newest version its range allows.
# lock/runtime.txt is the same resolution cut down to what the image installs.
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command 'make lock'
LOCK_INPUTS := pyproject.toml lock/build.in

lock: venv
	$(UV_COMPILE) $(if $(UPGRADE),--upgrade) --extra dev -o lock/all.txt $(LOCK_INPUTS)
	$(UV_COMPILE) --constraint lock/all.txt -o lock/runtime.txt $(LOCK_INPUTS)

# Not in CI: the suite against the newest versions pyproject's ranges admit today, in a
# throwaway environment, so that a dependency's new release breaks here before a user's
# install. A failure means: fix the code or bound the range, then `make lock UPGRADE=1`.
LATEST := .cache/latest

test-latest: venv
	mkdir -p $(LATEST)
	$(UV_COMPILE) --upgrade --extra dev -o $(LATEST)/all.txt $(LOCK_INPUTS)
	rm -f $(LATEST)/venv/bin/serving-operator
	$(MAKE) test VENV=$(LATEST)/venv LOCKFILE=$(LATEST)/all.txt

# Version stamps, as Kubernetes' and helm's own release builds set them: without them
# `kubectl version` says v0.0.0-master and anything that checks the server version fails.
K8S_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" {print $$2; exit}' tests/controlplane/go.mod)
K8S_MINOR := $(word 2,$(subst ., ,$(K8S_VERSION)))
HELM_VERSION := $(shell awk '$$1 == "require" && $$2 == "helm.sh/helm/v3" {print $$3; exit}' tests/controlplane/helm/go.mod)
K8S_STAMP := $(foreach pkg,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(pkg).gitVersion=$(K8S_VERSION) -X $(pkg).gitMajor=1 -X $(pkg).gitMinor=$(K8S_MINOR) \
	-X $(pkg).gitTreeState=clean)
# helm's own release build also stamps the Kubernetes version `helm template` and `helm lint`
# assume (else v1.20, below the chart's kubeVersion): its client-go's.
HELM_K8S_MINOR := $(shell awk '$$1 == "k8s.io/client-go" {split($$2, v, "."); print v[2]; exit}' tests/controlplane/helm/go.mod)
HELM_STAMP := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/internal/version.gitTreeState=clean \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR)

# kube-apiserver, kube-controller-manager, kubectl and etcd built from their Go modules
# (tests/controlplane/go.mod).
$(CONTROLPLANE_BINS) &: tests/controlplane/go.mod tests/controlplane/go.sum tests/controlplane/cmd/etcd/main.go
	mkdir -p $(ASSETS)
	cd tests/controlplane && go build -trimpath -ldflags='-s -w $(K8S_STAMP)' -o ../../$(ASSETS)/ \
		./cmd/etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kubectl
	touch $(CONTROLPLANE_BINS)

# helm has its own module: it brings its own k8s.io versions.
$(HELM): tests/controlplane/helm/go.mod tests/controlplane/helm/go.sum
	mkdir -p $(ASSETS)
	cd tests/controlplane/helm && go build -trimpath -ldflags='-s -w $(HELM_STAMP)' -o ../../../$(ASSETS)/ \
		helm.sh/helm/v3/cmd/helm
	touch $@

# kstatus: how Flux and kubectl-wait-style tools read a resource (sigs.k8s.io/cli-utils).
$(KSTATUS): tests/controlplane/kstatus/go.mod tests/controlplane/kstatus/go.sum tests/controlplane/kstatus/main.go
	mkdir -p $(ASSETS)
	cd tests/controlplane/kstatus && go build -trimpath -ldflags='-s -w' -o ../../../$(ASSETS)/kstatus .

controlplane: $(CONTROLPLANE_BINS) $(HELM) $(KSTATUS)

# The chart ships copies of crds/ (Helm reads files only from inside the chart): ours in
# files/crds/ (rendered as templates), kopf's peering CRDs in its crds/ folder (installed before
# the peering object); hack/chart_crds.py says why. tests/unit/test_chart_crds.py fails when
# they are stale.
crds: venv
	$(BIN)/serving-operator crds --output-dir crds
	$(BIN)/python hack/chart_crds.py

lint: venv
	$(BIN)/ruff check operator tests bench hack
	$(BIN)/ruff format --check operator tests bench hack
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

unit: venv
	$(BIN)/pytest tests/unit -q

e2e: venv controlplane
	$(BIN)/pytest tests/e2e tests/sandbox -q

# Tests mostly wait on AWS lifecycles and the apiserver, not on CPU: several workers, each
# with its own control plane, sandbox and operator, a file per worker at a time. One session
# for every tier, the reliability files first (tests/conftest.py), so that their minutes-long
# tests overlap the short ones instead of running alone after them.
PYTEST_WORKERS ?= 4
PYTEST_XDIST = -n $(PYTEST_WORKERS) --dist loadfile --durations=15

test: venv controlplane lint
	SERVING_OPERATOR_LOCKFILE=$(LOCKFILE) $(BIN)/pytest -q $(PYTEST_XDIST)

# The suite without the reliability tier (faults at scale, crashes, control-plane restarts,
# handover, the image build): what to run while changing code; CI runs all of `make test`.
test-fast: venv controlplane lint
	SERVING_OPERATOR_LOCKFILE=$(LOCKFILE) $(BIN)/pytest -q -m "not slow" $(PYTEST_XDIST)

# Only the reliability tier: each test brings its own control plane and operator.
test-slow: venv controlplane
	$(BIN)/pytest -q -m slow $(PYTEST_XDIST)

demo: venv controlplane
	$(BIN)/python hack/demo.py

demo-stop: venv
	$(BIN)/python hack/demo.py --stop

# Figures, not tests: each prints its numbers and the ratio to its goal (bench/README.md
# keeps the latest). The end-to-end ones start their own control plane, sandbox and
# operator; all of `make bench` takes about 30-40 minutes on a quiet 2-core machine.
BENCH_OUT := .cache/bench

bench: venv controlplane
	$(BIN)/python bench/bench_planner.py
	$(BIN)/python bench/bench_reconcile.py
	$(BIN)/python bench/bench_steady.py
	$(BIN)/python bench/bench_sandbox_metrics.py
	$(BIN)/python bench/bench_canary_simulation.py
	mkdir -p $(BENCH_OUT)
	$(BIN)/python bench/bench_convergence.py --json $(BENCH_OUT)/convergence.json
	$(BIN)/python bench/bench_reaction.py --json $(BENCH_OUT)/reaction.json
	$(BIN)/python bench/bench_status_writes.py --json $(BENCH_OUT)/status_writes.json
	$(BIN)/python bench/bench_scale.py --json $(BENCH_OUT)/scale.json

# A smoke run of the end-to-end benchmarks at small sizes (a few minutes).
bench-quick: venv controlplane
	$(BIN)/python bench/bench_convergence.py --quick
	$(BIN)/python bench/bench_reaction.py --quick
	$(BIN)/python bench/bench_scale.py --quick

# charts/serving-operator/README.md from the comments in values.yaml (a unit test checks it).
chart-readme: venv
	$(BIN)/python hack/chart_readme.py

# The Dockerfile built without a Docker engine (buildah; docs/building-the-image.md):
# `make image` FROM the digest-pinned python image (needs Docker Hub), `make image-local`
# FROM a Debian base made here with debootstrap (needs only Debian's mirror and PyPI).
IMAGE ?= localhost/serving-operator:dev

image:
	hack/build-image.sh $(IMAGE)

image-local:
	hack/build-image.sh $(IMAGE) --local-base

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
