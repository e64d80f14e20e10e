package canary.release;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import canary.common.Words;
import canary.context.Context.EngineKind;
import canary.context.Role;
import canary.context.Route;
import canary.context.Routing;
import canary.context.Rule;

/**
 * The state of one migration, kept as a JSON record (snake_case, see the README) keyed by the
 * context name in the compacted topic {@code <topic>_canary_state}. Everything the kit decides on
 * is a typed field: phase, engine, routing, share and who set it, the router's run flag, start
 * offsets, the hand-over, the rollout step and the last gate, the last integrity check. The history
 * is a log for people: nothing reads it back to decide. Immutable: every write makes a new value
 * with {@link #version} + 1.
 *
 * @param rules    the match rules, decided before the share (empty: none); a state written before rules existed reads as none
 * @param newPartitions with routing {@code partitions}: the partitions of the original topic routed to the new version (null
 *                 with the other routings)
 * @param shareSet the change that set the current routing (share, rules, partitions); null on a value about to be written (the
 *                 write fills it with its own change)
 * @param rollout  where a rollout plan stands (null when no rollout.java run advanced the release)
 * @param lastGate the last evaluation of the rollout gates (null before the first)
 * @param step     the step that stopped routing or is handing over, while it runs (null otherwise): a re-run takes over
 *                 a step whose process is gone
 */
