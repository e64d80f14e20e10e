package canary.engine.router;

import java.io.IOException;
import java.net.BindException;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import canary.common.UserException;
import canary.release.MigrationState;

/**
 * The Prometheus metrics of one router instance, kept with the Prometheus Java client in a registry of its own and served
 * by {@link #serve} on {@code /metrics}. The router calls it at a few places of its loop: after a committed transaction
 * (with that transaction's counts per version and partition), on an abort, and whenever it looks at the state. Every
 * metric carries the context's name as label {@code context}; the README's "Metrics" table documents each one.
 */
public final class RouterMetrics {

    /** Every metric name a scrape shows (histograms as their base name: _bucket, _sum and _count follow it). */
    public static final List<String> NAMES = List.of(
            "canary_router_records_routed_total",
            "canary_router_transactions_committed_total",
            "canary_router_transactions_aborted_total",
            "canary_router_commit_latency_seconds",
            "canary_router_consume_to_commit_seconds",
            "canary_router_record_age_at_commit_seconds",
            "canary_router_share",
            "canary_router_phase",
            "canary_router_routing",
            "canary_router_lag_records");

    /** Latency buckets in seconds: from a fast local commit to a broker that stalls for several seconds. */
    private static final double[] BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

    private final String context;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter routed;
    private final Counter committed;
    private final Counter aborted;
    private final Histogram commitLatency;
    private final Histogram consumeToCommit;
    private final Histogram recordAge;
    private final Gauge share;
    private final Gauge phase;
    private final Gauge routing;
    private final Gauge lag;
    private final Set<Integer> lagPartitions = new HashSet<>();

