# syntax=docker/dockerfile:1
# rbscan in a container: the .deb built in a Swift image, installed into debian:bookworm-slim
# (no Swift in the final image; the runtime is linked into the binary).
#   docker build -t rbscan .
#   docker run --rm -v "$PWD:/work" -w /work rbscan scan firmware.bin --format sarif --output r.sarif
ARG SWIFT_IMAGE=swift:6.3-bookworm

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends sudo >/dev/null
COPY . .
RUN scripts/install-deps --build && scripts/package-deb

FROM debian:bookworm-slim
COPY --from=build /src/dist/ /tmp/dist/
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends /tmp/dist/rbscan_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/dist \
 && rbscan version
ENTRYPOINT ["rbscan"]
CMD ["--help"]
