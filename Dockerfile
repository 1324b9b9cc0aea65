# forcebus in a container: a small, non-root image with its data in the /data volume.
#
#   docker build -t forcebus .
#   docker run -d --name forcebus -p 8080:8080 -p 7443:7443 -v forcebus-data:/data forcebus
#   docker exec forcebus forcebus env      # the variables that point clients at it
#
# Inside the container it listens on 0.0.0.0; the generated certificate covers localhost,
# 127.0.0.1 and ::1, plus every name given with --tls-name (the service name other
# containers use, say):  docker run ... forcebus serve --tls-name forcebus

FROM rust:1-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p forcebus \
    && cp target/release/forcebus /usr/local/bin/forcebus

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home forcebus \
    && mkdir /data && chown forcebus:forcebus /data && chmod 700 /data
COPY --from=build /usr/local/bin/forcebus /usr/local/bin/forcebus
USER forcebus
WORKDIR /data
VOLUME ["/data"]
ENV FORCEBUS_DATA_DIR=/data \
    FORCEBUS_LISTEN=0.0.0.0:8080 \
    FORCEBUS_GRPC_LISTEN=0.0.0.0:7443
EXPOSE 8080 7443
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["forcebus", "health", "--addr", "127.0.0.1:8080"]
ENTRYPOINT ["forcebus"]
CMD ["serve"]
