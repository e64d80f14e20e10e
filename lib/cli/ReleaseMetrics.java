package canary.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import canary.context.Role;
import canary.release.MigrationState;

/**
 * The release-level metrics that {@code exporter.java} serves: what {@code status.java} measures (phase, share, lag of the router
 * and of each version per partition, the records routed to each version, the last check_data and the last rollout gate), as
 * Prometheus gauges in a registry of their own, updated whole from one {@link StatusReport}. For clusters where the operator does
 * not run the router (the ksqlDB engine), and as one view of a release whatever its engine. The README's "Metrics" table
 * documents each name.
 */
public final class ReleaseMetrics {

    /** Every metric name a scrape shows. */
    public static final List<String> NAMES = List.of(
            "canary_release_status",
            "canary_release_phase",
            "canary_release_share",
            "canary_release_lag_records",
            "canary_release_routed_records",
            "canary_release_router_instances",
            "canary_release_version_members",
            "canary_release_last_check_clean",
            "canary_release_last_check_difference",
            "canary_release_last_check_timestamp_seconds",
            "canary_release_last_gate_passed",
            "canary_release_last_gate_timestamp_seconds",
            "canary_release_measured_timestamp_seconds",
            "canary_release_measure_failures_total");

    private final String context;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Gauge status;
    private final Gauge phase;
    private final Gauge share;
    private final Gauge lag;
    private final Gauge routed;
    private final Gauge routers;
    private final Gauge members;
    private final Gauge checkClean;
    private final Gauge checkDifference;
    private final Gauge checkAt;
    private final Gauge gatePassed;
    private final Gauge gateAt;
    private final Gauge measuredAt;
    private final Counter failures;
    private final List<Gauge> perRelease = new ArrayList<>();

    public ReleaseMetrics(String context) {
        this.context = context;
        status = gauge("canary_release_status", "1 for the release's status (healthy, degraded, no-migration), 0 for the others", "status");
        phase = gauge("canary_release_phase", "1 for the migration's phase, 0 for the others (all 0 with no migration)", "phase");
        share = gauge("canary_release_share", "The share of records routed to the new version (0 to 1)");
        lag = gauge("canary_release_lag_records", "Records still to process per partition: by the router (version=router, on the original"
                + " topic), by the legacy and the new version (on their topics)", "version", "partition");
        routed = gauge("canary_release_routed_records", "Records routed to each version so far, per partition (counted in the version's"
                + " topic, read_committed)", "version", "partition");
        routers = gauge("canary_release_router_instances", "Members of the routing group (router instances, or the ksqlDB rating query)");
        members = gauge("canary_release_version_members", "Consumers in each version's group", "version");
        checkClean = gauge("canary_release_last_check_clean", "1 when the last check_data found no difference, 0 when it found one");
        checkDifference = gauge("canary_release_last_check_difference", "Records consumed minus routed to legacy and new at the last check_data");
        checkAt = gauge("canary_release_last_check_timestamp_seconds", "When the last check_data ran (Unix time)");
        gatePassed = gauge("canary_release_last_gate_passed", "1 when the rollout's last gate evaluation passed, 0 when a gate failed");
        gateAt = gauge("canary_release_last_gate_timestamp_seconds", "When the rollout last evaluated its gates (Unix time)");
        measuredAt = Gauge.builder().name("canary_release_measured_timestamp_seconds")
                .help("When the exporter last measured the release (Unix time); old means the measurements fail").labelNames("context")
                .register(registry);
        failures = Counter.builder().name("canary_release_measure_failures_total")
                .help("Measurements that failed (Kafka unreachable, a wait timed out); the last values are served meanwhile")
                .labelNames("context").register(registry);
        failures.initLabelValues(context);
    }

    private Gauge gauge(String name, String help, String... labels) {
        String[] names = new String[labels.length + 1];
        names[0] = "context";
        System.arraycopy(labels, 0, names, 1, labels.length);
        Gauge g = Gauge.builder().name(name).help(help).labelNames(names).register(registry);
        perRelease.add(g);
        return g;
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    public void failed() {
        failures.labelValues(context).inc();
    }

    /** Replaces every value with those of {@code r}; a value the report does not have is dropped, not kept from before. */
    public synchronized void update(StatusReport r, long nowMillis) {
        perRelease.forEach(Gauge::clear);
        for (StatusReport.Health h : StatusReport.Health.values()) {
            status.labelValues(context, h.word()).set(h == r.status() ? 1 : 0);
        }
        for (MigrationState.Phase p : MigrationState.Phase.values()) {
            phase.labelValues(context, p.word()).set(p == r.phase() ? 1 : 0);
        }
        if (r.share() != null) {
            share.labelValues(context).set(r.share());
        }
        if (r.partitions() != null) {
            for (StatusReport.Partition p : r.partitions()) {
                String part = Integer.toString(p.partition());
                set(lag, p.routerLag(), "router", part);
                set(lag, p.legacyLag(), "legacy", part);
                set(lag, p.newLag(), "new", part);
                set(routed, p.routedToLegacy(), "legacy", part);
                set(routed, p.routedToNew(), "new", part);
            }
        }
        if (r.routerInstances() != null) {
            routers.labelValues(context).set(r.routerInstances().size());
        }
        if (r.versionMembers() != null) {
            for (Map.Entry<Role, Integer> e : r.versionMembers().entrySet()) {
                members.labelValues(context, e.getKey().toString()).set(e.getValue());
            }
        }
        MigrationState.Check c = r.lastCheck();
        if (c != null) {
            checkClean.labelValues(context).set(c.clean() ? 1 : 0);
            checkDifference.labelValues(context).set(c.difference());
            checkAt.labelValues(context).set(c.at().toEpochMilli() / 1e3);
        }
        MigrationState.GateResult g = r.lastGate();
        if (g != null) {
            gatePassed.labelValues(context).set(g.passed() ? 1 : 0);
            gateAt.labelValues(context).set(g.at().toEpochMilli() / 1e3);
        }
        measuredAt.labelValues(context).set(nowMillis / 1e3);
    }

    private void set(Gauge g, Long value, String version, String partition) {
        if (value != null) {
            g.labelValues(context, version, partition).set(value);
        }
    }
}
