package canary;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The state of one migration, kept as a JSON record keyed by the context name in the compacted
 * topic {@code <topic>_canary_state}: phase, engine, share, routing, start offsets, the router's
 * run/stop flag, the hand-over, ksqlDB query ids, the last integrity check and the history of
 * every change. Immutable: every change makes a new value with {@link #version} + 1.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record MigrationState(
        long version,
        String context,
        Phase phase,
        String engine,
        String routing,
        double share,
        boolean routerRunning,
        Map<Integer, Long> startOffsets,
        Handover handover,
        Map<String, String> queryIds,
        Check lastCheck,
        List<Change> history) {

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

        public String word() {
            return name().toLowerCase().replace('_', '-');
        }
    }

    /** The hand-over at promotion or rollback: to which version, at which position of the original topic. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Handover(String to, Map<Integer, Long> offsets, boolean offsetsApplied, boolean started) {
        public Handover withOffsetsApplied() {
            return new Handover(to, offsets, true, started);
        }

        public Handover withStarted() {
            return new Handover(to, offsets, offsetsApplied, true);
        }
    }

    /** The result of the last check_data. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Check(Instant at, boolean clean, long consumed, long legacy, long fresh, long difference) {
    }

    /** One change of the state: when, who, where, with which command, what. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Change(Instant at, String user, String host, String command, String what) {
    }

    public static MigrationState start(String context, String engine, String routing, double share,
                                       Map<Integer, Long> startOffsets) {
        return new MigrationState(0, context, Phase.MIGRATING, engine, routing, share, false,
                new TreeMap<>(startOffsets), null, Map.of(), null, List.of());
    }

    public MigrationState withPhase(Phase p) {
        return new MigrationState(version, context, p, engine, routing, share, routerRunning, startOffsets, handover, queryIds, lastCheck, history);
    }

    public MigrationState withShare(double s) {
        return new MigrationState(version, context, phase, engine, routing, s, routerRunning, startOffsets, handover, queryIds, lastCheck, history);
    }

    public MigrationState withRouterRunning(boolean running) {
        return new MigrationState(version, context, phase, engine, routing, share, running, startOffsets, handover, queryIds, lastCheck, history);
    }

    public MigrationState withHandover(Handover h) {
        return new MigrationState(version, context, phase, engine, routing, share, routerRunning, startOffsets, h, queryIds, lastCheck, history);
    }

    public MigrationState withQueryIds(Map<String, String> ids) {
        return new MigrationState(version, context, phase, engine, routing, share, routerRunning, startOffsets, handover, Map.copyOf(ids), lastCheck, history);
    }

    public MigrationState withLastCheck(Check c) {
        return new MigrationState(version, context, phase, engine, routing, share, routerRunning, startOffsets, handover, queryIds, c, history);
    }

    /** The next version of this state, with one more line of history. */
    MigrationState next(Change change) {
        List<Change> h = new ArrayList<>(history == null ? List.of() : history);
        h.add(change);
        return new MigrationState(version + 1, context, phase, engine, routing, share, routerRunning, startOffsets, handover, queryIds, lastCheck, List.copyOf(h));
    }

    public Change lastChange() {
        return history == null || history.isEmpty() ? null : history.get(history.size() - 1);
    }

    /** The share as operators write it: 10 %, 50 %, 100 %. */
    public static String percent(double share) {
        double pct = share * 100.0;
        return (pct == Math.rint(pct) ? String.valueOf((long) pct) : String.format(java.util.Locale.ROOT, "%.2f", pct)) + " %";
    }
}