public record MigrationState(
        long version,
        String context,
        Phase phase,
        EngineKind engine,
        Routing routing,
        double share,
        List<Rule> rules,
        List<Integer> newPartitions,
        Change shareSet,
        boolean routerRunning,
        Map<Integer, Long> startOffsets,
        Handover handover,
        Map<String, String> queryIds,
        Check lastCheck,
        RolloutStep rollout,
        GateResult lastGate,
        StepInProgress step,
        List<Change> history) {

    public MigrationState {
        rules = rules == null ? List.of() : List.copyOf(rules);
        newPartitions = newPartitions == null ? null : List.copyOf(newPartitions);
    }

    public enum Phase {
        /** migration.java is setting things up. */
        MIGRATING,
        /** The router sends records to both versions. */
        ROUTING,
        /** promote.java is handing the original topic to the new version. */
        PROMOTING,
        PROMOTED,
        /** rollback.java is handing the original topic back to the legacy version. */
        ROLLING_BACK,
        ROLLED_BACK;

        /** A migration in this phase is under way (routing or handing over). */
        public boolean active() {
            return this != PROMOTED && this != ROLLED_BACK;
        }

        /** The script that finishes a migration, promotion or rollback interrupted in this phase. */
        public String script() {
            return switch (this) {
                case MIGRATING -> "migration.java";
                case PROMOTING -> "promote.java";
                default -> "rollback.java";
            };
        }

        /** The phase as people and the JSON say it: routing, rolling-back. */
        @JsonValue
        public String word() {
            return name().toLowerCase().replace('_', '-');
        }

        @JsonCreator
        public static Phase of(String word) {
            return Words.find(values(), Phase::word, word).orElseThrow(() -> new IllegalArgumentException("unknown phase '" + word + "'"));
        }

        /** The phase while handing over to {@code to}, and once done. */
        public static Phase handingOverTo(Role to) {
            return to == Role.NEW ? PROMOTING : ROLLING_BACK;
        }

        public static Phase handedOverTo(Role to) {
            return to == Role.NEW ? PROMOTED : ROLLED_BACK;
        }
    }

    /** The hand-over at promotion or rollback: to which version, at which position of the original topic, how far it got. */
    public record Handover(Role to, Map<Integer, Long> offsets, boolean offsetsApplied, boolean started) {
        public Handover withOffsetsApplied() {
            return new Handover(to, offsets, true, started);
        }

        public Handover withStarted() {
            return new Handover(to, offsets, offsetsApplied, true);
        }
    }

    /** The result of the last check_data: records routing consumed, routed to each version, and the difference. */
    public record Check(Instant at, boolean clean, long consumed, long toLegacy, long toNew, long difference) {
    }

    /**
     * The rollout plan step a release is at: step {@code step} (0-based) of a plan of {@code steps}
     * steps, whose hold counts from {@code since}, and whether an operator paused the rollout ({@code paused}: null when not; a
     * state written before pauses existed reads as not paused). Only rollout.java writes it. A pause recorded before any
     * rollout run has no step: {@code step} -1, {@code steps} 0, {@code since} null.
     */
    public record RolloutStep(int step, int steps, Instant since, Pause paused) {
        @JsonCreator
        public RolloutStep {
        }

        public RolloutStep(int step, int steps, Instant since) {
            this(step, steps, since, null);
        }

        public RolloutStep withPaused(Pause p) {
            return new RolloutStep(step, steps, since, p);
        }

        /** This record only carries a pause (written by rollout.java --pause before any rollout run). */
        boolean onlyPause() {
            return step < 0 && steps == 0 && since == null;
        }
    }

    /** Who paused a rollout ({@code user@host}) and when: while paused, rollout.java does not advance the plan. */
    public record Pause(String by, Instant at) {
    }

    /** The rollout's pause, or null when it is not paused. */
    public Pause paused() {
        return rollout == null ? null : rollout.paused();
    }

    /** One evaluation of the rollout gates before an advance: the first gate that failed (or all passed), why, at which step. */
    public record GateResult(Instant at, int step, boolean passed, String gate, String reason) {
    }

    /** The scripts' steps that stop routing or hand over records, and so must be finished or undone when interrupted. */
    public enum StepKind {
        MIGRATION("migration.java"), UPDATE_RATE("update_rate.java --drain"), CHECK_DATA("check_data.java"), PROMOTE("promote.java"),
        ROLLBACK("rollback.java");

        private final String script;

        StepKind(String script) {
            this.script = script;
        }

        /** The script that runs it, as an operator types it. */
        public String script() {
            return script;
        }

        @JsonValue
        public String word() {
            return name().toLowerCase().replace('_', '-');
        }

        @JsonCreator
        public static StepKind of(String word) {
            return Words.find(values(), StepKind::word, word).orElseThrow(() -> new IllegalArgumentException("unknown step '" + word + "'"));
        }
    }

    /**
     * A step in progress: which, in which process (host, pid and the process's start time), since
     * when, and until when a process on another host, which the kit cannot look at, counts as alive.
     */
    public record StepInProgress(StepKind kind, String host, long pid, Instant processStarted, Instant started, Instant until) {
        public String describe() {
            return kind.script() + " on " + host + " (pid " + pid + ", since " + started + ")";
        }
    }

    /**
     * One change of the state: when, who, where, with which command, what (for people), and the share after it (typed, for the
     * live page's share over time; null in a state written before it was recorded, and on a change not yet written).
     */
    public record Change(Instant at, String user, String host, String command, String what, Double share) {
        public Change(Instant at, String user, String host, String command, String what) {
            this(at, user, host, command, what, null);
        }

        Change withShare(double s) {
            return new Change(at, user, host, command, what, s);
        }
    }

    public static MigrationState start(String context, EngineKind engine, Routing routing, double share,
                                       Map<Integer, Long> startOffsets) {
        List<Integer> partitions = routing == Routing.PARTITIONS ? Routing.firstPartitions(share, startOffsets.size()) : null;
        return new MigrationState(0, context, Phase.MIGRATING, engine, routing, share, List.of(), partitions, null, false,
                new TreeMap<>(startOffsets), null, Map.of(), null, null, null, null, List.of());
    }

    public MigrationState withPhase(Phase p) {
        return new MigrationState(version, context, p, engine, routing, share, rules, newPartitions, shareSet, routerRunning, startOffsets, handover,
                queryIds, lastCheck, rollout, lastGate, step, history);
    }

    /** A new share with the same rules and partitions; the write records who set it. */
    public MigrationState withShare(double s) {
        return withRoute(s, rules, newPartitions);
    }

    /** A new routing: share, rules and (routing partitions) the new version's partitions; the write records who set it. */
    public MigrationState withRoute(double s, List<Rule> r, List<Integer> partitions) {
        return new MigrationState(version, context, phase, engine, routing, s, r, partitions, null, routerRunning, startOffsets, handover,
                queryIds, lastCheck, rollout, lastGate, step, history);
    }

    /**
     * The start offsets once partitions were added to the original topic during the release ({@code start} holds the old ones
     * and 0 for each new one). With routing partitions the new partitions go to legacy, so the share becomes the new
     * version's part of the larger count.
     */
    public MigrationState withNewPartitions(Map<Integer, Long> start) {
        double s = newPartitions == null ? share : (double) newPartitions.size() / start.size();
        return new MigrationState(version, context, phase, engine, routing, s, rules, newPartitions, shareSet, routerRunning, new TreeMap<>(start),
                handover, queryIds, lastCheck, rollout, lastGate, step, history);
    }

    /** How the routing decides each record now. */
    public Route route() {
        return new Route(routing, share, newPartitions, rules);
    }

    public MigrationState withRouterRunning(boolean running) {
        return new MigrationState(version, context, phase, engine, routing, share, rules, newPartitions, shareSet, running, startOffsets, handover,
                queryIds, lastCheck, rollout, lastGate, step, history);
    }

    public MigrationState withHandover(Handover h) {
        return new MigrationState(version, context, phase, engine, routing, share, rules, newPartitions, shareSet, routerRunning, startOffsets, h,
                queryIds, lastCheck, rollout, lastGate, step, history);
    }

    public MigrationState withQueryIds(Map<String, String> ids) {
        return new MigrationState(version, context, phase, engine, routing, share, rules, newPartitions, shareSet, routerRunning, startOffsets, handover,
                Map.copyOf(ids), lastCheck, rollout, lastGate, step, history);
    }

    public MigrationState withLastCheck(Check c) {
        return new MigrationState(version, context, phase, engine, routing, share, rules, newPartitions, shareSet, routerRunning, startOffsets, handover,
                queryIds, c, rollout, lastGate, step, history);
    }

    public MigrationState withRollout(RolloutStep r) {
        return new MigrationState(version, context, phase, engine, routing, share, rules, newPartitions, shareSet, routerRunning, startOffsets, handover,
                queryIds, lastCheck, r, lastGate, step, history);
    }

    /** The step in progress (null: none). */
    public MigrationState withStep(StepInProgress st) {
        return new MigrationState(version, context, phase, engine, routing, share, rules, newPartitions, shareSet, routerRunning, startOffsets, handover,
                queryIds, lastCheck, rollout, lastGate, st, history);
    }

    public MigrationState withLastGate(GateResult g) {
        return new MigrationState(version, context, phase, engine, routing, share, rules, newPartitions, shareSet, routerRunning, startOffsets, handover,
                queryIds, lastCheck, rollout, g, step, history);
    }

    /**
     * What a store writes for this value: version {@code expectedVersion + 1}, one more line of
     * history, and {@code change} as the setter of a share that has none yet.
     */
    public MigrationState next(long expectedVersion, Change change) {
        List<Change> h = new ArrayList<>(history == null ? List.of() : history);
        Change c = change.withShare(share);
        h.add(c);
        return new MigrationState(expectedVersion + 1, context, phase, engine, routing, share, rules, newPartitions, shareSet == null ? c : shareSet,
                routerRunning, startOffsets, handover, queryIds, lastCheck, rollout, lastGate, step, List.copyOf(h));
    }

    public Change lastChange() {
        return history == null || history.isEmpty() ? null : history.get(history.size() - 1);
    }
}
