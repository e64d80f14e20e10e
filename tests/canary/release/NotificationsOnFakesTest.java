package canary.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.context.Role;
import canary.release.Fakes.World;
import canary.release.Notifier.Event;
import canary.release.Notifier.Kind;

/** Which events the state's writes make: each once, from typed fields, whichever step wrote them. */
@Tag("fast")
class NotificationsOnFakesTest {

    @TempDir
    Path dir;

    /** A notifier that keeps what it is told. */
    static final class Recorder implements Notifier {
        final List<Event> events = new ArrayList<>();

        @Override
        public void post(Event event) {
            events.add(event);
        }

        List<Kind> kinds() {
            return events.stream().map(Event::event).toList();
        }
    }

    private Lifecycle notifying(World w, Recorder r, boolean holds) {
        return new Lifecycle(w.ctx, w.cluster, Notifications.notifying(w.store, w.ctx, r, holds), w.engine, w.versions, w.clock,
                Fakes.OPERATOR, w.liveness, w.out, Duration.ofSeconds(1));
    }

    @Test
    void should_post_migration_share_change_and_rollback_once_each() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        Recorder r = new Recorder();
        Lifecycle l = notifying(w, r, false);
        l.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false);
        assertEquals(List.of(Kind.MIGRATION), r.kinds(), "the writes before routing runs post nothing");
        l.updateShare(0.1, false, false);
        assertEquals(List.of(Kind.MIGRATION), r.kinds(), "the same share again is no change");
        l.updateShare(0.4, false, false);
        l.check(false);
        l.handOver(Role.LEGACY, false);
        l.handOver(Role.LEGACY, false); // the re-run says it is done and posts nothing
        assertEquals(List.of(Kind.MIGRATION, Kind.SHARE_CHANGE, Kind.ROLLBACK), r.kinds());

        Event change = r.events.get(1);
        assertEquals(0.4, change.share());
        assertEquals(0.1, change.details().get("from"));
        assertEquals(0.4, change.details().get("to"));
        assertEquals("fake", change.context());
        assertEquals("orders", change.topic());
        assertEquals(MigrationState.Phase.ROUTING, change.phase());
        Event rollback = r.events.get(2);
        assertEquals(MigrationState.Phase.ROLLED_BACK, rollback.phase());
        assertEquals("service_v1", rollback.details().get("group"));
        assertEquals(w.store.state.lastChange().at(), rollback.time(), "the time of the write that rolled back");
        assertEquals(w.store.state.handover().offsets(), rollback.details().get("offsets"));
    }

    @Test
    void should_post_a_failed_gate_once_and_a_hold_only_when_the_plan_holds() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false);
        MigrationState st = w.store.state;
        MigrationState.GateResult failed = new MigrationState.GateResult(w.clock.instant(), 0, false, "max_lag", "lag of new 15000 > 10000");
        MigrationState after = st.withLastGate(failed).next(st.version(), new MigrationState.Change(w.clock.instant(), "ops", "h", "rollout", "gate"));

        List<Event> holding = Notifications.between(w.ctx, Optional.of(st), after, true);
        assertEquals(List.of(Kind.GATE_FAILURE, Kind.HOLD), holding.stream().map(Event::event).toList());
        assertEquals(Map.of("gate", "max_lag", "reason", "lag of new 15000 > 10000", "step", 1), withoutNulls(holding.get(0).details()));
        assertEquals("gate max_lag failed: lag of new 15000 > 10000", holding.get(1).details().get("reason"));
        assertEquals(List.of(Kind.GATE_FAILURE), Notifications.between(w.ctx, Optional.of(st), after, false).stream().map(Event::event).toList(),
                "on_failure rollback: the rollback is its own event");
        MigrationState again = after.next(after.version(), new MigrationState.Change(w.clock.instant(), "ops", "h", "rollout", "again"));
        assertEquals(List.of(), Notifications.between(w.ctx, Optional.of(after), again, true), "the same recorded gate result posts nothing");
    }

    @Test
    void should_never_let_a_failing_notifier_change_a_step() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        Notifier broken = e -> {
            throw new IllegalStateException("webhook down");
        };
        Lifecycle l = new Lifecycle(w.ctx, w.cluster, Notifications.notifying(w.store, w.ctx, broken, false), w.engine, w.versions, w.clock,
                Fakes.OPERATOR, w.liveness, w.out, Duration.ofSeconds(1));
        assertEquals(0, l.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
        assertEquals(0, l.handOver(Role.NEW, false));
        assertEquals(MigrationState.Phase.PROMOTED, w.store.state.phase());
    }

    @Test
    void slack_text_says_what_happened_in_one_line() {
        Event e = new Event(Kind.SHARE_CHANGE, "orders-demo", "orders", MigrationState.Phase.ROUTING, 0.5,
                java.time.Instant.parse("2030-01-01T10:00:00Z"), Map.of("from", 0.1, "to", 0.5));
        assertEquals("canary-router orders-demo (topic orders): share changed from 10 % to 50 % (phase routing, 2030-01-01T10:00:00Z)", e.text());
        assertTrue(!e.text().contains("\n"));
    }

    private static Map<String, Object> withoutNulls(Map<String, Object> m) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (v != null) {
                out.put(k, v);
            }
        });
        return out;
    }
}
