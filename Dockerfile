# syntax=docker/dockerfile:1
# FinishThisIdea in a container: one image, `finishthisidea serve` on 0.0.0.0:8080, data in
# the /data volume, API keys required (auth.mode "open" is refused off loopback).
#
#   docker build -t finishthisidea .
#   docker volume create fti-data
#   docker run --rm -v fti-data:/data finishthisidea finishthisidea keys create --tenant acme
#   docker run -d --name fti -p 8080:8080 -v fti-data:/data finishthisidea
#   curl -H "Authorization: Bearer fti_..." http://127.0.0.1:8080/api/v1/jobs
#
# The package lists below follow scripts/install-deps; tests/tools/check-deploy-files (ctest
# `deploy_files`) fails when they drift apart. Each build package and what the runtime stage
# installs for it ("-": needed only to build; "base": already in debian:bookworm-slim):
#   dep: build-essential      -> gcc g++        (the LLM passes check C and C++ answers with gcc -fsyntax-only)
#   dep: cmake                -> -
#   dep: ninja-build          -> -
#   dep: pkg-config           -> -
#   dep: ccache               -> -
#   dep: git                  -> -
#   dep: libboost-dev         -> -              (Boost is used header-only)
#   dep: libsqlite3-dev       -> libsqlite3-0
#   dep: libpq-dev            -> libpq5
#   dep: libcurl4-openssl-dev -> libcurl4
#   dep: libsimdjson-dev      -> libsimdjson14
#   dep: libfmt-dev           -> libfmt9
#   dep: libspdlog-dev        -> libspdlog1.10
#   dep: libssl-dev           -> libssl3
#   dep: libarchive-dev       -> libarchive13
#   dep: libtomlplusplus-dev  -> libtomlplusplus3
#   dep: libcli11-dev         -> -              (header-only)
#   dep: ca-certificates      -> ca-certificates (HTTPS to S3 and the cloud models)
#   dep: python3              -> python3        (checks Python answers of the LLM passes)
#   dep: nodejs               -> nodejs         (checks JavaScript answers: node --check; runs prettier)
#   dep: python3-yaml         -> python3-yaml   (the checks pass parses YAML with PyYAML)
#   dep: clang-format         -> clang-format   (the format pass: C, C++, Objective-C, Java, protobuf)
#   dep: black                -> black          (the format pass: Python)
#   dep: shfmt                -> shfmt          (the format pass: shell)
#   dep: golang-go            -> golang-go      (the format pass: gofmt)
#   dep: rustfmt              -> rustfmt        (the format pass: Rust)
#   base: libc6 libgcc-s1 libstdc++6
# Runtime packages that have no build counterpart:
#   runtime-extra: curl       (the HEALTHCHECK)
# prettier comes from npm (tools/package-lock.json): the build stage installs npm and runs
# scripts/install-tools; the runtime stage gets only tools/node_modules (no npm).

FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ccache git \
      libboost-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev libsimdjson-dev \
      libfmt-dev libspdlog-dev libssl-dev libarchive-dev libtomlplusplus-dev libcli11-dev \
      ca-certificates \
      python3 nodejs python3-yaml \
      clang-format black shfmt golang-go rustfmt \
      npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/install-tools
# The ccache folder is a BuildKit cache: rebuilds after a small change take seconds.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DFTI_BUILD_TESTS=OFF \
 && cmake --build build/release --target finishthisidea \
 && strip build/release/finishthisidea \
 && build/release/finishthisidea version

FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libsqlite3-0 libpq5 libcurl4 libsimdjson14 libfmt9 libspdlog1.10 libssl3 libarchive13 \
      libtomlplusplus3 ca-certificates \
      gcc g++ python3 nodejs python3-yaml \
      clang-format black shfmt golang-go rustfmt \
      curl \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so volumes and Kubernetes' runAsUser/fsGroup can name it.
RUN groupadd --system --gid 10001 fti \
 && useradd --system --uid 10001 --gid fti --home-dir /data --no-create-home --shell /usr/sbin/nologin fti \
 && mkdir -p /data /etc/finishthisidea \
 && chown fti:fti /data
COPY --from=build /src/build/release/finishthisidea /usr/local/bin/finishthisidea
# prettier for the format pass; format.tools_dir (below) says where it is.
COPY --from=build /src/tools/node_modules /usr/local/lib/finishthisidea/tools/node_modules
# Every key with its default, for reference: copy what you change into a file of your own and
# mount it (e.g. -v ./fti.toml:/etc/finishthisidea/config.toml, then serve --config it).
COPY config/default.toml /etc/finishthisidea/default.toml
# Data (SQLite file, blobs, job scratch) in the volume; keys required. Any other key can be
# set the same way (FTI_DATABASE_URL=postgresql://..., FTI_STORAGE_URL=s3://..., ...).
ENV FTI_SERVER_DATA_DIR=/data \
    FTI_AUTH_MODE=api_key \
    FTI_FORMAT_TOOLS_DIR=/usr/local/lib/finishthisidea/tools
USER fti:fti
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Liveness only: /readyz is for balancers (it turns 503 while draining).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1
# SIGTERM drains (server.drain_seconds, 20 s by default): give `docker stop -t 30` or more.
STOPSIGNAL SIGTERM
CMD ["finishthisidea","serve","--listen","0.0.0.0:8080"]
