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
import canary.kafka.RoutedCounts;
import canary.platform.ProcessNames;
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

    /** Router instances grow the derived topics and route added partitions from offset 0 ({@code Router.startNewPartitions}). */
    @Override
    public boolean routesAddedPartitions() {
        return true;
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
        // The partitions the migration captured start offsets for: a partition added since is grown into the topics by the router.
        KafkaCluster.TopicShape shape = cluster.shapeOf(ctx.topic()).withPartitions(partitions);
        for (String t : List.of(ctx.legacyTopic(), ctx.newTopic())) {
            if (cluster.createTopic(t, shape)) {
                progress.accept("created topic " + t + " like " + ctx.topic() + " (" + shape.describe() + ")");
            } else {
                progress.accept("topic " + t + " already exists (" + partitions + " partitions)");
            }
        }
        // Counted in the same transactions as the routed records; a count left by an earlier release carries other start offsets.
        if (cluster.createTopic(ctx.countsTopic(), RoutedCounts.PARTITIONS, RoutedCounts.TOPIC_CONFIGS)) {
            progress.accept("created topic " + ctx.countsTopic() + " (routed counts, compacted)");
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
        String instance0 = ProcessNames.router(ctx, 0);
        if (!processes.isRunning(instance0)) {
            processes.start(instance0, Processes.javaCommand(mainClass,
                    ctx.file().toAbsolutePath().toString(), "--instance", "0"), ctx.directory(), Map.of(), true);
            progress.accept("started router instance 0 (log: " + processes.logFile(instance0) + ")");
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

    /**
     * The records routed to each version per partition, from the counts the router committed with them: a few records per
     * partition, however many were routed. Empty when the release has no counts topic (made before the kit kept counts).
     */
    @Override
    public java.util.Optional<Routed> routed(MigrationState state, Duration timeout) {
        if (!cluster.topicExists(ctx.countsTopic())) {
            return java.util.Optional.empty();
        }
        Map<Integer, RoutedCounts.Count> latest = RoutedCounts.latest(cluster.clientProperties(), ctx.countsTopic(), ctx.name(),
                state.startOffsets().keySet(), state.startOffsets(), timeout);
        Map<Integer, Long> legacy = new TreeMap<>();
        Map<Integer, Long> toNew = new TreeMap<>();
        for (Integer p : state.startOffsets().keySet()) {
            RoutedCounts.Count c = latest.get(p);
            legacy.put(p, c == null ? 0L : c.legacy());
            toNew.put(p, c == null ? 0L : c.toNew());
        }
        return java.util.Optional.of(new Routed(legacy, toNew));
    }

    @Override
    public void remove(MigrationState state, Duration timeout) {
        processes.stop(ProcessNames.router(ctx, 0), Duration.ofSeconds(15));
        awaitNoRouter(timeout);
        List<String> deleted = cluster.deleteTopics(List.of(ctx.legacyTopic(), ctx.newTopic(), ctx.countsTopic()));
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
