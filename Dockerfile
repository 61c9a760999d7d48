# Vectra application image.
#
#   docker build -t vectra .            (or: docker compose up --build)
#   docker run -p 8080:8080 -e DATABASE_URL=... -e JWT_SECRET=... vectra
#
# Stage 1 builds a release binary; the SQL migrations (sql/migrations) and
# the email templates (templates/) are embedded into it at compile time.
# Stage 2 is a slim Debian with the binary alone.
#
# The base images can be swapped (e.g. for locally built stand-ins on a
# machine without a registry):
#   docker build --build-arg RUST_IMAGE=... --build-arg RUNTIME_IMAGE=... .
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- builder --
FROM ${RUST_IMAGE} AS builder
WORKDIR /build
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

# 1) Dependencies only, cached as long as Cargo.toml / Cargo.lock / build.rs /
#    vendor/ do not change: build the real dependency graph against a dummy
#    crate. (vendor/: the project's copy of tokio-postgres, patched in by
#    Cargo.toml.)
#    (`build.rs*`: the glob lets the build work with or without a build script.)
COPY Cargo.toml Cargo.lock build.rs* ./
COPY vendor ./vendor
RUN set -eux; \
    mkdir -p src sql/migrations templates benches; \
    echo 'fn main() {}' > src/main.rs; \
    touch src/lib.rs; \
    echo 'fn main() {}' > benches/request_transaction.rs; \
    echo 'fn main() {}' > benches/rate_limit_memory.rs; \
    echo 'fn main() {}' > benches/html_sanitize.rs; \
    cargo build --release --locked; \
    rm -rf src sql templates benches

# 2) The real sources.  The dummy crate's build artefacts are removed and the
#    sources touched so cargo cannot mistake them for up to date (COPY keeps the
#    files' original, possibly older, modification times).
COPY src ./src
COPY benches ./benches
COPY sql ./sql
COPY templates ./templates
RUN set -eux; \
    rm -rf target/release/.fingerprint/vectra-* target/release/build/vectra-* \
           target/release/deps/vectra-* target/release/deps/libvectra-* \
           target/release/vectra target/release/libvectra.*; \
    find src sql templates -type f -exec touch {} +; \
    cargo build --release --locked --bin vectra; \
    strip target/release/vectra

# ---------------------------------------------------------------- runtime --
FROM ${RUNTIME_IMAGE} AS runtime

# ca-certificates: outgoing TLS (SMTP, webhooks); curl: the HEALTHCHECK.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 vectra; \
    useradd --system --uid 10001 --gid vectra --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin vectra

WORKDIR /app
COPY --from=builder /build/target/release/vectra /usr/local/bin/vectra

USER vectra:vectra
ENV BIND_ADDR=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://localhost:8080/ready || exit 1

ENTRYPOINT ["vectra"]
CMD ["serve"]
