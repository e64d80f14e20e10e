package canary.release;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

import canary.common.Steps;
import canary.common.Table;
import canary.common.Text;
import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Role;
import canary.context.Routing;
import canary.context.Rule;
import canary.release.MigrationState.Handover;
import canary.release.MigrationState.Phase;
import canary.release.MigrationState.StepInProgress;
import canary.release.MigrationState.StepKind;

/**
 * The steps of a canary release, the same for every engine: migration, share updates, integrity
 * checks, promotion and rollback with an exact hand-over of offsets. Each step validates first and
 * changes afterwards, records every change in the state, and converges when run again after a crash.
 */
public final class Lifecycle {

    public enum MissingOffsets { FAIL, EARLIEST, LATEST }

    /** How long a migration waits for the routing topics of the release before it to be deleted. */
    private static final Duration LEFTOVER_WAIT = Duration.ofSeconds(10);

    private final Context ctx;
    private final Cluster cluster;
    private final StateStore store;
    private final Engine engine;
    private final Versions versions;
    private final Clock clock;
    private final Operator operator;
    private final Liveness liveness;
    private final PrintWriter out;
    private final Waits.Progress progress;
    private final Duration timeout;

    /**
     * @param operator who runs the steps: recorded in the state while a step that stops routing or hands over runs
     * @param liveness tells whether the process of a recorded step still runs (a re-run takes over one that does not)
     */
    public Lifecycle(Context ctx, Cluster cluster, StateStore store, Engine engine, Versions versions, Clock clock, Operator operator,
                     Liveness liveness, PrintWriter out, Duration timeout) {
        this.ctx = ctx;
        this.cluster = cluster;
        this.store = store;
        this.engine = engine;
        this.versions = versions;
        this.clock = clock;
        this.operator = operator;
        this.liveness = liveness;
        this.out = out;
        this.progress = Waits.to(out);
        this.timeout = timeout;
    }

    /** Who runs the steps of this process. */
    public Operator operator() {
        return operator;
    }

    // ------------------------------------------------------------------ steps in progress

    /** This process running {@code kind}, as the state records it until the step ends. */
    private StepInProgress step(StepKind kind) {
        Instant now = clock.instant();
        Instant processStarted = ProcessHandle.of(operator.pid()).flatMap(h -> h.info().startInstant()).orElse(null);
        return new StepInProgress(kind, operator.host(), operator.pid(), processStarted, now, now.plus(timeout.multipliedBy(3)));
    }

    /**
     * Before a step: a step of another process that still runs makes this one wait its turn (one line, nothing changed); one
     * whose process is gone is taken over: this step finishes or undoes what it left.
     */
    private void takeOver(MigrationState s) {
        StepInProgress st = s.step();
        if (st == null || st.pid() == operator.pid() && st.host().equals(operator.host())) {
            return;
        }
        if (liveness.alive(st, clock.instant())) {
            throw new UserException("context '" + ctx.name() + "' is busy: " + st.describe() + " is in progress; run this again when it"
                    + " has ended" + (st.host().equals(operator.host()) ? "" : " (a step of another host counts as running until " + st.until() + ")"));
        }
        out.println("taking over the interrupted " + st.describe());
    }

    /** Whether routing is stopped with no live step to start it again: a stall that status reports and any re-run ends. */
    public boolean stalled(MigrationState s) {
        return s.phase() == Phase.ROUTING && !s.routerRunning() && (s.step() == null || !liveness.alive(s.step(), clock.instant()));
    }

    /** Whether the state's step in progress still runs. */
    public boolean stepAlive(MigrationState s) {
        return s.step() != null && liveness.alive(s.step(), clock.instant());
    }

    // ------------------------------------------------------------------ migration

    /** Starts routing at {@code share} with the context's rules: stops legacy, captures its offsets, creates routing, starts both versions. */
    public int migrate(double share, MissingOffsets missing, boolean allowAtLeastOnce, boolean dryRun) {
        return migrate(RouteRequest.share(share), missing, allowAtLeastOnce, dryRun);
    }

