package canary.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;

import canary.common.Table;
import canary.common.Text;
import canary.context.Context;
import canary.context.Role;
import canary.context.Routing;
import canary.context.Rule;
import canary.platform.Processes;
import canary.platform.Supervisor;
import canary.release.Cluster;
import canary.release.Engine;
import canary.release.MigrationState;
import canary.release.MigrationState.Phase;

/**
 * One measurement of where a release stands: what {@code status.java} prints as a table, and as
 * JSON with {@code --output json} (this record, in the kit's one JSON style: snake_case, documented
 * field by field in the README). Fields of a migration are absent when there is none.
 */
public record StatusReport(
        String context,
        String topic,
        String legacyGroup,
        String newGroup,
        Context.EngineKind engine,
        Context.PlatformKind platform,
        Health status,
        List<String> problems,
        Phase phase,
        Routing routing,
        Double share,
        List<Rule> rules,
        List<Integer> newPartitions,
        MigrationState.Change shareSet,
        Boolean routerRunning,
        List<Cluster.Member> routerInstances,
        Map<Role, Integer> versionMembers,
        MigrationState.Change lastChange,
        MigrationState.Check lastCheck,
        MigrationState.Handover handover,
        MigrationState.RolloutStep rollout,
        MigrationState.GateResult lastGate,
        MigrationState.StepInProgress step,
        List<Supervisor.Record> processes,
        List<Partition> partitions,
        List<MigrationState.Change> history) {

    /** The verdict, and status.java's exit code. */
    public enum Health {
        HEALTHY(0), DEGRADED(1), NO_MIGRATION(2);

        public final int exitCode;

        Health(int exitCode) {
            this.exitCode = exitCode;
        }

        @com.fasterxml.jackson.annotation.JsonValue
        public String word() {
            return name().toLowerCase().replace('_', '-');
        }
    }

    /** One partition of the original topic. A value that does not apply (or is not known) is null. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Partition(int partition, Long startOffset, Long routerPosition, Long routerLag, Long legacyLag, Long newLag,
                            Long routedToLegacy, Long routedToNew) {
    }

    public static StatusReport measure(Session s, Duration timeout, boolean withHistory) {
        Context ctx = s.ctx;
        Cluster cluster = s.cluster;
        // The questions that need no state are asked while the state is read: status waits for the slowest, not for their sum.
        Map<Role, CompletableFuture<Integer>> asked = new LinkedHashMap<>();
        for (Role role : Role.values()) {
            asked.put(role, CompletableFuture.supplyAsync(() -> cluster.members(ctx.service(role).group()).size(), ASKING));
        }
        var topicsAsked = CompletableFuture.supplyAsync(() -> cluster.topicsExist(List.of(ctx.legacyTopic(), ctx.newTopic())), ASKING);
        Optional<MigrationState> state = s.store.read();
        if (state.isEmpty()) {
            return new StatusReport(ctx.name(), ctx.topic(), ctx.legacy().group(), ctx.newVersion().group(), ctx.engine(), ctx.platform(),
                    Health.NO_MIGRATION, List.of(), null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                    supervised(ctx), null, null);
        }
        MigrationState st = state.get();
        List<Partition> rows = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        Map<Role, Integer> members = new LinkedHashMap<>();
        List<Cluster.Member> routers = List.of();
        if (st.phase().active()) {
            String routing = s.engine.routingGroup(st);
            var routersAsked = CompletableFuture.supplyAsync(() -> cluster.members(routing), ASKING);
            var endAsked = CompletableFuture.supplyAsync(() -> cluster.endOffsets(ctx.topic()), ASKING);
            var positionAsked = CompletableFuture.supplyAsync(() -> cluster.committedOffsets(routing, ctx.topic()), ASKING);
            boolean derived = join(topicsAsked);
            // Lag in records still to process (read where offsets differ): a transaction marker is not lag.
            var legacyLagAsked = CompletableFuture.supplyAsync(() -> derived
                    ? cluster.unprocessed(ctx.legacy().group(), ctx.legacyTopic(), timeout) : Map.<Integer, Long>of(), ASKING);
            var newLagAsked = CompletableFuture.supplyAsync(() -> derived
                    ? cluster.unprocessed(ctx.newVersion().group(), ctx.newTopic(), timeout) : Map.<Integer, Long>of(), ASKING);
            // Routed counts as the engine recorded them (the router: in its transactions); ksqlDB keeps none: count by reading.
            Optional<Engine.Routed> recorded = derived ? s.engine.routed(st, timeout) : Optional.empty();
            Map<Integer, Long> toLegacy = recorded.map(Engine.Routed::toLegacy)
                    .orElseGet(() -> derived ? cluster.countAll(ctx.legacyTopic(), timeout) : Map.of());
            Map<Integer, Long> toNew = recorded.map(Engine.Routed::toNew)
                    .orElseGet(() -> derived ? cluster.countAll(ctx.newTopic(), timeout) : Map.of());
            routers = join(routersAsked);
            Map<Integer, Long> end = join(endAsked);
            Map<Integer, Long> position = join(positionAsked);
            Map<Integer, Long> legacyLag = join(legacyLagAsked);
            Map<Integer, Long> newLag = join(newLagAsked);
            asked.forEach((role, n) -> members.put(role, join(n)));
            for (Map.Entry<Integer, Long> e : st.startOffsets().entrySet()) {
                int p = e.getKey();
                Long pos = position.get(p);
                rows.add(new Partition(p, e.getValue(), pos, pos == null ? null : Math.max(0, end.get(p) - pos),
                        legacyLag.get(p), newLag.get(p), toLegacy.get(p), toNew.get(p)));
            }
            // Partitions added to the original during the release that routing has not taken up: nothing of them was routed.
            List<Integer> added = end.keySet().stream().filter(p -> !st.startOffsets().containsKey(p)).sorted().toList();
            long waiting = 0;
            for (int p : added) {
                long records = end.get(p);
                waiting += records;
                rows.add(new Partition(p, null, null, records, legacyLag.get(p), newLag.get(p), null, null));
            }
            if (!added.isEmpty() && !s.engine.routesAddedPartitions()) {
                problems.add("partitions " + added + " were added to " + ctx.topic() + " during the release and the " + st.engine().word()
                        + " engine does not route them: their " + waiting + " record(s) wait, processed by neither version;"
                        + " promote.java or rollback.java hands them to the version that keeps " + ctx.topic() + " from offset 0");
            }
            boolean routingWanted = st.routerRunning() && st.phase() == Phase.ROUTING;
            if (routingWanted && routers.isEmpty()) {
                problems.add("routing should run but no routing instance is in group " + routing);
            }
            if (st.phase() == Phase.ROUTING) {
                members.forEach((role, n) -> {
                    if (n == 0) {
                        problems.add("the " + role + " version (group " + ctx.service(role).group() + ") has no members: it is not consuming");
                    }
                });
            }
            boolean stepAlive = s.lifecycle.stepAlive(st);
            if (s.lifecycle.stalled(st)) {
                problems.add("routing is stopped (run flag off) and no step is in progress" + (st.step() == null ? ""
                        : ": the " + st.step().describe() + " was interrupted") + "; nothing routes " + ctx.topic()
                        + ": run it again, or update_rate.java with the current share (" + Text.percent(st.share()) + ") to resume routing");
            } else if (st.phase() != Phase.ROUTING && !stepAlive) {
                String script = st.phase().script();
                problems.add("the " + (st.phase() == Phase.MIGRATING ? "migration" : st.phase() == Phase.PROMOTING ? "promotion" : "rollback")
                        + " was interrupted (" + (st.step() == null ? "no step in progress" : st.step().describe()) + "): run " + script
                        + " again to finish it");
            } else if (st.step() != null && !stepAlive) {
                problems.add("the " + st.step().describe() + " was interrupted: run " + st.step().kind().script() + " again to finish it");
            }
        } else if (s.lifecycle.releasedAfter(state).isEmpty()) {
            asked.forEach((role, n) -> members.put(role, join(n)));
            Role owner = st.phase() == Phase.PROMOTED ? Role.NEW : Role.LEGACY;
            if (members.get(owner) == 0) {
                problems.add("nothing consumes " + ctx.topic() + ": the " + owner + " version (group " + ctx.service(owner).group()
                        + "), which owns it since the " + (owner == Role.NEW ? "promotion" : "rollback") + ", has no members");
            }
            Map<Integer, Long> lag = cluster.lag(ctx.service(owner).group(), ctx.topic());
            lag.forEach((p, l) -> rows.add(new Partition(p, st.startOffsets().get(p), null, null,
                    owner == Role.LEGACY ? l : null, owner == Role.NEW ? l : null, null, null)));
        }
        // else a later release (another context) took the topic over: its status tells who consumes it
        asked.forEach((role, n) -> members.putIfAbsent(role, join(n)));
        List<Supervisor.Record> processes = supervised(ctx);
        for (Supervisor.Record r : processes) {
            if (r.phase() == Supervisor.Phase.BACKOFF) {
                problems.add(r.name() + " failed (exit code " + r.lastExit() + " at " + r.lastExitAt() + "); its supervisor starts it again at "
                        + r.nextStart() + " (restart " + r.restarts() + ")");
            }
        }
        if (st.lastCheck() != null && !st.lastCheck().clean()) {
            problems.add("the last check_data (" + st.lastCheck().at() + ") found a difference of " + st.lastCheck().difference());
        }
        return new StatusReport(ctx.name(), ctx.topic(), ctx.legacy().group(), ctx.newVersion().group(), ctx.engine(), ctx.platform(),
                problems.isEmpty() ? Health.HEALTHY : Health.DEGRADED, List.copyOf(problems), st.phase(), st.routing(), st.share(),
                st.rules(), st.newPartitions(), st.shareSet(), st.routerRunning(), routers, members, st.lastChange(), st.lastCheck(), st.handover(), st.rollout(),
                st.lastGate(), st.step(), processes, rows, withHistory ? st.history() : null);
    }

    /** Threads that wait for the broker's answers (they only wait: the common pool has one thread on two cores). */
    private static final java.util.concurrent.ExecutorService ASKING = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "status-ask");
        t.setDaemon(true);
        return t;
    });

    /** The answer of a question asked at once with others; what it threw is thrown here, as if it had been asked alone. */
    private static <T> T join(CompletableFuture<T> asked) {
        try {
            return asked.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** The kit's supervised processes on this host (versions, router instance 0, demo producer) as their supervisors recorded them. */
    static List<Supervisor.Record> supervised(Context ctx) {
        // The state folder may be shared with other contexts: their processes are theirs to report.
        return new Processes(ctx.stateDir()).supervisedAll().stream()
                .filter(r -> canary.platform.ProcessNames.ownedBy(r.name(), ctx, List.of())).toList();
    }

    @JsonIgnore
    public int exitCode() {
        return status.exitCode;
    }

    /** The router's lag summed over partitions (0 when not routing). */
    @JsonIgnore
    public long routerLag() {
        return partitions == null ? 0 : partitions.stream().map(Partition::routerLag).filter(java.util.Objects::nonNull).mapToLong(Long::longValue).sum();
    }

    /** This report with one more problem (from what one measurement cannot see, such as lag growing across samples). */
    public StatusReport withProblem(String problem) {
        List<String> p = new ArrayList<>(problems);
        p.add(problem);
        return new StatusReport(context, topic, legacyGroup, newGroup, engine, platform, Health.DEGRADED, List.copyOf(p), phase, routing,
                share, rules, newPartitions, shareSet, routerRunning, routerInstances, versionMembers, lastChange, lastCheck, handover, rollout, lastGate, step,
                processes, partitions, history);
    }

    void print(PrintWriter out) {
        out.println("context   " + context + " (topic " + topic + ", engine " + engine.word() + ", platform " + platform.word() + ")");
        if (status == Health.NO_MIGRATION) {
            out.println("phase     no migration (run migration to start one)");
            return;
        }
        out.println("phase     " + phase.word());
        MigrationState.Change c = shareSet;
        String partitionsOfNew = newPartitions == null ? "" : ": " + (newPartitions.isEmpty() ? "no partition"
                : "partition(s) " + String.join(", ", newPartitions.stream().map(String::valueOf).toList())) + " of "
                + (partitions == null || partitions.isEmpty() ? "?" : String.valueOf(partitions.size()));
        out.println("share     " + Text.percent(share) + " to the new version, routing " + routing.word() + partitionsOfNew
                + (c == null ? "" : "; set " + c.at() + " by " + c.user() + "@" + c.host() + " (" + c.command() + ")"));
        if (rules != null && !rules.isEmpty()) {
            out.println("rules     " + String.join("; ", rules.stream().map(Rule::describe).toList()) + " (before the share)");
        }
        if (phase.active()) {
            out.println("router    " + (routerRunning ? "run flag on" : "stopped (run flag off)") + ", " + routerInstances.size()
                    + " instance(s)" + (routerInstances.isEmpty() ? "" : ": " + String.join(", ", routerInstances.stream()
                    .map(m -> m.clientId() + "@" + m.host() + " " + m.partitions()).toList())));
        }
        out.println("versions  legacy " + legacyGroup + ": " + versionMembers.get(Role.LEGACY) + " member(s); new " + newGroup + ": "
                + versionMembers.get(Role.NEW) + " member(s)");
        if (rollout != null && phase != null && phase.active()) {
            String at = rollout.step() < 0 ? "" : "step " + (rollout.step() + 1) + " of " + rollout.steps()
                    + (rollout.since() == null ? "" : " since " + rollout.since());
            MigrationState.Pause p = rollout.paused();
            out.println("rollout   " + (p == null ? at : "paused by " + p.by() + " at " + p.at() + " (rollout.java --resume continues it)"
                    + (at.isEmpty() ? "" : "; " + at)));
        }
        if (step != null && !problems.stream().anyMatch(x -> x.contains("interrupted"))) {
            out.println("step      in progress: " + step.describe());
        }
        if (handover != null) {
            out.println("hand-over to " + handover.to() + (handover.offsetsApplied() ? ", offsets applied" : "")
                    + (handover.started() ? ", started on " + topic : ""));
        }
        if (processes != null && !processes.isEmpty()) {
            out.println("processes " + String.join("; ", processes.stream().map(r -> r.name() + " " + r.describe()).toList()));
        }
        MigrationState.Check k = lastCheck;
        out.println("checked   " + (k == null ? "never (run check_data)" : (k.clean() ? "clean" : "MISMATCH") + " at " + k.at()
                + ": consumed " + k.consumed() + " = legacy " + k.toLegacy() + " + new " + k.toNew() + " (difference " + k.difference() + ")"));
        if (!partitions.isEmpty()) {
            out.println();
            Table t = new Table("PARTITION", "START OFFSET", "ROUTER POSITION", "ROUTER LAG", "LEGACY LAG", "NEW LAG",
                    "ROUTED TO LEGACY", "ROUTED TO NEW");
            for (Partition r : partitions) {
                t.row(r.partition(), dash(r.startOffset()), dash(r.routerPosition()), dash(r.routerLag()), dash(r.legacyLag()),
                        dash(r.newLag()), dash(r.routedToLegacy()), dash(r.routedToNew()));
            }
            t.print(out);
        }
        for (String p : problems) {
            out.println("DEGRADED: " + p);
        }
        if (history != null) {
            out.println();
            Table h = new Table("TIME", "USER", "HOST", "COMMAND", "CHANGE");
            for (MigrationState.Change ch : history) {
                h.row(ch.at(), ch.user(), ch.host(), ch.command(), ch.what());
            }
            h.print(out);
        }
    }

    private static String dash(Long v) {
        return v == null ? "-" : String.valueOf(v);
    }
}
