package canary;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Properties;

/**
 * Everything a script talks to for one context, opened once: the cluster, the state, the local
 * processes, the engine, the versions and the lifecycle built on them.
 */
public final class Session implements AutoCloseable {

    public final Context ctx;
    public final Properties client;
    public final KafkaCluster cluster;
    public final StateStore store;
    public final Processes processes;
    public final Engine engine;
    public final Versions versions;
    public final Lifecycle lifecycle;

    public Session(Context ctx, String command, PrintWriter out, Duration timeout) {
        this.ctx = ctx;
        this.client = ctx.kafka().clientProperties();
        this.cluster = KafkaCluster.connect(client);
        try {
            cluster.checkReachable();
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
        this.store = new StateStore(client, ctx.stateTopic(), ctx.name(), command, java.time.Clock.systemUTC());
        this.processes = new Processes(ctx.stateDir());
        Waits.Progress progress = Waits.to(out);
        this.engine = engine(ctx, cluster, processes, client, progress);
        this.versions = new Versions(ctx, cluster, processes, progress);
        this.lifecycle = new Lifecycle(ctx, cluster, store, engine, versions, out, timeout);
    }

    /** The one place that picks the engine named in the context. */
    static Engine engine(Context ctx, KafkaCluster cluster, Processes processes, Properties client, Waits.Progress progress) {
        return switch (ctx.engine()) {
            case STREAMS -> new StreamsEngine(ctx, cluster, processes, client, progress);
            case KSQLDB -> new KsqlEngine(ctx, cluster, KsqlEngine.client(ctx), client, progress);
        };
    }

    @Override
    public void close() {
        try {
            engine.close();
            store.close();
        } finally {
            cluster.close();
        }
    }
}
