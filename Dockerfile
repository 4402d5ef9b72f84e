# syntax=docker/dockerfile:1
# serving-operator image: `docker build -t serving-operator .`
# The Helm chart in charts/serving-operator runs it; CRDs come from crds/ (`kubectl apply -f crds/`).

# --- build: install the package and its dependencies into a virtualenv ---
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# pyproject.toml declares readme = "README.md", so the build needs it.
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN pip install --no-cache-dir .

# --- runtime: the virtualenv only, run as a non-root user ---
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 operator \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin operator
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
# 8080: Prometheus metrics; 8081: kopf liveness endpoint (/healthz).
EXPOSE 8080 8081
ENTRYPOINT ["serving-operator"]
CMD ["run"]
