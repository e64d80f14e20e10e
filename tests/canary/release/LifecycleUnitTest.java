package canary.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.UserException;
import canary.context.Role;
import canary.context.Routing;
import canary.release.Fakes.FakeCluster;
import canary.release.Fakes.World;
import canary.release.MigrationState.Phase;

/** The steps of a release against in-memory fakes: the state they leave, the order of what they ask, what they refuse. */
@Tag("fast")
class LifecycleUnitTest {

    @TempDir
    Path dir;

    World w;

    @BeforeEach
    void world() throws Exception {
        w = new World(dir, "", UnaryOperator.identity());
    }

    MigrationState routing(double share) {
        w.lifecycle.migrate(share, Lifecycle.MissingOffsets.FAIL, false, false);
        w.engine.calls.clear();
        w.versions.calls.clear();
        return w.store.state;
    }

    @Nested
    class Migration {

        @Test
        void starts_at_the_legacy_groups_committed_offsets_after_legacy_stopped() {
            assertEquals(0, w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
            MigrationState s = w.store.state;
            assertEquals(Phase.ROUTING, s.phase());
            assertEquals(Map.of(0, 40L, 1, 50L, 2, 60L), s.startOffsets());
            assertTrue(s.routerRunning());
            assertEquals(0.1, s.share());
            assertEquals(Routing.RANDOM, s.routing());
            assertEquals("migration started at share 10 %", s.shareSet().what(), "the write that set the share is its setter");
            assertEquals(List.of("stop legacy", "start legacy on orders_legacy", "start new on orders_new"), w.versions.calls);
            assertEquals(List.of("preflight", "create {0=40, 1=50, 2=60}", "resume"), w.engine.calls);
            assertEquals(Map.of(0, 0L, 1, 0L, 2, 0L), w.cluster.committedOffsets("service_v2", "orders_new"),
                    "each version reads its topic from the first record");
        }

        @Test
        void refuses_a_partition_without_committed_offset_unless_told_where_to_start() {
            w.cluster.committed.put(FakeCluster.key("service_v1", "orders"), new java.util.TreeMap<>(Map.of(0, 40L, 1, 50L)));
            UserException e = assertThrows(UserException.class, () -> w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
            assertTrue(e.getMessage().contains("no committed offset on partition(s) [2]"), e.getMessage());
            assertNull(w.store.state, "nothing was written");
            w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.LATEST, false, false);
            assertEquals(Map.of(0, 40L, 1, 50L, 2, 100L), w.store.state.startOffsets());
        }

        @Test
        void a_dry_run_prints_the_start_offsets_and_changes_nothing() {
            w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, true);
            assertNull(w.store.state);
            assertTrue(w.versions.calls.isEmpty(), w.versions.calls.toString());
            assertTrue(w.takeOutput().contains("dry run: would stop the legacy version"));
        }

