# syntax=docker/dockerfile:1
#
# Container image of inbox-warehouse, the command-line tool that loads an inbox event log
# (NDJSON) into PostgreSQL and writes the twelve exports as CSV (see README.md).
#
# Two stages:
#   1. "build"   - the official Swift 6 image (compiler + toolchain, ~1.5 GB) compiles the tool;
#   2. "runtime" - a small Debian image holding only what the compiled program needs to run.
# Only the second stage becomes the image you run, so the compiler never ships.
#
#   docker build -t inbox-warehouse .
#   docker run --rm -e DATABASE_URL=postgresql://user:pass@host:5432/db inbox-warehouse db migrate
#
# The image contains no PostgreSQL server: inside a container the tool must be given a server
# with DATABASE_URL (or --database-url). Without one it would try to start its "embedded"
# private cluster and stop with an error saying the PostgreSQL server programs are missing.
# docker-compose.yml wires the tool to a PostgreSQL container; docs/docker.md explains it.
#
# Both stages are Debian 12 "bookworm": the runtime libraries copied from the build stage were
# compiled against bookworm's C library, so the two stages must stay on the same release.

# ---------------------------------------------------------------------------------------------
# Stage 1: build
# ---------------------------------------------------------------------------------------------
# Pinned to a Swift 6.0 patch release (Package.swift asks for swift-tools-version 6.0).
FROM swift:6.0.3-bookworm AS build

# libpq-dev: libpq's C headers and library, which the CLibPQ module compiles against;
# pkg-config: how SwiftPM finds them (Package.swift: `.systemLibrary(pkgConfig: "libpq")`).
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Fetch the dependencies (swift-argument-parser, swift-log, swift-crypto) first, from the manifest
# alone, so that this slow layer is reused by later builds that only change the sources.
# Package.resolved is git-ignored in this repository: the trailing `*` copies it when your
# checkout has one (pinning the exact versions you tested) and skips it otherwise.
COPY Package.swift Package.resolved* ./
RUN swift package resolve

# The sources. Tests/ is copied too although no test is built here: Package.swift declares the
# test target, and SwiftPM refuses to load a package whose target folder is missing. sql/ and
# Plugins/ are compiled into the binary (EmbedSQLPlugin), which is then the whole install.
COPY Sources ./Sources
COPY Tests ./Tests
COPY Plugins ./Plugins
COPY sql ./sql

# Compile only the command-line product, optimized, and put the binary at a known path
# (the build folder's name depends on the CPU architecture, hence --show-bin-path).
RUN swift build -c release --product inbox-warehouse \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/inbox-warehouse" \
        /staging/usr/local/bin/inbox-warehouse

# ---------------------------------------------------------------------------------------------
# Stage 2: runtime
# ---------------------------------------------------------------------------------------------
# Why debian:bookworm-slim plus copied libraries, rather than swift:6.0-bookworm-slim?
# The program is linked dynamically against the Swift runtime (libswiftCore, Foundation,
# Dispatch, ...), which lives in /usr/lib/swift/linux of the build image. Copying exactly those
# .so files from the stage that compiled the binary guarantees they are the same Swift version
# as the compiler, and the image stays a plain Debian slim base that security scanners and
# `apt-get` understand. (swift:6.0.3-bookworm-slim would work as well; it carries the same
# libraries plus a few packages this tool does not use, such as libcurl and libxml2.)
FROM debian:bookworm-slim AS runtime

# What the binary needs at run time besides the Swift runtime:
#   libpq5          - the PostgreSQL client library the tool talks to the server with;
#   libstdc++6      - the C++ runtime the Swift runtime and Foundation link against;
#   ca-certificates - to verify servers when DATABASE_URL asks for sslmode=verify-full;
#   gzip            - the loader decompresses *.ndjson.gz input by running `gzip -dc`;
#   tzdata          - IANA time zones, for `export --tz Europe/Paris` and similar.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
        libpq5 libstdc++6 ca-certificates gzip tzdata \
    && rm -rf /var/lib/apt/lists/*

# The Swift runtime libraries, at the same path as in the build image: the binary records
# /usr/lib/swift/linux as its library search path (RUNPATH). The ldconfig entry is a second way
# for the loader to find them. The libexec folder holds swift-backtrace, which prints a readable
# stack trace if the program ever crashes.
COPY --from=build /usr/lib/swift/linux/*.so /usr/lib/swift/linux/
COPY --from=build /usr/libexec/swift/linux/ /usr/libexec/swift/linux/
RUN echo /usr/lib/swift/linux > /etc/ld.so.conf.d/swift.conf && ldconfig

# The tool itself. Its SQL (numbered migrations, the export views and their header files) is
# compiled into the binary (see SQLResources in Sources/InboxWarehouse/SQLResources.swift), so
# nothing else is copied; `inbox-warehouse sql dump DIR` writes the files out.
COPY --from=build /staging/usr/local/bin/inbox-warehouse /usr/local/bin/inbox-warehouse

# Run as an unprivileged user, never as root. The numeric id (10001) lets orchestrators such as
# Kubernetes check `runAsNonRoot`. When you mount a host folder for exports, either make it
# writable by uid 10001 or run with `--user "$(id -u):$(id -g)"` (docker-compose.yml does that).
RUN groupadd --system --gid 10001 inbox \
    && useradd --system --uid 10001 --gid inbox --create-home --home-dir /home/inbox \
        --shell /usr/sbin/nologin inbox
USER 10001:10001
WORKDIR /home/inbox

# `docker run IMAGE load file.ndjson` runs `inbox-warehouse load file.ndjson`;
# with no arguments the image prints the tool's help.
ENTRYPOINT ["inbox-warehouse"]
CMD ["--help"]