    /**
     * Starts routing as {@code request} says (a share or, with routing partitions, a list of partitions; the rules, or the
     * context file's when it gives none): stops legacy, captures its offsets, creates routing, starts both versions.
     */
    public int migrate(RouteRequest request, MissingOffsets missing, boolean allowAtLeastOnce, boolean dryRun) {
        Optional<MigrationState> current = store.read();
        if (current.isPresent()) {
            MigrationState s = current.get();
            if (s.phase() == Phase.PROMOTED) {
                throw new UserException("context '" + ctx.name() + "' was promoted (" + when(s)
                        + "): the new version owns " + ctx.topic() + "; to release again, make a context whose legacy is the promoted version");
            }
            if (s.phase() == Phase.ROUTING && s.step() != null && s.step().kind() == StepKind.MIGRATION) {
                return finishMigration(s, dryRun);
            }
            if (s.phase() != Phase.MIGRATING && s.phase() != Phase.ROLLED_BACK) {
                throw new UserException("a migration is already active for context '" + ctx.name() + "' (phase " + s.phase().word()
                        + ", share " + Text.percent(s.share()) + ", " + when(s) + "): promote or roll back first");
            }
        }
        if (current.isEmpty() || current.get().phase() == Phase.ROLLED_BACK) {
            checkReleasesOfTopic(current);
        }
        engine.checkAccess();
        int partitions = cluster.partitions(ctx.topic());
        Map<Integer, Long> unknown = new TreeMap<>();
        for (int p = 0; p < partitions; p++) {
            unknown.put(p, 0L);
        }
        // The routing the migration starts with, checked before anything changes (start offsets are not known yet).
        MigrationState planned = target(MigrationState.start(ctx.name(), engine.kind(), ctx.routing(), 0.0, unknown), request, true);
        double share = planned.share();
        engine.preflight(planned, allowAtLeastOnce, dryRun);
        Map<Integer, Long> before = startOffsets(partitions, missing);
        if (dryRun) {
            out.println("dry run: would stop the legacy version (group " + ctx.legacy().group() + "), route " + ctx.topic()
                    + " from the legacy group's committed offsets (" + engine.kind().word() + " engine, " + ctx.routing().word() + ", " + describeRoute(planned)
                    + ") to " + ctx.legacyTopic() + " and " + ctx.newTopic() + " (" + partitions
                    + " partitions each), and start both versions on them");
            out.println("start offsets (as committed now; read again once legacy has stopped):");
            offsetsTable("START OFFSET", before).print(out);
            return 0;
        }
        MigrationState state;
        boolean resuming = current.isPresent() && current.get().phase() == Phase.MIGRATING;
        if (resuming) {
            takeOver(current.get());
            out.println("resuming the migration started " + when(current.get()));
            state = store.write(current.get().version(), current.get().withStep(step(StepKind.MIGRATION)), "migration resumed");
        } else {
            out.println("migration of " + ctx.topic() + " for context '" + ctx.name() + "': " + engine.kind().word() + " engine, "
                    + ctx.routing().word() + " routing, " + describeRoute(planned) + " to the new version");
            store.ensureExists();
            versions.stop(Role.LEGACY, ctx.topic(), timeout);
            Steps.reached("migration.legacy-stopped");
            Map<Integer, Long> start = startOffsets(partitions, missing);
            MigrationState first = MigrationState.start(ctx.name(), engine.kind(), ctx.routing(), share, start)
                    .withRoute(share, planned.rules(), planned.newPartitions()).withStep(step(StepKind.MIGRATION));
            state = store.write(current.map(MigrationState::version).orElse(-1L), first, "migration started at " + describeRoute(first));
            Steps.reached("migration.state-written");
        }
        try {
            Map<String, String> ids = engine.create(state, state.startOffsets(), timeout);
            // Both versions read their topic from its first record, whatever their own auto.offset.reset says.
            for (Role role : Role.values()) {
                String topic = ctx.derivedTopic(role);
                if (cluster.committedOffsets(ctx.service(role).group(), topic).isEmpty()) {
                    cluster.setOffsets(ctx.service(role).group(), topic, cluster.beginningOffsets(topic));
                }
            }
            Steps.reached("migration.routing-created");
            versions.start(Role.LEGACY, ctx.legacyTopic(), timeout);
            versions.start(Role.NEW, ctx.newTopic(), timeout);
            Steps.reached("migration.versions-started");
            // The step stays recorded until routing runs: a migration killed before that is finished by the next run.
            state = store.write(state.version(), state.withQueryIds(ids).withPhase(Phase.ROUTING).withRouterRunning(true), "routing started");
            Steps.reached("migration.routing-recorded");
        } catch (RuntimeException e) {
            if (state.phase() == Phase.MIGRATING) {
                undoMigration(state, e);
            }
            throw e;
        }
        return startRouting(state);
    }

