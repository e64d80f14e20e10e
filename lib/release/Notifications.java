package canary.release;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import canary.context.Context;
import canary.context.Role;
import canary.context.Rule;
import canary.release.MigrationState.Phase;
import canary.release.Notifier.Event;
import canary.release.Notifier.Kind;

/**
 * Which events one write of the state makes, from the state before and after it: every change the kit notifies about is a
 * typed field of the state (phase, share, rules, partitions, last gate), and each write happens once, so each event is
 * posted once, whichever command or host made it. Pure logic, tested on its own.
 */
public final class Notifications {

    private Notifications() {
    }

    /**
     * The events of the write that turned {@code before} (empty: no state) into {@code after}.
     *
     * @param holdsOnGateFailure the context's rollout plan holds when a gate fails (on_failure hold): a failed gate is also a hold
     */
    public static List<Event> between(Context ctx, Optional<MigrationState> before, MigrationState after, boolean holdsOnGateFailure) {
        List<Event> events = new ArrayList<>();
        MigrationState b = before.orElse(null);
        Phase was = b == null ? null : b.phase();
        Phase now = after.phase();
        if (now == Phase.ROUTING && (was == null || was == Phase.MIGRATING)) {
            Map<String, Object> d = route(after);
            d.put("partitions", after.startOffsets().size());
            events.add(event(Kind.MIGRATION, ctx, after, d));
        } else if (b != null && was == Phase.ROUTING && now == Phase.ROUTING && routeChanged(b, after)) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("from", b.share());
            d.put("to", after.share());
            d.putAll(route(after));
            if (after.shareSet() != null) {
                d.put("command", after.shareSet().command());
                d.put("user", after.shareSet().user());
                d.put("host", after.shareSet().host());
            }
            events.add(event(Kind.SHARE_CHANGE, ctx, after, d));
        }
        MigrationState.GateResult gate = after.lastGate();
        if (gate != null && !gate.passed() && (b == null || !gate.equals(b.lastGate()))) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("gate", gate.gate());
            d.put("reason", gate.reason());
            d.put("step", gate.step() + 1);
            d.put("steps", after.rollout() == null ? null : after.rollout().steps());
            events.add(event(Kind.GATE_FAILURE, ctx, after, d));
            if (holdsOnGateFailure) {
                Map<String, Object> h = new LinkedHashMap<>();
                h.put("step", gate.step() + 1);
                h.put("step_name", gate.step() < 0 ? "below step 1" : "step " + (gate.step() + 1)
                        + (after.rollout() == null ? "" : " of " + after.rollout().steps()));
                h.put("reason", "gate " + gate.gate() + " failed: " + gate.reason());
                events.add(event(Kind.HOLD, ctx, after, h));
            }
        }
        if (was != now && (now == Phase.PROMOTED || now == Phase.ROLLED_BACK)) {
            Role to = now == Phase.PROMOTED ? Role.NEW : Role.LEGACY;
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("group", ctx.service(to).group());
            d.put("offsets", after.handover() == null ? null : after.handover().offsets());
            events.add(event(now == Phase.PROMOTED ? Kind.PROMOTE : Kind.ROLLBACK, ctx, after, d));
        }
        return events;
    }

    /** The event of a status that found the release degraded. */
    public static Event degraded(Context ctx, Phase phase, Double share, java.time.Instant at, List<String> problems) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("problems", List.copyOf(problems));
        return new Event(Kind.DEGRADED, ctx.name(), ctx.topic(), phase, share == null ? 0 : share, at, d);
    }

    /** Whether the share, the rules or the new version's partitions differ. */
    static boolean routeChanged(MigrationState b, MigrationState a) {
        return Double.compare(b.share(), a.share()) != 0 || !b.rules().equals(a.rules())
                || !java.util.Objects.equals(b.newPartitions(), a.newPartitions());
    }

    private static Map<String, Object> route(MigrationState s) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("routing", s.routing().word());
        d.put("rules", s.rules().stream().map(Rule::describe).toList());
        if (s.newPartitions() != null) {
            d.put("new_partitions", s.newPartitions());
        }
        return d;
    }

    private static Event event(Kind kind, Context ctx, MigrationState s, Map<String, Object> details) {
        MigrationState.Change c = s.lastChange();
        return new Event(kind, ctx.name(), ctx.topic(), s.phase(), s.share(), c == null ? java.time.Instant.now() : c.at(), details);
    }

    /** A state store that posts the events of each successful write (after it, within the notifier's time limit). */
    public static StateStore notifying(StateStore store, Context ctx, Notifier notifier, boolean holdsOnGateFailure) {
        if (!notifier.enabled()) {
            return store;
        }
        return new StateStore() {
            /** The state this process last read or wrote: a write's "before" without reading the store again. */
            private volatile MigrationState last;

            @Override
            public Optional<MigrationState> read() {
                Optional<MigrationState> s = store.read();
                s.ifPresent(v -> last = v);
                return s;
            }

            @Override
            public MigrationState write(long expectedVersion, MigrationState next, String what) {
                MigrationState known = last;
                Optional<MigrationState> before = expectedVersion < 0 ? Optional.empty()
                        : known != null && known.version() == expectedVersion ? Optional.of(known)
                        : store.read().filter(s -> s.version() == expectedVersion);
                MigrationState written = store.write(expectedVersion, next, what);
                last = written;
                if (expectedVersion >= 0 && before.isEmpty()) {
                    return written; // cannot say what changed: post nothing rather than a wrong event
                }
                for (Event e : between(ctx, before, written, holdsOnGateFailure)) {
                    try {
                        notifier.post(e);
                    } catch (RuntimeException ignored) {
                        // a notifier reports its own failures; a notification never changes a step's result
                    }
                }
                return written;
            }

            @Override
            public Map<String, MigrationState> contexts() {
                return store.contexts();
            }

            @Override
            public void delete(long expectedVersion) {
                store.delete(expectedVersion);
            }

            @Override
            public void ensureExists() {
                store.ensureExists();
            }

            @Override
            public void close() {
                store.close();
            }
        };
    }
}
