# syntax=docker/dockerfile:1
# serving-operator image: `docker build -t serving-operator .` (or `make image`, without Docker;
# docs/building-the-image.md). Released as ghcr.io/serving-operator/serving-operator for amd64
# and arm64 by .github/workflows/release.yml.
# The Helm chart in charts/serving-operator runs it and ships the CRDs.
# tests/e2e/test_image_build.py builds this file with buildah (no Docker engine) and runs
# `version` and `check` in the image; tests/e2e/test_image.py repeats its install steps in a
# virtualenv and reconciles an example to Ready as uid 10001.
#
# Base: python 3.11 slim on Debian bookworm, pinned by tag (to read) and by the digest of its
# multi-architecture index (what is pulled, for amd64 and arm64 alike). The digest is the one
# several independent public repositories record for python:3.11.16-slim-bookworm; this
# workplace reaches no registry to ask Docker Hub itself. Refresh it with
# `docker buildx imagetools inspect python:3.11-slim-bookworm` (Dependabot proposes updates:
# .github/dependabot.yml). tests/unit/test_release.py checks it stays pinned by digest.
ARG PYTHON_IMAGE=python:3.11.16-slim-bookworm@sha256:528257d48c1da0dcecc2e725d1ae34498d60c965f1241e39cd6a85a8859bdf84

# --- build: install the package and its pinned dependencies into a virtualenv ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# pyproject.toml declares readme and license files, so the build needs them.
COPY pyproject.toml README.md LICENSE ./
COPY lock/runtime.txt lock/runtime.txt
COPY operator/ operator/
# Every distribution comes from the lock, checked against its hashes; the package itself is
# built with the locked setuptools (no build isolation) and without an index, so nothing
# else can arrive. The sandbox is test and demo equipment: never in the image (its command
# says how to install it instead).
RUN pip install --no-cache-dir --require-hashes --no-deps -r lock/runtime.txt \
    && pip install --no-cache-dir --no-index --no-deps --no-build-isolation . \
    && pip check \
    && rm -rf /opt/venv/lib/python3.11/site-packages/serving_operator/sandbox

# --- runtime: the virtualenv only, run as a non-root user ---
FROM ${PYTHON_IMAGE}
# The release workflow passes the tag's version; the default is the package's __version__
# (tests/unit/test_release.py keeps them equal).
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="serving-operator" \
      org.opencontainers.image.description="Kubernetes operator for SageMaker endpoints, traffic splits and edge models" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/serving-operator/serving-operator"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 serving-operator \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin serving-operator
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
# 8080: Prometheus metrics; 8081: kopf liveness endpoint (/healthz).
EXPOSE 8080 8081
ENTRYPOINT ["serving-operator"]
CMD ["run"]
