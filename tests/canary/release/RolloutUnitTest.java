package canary.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Json;
import canary.common.UserException;
import canary.context.Role;
import canary.context.RolloutPlan;
import canary.release.Fakes.FakeCluster;
import canary.release.Fakes.FakeEngine;
import canary.release.Fakes.World;
import canary.release.MigrationState.Phase;

/** Every path of a rollout run (plan, holds, each gate, on_failure, overrides, interrupted steps) on fakes, with a clock the test moves. */
@Tag("fast")
class RolloutUnitTest {

    static final String PLAN = """
            rollout:
              steps:
                - share: 0.1
                  hold: 30m
                - share: 0.5
                  hold: 1h
                - promote
              gates:
                max_lag: 100
                check_data: true
                command: ["./probe", "{service}"]
              on_failure: %s
            """;

    @TempDir
    Path dir;

    World w;
    Rollout.ProbeResult probeAnswer = new Rollout.ProbeResult(0, "ok");
    final List<List<String>> probed = new ArrayList<>();

    @BeforeEach
    void world() throws Exception {
        w = world("hold", UnaryOperator.identity());
    }

    World world(String onFailure, UnaryOperator<String> reword) throws Exception {
        World world = new World(dir, PLAN.formatted(onFailure), reword);
        world.engine.count = Integrity.of("orders", Map.of(0, 10L), Map.of(0, 6L), Map.of(0, 4L));
        world.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
        return world;
    }

    Rollout rollout(World world) {
        return new Rollout(world.ctx, world.cluster, world.store, world.lifecycle, RolloutPlan.of(world.ctx, Map.<String, String>of()::get),
                world.clock, (argv, d, timeout) -> {
                    probed.add(argv);
                    return probeAnswer;
                }, world.out, Duration.ofSeconds(5));
    }

    int run() {
        return rollout(w).run(false);
    }

    /** Runs once and returns its output. */
    String runOut(int expectedExit) {
        w.takeOutput();
        assertEquals(expectedExit, run(), () -> w.output.toString());
        return w.takeOutput();
    }

    void atStep2() {
        run();
        w.clock.advance(Duration.ofMinutes(31));
        run();
        assertEquals(0.5, w.store.state.share());
    }

    @Nested
    class Pausing {

        @Test
        void a_paused_rollout_holds_and_changes_nothing_until_resumed() throws Exception {
            run();
            w.takeOutput();
            assertEquals(Rollout.OK, rollout(w).pause());
            MigrationState.Pause p = w.store.state.paused();
            assertEquals(new MigrationState.Pause("ops@host", w.clock.instant()), p);
            assertEquals("rollout paused by ops@host", w.store.state.lastChange().what());
            assertEquals(new MigrationState.RolloutStep(0, 3, w.clock.instant(), p), w.store.state.rollout(), "the step is kept");
            // In the state topic: read back the same, and a state written before pauses existed reads as not paused.
            assertEquals(w.store.state, Json.MAPPER.readValue(Json.MAPPER.writeValueAsString(w.store.state), MigrationState.class));
            ObjectNode old = Json.MAPPER.valueToTree(w.store.state);
            ((ObjectNode) old.get("rollout")).remove("paused");
            assertNull(Json.MAPPER.treeToValue(old, MigrationState.class).paused());

            long version = w.store.state.version();
            w.clock.advance(Duration.ofMinutes(31));
            String out = runOut(Rollout.GATE_FAILED);
            assertTrue(out.trim().endsWith(": rollout paused by ops@host at " + p.at() + ": rollout.java --resume continues it"), out);
            assertEquals(1, out.trim().lines().count(), out);
            assertEquals(version, w.store.state.version(), "a paused run writes nothing");
            assertEquals(0.1, w.store.state.share());
            assertTrue(probed.isEmpty(), "no gate is evaluated while paused");

            assertEquals(Rollout.OK, rollout(w).resume());
            assertNull(w.store.state.paused());
            assertEquals(new MigrationState.RolloutStep(0, 3, p.at()), w.store.state.rollout());
            assertTrue(w.store.state.lastChange().what().startsWith("rollout resumed by ops@host"), w.store.state.lastChange().what());
            out = runOut(0);
            assertTrue(out.contains("advancing to 50 % (step 2 of 3"), out);
            assertEquals(0.5, w.store.state.share());
        }

        @Test
        void the_share_can_still_be_set_by_hand_while_paused() {
            run();
            rollout(w).pause();
            w.lifecycle.updateRouting(RouteRequest.of(0.3, List.of()), false, false);
            assertEquals(0.3, w.store.state.share());
            assertTrue(w.store.state.paused() != null, "still paused");
            runOut(Rollout.GATE_FAILED);
            assertEquals(0.3, w.store.state.share());
        }

