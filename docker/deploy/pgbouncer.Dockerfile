# PgBouncer from Debian's packages, configured from the environment at start.
FROM debian:bookworm-slim
RUN set -eux; apt-get update; apt-get install -y --no-install-recommends pgbouncer; \
    rm -rf /var/lib/apt/lists/*
COPY pgbouncer-entrypoint.sh /usr/local/bin/pgbouncer-entrypoint.sh
USER postgres
EXPOSE 6432
ENTRYPOINT ["/usr/local/bin/pgbouncer-entrypoint.sh"]