        @Test
        void that_fails_part_way_removes_what_it_made_and_gives_the_topic_back_to_legacy() {
            w.engine.failCreate = new UserException(UserException.ENVIRONMENT, "ksqlDB refused");
            assertThrows(UserException.class, () -> w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
            assertNull(w.store.state, "the state is removed");
            assertEquals("orders", w.versions.on.get(Role.LEGACY), "legacy runs on the original topic again");
            assertTrue(w.engine.calls.contains("remove"), w.engine.calls.toString());
        }

        @Test
        void interrupted_after_its_state_was_written_resumes_from_that_state() {
            // as a SIGKILL after the first write leaves it: phase migrating, legacy stopped
            w.versions.stop(Role.LEGACY, "orders", Duration.ZERO);
            w.store.write(-1, MigrationState.start("fake", canary.context.Context.EngineKind.ROUTER, Routing.RANDOM, 0.3,
                    Map.of(0, 40L, 1, 50L, 2, 60L)), "migration started at share 30 %");
            w.cluster.committed.put(FakeCluster.key("service_v1", "orders"), new java.util.TreeMap<>(Map.of(0, 45L, 1, 55L, 2, 65L)));
            w.lifecycle.migrate(0.3, Lifecycle.MissingOffsets.FAIL, false, false);
            assertTrue(w.takeOutput().contains("resuming the migration started"));
            assertEquals(Phase.ROUTING, w.store.state.phase());
            assertEquals(Map.of(0, 40L, 1, 50L, 2, 60L), w.store.state.startOffsets(), "the start offsets captured first are kept");
        }

        @Test
        void keeps_its_step_recorded_until_routing_runs() {
            routing(0.1);
            assertTrue(w.store.writes.stream().anyMatch(x -> x.phase() == Phase.ROUTING && x.routerRunning() && x.step() != null
                    && x.step().kind() == MigrationState.StepKind.MIGRATION), "routing recorded while the migration's step is still on");
            assertNull(w.store.state.step());
            assertEquals("migration done", w.store.state.lastChange().what());
        }

        @Test
        void killed_after_it_recorded_routing_is_finished_by_the_next_run() {
            // as a SIGKILL at migration.routing-recorded leaves it: phase routing, run flag on, the migration's step, no router
            MigrationState s = routing(0.1);
            w.cluster.noMembers(Fakes.FakeEngine.GROUP);
            w.deadPids.add(99L);
            s = w.store.write(s.version(), s.withStep(new MigrationState.StepInProgress(MigrationState.StepKind.MIGRATION, "host", 99, null,
                    w.clock.instant(), w.clock.instant().plus(Duration.ofMinutes(15)))), "routing started");
            w.takeOutput();
            w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, true);
            assertTrue(w.takeOutput().contains("dry run: would start routing"));
            assertEquals(s, w.store.state, "a dry run changes nothing");
            assertEquals(0, w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
            String out = w.takeOutput();
            assertTrue(out.contains("taking over the interrupted migration.java on host (pid 99") && out.contains("migration done"), out);
            assertEquals(List.of("resume"), w.engine.calls);
            assertTrue(w.versions.calls.isEmpty(), "the versions run already: " + w.versions.calls);
            assertEquals(Phase.ROUTING, w.store.state.phase());
            assertNull(w.store.state.step());
            assertEquals(s.startOffsets(), w.store.state.startOffsets());
        }

        @Test
        void refuses_while_one_is_active_and_after_promotion() {
            routing(0.1);
            assertTrue(assertThrows(UserException.class, () -> w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false))
                    .getMessage().contains("a migration is already active"));
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            w.lifecycle.handOver(Role.NEW, false);
            assertTrue(assertThrows(UserException.class, () -> w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false))
                    .getMessage().contains("was promoted"));
        }
    }

    @Nested
    class A_release_after_another_of_the_same_topic {

        /** The latest state of another context of the topic, in {@code phase}. */
        MigrationState other(String name, Phase phase) {
            return MigrationState.start(name, canary.context.Context.EngineKind.ROUTER, Routing.RANDOM, 0.5, Map.of(0, 1L, 1, 1L, 2, 1L))
                    .withPhase(phase).next(-1, new MigrationState.Change(w.clock.instant(), "ops", "host", "test", phase.word()));
        }

        @Test
        void starts_once_the_one_before_was_promoted_and_its_routing_topics_are_gone() {
            w.store.before.put("first", other("first", Phase.PROMOTED));
            assertEquals(0, w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
            assertEquals(Phase.ROUTING, w.store.state.phase());
        }

        @Test
        void is_refused_while_another_context_releases_the_topic_and_nothing_changes() {
            w.store.before.put("first", other("first", Phase.ROUTING));
            UserException e = assertThrows(UserException.class, () -> w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
            assertTrue(e.getMessage().contains("context 'first' is releasing orders (phase routing"), e.getMessage());
            assertNull(w.store.state);
            assertTrue(w.versions.calls.isEmpty(), "legacy was not stopped: " + w.versions.calls);
        }

        @Test
        void is_refused_while_the_routing_topics_the_one_before_left_are_there() {
            w.store.before.put("first", other("first", Phase.PROMOTED));
            w.cluster.topic("orders_new", 3, 10);
            UserException e = assertThrows(UserException.class, () -> w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
            assertTrue(e.getMessage().contains("orders_new are left from the release of context 'first' (promoted"), e.getMessage());
            assertTrue(e.getMessage().contains("run promote.java with that context again, then this migration"), e.getMessage());
            assertNull(w.store.state);
            assertTrue(w.versions.calls.isEmpty(), w.versions.calls.toString());
        }

        @Test
        void a_context_whose_topic_a_later_release_took_over_cannot_release_again() {
            routing(0.1);
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            w.lifecycle.handOver(Role.LEGACY, false);
            w.store.after.put("second", other("second", Phase.PROMOTED));
            MigrationState before = w.store.state;
            UserException e = assertThrows(UserException.class, () -> w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false));
            assertTrue(e.getMessage().startsWith("context 'second' (promoted, last change"), e.getMessage());
            assertTrue(e.getMessage().contains("released orders after context 'fake' and owns it now"), e.getMessage());
            assertEquals(before, w.store.state);
        }

        @Test
        void a_hand_over_run_again_leaves_the_routing_of_a_later_release_alone() {
            routing(0.5);
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            w.lifecycle.handOver(Role.NEW, false);
            w.engine.calls.clear();
            w.takeOutput();
            w.store.after.put("second", other("second", Phase.ROUTING));
            assertEquals(0, w.lifecycle.handOver(Role.NEW, false));
            assertEquals(List.of(), w.engine.calls);
            assertTrue(w.takeOutput().contains("context 'second' (routing, last change"), "says whose they are");
            assertEquals(Map.of("second", w.store.after.get("second")), w.lifecycle.releasedAfter(java.util.Optional.of(w.store.state)));
            // without a later release, a run again finishes the cleanup a killed hand-over left
            w.store.after.clear();
            w.lifecycle.handOver(Role.NEW, false);
            assertEquals(List.of("remove"), w.engine.calls);
        }
    }

    @Nested
    class A_share_change {

        @Test
        void applies_the_share_records_its_setter_and_keeps_routing() {
            routing(0.1);
            w.clock.advance(Duration.ofMinutes(5));
            w.lifecycle.updateShare(0.5, false, false);
            MigrationState s = w.store.state;
            assertEquals(0.5, s.share());
            assertEquals(w.clock.instant(), s.shareSet().at());
            assertTrue(s.routerRunning());
            assertEquals(List.of("share 0.5", "resume"), w.engine.calls, "random routing needs no drain");
        }

        @Test
        void drains_first_with_key_hash_routing() throws Exception {
            w = new World(dir, "routing: key-hash\n", UnaryOperator.identity());
            routing(0.1);
            w.lifecycle.updateShare(0.5, false, false);
            assertEquals(List.of("pause", "share 0.5", "resume"), w.engine.calls);
            assertTrue(w.store.writes.stream().anyMatch(s -> !s.routerRunning()), "the run flag was off while draining");
        }

        @Test
        void writes_the_new_share_with_the_run_flag_on_before_the_engine_applies_it() throws Exception {
            w = new World(dir, "routing: key-hash\n", UnaryOperator.identity());
            routing(0.1);
            w.lifecycle.updateShare(0.5, false, false);
            MigrationState atApply = w.engine.storedAtApply;
            assertEquals(0.5, atApply.share(), "ksqlDB's CREATE OR REPLACE restarts the paused query: the state says the new share first");
            assertTrue(atApply.routerRunning());
            assertEquals(null, atApply.step());
        }

        @Test
        void a_routing_change_the_engine_refuses_leaves_the_state_at_the_old_share_stopped_for_a_rerun() throws Exception {
            w = new World(dir, "routing: key-hash\n", UnaryOperator.identity());
            routing(0.1);
            w.engine.failApply = new UserException(UserException.ENVIRONMENT, "ksqlDB rejected the replace");
            UserException e = assertThrows(UserException.class, () -> w.lifecycle.updateShare(0.5, false, false));
            assertEquals("ksqlDB rejected the replace", e.getMessage());
            MigrationState s = w.store.state;
            assertEquals(0.1, s.share());
            assertFalse(s.routerRunning(), "the old rating query is still paused");
            assertTrue(s.lastChange().what().startsWith("routing change failed, the routing stays"), s.lastChange().what());

            w.engine.failApply = null;
            w.lifecycle.updateShare(0.5, false, false);
            assertEquals(0.5, w.store.state.share());
            assertTrue(w.store.state.routerRunning());
        }

        @Test
        void to_the_same_share_changes_nothing() {
            MigrationState before = routing(0.1);
            w.lifecycle.updateShare(0.1, false, false);
            assertEquals(before, w.store.state);
            assertTrue(w.takeOutput().contains("nothing to do"));
        }

        @Test
        void is_refused_without_a_routing_migration() {
            assertTrue(assertThrows(UserException.class, () -> w.lifecycle.updateShare(0.5, false, false)).getMessage()
                    .contains("run migration first"));
        }
    }

    @Nested
    class A_check {

        @Test
        void pauses_counts_resumes_and_records_the_result() {
            routing(0.1);
            w.engine.count = Integrity.of("orders", Map.of(0, 10L), Map.of(0, 7L), Map.of(0, 3L));
            Integrity r = w.lifecycle.check(false);
            assertTrue(r.clean());
            assertEquals(List.of("pause", "count", "resume"), w.engine.calls);
            MigrationState s = w.store.state;
            assertTrue(s.routerRunning());
            assertEquals(new MigrationState.Check(w.clock.instant(), true, 10, 7, 3, 0), s.lastCheck());
        }

        @Test
        void records_a_mismatch() {
            routing(0.1);
            w.engine.count = Integrity.of("orders", Map.of(0, 10L), Map.of(0, 7L), Map.of(0, 2L));
            assertEquals(1, w.lifecycle.check(false).total().difference());
            assertEquals(false, w.store.state.lastCheck().clean());
        }
    }

    @Nested
    class A_hand_over {

        @Test
        void sets_the_surviving_groups_offsets_to_the_routing_position_and_starts_it_on_the_topic() {
            routing(0.5);
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            assertEquals(0, w.lifecycle.handOver(Role.NEW, false));
            MigrationState s = w.store.state;
            assertEquals(Phase.PROMOTED, s.phase());
            assertEquals(new MigrationState.Handover(Role.NEW, Map.of(0, 70L, 1, 80L, 2, 90L), true, true), s.handover());
            assertEquals(Map.of(0, 70L, 1, 80L, 2, 90L), w.cluster.committedOffsets("service_v2", "orders"));
            assertEquals(List.of("stop legacy", "stop new", "start new on orders"), w.versions.calls);
            assertEquals(List.of("pause", "position", "remove"), w.engine.calls);
        }

        @Test
        void rolls_back_to_the_legacy_version_the_same_way() {
            routing(0.5);
            w.engine.position = Map.of(0, 41L, 1, 51L, 2, 61L);
            w.lifecycle.handOver(Role.LEGACY, false);
            assertEquals(Phase.ROLLED_BACK, w.store.state.phase());
            assertEquals(Map.of(0, 41L, 1, 51L, 2, 61L), w.cluster.committedOffsets("service_v1", "orders"));
            assertEquals("orders", w.versions.on.get(Role.LEGACY));
        }

        @Test
        void interrupted_after_the_position_was_captured_keeps_that_position() {
            routing(0.5);
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            MigrationState s = w.store.state;
            s = w.store.write(s.version(), s.withPhase(Phase.PROMOTING).withRouterRunning(false), "promotion started");
            w.store.write(s.version(), s.withHandover(new MigrationState.Handover(Role.NEW, Map.of(0, 65L, 1, 75L, 2, 85L), false, false)),
                    "hand-over position captured");
            w.lifecycle.handOver(Role.NEW, false);
            assertEquals(Map.of(0, 65L, 1, 75L, 2, 85L), w.cluster.committedOffsets("service_v2", "orders"),
                    "the position captured before the crash, not a new reading");
            assertTrue(!w.engine.calls.contains("position"), w.engine.calls.toString());
        }

        @Test
        void interrupted_after_the_offsets_were_applied_does_not_set_them_again() {
            routing(0.5);
            MigrationState s = w.store.state;
            s = w.store.write(s.version(), s.withPhase(Phase.PROMOTING).withRouterRunning(false), "promotion started");
            w.store.write(s.version(), s.withHandover(new MigrationState.Handover(Role.NEW, Map.of(0, 65L, 1, 75L, 2, 85L), true, false)), "x");
            w.versions.stop(Role.LEGACY, "orders_legacy", Duration.ZERO);
            w.versions.stop(Role.NEW, "orders_new", Duration.ZERO);
            w.cluster.offsetsSet.clear();
            w.versions.calls.clear();
            w.lifecycle.handOver(Role.NEW, false);
            assertEquals(List.of(), w.cluster.offsetsSet, "offsets applied once");
            assertEquals(List.of("start new on orders"), w.versions.calls);
            assertEquals(Phase.PROMOTED, w.store.state.phase());
        }

        @Test
        void run_again_when_done_says_so_and_exits_0() {
            routing(0.5);
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            w.lifecycle.handOver(Role.NEW, false);
            long version = w.store.state.version();
            w.takeOutput();
            assertEquals(0, w.lifecycle.handOver(Role.NEW, false));
            assertEquals(version, w.store.state.version());
            assertTrue(w.takeOutput().contains("is already promoted"));
        }

        @Test
        void is_refused_in_the_other_direction_while_one_runs() {
            routing(0.5);
            MigrationState s = w.store.state;
            w.store.write(s.version(), s.withPhase(Phase.PROMOTING), "promotion started");
            assertTrue(assertThrows(UserException.class, () -> w.lifecycle.handOver(Role.LEGACY, false)).getMessage()
                    .contains("cannot roll back context 'fake': it is promoting"));
        }

        @Test
        void a_dry_run_prints_the_offsets_and_changes_nothing() {
            MigrationState before = routing(0.5);
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            w.lifecycle.handOver(Role.NEW, true);
            assertEquals(before, w.store.state);
            assertTrue(w.versions.calls.isEmpty());
            assertTrue(w.takeOutput().contains("HAND-OVER OFFSET"));
        }
    }

    @Nested
    class Bringing_back {

        @Test
        void starts_both_versions_on_their_topics_and_routing_during_a_release() {
            routing(0.3);
            w.versions.stop(Role.NEW, "orders_new", Duration.ZERO);
            w.versions.calls.clear();
            assertEquals(1, w.lifecycle.bringBack(true));
            assertEquals(List.of("start new on orders_new"), w.versions.calls, "legacy runs: left alone");
            assertEquals(List.of("resume"), w.engine.calls);
        }

        @Test
        void after_a_promotion_starts_the_new_version_on_the_topic_never_legacy() {
            routing(0.3);
            w.lifecycle.handOver(Role.NEW, false);
            w.versions.stop(Role.NEW, "orders", Duration.ZERO);
            w.versions.calls.clear();
            assertEquals(1, w.lifecycle.bringBack(true));
            assertEquals(List.of("start new on orders"), w.versions.calls);
            assertFalse(w.versions.running(Role.LEGACY));
        }

        @Test
        void after_a_rollback_or_without_a_migration_starts_legacy_on_the_topic() {
            w.versions.stop(Role.LEGACY, "orders", Duration.ZERO);
            w.versions.calls.clear();
            assertEquals(1, w.lifecycle.bringBack(true));
            assertEquals(List.of("start legacy on orders"), w.versions.calls);
            w.versions.stop(Role.LEGACY, "orders", Duration.ZERO);
            w.versions.calls.clear();
            assertEquals(0, w.lifecycle.bringBack(false), "a platform that does not run legacy itself");
            assertEquals(List.of(), w.versions.calls);

            routing(0.3);
            w.lifecycle.handOver(Role.LEGACY, false);
            w.versions.stop(Role.LEGACY, "orders", Duration.ZERO);
            w.versions.calls.clear();
            assertEquals(1, w.lifecycle.bringBack(false));
            assertEquals(List.of("start legacy on orders"), w.versions.calls);
        }

        @Test
        void leaves_an_interrupted_hand_over_to_its_own_re_run() {
            routing(0.3);
            w.store.write(w.store.state.version(), w.store.state.withPhase(Phase.PROMOTING).withRouterRunning(false), "test");
            w.versions.stop(Role.NEW, "orders_new", Duration.ZERO);
            w.versions.calls.clear();
            w.takeOutput();
            assertEquals(0, w.lifecycle.bringBack(true));
            assertEquals(List.of(), w.versions.calls);
            assertTrue(w.takeOutput().contains("is promoting: run promote.java again; it starts what it needs"));
        }

        @Test
        void a_drain_starts_a_version_that_crashed_before_waiting_for_it() {
            routing(0.3);
            w.versions.stop(Role.NEW, "orders_new", Duration.ZERO);
            w.versions.calls.clear();
            w.lifecycle.handOver(Role.LEGACY, false);
            assertEquals(List.of("start new on orders_new", "stop new", "stop legacy", "start legacy on orders"), w.versions.calls);
        }
    }

    @Nested
    class An_interrupted_step {

        /** The state as a step of pid 99 leaves it when killed right after it stopped routing. */
        MigrationState killedAfterStoppingRouting(MigrationState.StepKind kind) {
            MigrationState s = w.store.state;
            MigrationState.StepInProgress step = new MigrationState.StepInProgress(kind, "host", 99, null, w.clock.instant(),
                    w.clock.instant().plus(Duration.ofMinutes(15)));
            return w.store.write(s.version(), s.withRouterRunning(false).withStep(step), "routing stopped: " + kind.word());
        }

        @Test
        void check_data_killed_is_a_stall_until_it_runs_again_and_takes_over() {
            routing(0.1);
            w.engine.count = Integrity.of("orders", Map.of(0, 10L), Map.of(0, 7L), Map.of(0, 3L));
            w.deadPids.add(99L);
            MigrationState stalled = killedAfterStoppingRouting(MigrationState.StepKind.CHECK_DATA);
            assertTrue(w.lifecycle.stalled(stalled));
            w.lifecycle.check(false);
            assertTrue(w.takeOutput().contains("taking over the interrupted check_data.java on host (pid 99"));
            MigrationState s = w.store.state;
            assertTrue(s.routerRunning() && s.step() == null && s.lastCheck().clean());
            assertTrue(!w.lifecycle.stalled(s));
        }

        @Test
        void a_step_whose_process_still_runs_makes_the_others_wait_and_changes_nothing() {
            routing(0.1);
            MigrationState busy = killedAfterStoppingRouting(MigrationState.StepKind.UPDATE_RATE);
            assertTrue(!w.lifecycle.stalled(busy), "a drain in progress is not a stall");
            UserException e = assertThrows(UserException.class, () -> w.lifecycle.updateShare(0.5, false, false));
            assertTrue(e.getMessage().contains("is busy: update_rate.java --drain on host (pid 99"), e.getMessage());
            assertThrows(UserException.class, () -> w.lifecycle.check(false));
            assertThrows(UserException.class, () -> w.lifecycle.handOver(Role.NEW, false));
            assertEquals(busy, w.store.state);
        }

        @Test
        void a_killed_drain_is_ended_by_update_rate_with_the_same_share_resuming_routing() {
            routing(0.1);
            w.deadPids.add(99L);
            killedAfterStoppingRouting(MigrationState.StepKind.UPDATE_RATE);
            w.lifecycle.updateShare(0.1, false, false);
            assertTrue(w.takeOutput().contains("routing resumed at share 10 % (it was stopped by the interrupted update_rate.java --drain)"));
            assertTrue(w.store.state.routerRunning());
            assertEquals(List.of("resume"), w.engine.calls);
        }

        @Test
        void a_promotion_whose_process_died_is_finished_by_the_next_run() {
            routing(0.5);
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            w.deadPids.add(99L);
            MigrationState s = w.store.state;
            w.store.write(s.version(), s.withPhase(Phase.PROMOTING).withRouterRunning(false).withStep(new MigrationState.StepInProgress(
                    MigrationState.StepKind.PROMOTE, "host", 99, null, w.clock.instant(), w.clock.instant())), "promotion started");
            w.lifecycle.handOver(Role.NEW, false);
            assertEquals(Phase.PROMOTED, w.store.state.phase());
            assertNull(w.store.state.step());
        }

        @Test
        void every_step_records_itself_while_it_runs_and_clears_itself_when_done() {
            routing(0.1);
            w.lifecycle.updateShare(0.3, true, false);
            assertTrue(w.store.writes.stream().anyMatch(x -> x.step() != null && x.step().kind() == MigrationState.StepKind.UPDATE_RATE
                    && x.step().pid() == Fakes.OPERATOR.pid() && !x.routerRunning()));
            assertNull(w.store.state.step());
            w.engine.count = Integrity.of("orders", Map.of(0, 1L), Map.of(0, 1L), Map.of());
            w.lifecycle.check(false);
            assertNull(w.store.state.step());
            w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
            w.lifecycle.handOver(Role.LEGACY, false);
            assertNull(w.store.state.step());
            assertTrue(w.store.writes.stream().anyMatch(x -> x.step() != null && x.step().kind() == MigrationState.StepKind.ROLLBACK));
        }
    }

    @Test
    void a_state_written_by_another_command_in_between_fails_the_stale_write() {
        MigrationState s = routing(0.1);
        w.store.write(s.version(), s.withShare(0.2), "someone else");
        assertThrows(StateStore.StaleStateException.class, () -> w.store.write(s.version(), s.withShare(0.3), "me"));
        assertEquals(0.2, w.store.state.share());
    }
}
