package canary.cli;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;

import canary.context.Context;
import canary.release.Cluster;
import canary.release.Engine;
import canary.release.Lifecycle;
import canary.release.Liveness;
import canary.release.Notifications;
import canary.release.Notifier;
import canary.release.Operator;
import canary.release.Rollout;
import canary.release.StateStore;
import canary.release.Versions;

/**
 * Everything a command talks to for one context, opened once by a {@link Wiring}: the cluster, the
 * state, the engine, the versions, and the lifecycle and rollout built on them.
 */
public final class Session implements AutoCloseable {

    public final Context ctx;
    public final Cluster cluster;
    public final StateStore store;
    public final Engine engine;
    public final Versions versions;
    public final Lifecycle lifecycle;
    public final Liveness liveness;
    /** Where the release's events go (the context's webhooks; {@link Notifier#NONE} without). */
    public final Notifier notifier;
    private final Clock clock;
    private final Rollout.Probe probe;
    private final Rollout.MetricSource metrics;
    private final PrintWriter out;
    private final Duration timeout;
    private final AutoCloseable resources;

    /** @param resources closed with the session after the engine and the store (the cluster connection) */
    public Session(Context ctx, Cluster cluster, StateStore store, Engine engine, Versions versions, Clock clock, Operator operator,
                   Liveness liveness, Rollout.Probe probe, PrintWriter out, Duration timeout, AutoCloseable resources) {
        this(ctx, cluster, store, engine, versions, clock, operator, liveness, probe, new canary.platform.PrometheusClient(), out, timeout,
                resources, Notifier.NONE);
    }

    /** @param notifier told of each event of the state's writes (migration, share change, gate failure, hold, promote, rollback) */
    public Session(Context ctx, Cluster cluster, StateStore store, Engine engine, Versions versions, Clock clock, Operator operator,
                   Liveness liveness, Rollout.Probe probe, PrintWriter out, Duration timeout, AutoCloseable resources, Notifier notifier) {
        this(ctx, cluster, store, engine, versions, clock, operator, liveness, probe, new canary.platform.PrometheusClient(), out, timeout,
                resources, notifier);
    }

    /**
     * @param metrics  asks Prometheus the queries of the rollout's metric gates
     * @param notifier told of each event of the state's writes (migration, share change, gate failure, hold, promote, rollback)
     */
    public Session(Context ctx, Cluster cluster, StateStore store, Engine engine, Versions versions, Clock clock, Operator operator,
                   Liveness liveness, Rollout.Probe probe, Rollout.MetricSource metrics, PrintWriter out, Duration timeout,
                   AutoCloseable resources, Notifier notifier) {
        this.metrics = metrics;
        this.ctx = ctx;
        this.cluster = cluster;
        this.notifier = notifier;
        this.store = Notifications.notifying(store, ctx, notifier, notifier.enabled() && holdsOnGateFailure(ctx));
        this.engine = engine;
        this.versions = versions;
        this.clock = clock;
        this.probe = probe;
        this.out = out;
        this.timeout = timeout;
        this.resources = resources;
        this.liveness = liveness;
        this.lifecycle = new Lifecycle(ctx, cluster, this.store, engine, versions, clock, operator, liveness, out, timeout);
    }

    /** A rollout along {@code plan} (null for the operator overrides, which do not follow it). */
    public Rollout rollout(canary.context.RolloutPlan plan) {
        return new Rollout(ctx, cluster, this.store, lifecycle, plan, clock, probe, metrics, out, timeout);
    }

    /** Whether the context's rollout plan holds when a gate fails (a failed gate is then also a hold event). */
    static boolean holdsOnGateFailure(Context ctx) {
        if (!ctx.extensions().containsKey(canary.context.RolloutPlan.KEY)) {
            return false;
        }
        try {
            return canary.context.RolloutPlan.of(ctx).onFailure() == canary.context.RolloutPlan.OnFailure.HOLD;
        } catch (RuntimeException e) {
            return false; // a wrong plan is rollout.java's to report
        }
    }

    public Clock clock() {
        return clock;
    }

    @Override
    public void close() {
        try {
            engine.close();
            store.close();
        } finally {
            try {
                resources.close();
            } catch (Exception e) {
                throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
        }
    }
}
