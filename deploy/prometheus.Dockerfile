# Prometheus from Debian's prometheus package, with citytwin's alerting rules.
# `docker build -f deploy/prometheus.Dockerfile -t citytwin-prometheus .` from the repository root.
FROM debian:12
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && mkdir -p /prometheus && chown prometheus:prometheus /prometheus
# The scrape configuration names rules.yml beside itself: the rules are observability/'s, unchanged.
COPY deploy/prometheus/prometheus.yml /etc/prometheus/prometheus.yml
COPY observability/prometheus/rules.yml /etc/prometheus/rules.yml
USER prometheus
VOLUME /prometheus
EXPOSE 9090
ENTRYPOINT ["prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--web.listen-address=0.0.0.0:9090"]
