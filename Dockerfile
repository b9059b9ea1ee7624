# syntax=docker/dockerfile:1.7
#
# One image per Folio service, from the Cargo workspace:
#   docker build --build-arg SERVICE=users -t folio-users:dev .
# SERVICE is one of: bff, users, documents, integration, notifications.
#
# Stages: chef (toolchain + cargo-chef) -> planner (dependency recipe) ->
# builder (dependencies cooked in their own cached layer, then the service)
# -> runtime (distroless, non-root, no shell; fine with a read-only root
# filesystem: the services write only to /tmp, an emptyDir in Kubernetes).
#
# checkov:skip=CKV_DOCKER_2: No HEALTHCHECK on purpose: Kubernetes probes /healthz and /readyz (helm/folio), and Docker's HEALTHCHECK would need a shell or client binary the distroless image does not have.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
# The toolchain image runs as root; the runtime image does not.
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG SERVICE
RUN case "${SERVICE}" in \
      bff|users|documents|integration|notifications) ;; \
      *) echo "build-arg SERVICE must be one of: bff users documents integration notifications (got '${SERVICE}')" >&2; exit 1 ;; \
    esac
# Queries are checked against the committed .sqlx metadata, not a live database.
ENV SQLX_OFFLINE=true
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml/Cargo.lock change.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo chef cook --release --locked --recipe-path recipe.json --package "folio-${SERVICE}"
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo build --release --locked --package "folio-${SERVICE}" --bin "folio-${SERVICE}" \
 && install -D -m 0555 "target/release/folio-${SERVICE}" /out/folio-service

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="folio-${SERVICE}" \
      org.opencontainers.image.description="Folio ${SERVICE} service" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/folio-service /usr/local/bin/folio-service
# Local-run state would default to ./.folio; keep it on the writable /tmp.
ENV FOLIO_DATA_DIR=/tmp/folio
# distroless "nonroot": uid/gid 65532, matching the chart's securityContext.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/folio-service"]
