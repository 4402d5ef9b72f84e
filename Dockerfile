# syntax=docker/dockerfile:1
# serving-operator image: `docker build -t serving-operator .`
# The Helm chart in charts/serving-operator runs it and ships the CRDs.
# tests/e2e/test_image.py repeats these steps without a Docker engine: build the wheel from
# the files below, install lock/runtime.txt (hashes required) and then the package without an
# index into a fresh virtualenv, drop the
# sandbox, run as uid 10001, and reconcile an example to Ready.
#
# Base: the exact Python release the tests run (3.11.7). Pin it by digest where the
# registry is reachable: `docker buildx imagetools inspect python:3.11.7-slim-bookworm`
# gives it; this workplace has no registry access, so the tag is the pin here.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

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