        @Test
        void a_pause_before_any_rollout_run_is_undone_by_resume() {
            w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false);
            assertNull(w.store.state.rollout());
            rollout(w).pause();
            assertTrue(w.store.state.paused() != null);
            runOut(Rollout.GATE_FAILED);
            rollout(w).resume();
            assertNull(w.store.state.rollout(), "nothing left of the pause");
        }

        @Test
        void pausing_twice_without_a_rollout_or_resuming_what_is_not_paused_is_refused() {
            UserException none = assertThrows(UserException.class, () -> rollout(w).pause());
            assertEquals("no migration for context '" + w.ctx.name() + "': no rollout to pause", none.getMessage());
            assertEquals(UserException.BAD_INPUT, none.exitCode());
            run();
            UserException notPaused = assertThrows(UserException.class, () -> rollout(w).resume());
            assertEquals("the rollout is not paused: nothing to resume", notPaused.getMessage());
            rollout(w).pause();
            long version = w.store.state.version();
            UserException twice = assertThrows(UserException.class, () -> rollout(w).pause());
            assertTrue(twice.getMessage().startsWith("already rollout paused by ops@host at "), twice.getMessage());
            assertEquals(version, w.store.state.version());
            w.lifecycle.handOver(Role.NEW, false);
            rollout(w).resume();
            UserException done = assertThrows(UserException.class, () -> rollout(w).pause());
            assertTrue(done.getMessage().startsWith("no rollout under way to pause: the release is promoted"), done.getMessage());
        }
    }

    @Nested
    class Advancing {

        @Test
        void with_no_migration_starts_one_at_the_first_step() {
            String out = runOut(0);
            assertTrue(out.contains("no migration yet: starting it at step 1 of 3 (share 10 %, hold 30m)"), out);
            MigrationState s = w.store.state;
            assertEquals(Phase.ROUTING, s.phase());
            assertEquals(0.1, s.share());
            assertEquals(new MigrationState.RolloutStep(0, 3, w.clock.instant()), s.rollout());
        }

        @Test
        void holds_until_the_hold_has_elapsed_and_writes_nothing() {
            run();
            long version = w.store.state.version();
            w.clock.advance(Duration.ofMinutes(10));
            String out = runOut(0);
            assertTrue(out.contains("holding at 10 % (step 1 of 3): 10m of 30m elapsed; next: 50 % (step 2)"), out);
            assertEquals(version, w.store.state.version());
            assertTrue(probed.isEmpty(), "no gate is evaluated while holding");
        }

        @Test
        void after_the_hold_with_every_gate_passing_moves_to_the_next_step() {
            run();
            w.clock.advance(Duration.ofMinutes(31));
            String out = runOut(0);
            assertTrue(out.contains("advancing to 50 % (step 2 of 3, hold 1h) after 31m at 10 %; gates passed: routing, max_lag, command, check_data"),
                    out);
            MigrationState s = w.store.state;
            assertEquals(0.5, s.share());
            assertEquals(new MigrationState.RolloutStep(1, 3, w.clock.instant()), s.rollout());
            assertEquals(new MigrationState.GateResult(w.clock.instant(), 1, true, null, "routing, max_lag, command, check_data"), s.lastGate());
            assertEquals(List.of(List.of("./probe", "service_v2")), probed, "the probe gets the new version's group");
            assertTrue(s.lastCheck().clean(), "check_data ran as a gate");
        }

        @Test
        void promotes_at_the_end_of_the_plan_and_then_has_nothing_to_do() {
            atStep2();
            w.clock.advance(Duration.ofMinutes(61));
            String out = runOut(0);
            assertTrue(out.contains("promoting (step 3 of 3)"), out);
            assertEquals(Phase.PROMOTED, w.store.state.phase());
            long version = w.store.state.version();
            assertTrue(runOut(0).contains("rollout done: promoted"));
            assertEquals(version, w.store.state.version());
        }

        @Test
        void a_plan_without_promote_ends_at_its_last_share() throws Exception {
            w = new World(dir, "rollout:\n  steps:\n    - share: 0.2\n      hold: 1m\n  gates:\n    check_data: false\n", UnaryOperator.identity());
            run();
            w.clock.advance(Duration.ofMinutes(2));
            assertTrue(runOut(0).contains("plan complete at 20 % (step 1 of 1): the plan ends without promote"));
        }

        @Test
        void after_a_share_set_by_hand_outside_the_plan_goes_on_from_the_step_below() {
            run();
            w.clock.advance(Duration.ofMinutes(5));
            w.lifecycle.updateShare(0.3, false, false);
            w.clock.advance(Duration.ofMinutes(10));
            assertTrue(runOut(0).contains("holding at 30 % (set outside the plan, above step 1 at 10 %): 10m of 30m elapsed"));
            w.clock.advance(Duration.ofMinutes(21));
            assertTrue(runOut(0).contains("advancing to 50 %"));
        }

        @Test
        void a_state_that_does_not_say_when_its_share_was_set_holds_from_now() {
            run();
            MigrationState s = w.store.state;
            w.store.state = new MigrationState(s.version(), s.context(), s.phase(), s.engine(), s.routing(), s.share(), s.rules(),
                    s.newPartitions(), null,
                    s.routerRunning(), s.startOffsets(), null, s.queryIds(), null, null, null, null, s.history());
            assertTrue(runOut(0).contains("the state does not say when this step started; its hold counts from now"));
            assertEquals(new MigrationState.RolloutStep(0, 3, w.clock.instant()), w.store.state.rollout());
        }
    }

    @Nested
    class With_rule_steps {

        static final String FRIENDS_FIRST = """
                rollout:
                  steps:
                    - rules: ["header:tenant=beta"]
                      hold: 1h
                    - share: 0.1
                      hold: 30m
                    - share: 0.5
                      rules: []
                      hold: 1h
                    - promote
                  gates:
                    check_data: false
                """;

        @BeforeEach
        void friendsFirst() throws Exception {
            w = new World(dir, FRIENDS_FIRST, UnaryOperator.identity());
        }

        @Test
        void friends_and_family_for_an_hour_then_10_then_50_without_the_rule_then_promote() {
            String out = runOut(0);
            assertTrue(out.contains("no migration yet: starting it at step 1 of 4 (share 0 %, rules header:tenant=beta, hold 1h)"), out);
            assertEquals(0.0, w.store.state.share());
            assertEquals(canary.context.Rule.parseAll(List.of("header:tenant=beta")), w.store.state.rules());

            w.clock.advance(Duration.ofMinutes(20));
            out = runOut(0);
            assertTrue(out.contains("holding at 0 %, rules header:tenant=beta (step 1 of 4): 20m of 1h elapsed; next: 10 % (step 2)"), out);

            w.clock.advance(Duration.ofMinutes(41));
            w.engine.calls.clear();
            out = runOut(0);
            assertTrue(out.contains("advancing to 10 % (step 2 of 4, hold 30m) after 1h1m at 0 %, rules header:tenant=beta"), out);
            assertEquals(0.1, w.store.state.share());
            assertEquals(canary.context.Rule.parseAll(List.of("header:tenant=beta")), w.store.state.rules(), "the rule stays");
            assertEquals(List.of("share 0.1 rules header:tenant=beta", "resume"), w.engine.calls, "a share change alone (random) does not drain");

            w.clock.advance(Duration.ofMinutes(31));
            w.engine.calls.clear();
            out = runOut(0);
            assertTrue(out.contains("advancing to 50 %, rules none (step 3 of 4, hold 1h)"), out);
            assertEquals(List.of(), w.store.state.rules());
            assertEquals(List.of("pause", "share 0.5", "resume"), w.engine.calls, "a change of rules drains first");
            assertEquals(new MigrationState.RolloutStep(2, 4, w.clock.instant()), w.store.state.rollout());

            w.clock.advance(Duration.ofMinutes(61));
            assertTrue(runOut(0).contains("promoting (step 4 of 4)"));
            assertEquals(Phase.PROMOTED, w.store.state.phase());
        }

        @Test
        void rules_changed_by_hand_put_the_release_outside_the_plan_and_the_next_advance_sets_the_plans_again() {
            run();
            w.lifecycle.updateRouting(new RouteRequest(null, null, List.of()), false, false);
            w.clock.advance(Duration.ofMinutes(61));
            String out = runOut(0);
            assertTrue(out.contains("advancing to 0 %, rules header:tenant=beta (step 1 of 4, hold 1h)"), out);
            assertEquals(canary.context.Rule.parseAll(List.of("header:tenant=beta")), w.store.state.rules());
            assertTrue(runOut(0).contains("holding at 0 %, rules header:tenant=beta (step 1 of 4): 0s of 1h elapsed"));
        }
    }

    @Nested
    class A_failing_gate {

        String failsWith(Runnable breakIt, String reason) {
            run();
            w.clock.advance(Duration.ofMinutes(31));
            breakIt.run();
            String out = runOut(1);
            assertTrue(out.contains("gate failed: " + reason + "; holding at 10 % (step 1 of 3) (on_failure hold)"), out);
            assertEquals(0.1, w.store.state.share(), "held");
            MigrationState.GateResult g = w.store.state.lastGate();
            assertEquals(false, g.passed());
            assertEquals(reason, g.reason());
            assertEquals(0, g.step());
            return g.gate();
        }

        @Test
        void routing_stopped() {
            assertEquals("routing", failsWith(() -> {
                MigrationState s = w.store.state;
                w.store.write(s.version(), s.withRouterRunning(false), "stopped");
            }, "routing is stopped (its run flag is off)"));
        }

        @Test
        void no_routing_instance() {
            assertEquals("routing", failsWith(() -> w.cluster.noMembers(FakeEngine.GROUP), "no routing instance runs in group routing-group"));
        }

        @Test
        void a_version_not_consuming() {
            assertEquals("routing", failsWith(() -> w.cluster.noMembers("service_v2"),
                    "the new version (group service_v2) has no members: it is not consuming"));
        }

        @Test
        void lag_above_max_lag() {
            assertEquals("max_lag", failsWith(() -> w.cluster.lag.put(FakeCluster.key("service_v1", "orders_legacy"), Map.of(0, 60L, 1, 41L)),
                    "lag of legacy 101 > 100"));
        }

        @Test
        void a_last_check_that_found_a_difference() {
            assertEquals("check_data", failsWith(() -> {
                MigrationState s = w.store.state;
                w.store.write(s.version(), s.withLastCheck(new MigrationState.Check(w.clock.instant(), false, 10, 5, 4, 1)), "check");
            }, "the last check_data (2030-01-01T10:31:00Z) found a difference of 1 records; investigate, then run check_data.java by hand"
                    + " to record a clean check"));
        }

        @Test
        void the_probe_exiting_non_zero() {
            assertEquals("command", failsWith(() -> probeAnswer = new Rollout.ProbeResult(3, "error rate 7 %"),
                    "probe ./probe service_v2 exited 3: error rate 7 %"));
        }

        @Test
        void the_probe_running_too_long() {
            assertEquals("command", failsWith(() -> probeAnswer = new Rollout.ProbeResult(null, ""),
                    "probe ./probe service_v2 did not finish within 5s"));
        }

        @Test
        void check_data_finding_a_difference() {
            assertEquals("check_data", failsWith(() -> w.engine.count = Integrity.of("orders", Map.of(0, 10L, 1, 5L), Map.of(0, 6L, 1, 5L),
                    Map.of(0, 3L)), "check_data found a difference of 1 records on partition(s) [0] (consumed 15, legacy 11, new 3)"));
        }

        @Test
        void is_recorded_once_an_hour_while_it_keeps_failing() {
            failsWith(() -> probeAnswer = new Rollout.ProbeResult(1, ""), "probe ./probe service_v2 exited 1");
            long version = w.store.state.version();
            w.clock.advance(Duration.ofMinutes(59));
            runOut(1);
            assertEquals(version, w.store.state.version(), "the same failure at the same step is not written again within the hour");
            w.clock.advance(Duration.ofMinutes(2));
            runOut(1);
            assertEquals(version + 1, w.store.state.version(), "an hour later it is written again");
        }

        @Test
        void rolls_back_with_on_failure_rollback() throws Exception {
            w = world("rollback", UnaryOperator.identity());
            run();
            w.clock.advance(Duration.ofMinutes(31));
            probeAnswer = new Rollout.ProbeResult(1, "");
            String out = runOut(1);
            assertTrue(out.contains("gate failed: probe ./probe service_v2 exited 1; rolling back from 10 % (step 1 of 3) (on_failure rollback)"), out);
            assertEquals(Phase.ROLLED_BACK, w.store.state.phase());
            assertEquals("orders", w.versions.on.get(Role.LEGACY));
            assertTrue(runOut(0).contains("nothing to do: the rollout does not restart by itself"));
        }

        @Test
        void a_dry_run_says_what_it_would_do_and_changes_nothing() throws Exception {
            w = world("rollback", UnaryOperator.identity());
            run();
            w.clock.advance(Duration.ofMinutes(31));
            probeAnswer = new Rollout.ProbeResult(1, "");
            MigrationState before = w.store.state;
            w.takeOutput();
            assertEquals(1, rollout(w).run(true));
            assertTrue(w.takeOutput().contains("dry run: gate failed: probe ./probe service_v2 exited 1; would roll back"));
            assertEquals(before, w.store.state);
        }
    }

    @Nested
    class After_an_interruption {

        @Test
        void an_interrupted_migration_is_resumed() {
            w.versions.stop(Role.LEGACY, "orders", Duration.ZERO);
            w.store.write(-1, MigrationState.start("fake", canary.context.Context.EngineKind.ROUTER, canary.context.Routing.RANDOM, 0.1,
                    Map.of(0, 40L, 1, 50L, 2, 60L)), "migration started");
            assertTrue(runOut(0).contains("a migration was interrupted"));
            assertEquals(Phase.ROUTING, w.store.state.phase());
        }

        @Test
        void an_interrupted_promotion_is_finished() {
            atStep2();
            MigrationState s = w.store.state;
            w.store.write(s.version(), s.withPhase(Phase.PROMOTING).withRouterRunning(false), "promotion started");
            assertTrue(runOut(0).contains("a promotion was interrupted"));
            assertEquals(Phase.PROMOTED, w.store.state.phase());
        }

        @Test
        void an_interrupted_rollback_is_finished() {
            run();
            MigrationState s = w.store.state;
            w.store.write(s.version(), s.withPhase(Phase.ROLLING_BACK).withRouterRunning(false), "rollback started");
            assertTrue(runOut(0).contains("a rollback was interrupted"));
            assertEquals(Phase.ROLLED_BACK, w.store.state.phase());
        }
    }

    @Nested
    class Operator_overrides {

        @Test
        void promote_now_skips_holds_and_gates() {
            run();
            probeAnswer = new Rollout.ProbeResult(1, "");
            w.takeOutput();
            assertEquals(0, new Rollout(w.ctx, w.cluster, w.store, w.lifecycle, null, w.clock, null, w.out, Duration.ofSeconds(5)).promoteNow(false));
            assertTrue(w.takeOutput().contains("promoting now at 10 % (operator override --promote-now: holds and gates skipped)"));
            assertEquals(Phase.PROMOTED, w.store.state.phase());
            assertTrue(probed.isEmpty());
        }

        @Test
        void abort_rolls_back() {
            run();
            new Rollout(w.ctx, w.cluster, w.store, w.lifecycle, null, w.clock, null, w.out, Duration.ofSeconds(5)).abort(false);
            assertEquals(Phase.ROLLED_BACK, w.store.state.phase());
        }

        @Test
        void with_a_dry_run_change_nothing() {
            run();
            MigrationState before = w.store.state;
            new Rollout(w.ctx, w.cluster, w.store, w.lifecycle, null, w.clock, null, w.out, Duration.ofSeconds(5)).promoteNow(true);
            assertEquals(before, w.store.state);
        }
    }

    /**
     * The same release, run by cron-like runs, with the history written as usual and with every line
     * of it replaced by other words: the runs decide the same, print the same and leave the same state.
     */
    @Test
    void rewording_every_history_line_changes_nothing_in_how_a_rollout_proceeds() throws Exception {
        List<String> plain = scenario(UnaryOperator.identity());
        AtomicInteger n = new AtomicInteger();
        List<String> reworded = scenario(what -> "line " + n.incrementAndGet() + ": " + new StringBuilder(what).reverse());
        assertEquals(plain, reworded);
        assertTrue(plain.stream().anyMatch(l -> l.contains("promoting (step 3 of 3)")), plain.toString());
    }

    /** Runs at fixed times, with a gate failing for a while; returns each run's exit code and output, and the final state without its history. */
    List<String> scenario(UnaryOperator<String> reword) throws Exception {
        w = world("hold", reword);
        probeAnswer = new Rollout.ProbeResult(0, "ok");
        List<String> seen = new ArrayList<>();
        int[] minutes = {0, 10, 25, 5, 30, 30, 30, 30, 61};
        for (int i = 0; i < minutes.length; i++) {
            w.clock.advance(Duration.ofMinutes(minutes[i]));
            probeAnswer = i == 4 || i == 5 ? new Rollout.ProbeResult(1, "not yet") : new Rollout.ProbeResult(0, "ok");
            w.takeOutput();
            int code = run();
            seen.add(code + " " + w.takeOutput().strip());
        }
        MigrationState s = w.store.state;
        seen.add(s.withQueryIds(Map.of()).phase() + " " + s.share() + " " + s.rollout() + " " + s.lastGate() + " " + s.handover()
                + " " + s.lastCheck() + " " + s.shareSet().at() + " " + s.version());
        assertNull(s.lastGate().gate(), "the last gates passed");
        return seen;
    }
}