    /**
     * A migration killed after it recorded the phase routing, before routing ran (its step is still in the state): starts
     * routing and ends the step.
     */
    private int finishMigration(MigrationState s, boolean dryRun) {
        takeOver(s);
        if (dryRun) {
            out.println("dry run: would start routing, which the migration started " + when(s) + " recorded but did not start");
            return 0;
        }
        out.println("resuming the migration started " + when(s) + ": routing is recorded, starting it");
        return startRouting(store.write(s.version(), s.withStep(step(StepKind.MIGRATION)), "migration resumed"));
    }

    /** The last part of a migration: routing runs, then the step ends. */
    private int startRouting(MigrationState state) {
        engine.resume(state, timeout);
        state = store.write(state.version(), state.withStep(null), "migration done");
        out.println("routing " + ctx.topic() + " from these start offsets (records at offset >= start are routed):");
        offsetsTable("START OFFSET", state.startOffsets()).print(out);
        out.println("migration done: " + describeRoute(state) + " to the new version (" + ctx.newVersion().group()
                + " on " + ctx.newTopic() + "), the rest to legacy (" + ctx.legacy().group() + " on " + ctx.legacyTopic() + ")");
        return 0;
    }

    // ------------------------------------------------------------------ releases in sequence

    /**
     * The releases of other contexts on this topic that changed after this context last did ({@code own}), oldest first: they took
     * the topic over, with the version that consumes it, the routing topics and the router. All other contexts' releases when
     * this context has none.
     */
    public Map<String, MigrationState> releasedAfter(Optional<MigrationState> own) {
        Map<String, MigrationState> after = new LinkedHashMap<>();
        boolean past = own.isEmpty();
        for (Map.Entry<String, MigrationState> e : store.contexts().entrySet()) {
            if (e.getKey().equals(ctx.name())) {
                past = true;
            } else if (past) {
                after.put(e.getKey(), e.getValue());
            }
        }
        return after;
    }

    /** "context 'x' (phase promoted, last change ...)" for each, joined. */
    public static String describe(Map<String, MigrationState> releases) {
        return String.join(", ", releases.entrySet().stream()
                .map(e -> "context '" + e.getKey() + "' (" + e.getValue().phase().word() + ", " + when(e.getValue()) + ")").toList());
    }

    /**
     * Releases of one topic follow each other (they share its routing topics): a new migration is refused, before anything
     * changed, while another context's release of the topic is under way, when a later release took the topic over from this
     * context (routing from this legacy's offsets would process records again), or when the routing topics an earlier release
     * left behind are still there (its hand-over ended before it removed them).
     */
    private void checkReleasesOfTopic(Optional<MigrationState> own) {
        Map<String, MigrationState> all = store.contexts();
        for (Map.Entry<String, MigrationState> e : all.entrySet()) {
            if (!e.getKey().equals(ctx.name()) && e.getValue().phase().active()) {
                throw new UserException("context '" + e.getKey() + "' is releasing " + ctx.topic() + " (phase " + e.getValue().phase().word()
                        + ", " + when(e.getValue()) + "): one release of a topic at a time (they share " + ctx.legacyTopic() + " and "
                        + ctx.newTopic() + "); promote or roll back that one first");
            }
        }
        if (own.isPresent()) {
            Map<String, MigrationState> later = releasedAfter(own);
            if (!later.isEmpty()) {
                throw new UserException(describe(later) + " released " + ctx.topic() + " after context '" + ctx.name() + "' and owns it"
                        + " now: routing from the offsets of " + ctx.legacy().group() + " would process records again; to release again,"
                        + " make a context whose legacy is the version that consumes " + ctx.topic() + " now");
            }
        }
        String last = null;
        for (String name : all.keySet()) {
            last = name;
        }
        if (last != null && !last.equals(ctx.name())) {
            List<String> left = new java.util.ArrayList<>();
            try {
                // Kafka deletes topics asynchronously: a deletion the last hand-over asked for may still be under way.
                Waits.untilNothingLeft("the routing topics of the last release are deleted", min(timeout, LEFTOVER_WAIT), progress, () -> {
                    left.clear();
                    for (String t : List.of(ctx.legacyTopic(), ctx.newTopic(), ctx.countsTopic())) {
                        if (cluster.topicExists(t)) {
                            left.add(t);
                        }
                    }
                    return left.isEmpty() ? null : String.join(", ", left) + " still there";
                });
            } catch (Waits.WaitTimeoutException e) {
                boolean promoted = all.get(last).phase() == Phase.PROMOTED;
                throw new UserException(String.join(" and ", left) + " are left from the release of context '" + last + "' ("
                        + all.get(last).phase().word() + ", " + when(all.get(last)) + "), whose " + (promoted ? "promotion" : "rollback")
                        + " ended before it removed them: run " + (promoted ? "promote.java" : "rollback.java")
                        + " with that context again, then this migration");
            }
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) < 0 ? a : b;
    }

