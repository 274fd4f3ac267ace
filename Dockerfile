# One image with jostle-agent, jostle-collector and jostle, as helm/jostle runs them:
#   docker build -t jostle/jostle:0.1.0 .
# Build stage: Debian 12 with the packages of scripts/install-deps.sh --build-only.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN apt-get update -qq \
 && ./scripts/install-deps.sh --build-only \
 && cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
          -DJOSTLE_BUILD_TESTS=OFF -DJOSTLE_BUILD_BENCH=OFF \
 && cmake --build /build --target jostle-agent jostle-collector jostle

# Run stage: the shared libraries the binaries link (ldd of build/bin/*) and libcurl4, which
# ldd does not show: http_client loads libcurl.so.4 with dlopen at the first outbound request.
# Nothing else.
FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates libcurl4 libfmt9 \
      libpugixml1v5 libspdlog1.10 libsqlite3-0 libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/bin/jostle-agent /build/bin/jostle-collector /build/bin/jostle \
     /usr/local/bin/
# The collector runs as this user; the agent's DaemonSet runs it as root (see the chart).
USER 65532:65532
ENTRYPOINT []
CMD ["jostle-collector", "--help"]
