package canary.engine.router;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Context.EngineKind;
import canary.kafka.KafkaCluster;
import canary.platform.Processes;
import canary.release.Cluster;
import canary.release.Engine;
import canary.release.Integrity;
import canary.release.MigrationState;

/**
 * The embedded router engine: {@link Router} instances in the group {@code canary-router-<context>}. The
 * kit runs instance 0 as a local background process; more instances can be run by hand with
 * {@code router.java ctx --instance N}. Routing starts at the start offsets because the migration
 * sets the router group's committed offsets to them before any instance runs.
 */
public final class RouterEngine implements Engine {

    public static final String INSTANCE_0 = "router-0";

    private final Context ctx;
    private final KafkaCluster cluster;
    private final Processes processes;
    private final String mainClass;
    private final Waits.Progress progress;

    /** @param mainClass the class a router instance process runs (router.java's command), given {@code <context> --instance N} */
    public RouterEngine(Context ctx, KafkaCluster cluster, Processes processes, String mainClass, Waits.Progress progress) {
        this.ctx = ctx;
        this.cluster = cluster;
        this.processes = processes;
        this.mainClass = mainClass;
        this.progress = progress;
    }

    @Override
    public EngineKind kind() {
        return EngineKind.ROUTER;
    }

    @Override
    public void checkAccess() {
        canary.kafka.LeastPrivilege.check(cluster.admin(), ctx);
    }

    @Override
    public void preflight(MigrationState planned, boolean allowAtLeastOnce) {
        // Exactly-once is built in: transactions are always used. The kit's rights were checked first (checkAccess).
    }

    @Override
    public Map<String, String> create(MigrationState state, Map<Integer, Long> startOffsets, Duration timeout) {
        int partitions = startOffsets.size();
        for (String t : List.of(ctx.legacyTopic(), ctx.newTopic())) {
            if (cluster.createTopic(t, partitions, Map.of())) {
                progress.accept("created topic " + t + " (" + partitions + " partitions)");
            } else {
                progress.accept("topic " + t + " already exists (" + partitions + " partitions)");
            }
        }
        // A group left from an earlier, rolled back migration must not leak its offsets into this one.
        awaitNoRouter(timeout);
        cluster.deleteGroup(ctx.routerGroup());
        cluster.setOffsets(ctx.routerGroup(), ctx.topic(), startOffsets);
        progress.accept("router group " + ctx.routerGroup() + " starts at the start offsets");
        return Map.of();
    }

    @Override
    public void resume(MigrationState state, Duration timeout) {
        if (!processes.isRunning(INSTANCE_0)) {
            processes.start(INSTANCE_0, Processes.javaCommand(mainClass,
                    ctx.file().toAbsolutePath().toString(), "--instance", "0"), ctx.directory(), Map.of(), true);
            progress.accept("started router instance 0 (log: " + ctx.stateDir().resolve("logs").resolve(INSTANCE_0 + ".log") + ")");
        }
        Waits.until("the router group " + ctx.routerGroup() + " has members", timeout, progress,
                () -> !cluster.members(ctx.routerGroup()).isEmpty());
    }

    @Override
    public void pause(MigrationState state, Duration timeout) {
        awaitNoRouter(timeout);
        // The coordinator writes the markers of the last transaction after the commit returns, and a killed
        // instance's transaction stays open until it times out: wait until every routed record is decided.
        for (String topic : List.of(ctx.legacyTopic(), ctx.newTopic())) {
            Waits.untilNothingLeft("every transaction on " + topic + " is committed or aborted", timeout, progress, () -> {
                Map<Integer, Long> open = cluster.undecided(topic);
                return open.isEmpty() ? null : "undecided offsets on partitions " + open;
            });
        }
    }

    private void awaitNoRouter(Duration timeout) {
        Waits.untilNothingLeft("the router group " + ctx.routerGroup() + " is empty (every instance finished its transaction)",
                timeout, progress, () -> {
                    List<Cluster.Member> m = cluster.members(ctx.routerGroup());
                    return m.isEmpty() ? null : m.size() + " router instance(s) still in the group";
                });
    }

    @Override
    public void applyRouting(MigrationState next) {
        // Router instances read the share, the rules and the partitions from the state before each batch.
    }

    @Override
    public Map<Integer, Long> position(MigrationState state) {
        // A partition whose transactional offset commit is still pending is left out of a stable read: read again.
        Map<Integer, Long> out = new TreeMap<>();
        try {
            Waits.untilNothingLeft("the router group " + ctx.routerGroup() + " has a committed offset on every partition",
                    Duration.ofSeconds(20), progress, () -> {
                        Map<Integer, Long> committed = cluster.committedOffsets(ctx.routerGroup(), ctx.topic());
                        out.clear();
                        List<Integer> missing = new java.util.ArrayList<>();
                        for (Integer p : state.startOffsets().keySet()) {
                            if (committed.containsKey(p)) {
                                out.put(p, committed.get(p));
                            } else {
                                missing.add(p);
                            }
                        }
                        return missing.isEmpty() ? null : "no committed offset yet on partitions " + missing;
                    });
        } catch (Waits.WaitTimeoutException e) {
            throw new UserException(UserException.ENVIRONMENT, "the router group " + ctx.routerGroup() + " has no committed offset on some"
                    + " partitions of " + ctx.topic() + ": the hand-over position is unknown (" + e.getMessage() + ")");
        }
        return out;
    }

    @Override
    public Integrity count(MigrationState state, Duration timeout) {
        Map<Integer, Long> consumed = cluster.count(ctx.topic(), state.startOffsets(), position(state), timeout);
        return Integrity.of(ctx.topic(), consumed, cluster.countAll(ctx.legacyTopic(), timeout), cluster.countAll(ctx.newTopic(), timeout));
    }

    @Override
    public void remove(MigrationState state, Duration timeout) {
        processes.stop(INSTANCE_0, Duration.ofSeconds(15));
        awaitNoRouter(timeout);
        List<String> deleted = cluster.deleteTopics(List.of(ctx.legacyTopic(), ctx.newTopic()));
        if (!deleted.isEmpty()) {
            progress.accept("deleted topics " + String.join(", ", deleted));
        }
        cluster.deleteGroup(ctx.routerGroup());
    }

    @Override
    public String routingGroup(MigrationState state) {
        return ctx.routerGroup();
    }

    @Override
    public String describeInstances(MigrationState state) {
        List<Cluster.Member> m = cluster.members(ctx.routerGroup());
        return m.size() + " router instance(s) in group " + ctx.routerGroup()
                + (m.isEmpty() ? "" : ": " + String.join(", ", m.stream().map(d -> d.clientId() + "@" + d.host() + " " + d.partitions()).toList()));
    }

    @Override
    public void close() {
        // the cluster and processes belong to the caller
    }
}