    public RouterMetrics(String context) {
        this.context = context;
        routed = Counter.builder().name("canary_router_records_routed_total")
                .help("Records this instance routed in committed transactions, per version (legacy, new) and source partition")
                .labelNames("context", "version", "partition").register(registry);
        committed = Counter.builder().name("canary_router_transactions_committed_total").help("Transactions committed")
                .labelNames("context").register(registry);
        aborted = Counter.builder().name("canary_router_transactions_aborted_total")
                .help("Transactions aborted, by reason: fenced (the transactional id was taken over), rebalance, error, shutdown")
                .labelNames("context", "reason").register(registry);
        commitLatency = Histogram.builder().name("canary_router_commit_latency_seconds")
                .help("Time to commit a transaction: sending its source offsets and the commit itself").classicOnly()
                .classicUpperBounds(BUCKETS).labelNames("context").register(registry);
        consumeToCommit = Histogram.builder().name("canary_router_consume_to_commit_seconds")
                .help("From the poll that returned a transaction's first record to the end of its commit").classicOnly()
                .classicUpperBounds(BUCKETS).labelNames("context").register(registry);
        recordAge = Histogram.builder().name("canary_router_record_age_at_commit_seconds")
                .help("From the timestamp of a transaction's oldest record (as the producer or the broker set it) to the end of its commit")
                .classicOnly().classicUpperBounds(BUCKETS).labelNames("context").register(registry);
        share = Gauge.builder().name("canary_router_share").help("The share of records routed to the new version (0 to 1), from the state")
                .labelNames("context").register(registry);
        phase = Gauge.builder().name("canary_router_phase").help("1 for the phase of the migration in the state, 0 for the others")
                .labelNames("context", "phase").register(registry);
        routing = Gauge.builder().name("canary_router_routing").help("1 while this instance routes, 0 while paused (run flag off, hand-over)")
                .labelNames("context").register(registry);
        lag = Gauge.builder().name("canary_router_lag_records")
                .help("Records of the original topic not routed yet, per partition assigned to this instance (from its consumer)")
                .labelNames("context", "partition").register(registry);
        committed.initLabelValues(context);
        for (String reason : List.of("fenced", "rebalance", "error", "shutdown")) {
            aborted.initLabelValues(context, reason);
        }
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /**
     * Serves the metrics on {@code http://host:port/metrics} until the server is closed. A port in use is the user's mistake
     * (two instances on one host need different ports): one line.
     */
    public HTTPServer serve(String host, int port) {
        try {
            return HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart();
        } catch (BindException e) {
            throw new UserException("cannot serve metrics on " + host + ":" + port + " (" + e.getMessage() + "): each router instance on a host"
                    + " needs its own port (metrics.port in the context + the instance number, or --metrics-port)");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot serve metrics on " + host + ":" + port, e);
        }
    }

    /** Where the state stands, as this instance follows it: phase, share and whether it routes. */
    public void state(MigrationState st, boolean routes) {
        routing.labelValues(context).set(routes ? 1 : 0);
        if (!routes && !lagPartitions.isEmpty()) {
            lagPartitions.forEach(p -> lag.remove(context, Integer.toString(p)));
            lagPartitions.clear();
        }
        if (st == null) {
            return;
        }
        share.labelValues(context).set(st.share());
        for (MigrationState.Phase p : MigrationState.Phase.values()) {
            phase.labelValues(context, p.word()).set(p == st.phase() ? 1 : 0);
        }
    }

    /** A transaction under way: what it routed, per version and partition, and how old its records are. */
    public Batch batch() {
        return new Batch();
    }

    /** Counts of one transaction, kept in arrays indexed by partition (cheap per record). */
    public static final class Batch {
        private final long consumedAt = System.nanoTime();
        private long[] toLegacy = new long[8];
        private long[] toNew = new long[8];
        private long oldestTimestamp = Long.MAX_VALUE;

        public void add(int partition, boolean isNew, long timestamp) {
            if (partition >= toLegacy.length) {
                int n = Math.max(partition + 1, toLegacy.length * 2);
                toLegacy = java.util.Arrays.copyOf(toLegacy, n);
                toNew = java.util.Arrays.copyOf(toNew, n);
            }
            if (isNew) {
                toNew[partition]++;
            } else {
                toLegacy[partition]++;
            }
            if (timestamp >= 0 && timestamp < oldestTimestamp) {
                oldestTimestamp = timestamp;
            }
        }
    }

    /** A transaction committed; {@code commitStarted} is the {@link System#nanoTime()} when its offsets were sent. */
    public void committed(Batch b, long commitStarted) {
        long now = System.nanoTime();
        for (int p = 0; p < b.toLegacy.length; p++) {
            if (b.toLegacy[p] > 0) {
                routed.labelValues(context, "legacy", Integer.toString(p)).inc(b.toLegacy[p]);
            }
            if (b.toNew[p] > 0) {
                routed.labelValues(context, "new", Integer.toString(p)).inc(b.toNew[p]);
            }
        }
        committed.labelValues(context).inc();
        commitLatency.labelValues(context).observe((now - commitStarted) / 1e9);
        consumeToCommit.labelValues(context).observe((now - b.consumedAt) / 1e9);
        if (b.oldestTimestamp != Long.MAX_VALUE) {
            recordAge.labelValues(context).observe(Math.max(0, System.currentTimeMillis() - b.oldestTimestamp) / 1e3);
        }
    }

    /** A transaction was aborted: fenced, rebalance, error or shutdown. */
    public void aborted(String reason) {
        aborted.labelValues(context, reason).inc();
    }

    /** The lag the consumer knows from its last fetch, per assigned partition (no request to the broker); unassigned ones are dropped. */
    public void lag(Consumer<?, ?> consumer) {
        Set<Integer> seen = new HashSet<>();
        for (TopicPartition tp : consumer.assignment()) {
            OptionalLong l = consumer.currentLag(tp);
            if (l.isPresent()) {
                lag.labelValues(context, Integer.toString(tp.partition())).set(l.getAsLong());
                seen.add(tp.partition());
            }
        }
        for (Integer p : lagPartitions) {
            if (!seen.contains(p)) {
                lag.remove(context, Integer.toString(p));
            }
        }
        lagPartitions.clear();
        lagPartitions.addAll(seen);
    }
}
