# mktows in a container. No image is published: build it yourself (docs/deploy.md),
#   docker build -t mktows .
#   docker run -p 8080:8080 -v mktows-data:/data mktows
# The install and the command are the README's: `pip install .`, then `mktows serve`.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mktows ./mktows
RUN python -m venv /opt/mktows && /opt/mktows/bin/pip install --no-cache-dir .

FROM python:3.11-slim
# An unprivileged user owns the data volume; the server never runs as root.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin mktows \
    && mkdir /data && chown mktows:mktows /data
COPY --from=build /opt/mktows /opt/mktows
# MKTOWS_HOST=0.0.0.0 only here: inside a container the published port is the boundary.
ENV PATH=/opt/mktows/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MKTOWS_DB=sqlite:////data/mktows.db \
    MKTOWS_HOST=0.0.0.0 \
    MKTOWS_PORT=8080
USER mktows
WORKDIR /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MKTOWS_PORT', '8080'), timeout=4)"]
# `serve` migrates the schema and stops cleanly on SIGTERM (what `docker stop` sends).
STOPSIGNAL SIGTERM
CMD ["mktows", "serve"]