    /** A migration that failed before routing started: remove what it made and give the topic back to legacy. */
    private void undoMigration(MigrationState state, RuntimeException cause) {
        out.println("migration failed (" + Text.firstLine(cause.getMessage()) + "): removing what it created");
        try {
            versions.stop(Role.NEW, ctx.newTopic(), timeout);
            versions.stop(Role.LEGACY, ctx.legacyTopic(), timeout);
            engine.remove(state, timeout);
            store.delete(state.version());
            versions.start(Role.LEGACY, ctx.topic(), timeout);
            out.println("restored: the legacy version runs on " + ctx.topic() + " from its own committed offsets");
        } catch (RuntimeException e) {
            out.println("could not undo everything (" + Text.firstLine(e.getMessage()) + "): run migration again to finish it, or rollback");
        }
    }

    /** The legacy group's committed offsets on the original topic: where routing starts. */
    private Map<Integer, Long> startOffsets(int partitions, MissingOffsets missing) {
        Map<Integer, Long> committed = cluster.committedOffsets(ctx.legacy().group(), ctx.topic());
        Map<Integer, Long> start = new TreeMap<>(committed);
        List<Integer> without = new java.util.ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            if (!committed.containsKey(p)) {
                without.add(p);
            }
        }
        if (!without.isEmpty()) {
            if (missing == MissingOffsets.FAIL) {
                throw new UserException("the legacy group " + ctx.legacy().group() + " has no committed offset on partition(s) " + without
                        + " of " + ctx.topic() + ": routing cannot know where to start; use --missing-offsets earliest or latest");
            }
            Map<Integer, Long> fill = missing == MissingOffsets.EARLIEST ? cluster.beginningOffsets(ctx.topic()) : cluster.endOffsets(ctx.topic());
            for (Integer p : without) {
                start.put(p, fill.get(p));
            }
        }
        return start;
    }

    // ------------------------------------------------------------------ share

    /** Changes the share and keeps the rules and the partitions list. */
    public int updateShare(double share, boolean drainFlag, boolean dryRun) {
        return updateRouting(RouteRequest.share(share), drainFlag, dryRun);
    }

    /**
     * Changes the routing of a running release: the share (or, with routing partitions, the new version's partitions) and the
     * match rules. Drains first (stop routing, wait until both versions processed everything, resume) with {@code drainFlag},
     * when the rules change, and when the share moves keys (key-hash) or partitions (partitions) from one version to the other:
     * what keeps its order on one version must not be processed by the other before the first has finished with it.
     */
    public int updateRouting(RouteRequest request, boolean drainFlag, boolean dryRun) {
        MigrationState s = requireRouting("update the routing");
        takeOver(s);
        MigrationState next = target(s, request, false);
        boolean rulesChanged = !next.rules().equals(s.rules());
        boolean moves = s.routing() == Routing.PARTITIONS ? !Objects.equals(next.newPartitions(), s.newPartitions())
                : s.routing().drainsOnShareChange() && next.share() != s.share();
        boolean changed = rulesChanged || next.share() != s.share() || !Objects.equals(next.newPartitions(), s.newPartitions());
        boolean drain = drainFlag || rulesChanged || moves;
        boolean stopped = !s.routerRunning();
        if (!changed && !stopped) {
            out.println("the routing is already " + describeRoute(s) + ": nothing to do");
            return 0;
        }
        if (changed) {
            engine.checkRouting(s, next);
        }
        List<String> changes = changes(s, next);
        if (dryRun) {
            out.println(!changed ? "dry run: the routing is already " + describeRoute(s) + "; would resume routing, which is stopped"
                    : "dry run: would change the " + String.join("; the ", changes)
                    + (drain ? ", draining first (stop routing, wait until both versions have processed everything, resume)" : ""));
            return 0;
        }
        if (!changed) {
            String by = s.step() == null ? "" : " by the interrupted " + s.step().kind().script();
            s = store.write(s.version(), s.withRouterRunning(true).withStep(null), "routing resumed at " + describeRoute(s)
                    + " (it was stopped" + by + ")");
            engine.resume(s, timeout);
            out.println("routing resumed at " + describeRoute(s) + " (it was stopped" + by + ")");
            return 0;
        }
        if (drain) {
            s = pauseAndDrain(s, StepKind.UPDATE_RATE, "drain before a routing change");
            Steps.reached("update-rate.drained");
        }
        MigrationState before = s;
        next = s.withRoute(next.share(), next.rules(), next.newPartitions());
        // The state says the new routing before the engine applies it: applying may start routing at once (ksqlDB's
        // CREATE OR REPLACE runs the replaced query even if it was paused), and nothing may route at a share the state lacks.
        s = store.write(s.version(), next.withRouterRunning(true).withStep(null), String.join("; ", changes) + (drain ? " (drained)" : ""));
        try {
            engine.applyRouting(s);
        } catch (RuntimeException e) {
            // the engine kept the routing it had: the state says so again (stopped and the step kept, if it drained)
            store.write(s.version(), before, "routing change failed, the routing stays " + describeRoute(before) + ": "
                    + Text.firstLine(e.getMessage()));
            throw e;
        }
        engine.resume(s, timeout);
        for (String c : changes) {
            String label = c.startsWith("partitions of the new version") ? "partitions of the new version" : c.substring(0, c.indexOf(' '));
            out.println(label + ": " + c.substring(label.length() + 1) + (label.equals("share") ? " to the new version" : ""));
        }
        List<Integer> now = s.newPartitions();
        if (before.newPartitions() != null) {
            List<Integer> back = before.newPartitions().stream().filter(p -> !now.contains(p)).toList();
            if (!back.isEmpty()) {
                out.println("partition(s) " + join(back) + " went back to the legacy version, which processes them from where the new"
                        + " version stopped (its state for them is as old as when they left it)");
            }
        }
        return 0;
    }

    /** What changes from {@code s} to {@code next}, one entry each, for people and the history: "share 10 % -> 50 %". */
    private List<String> changes(MigrationState s, MigrationState next) {
        List<String> out = new java.util.ArrayList<>();
        if (next.share() != s.share()) {
            out.add("share " + Text.percent(s.share()) + " -> " + Text.percent(next.share()));
        }
        if (!Objects.equals(next.newPartitions(), s.newPartitions())) {
            out.add("partitions of the new version " + join(s.newPartitions()) + " -> " + join(next.newPartitions()) + " (of "
                    + s.startOffsets().size() + ")");
        }
        if (!next.rules().equals(s.rules())) {
            out.add("rules " + Rule.describeAll(s.rules()) + " -> " + Rule.describeAll(next.rules()));
        }
        return out;
    }

    /**
     * The routing {@code request} asks of {@code s}: its share and rules (null parts keep those of {@code s}; at migration null
     * rules are the context file's) and, with routing partitions, the new version's partitions (the first ceil(share x partitions),
     * or the list given). Refuses what cannot be, with one line and nothing changed.
     */
    private MigrationState target(MigrationState s, RouteRequest request, boolean migration) {
        Routing routing = s.routing();
        int partitions = s.startOffsets().size();
        if (request.share() != null && request.partitions() != null) {
            throw new UserException("give either a share or --partitions, not both");
        }
        if (request.partitions() != null && routing != Routing.PARTITIONS) {
            throw new UserException("--partitions needs 'routing: partitions' in the context; context '" + ctx.name() + "' routes "
                    + routing.word());
        }
        List<Rule> rules = request.rules() != null ? request.rules() : migration ? ctx.rules() : s.rules();
        Rule.requireConsistent(rules);
        if (!rules.isEmpty() && routing == Routing.PARTITIONS) {
            throw new UserException("rules and routing partitions exclude each other: a rule would split a partition's records between"
                    + " the two versions");
        }
        double share = request.share() != null ? request.share() : s.share();
        List<Integer> newPartitions = null;
        if (routing == Routing.PARTITIONS) {
            if (request.partitions() != null) {
                Routing.requireWithin(request.partitions(), partitions, ctx.topic());
                newPartitions = request.partitions();
                share = (double) newPartitions.size() / partitions;
            } else if (request.share() != null || migration) {
                newPartitions = Routing.firstPartitions(share, partitions);
            } else {
                newPartitions = s.newPartitions();
            }
        }
        return s.withRoute(share, rules, newPartitions);
    }

    /** The routing of a state for people: "share 10 %", "share 33.33 % (partition(s) 0, 1 of 6)", with its rules. */
    public static String describeRoute(MigrationState s) {
        String partitions = s.newPartitions() == null ? "" : " (" + (s.newPartitions().isEmpty() ? "no partition"
                : "partition(s) " + join(s.newPartitions())) + " of " + s.startOffsets().size() + ")";
        return "share " + Text.percent(s.share()) + partitions + (s.rules().isEmpty() ? "" : ", rules " + Rule.describeAll(s.rules()));
    }

    private static String join(List<Integer> partitions) {
        return partitions == null ? "-" : partitions.isEmpty() ? "none" : String.join(", ", partitions.stream().map(String::valueOf).toList());
    }

    /** Clears the run flag (recording the step that did), waits until routing stopped and both versions processed everything. */
    private MigrationState pauseAndDrain(MigrationState s, StepKind kind, String why) {
        s = store.write(s.version(), s.withRouterRunning(false).withStep(step(kind)), "routing stopped: " + why);
        engine.pause(s, timeout);
        drainVersions();
        return s;
    }

    private void drainVersions() {
        // A version that crashed cannot drain: bring it back first (a no-op when it runs).
        for (Role role : Role.values()) {
            if (!versions.running(role)) {
                out.println("the " + role + " version (group " + ctx.service(role).group() + ") does not run: starting it to drain "
                        + ctx.derivedTopic(role));
                versions.start(role, ctx.derivedTopic(role), timeout);
            }
        }
        for (Role role : Role.values()) {
            String group = ctx.service(role).group();
            String topic = ctx.derivedTopic(role);
            Waits.untilNothingLeft("the " + role + " version has processed every record of " + topic, timeout, progress,
                    () -> Lag.remaining(role.word(), cluster.unprocessed(group, topic, timeout)));
        }
    }

    // ------------------------------------------------------------------ check

    /** Stops routing, counts, and starts routing again, whatever happens in between (routing also restarts when it was stopped before). */
    public Integrity check(boolean dryRun) {
        MigrationState s = requireRouting("check the data");
        takeOver(s);
        if (dryRun) {
            out.println("dry run: would stop routing, count the records per partition of " + ctx.topic() + " (from the start offsets to the"
                    + " router's position), " + ctx.legacyTopic() + " and " + ctx.newTopic() + ", then resume routing");
            return null;
        }
        s = store.write(s.version(), s.withRouterRunning(false).withStep(step(StepKind.CHECK_DATA)), "routing stopped: check_data");
        Steps.reached("check-data.routing-stopped");
        Integrity result = null;
        try {
            engine.pause(s, timeout);
            result = engine.count(s, timeout);
            Steps.reached("check-data.counted");
        } finally {
            MigrationState now = store.read().orElseThrow();
            MigrationState next = now.withRouterRunning(true).withStep(null);
            String what = "check_data failed; routing resumed";
            if (result != null) {
                Integrity.Row tot = result.total();
                next = next.withLastCheck(new MigrationState.Check(clock.instant(), result.clean(), tot.consumed(), tot.toLegacy(), tot.toNew(),
                        tot.difference()));
                what = "check_data: " + (result.clean() ? "clean" : "MISMATCH") + "; routing resumed";
            }
            s = store.write(now.version(), next, what);
            engine.resume(s, timeout);
        }
        return result;
    }

    // ------------------------------------------------------------------ hand-over

    /** Promotion ({@code to} the new version) or rollback ({@code to} the legacy version). */
    public int handOver(Role to, boolean dryRun) {
        boolean promote = to == Role.NEW;
        Phase during = Phase.handingOverTo(to);
        Phase done = Phase.handedOverTo(to);
        String verb = promote ? "promote" : "roll back";
        MigrationState s = store.read().orElseThrow(() -> new UserException("no migration for context '" + ctx.name() + "': nothing to " + verb));
        if (s.phase() == done) {
            out.println("context '" + ctx.name() + "' is already " + done.word() + " (" + when(s) + ")");
            if (!dryRun) {
                // Finishes a hand-over killed before it removed the routing resources; a later release's are not this one's.
                Map<String, MigrationState> later = releasedAfter(Optional.of(s));
                if (later.isEmpty()) {
                    engine.remove(s, timeout);
                } else {
                    out.println(describe(later) + " released " + ctx.topic() + " after this one: the routing topics and the router are"
                            + " its own; nothing removed");
                }
            }
            return 0;
        }
        if (s.phase() != Phase.ROUTING && s.phase() != during) {
            throw new UserException("cannot " + verb + " context '" + ctx.name() + "': it is " + s.phase().word() + " (" + when(s) + ")");
        }
        takeOver(s);
        StepKind kind = promote ? StepKind.PROMOTE : StepKind.ROLLBACK;
        Role other = to.other();
        if (dryRun) {
            out.println("dry run: would stop routing, wait until both versions processed everything, stop both, set the offsets of "
                    + ctx.service(to).group() + " on " + ctx.topic() + " to the router's position, start the " + to + " version on "
                    + ctx.topic() + " and remove " + ctx.legacyTopic() + " and " + ctx.newTopic());
            Map<Integer, Long> position = s.handover() != null ? s.handover().offsets() : engine.position(s);
            out.println("hand-over offsets (the router's committed position now" + (s.routerRunning() ? ", still moving" : "") + "):");
            offsetsTable("HAND-OVER OFFSET", position).print(out);
            return 0;
        }
        if (s.phase() == Phase.ROUTING) {
            s = store.write(s.version(), s.withPhase(during).withRouterRunning(false).withStep(step(kind)),
                    (promote ? "promotion" : "rollback") + " started");
            Steps.reached("handover.started");
        } else {
            out.println("resuming the " + (promote ? "promotion" : "rollback") + " started " + when(s));
            s = store.write(s.version(), s.withStep(step(kind)), (promote ? "promotion" : "rollback") + " resumed");
        }
        Map<Integer, Long> routedLegacy = Map.of();
        Map<Integer, Long> routedNew = Map.of();
        if (s.handover() == null) {
            engine.pause(s, timeout);
            drainVersions();
            Map<Integer, Long> position = new TreeMap<>(engine.position(s));
            // Partitions added to the original topic that routing has not met yet (nothing of them was routed): the version
            // the topic is handed to starts them at their first record.
            for (int p = position.size(), n = cluster.partitions(ctx.topic()); p < n; p++) {
                position.putIfAbsent(p, 0L);
            }
            s = store.write(s.version(), s.withHandover(new Handover(to, position, false, false)), "hand-over position captured");
            Steps.reached("handover.position-captured");
        }
        if (cluster.topicExists(ctx.legacyTopic()) && cluster.topicExists(ctx.newTopic())) {
            routedLegacy = cluster.countAll(ctx.legacyTopic(), timeout);
            routedNew = cluster.countAll(ctx.newTopic(), timeout);
        }
        Handover h = s.handover();
        if (!h.offsetsApplied()) {
            versions.stop(other, ctx.derivedTopic(other), timeout);
            versions.stop(to, ctx.derivedTopic(to), timeout);
            Steps.reached("handover.versions-stopped");
            cluster.setOffsets(ctx.service(to).group(), ctx.topic(), h.offsets());
            out.println("set the offsets of " + ctx.service(to).group() + " on " + ctx.topic() + " to the hand-over position");
            s = store.write(s.version(), s.withHandover(h.withOffsetsApplied()), "hand-over offsets applied to " + ctx.service(to).group());
            h = s.handover();
            Steps.reached("handover.offsets-applied");
        }
        if (!h.started()) {
            versions.start(to, ctx.topic(), timeout);
            s = store.write(s.version(), s.withHandover(h.withStarted()), "the " + to + " version started on " + ctx.topic());
            Steps.reached("handover.version-started");
        }
        s = store.write(s.version(), s.withPhase(done).withStep(null), promote ? "promoted" : "rolled back");
        Steps.reached("handover.done");
        engine.remove(s, timeout);
        Table t = new Table("PARTITION", "START OFFSET", "HAND-OVER OFFSET", "ROUTED TO LEGACY", "ROUTED TO NEW");
        // Every partition handed over, those added to the original during the release (no start offset) among them.
        for (Map.Entry<Integer, Long> e : new TreeMap<>(s.handover().offsets()).entrySet()) {
            int p = e.getKey();
            Long start = s.startOffsets().get(p);
            t.row(p, start == null ? "-" : start, e.getValue(), routedLegacy.isEmpty() ? "-" : routedLegacy.getOrDefault(p, 0L),
                    routedNew.isEmpty() ? "-" : routedNew.getOrDefault(p, 0L));
        }
        t.print(out);
        out.println((promote ? "promoted: the new version (" : "rolled back: the legacy version (") + ctx.service(to).group()
                + ") consumes " + ctx.topic() + " from the hand-over position; the " + other + " version is stopped");
        return 0;
    }

    // ------------------------------------------------------------------ bring back

    /**
     * Starts what the state says should run and does not: in routing, both versions on their topics and routing when its run
     * flag is on; after a promotion the new version on the original topic, after a rollback (or with no migration) the
     * legacy one. A step in the middle (migration, hand-over) is left to its own re-run, which brings its processes back.
     *
     * @param withoutMigration whether to start the legacy version on the original topic when there is no migration
     * @return how many processes were started
     */
    public int bringBack(boolean withoutMigration) {
        Optional<MigrationState> current = store.read();
        if (current.isEmpty()) {
            return withoutMigration ? ensure(Role.LEGACY, ctx.topic()) : 0;
        }
        MigrationState s = current.get();
        switch (s.phase()) {
            case ROUTING -> {
                int n = ensure(Role.LEGACY, ctx.legacyTopic()) + ensure(Role.NEW, ctx.newTopic());
                if (s.routerRunning()) {
                    engine.resume(s, timeout);
                } else if (stalled(s)) {
                    out.println("routing is stopped (run flag off" + (s.step() == null ? "" : ", by the interrupted " + s.step().describe())
                            + "): run update_rate.java with the current share (" + Text.percent(s.share()) + ") to resume it");
                }
                return n;
            }
            case PROMOTED -> {
                return ensure(Role.NEW, ctx.topic());
            }
            case ROLLED_BACK -> {
                return ensure(Role.LEGACY, ctx.topic());
            }
            default -> {
                String script = s.phase().script();
                out.println("context '" + ctx.name() + "' is " + s.phase().word() + (stepAlive(s) ? ": " + s.step().describe()
                        + " is in progress and starts what it needs" : ": run " + script + " again; it starts what it needs"));
                return 0;
            }
        }
    }

    private int ensure(Role role, String topic) {
        if (versions.running(role)) {
            out.println("the " + role + " version (" + ctx.service(role).group() + ") already runs");
            return 0;
        }
        versions.start(role, topic, timeout);
        return 1;
    }

    // ------------------------------------------------------------------ helpers

    /** The consumer group whose members route and whose committed offsets are routing's position. */
    public String routingGroup(MigrationState s) {
        return engine.routingGroup(s);
    }

    private MigrationState requireRouting(String what) {
        MigrationState s = store.read().orElseThrow(() -> new UserException("no migration for context '" + ctx.name()
                + "': run migration first"));
        if (s.phase() != Phase.ROUTING) {
            throw new UserException("cannot " + what + " of context '" + ctx.name() + "': it is " + s.phase().word() + " (" + when(s) + ")");
        }
        return s;
    }

    public static String when(MigrationState s) {
        MigrationState.Change c = s.lastChange();
        return c == null ? "unknown time" : "last change " + c.at() + " by " + c.user() + "@" + c.host();
    }

    static Table offsetsTable(String title, Map<Integer, Long> offsets) {
        Table t = new Table("PARTITION", title);
        offsets.forEach(t::row);
        return t;
    }
}
