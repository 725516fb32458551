# etcd for a citytwin cluster's membership and placement, from Debian's etcd-server package
# (etcdctl, from etcd-client, for health checks and inspection).
# `docker build -f deploy/etcd.Dockerfile -t citytwin-etcd deploy`
FROM debian:12
# The package would start an etcd service on install; in an image nothing is started, etcd runs as
# the container's own process.
# The etcd user is made first with a fixed uid (the package keeps an existing one), so that
# Kubernetes can check runAsNonRoot and give the data volume to its group (fsGroup 2379).
RUN groupadd --system --gid 2379 etcd \
 && useradd --system --uid 2379 --gid etcd --home-dir /var/lib/etcd --no-create-home \
      --shell /usr/sbin/nologin etcd \
 && printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server etcd-client \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && mkdir -p /var/lib/etcd && chown etcd:etcd /var/lib/etcd
USER 2379:2379
VOLUME /var/lib/etcd
# clients, peers
EXPOSE 2379 2380
ENTRYPOINT ["etcd"]
CMD ["--data-dir", "/var/lib/etcd"]
