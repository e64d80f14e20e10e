package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.RolloutCommand;
import canary.common.Durations;
import canary.common.Text;
import canary.common.Waits;
import canary.context.Context;
import canary.context.RolloutPlan;
import canary.context.Routing;
import canary.context.Rule;
import canary.release.MigrationState;
import canary.release.Rollout;

/** The progressive plan and rollout.java: parsing, finding the current step, and rollouts driven by repeated runs on a real broker. */
class RolloutTest {

    /** A context that needs no broker: --plan works offline. */
    static final String CONTEXT = """
            name: orders-canary
            topic: orders
            platform: existing
            kafka:
              bootstrap_servers: 127.0.0.1:1
            legacy:
              group: service_v1
              run: ["./svc", "{service}", "{topic}"]
            new:
              group: service_v2
              run: ["./svc", "{service}", "{topic}"]
            """;

    static final String PLAN = """
            rollout:
              steps:
                - share: 0.1
                  hold: 30m
                - share: 25%
                  hold: 1h
                - share: 1.0
                  hold: 10m
                - promote
              gates:
                max_lag: 10000
                check_data: true
                command: ["./probe.sh", "{service}", "${PROBE_TOKEN}"]
              on_failure: rollback
            """;

    @TempDir
    Path dir;

    Path write(String yaml) throws IOException {
        Path f = dir.resolve("ctx.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    RolloutPlan plan(String rolloutYaml) throws IOException {
        return RolloutPlan.of(Context.load(write(CONTEXT + rolloutYaml)), Map.of("PROBE_TOKEN", "t0k3n")::get);
    }

    String rejected(String rolloutYaml) throws IOException {
        Path f = write(CONTEXT + rolloutYaml);
        return assertThrows(Context.ContextException.class, () -> RolloutPlan.of(Context.load(f), Map.of("PROBE_TOKEN", "x")::get))
                .getMessage();
    }

    @Nested
    @Tag("fast")
    class A_plan {

        @Test
        void is_read_with_its_steps_gates_and_failure_policy() throws IOException {
            RolloutPlan p = plan(PLAN);
            assertEquals(List.of(RolloutPlan.Step.share(0.1, Duration.ofMinutes(30)), RolloutPlan.Step.share(0.25, Duration.ofHours(1)),
                    RolloutPlan.Step.share(1.0, Duration.ofMinutes(10)), RolloutPlan.Step.promoteStep()), p.steps());
            assertEquals(new RolloutPlan.Gates(OptionalLong.of(10000), true, List.of("./probe.sh", "{service}", "t0k3n")), p.gates());
            assertEquals(RolloutPlan.OnFailure.ROLLBACK, p.onFailure());
            assertEquals(0.1, p.firstShare());
            assertTrue(p.promotes());
        }

        @Test
        void gets_defaults_for_what_it_leaves_out() throws IOException {
            RolloutPlan p = plan("""
                    rollout:
                      steps:
                        - share: .5
                        - share: 0.5
                          hold: 0
                    """);
            assertEquals(List.of(RolloutPlan.Step.share(0.5, Duration.ZERO), RolloutPlan.Step.share(0.5, Duration.ZERO)), p.steps());
            assertEquals(RolloutPlan.Gates.defaults(), p.gates());
            assertTrue(p.gates().checkData(), "check_data is a gate unless turned off");
            assertEquals(RolloutPlan.OnFailure.HOLD, p.onFailure());
            assertFalse(p.promotes());
        }

        @Test
        void may_set_rules_in_steps_which_stay_until_a_later_step_sets_others() throws IOException {
            RolloutPlan p = plan("""
                    rollout:
                      steps:
                        - rules: ["header:tenant=beta"]
                          hold: 1h
                        - share: 10%
                          hold: 30m
                        - share: 50%
                          rules: ["header:tenant=beta", "legacy:key-prefix:vip-"]
                        - rules: []
                        - promote
                    """);
            List<Rule> beta = Rule.parseAll(List.of("header:tenant=beta"));
            assertEquals(List.of(RolloutPlan.Step.share(0.0, Duration.ofHours(1), beta), RolloutPlan.Step.share(0.1, Duration.ofMinutes(30), beta),
                    RolloutPlan.Step.share(0.5, Duration.ZERO, Rule.parseAll(List.of("header:tenant=beta", "legacy:key-prefix:vip-"))),
                    RolloutPlan.Step.share(0.5, Duration.ZERO), RolloutPlan.Step.promoteStep()), p.steps());
            assertEquals("share 0 %, rules header:tenant=beta, hold 1h", p.step(0).describe());
            String table = String.join("\n", p.describe());
            assertTrue(table.matches("(?s).*1\\s+start migration\\s+0 %\\s+header:tenant=beta\\s+1h.*"), table);
            assertTrue(table.matches("(?s).*2\\s+update share\\s+10 %\\s+header:tenant=beta\\s+30m.*"), table);
            assertTrue(table.matches("(?s).*3\\s+update share and rules\\s+50 %.*"), table);
            assertTrue(table.matches("(?s).*4\\s+update rules\\s+50 %\\s+none\\s+0s.*"), table);
        }

        @Test
        void without_rules_in_its_first_step_starts_with_the_rules_of_the_context_file() throws IOException {
            RolloutPlan p = plan("rules: [\"key-prefix:test-\"]\nrollout:\n  steps:\n    - share: 0.1\n    - share: 0.2\n");
            assertEquals(Rule.parseAll(List.of("key-prefix:test-")), p.step(0).rules());
            assertEquals(p.step(0).rules(), p.step(1).rules());
        }

        @Test
        void the_documented_example_has_a_valid_plan() {
            Context ctx = Context.load(Path.of(System.getProperty("kit.root", ".")).resolve("services_examples/context.yaml"));
            RolloutPlan p = RolloutPlan.of(ctx);
            assertTrue(p.promotes());
        }

        @Test
        void writes_holds_as_operators_do() {
            assertEquals("1h30m", Durations.compact(Duration.ofMinutes(90)));
            assertEquals("1h", Durations.compact(Duration.ofHours(1)));
            assertEquals("12m5s", Durations.compact(Duration.ofSeconds(725)));
            assertEquals("0s", Durations.compact(Duration.ofMillis(300)));
            assertEquals("2d", Durations.compact(Duration.ofDays(2)));
        }

        @Test
        void is_printed_as_a_table_by_rollout_plan_without_a_cluster() throws IOException {
            Path f = write(CONTEXT + PLAN.replace("${PROBE_TOKEN}", "t"));
            Kit.Run r = Kit.run(new RolloutCommand(), f.toString(), "--plan").ok();
            assertTrue(r.out().contains("STEP  ACTION"), r.out());
            assertTrue(r.out().matches("(?s).*1\\s+start migration\\s+10 %\\s+none\\s+30m.*"), r.out());
            assertTrue(r.out().matches("(?s).*2\\s+update share\\s+25 %\\s+none\\s+1h.*"), r.out());
            assertTrue(r.out().matches("(?s).*4\\s+promote\\s+-\\s+-\\s+-.*"), r.out());
            assertTrue(r.out().contains("the lag of each version is at most 10000 records"), r.out());
            assertTrue(r.out().contains("on a failed gate: rollback"), r.out());
        }
    }

    @Nested
    @Tag("fast")
    class A_bad_plan_is_rejected_with_the_file_the_key_and_what_is_expected {

        @Test
        void when_a_hold_is_not_a_duration() throws IOException {
            String m = rejected("""
                    rollout:
                      steps:
                        - share: 0.1
                          hold: 30m
                        - share: 0.2
                          hold: 1h
                        - share: 0.5
                          hold: soon
                    """);
            assertTrue(m.startsWith(dir.resolve("ctx.yaml").toString() + ": "), m);
            assertTrue(m.contains("key 'rollout.steps[2].hold' (step 3): expected a duration such as 30s, 5m or 1h30m, got 'soon'"), m);
        }

        @Test
        void when_a_hold_has_no_unit() throws IOException {
            assertTrue(rejected("rollout:\n  steps:\n    - share: 0.1\n      hold: 30\n").contains("got 30"));
        }

        @Test
        void when_a_share_is_above_one() throws IOException {
            String m = rejected("rollout:\n  steps:\n    - share: 1.5\n      hold: 1m\n");
            assertTrue(m.contains("key 'rollout.steps[0].share' (step 1): expected a share from 0 to 1"), m);
        }

        @Test
        void when_a_share_is_not_a_number() throws IOException {
            assertTrue(rejected("rollout:\n  steps:\n    - share: lots\n").contains("got 'lots'"));
        }

        @Test
        void when_a_step_has_no_share() throws IOException {
            assertTrue(rejected("rollout:\n  steps:\n    - hold: 1m\n").contains("missing key 'rollout.steps[0].share'"));
        }

        @Test
        void when_shares_decrease() throws IOException {
            String m = rejected("rollout:\n  steps:\n    - share: 0.5\n    - share: 0.25\n");
            assertTrue(m.contains("key 'rollout.steps[1].share' (step 2): expected a share not below the step before (50 %)"), m);
        }

        @Test
        void when_promote_is_not_the_last_step() throws IOException {
            String m = rejected("rollout:\n  steps:\n    - share: 0.5\n    - promote\n    - share: 1\n");
            assertTrue(m.contains("key 'rollout.steps[1]' (step 2): expected promote only as the last step"), m);
        }

        @Test
        void when_promote_is_the_only_step() throws IOException {
            assertTrue(rejected("rollout:\n  steps:\n    - promote\n").contains("expected a share step first"));
        }

        @Test
        void when_a_step_is_some_other_word() throws IOException {
            assertTrue(rejected("rollout:\n  steps:\n    - share: 0.5\n    - promte\n")
                    .contains("key 'rollout.steps[1]' (step 2): expected a mapping with share, rules and hold"));
        }

        @Test
        void when_there_are_no_steps() throws IOException {
            assertTrue(rejected("rollout:\n  gates:\n    check_data: false\n").contains("missing key 'rollout.steps'"));
            assertTrue(rejected("rollout:\n  steps: []\n").contains("key 'rollout.steps': expected a non-empty list of steps"));
        }

        @Test
        void when_a_key_is_unknown() throws IOException {
            assertTrue(rejected("rollout:\n  steps:\n    - share: 0.5\n  gate:\n    max_lag: 1\n")
                    .contains("unknown key 'rollout.gate' (expected one of: gates, on_failure, steps)"));
            assertTrue(rejected("rollout:\n  steps:\n    - share: 0.5\n      wait: 1m\n")
                    .contains("unknown key 'rollout.steps[0].wait' (expected one of: hold, rules, share)"));
            assertTrue(rejected("rollout:\n  steps:\n    - share: 0.5\n  gates:\n    max_lags: 1\n")
                    .contains("unknown key 'rollout.gates.max_lags'"));
        }

        @Test
        void when_a_gate_has_a_bad_value() throws IOException {
            String base = "rollout:\n  steps:\n    - share: 0.5\n  gates:\n";
            assertTrue(rejected(base + "    max_lag: -1\n").contains("key 'rollout.gates.max_lag': expected a whole number of records"));
            assertTrue(rejected(base + "    max_lag: lots\n").contains("got 'lots'"));
            assertTrue(rejected(base + "    check_data: maybe\n").contains("key 'rollout.gates.check_data': expected true or false, got 'maybe'"));
            assertTrue(rejected(base + "    command: ./probe.sh {service}\n")
                    .contains("key 'rollout.gates.command': expected a non-empty list of arguments"));
            assertTrue(rejected(base + "    command: [\"./probe.sh\", \"${UNSET_FOR_SURE}\"]\n")
                    .contains("the environment variable UNSET_FOR_SURE is not set"));
        }

        @Test
        void when_a_rules_step_is_wrong() throws IOException {
            assertTrue(rejected("rollout:\n  steps:\n    - rules: header:tenant=beta\n")
                    .contains("key 'rollout.steps[0].rules' (step 1): expected a list of rules, each header:NAME=VALUE"));
            assertTrue(rejected("rollout:\n  steps:\n    - share: 0.1\n    - rules: [\"header:tenant\"]\n")
                    .contains("key 'rollout.steps[1].rules' (step 2): invalid rule 'header:tenant': a header rule needs a name and values"));
            assertTrue(rejected("rollout:\n  steps:\n    - rules: [\"key:a\", \"legacy:key:a\"]\n").contains("contradict each other"));
            assertTrue(rejected("routing: partitions\nrollout:\n  steps:\n    - rules: [\"key:a\"]\n")
                    .contains("key 'rollout.steps[0].rules' (step 1): rules and routing partitions exclude each other"));
            assertTrue(rejected("rollout:\n  steps:\n    - hold: 1m\n").contains("or rules, for a step that only changes the rules"));
        }

        @Test
        void when_on_failure_is_neither_hold_nor_rollback() throws IOException {
            assertTrue(rejected("rollout:\n  steps:\n    - share: 0.5\n  on_failure: panic\n")
                    .contains("key 'rollout.on_failure': expected hold or rollback, got 'panic'"));
        }

        @Test
        void when_the_context_has_no_plan() throws IOException {
            assertTrue(rejected("").contains("missing key 'rollout'"));
        }

        @Test
        void by_rollout_with_exit_code_2() throws IOException {
            Path f = write(CONTEXT + "rollout:\n  steps:\n    - share: 0.5\n      hold: soon\n");
            Kit.Run plan = Kit.run(new RolloutCommand(), f.toString(), "--plan").expect(2);
            assertTrue(plan.err().contains("expected a duration"), plan.err());
            Kit.Run run = Kit.run(new RolloutCommand(), f.toString()).expect(2);
            assertTrue(run.err().contains("expected a duration"), run.err());
        }
    }

    @Nested
    @Tag("fast")
    class The_current_step {

        final Instant t0 = Instant.parse("2030-01-01T10:00:00Z");
        final RolloutPlan plan = RolloutPlan.parse(Path.of("ctx.yaml"), yaml("""
                steps:
                  - share: 0.1
                    hold: 30m
                  - share: 0.25
                    hold: 1h
                  - share: 1.0
                    hold: 10m
                  - promote
                """), n -> null);

        com.fasterxml.jackson.databind.JsonNode yaml(String text) {
            try {
                return new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(text);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** A routing state at {@code share}, set at {@code shareSetAt}, with the rollout's own record of its step (or none). */
        MigrationState state(double share, Instant shareSetAt, MigrationState.RolloutStep rollout) {
            MigrationState.Change set = new MigrationState.Change(shareSetAt, "ops", "host", "test", "any words");
            return MigrationState.start("c", Context.EngineKind.ROUTER, Routing.RANDOM, share, Map.of(0, 0L))
                    .withPhase(MigrationState.Phase.ROUTING).withRouterRunning(true).next(0, set).withRollout(rollout);
        }

        @Test
        void is_the_one_the_rollout_recorded_timed_from_its_record() {
            Rollout.Position p = Rollout.locate(plan, state(0.25, t0.plusSeconds(180), new MigrationState.RolloutStep(1, 4, t0.plusSeconds(240))));
            assertEquals(new Rollout.Position(1, t0.plusSeconds(240), true), p);
        }

        @Test
        void after_a_share_change_by_hand_is_the_step_of_that_share_timed_from_the_change() {
            Rollout.Position p = Rollout.locate(plan, state(0.25, t0.plusSeconds(120), new MigrationState.RolloutStep(0, 4, t0.plusSeconds(60))));
            assertEquals(new Rollout.Position(1, t0.plusSeconds(120), true), p);
        }

        @Test
        void with_a_share_outside_the_plan_is_the_step_below_it() {
            assertEquals(new Rollout.Position(1, t0.plusSeconds(60), false), Rollout.locate(plan, state(0.3, t0.plusSeconds(60), null)));
            assertEquals(new Rollout.Position(-1, t0.plusSeconds(60), false), Rollout.locate(plan, state(0.05, t0.plusSeconds(60), null)));
        }

        @Test
        void tells_apart_two_steps_with_the_same_share() {
            RolloutPlan twice = RolloutPlan.parse(Path.of("ctx.yaml"), yaml("steps: [{share: 0.5, hold: 1h}, {share: 0.5, hold: 1h}, promote]"),
                    n -> null);
            assertEquals(new Rollout.Position(0, t0, true), Rollout.locate(twice, state(0.5, t0, null)));
            assertEquals(new Rollout.Position(1, t0.plusSeconds(120), true),
                    Rollout.locate(twice, state(0.5, t0, new MigrationState.RolloutStep(1, 3, t0.plusSeconds(120)))));
        }

        @Test
        void ignores_the_record_of_a_plan_that_has_changed_since() {
            assertEquals(new Rollout.Position(0, t0, true), Rollout.locate(plan, state(0.1, t0, new MigrationState.RolloutStep(1, 5, t0.plusSeconds(60)))));
        }
    }

    // ------------------------------------------------------------------ on a real broker

    static final String PROMOTING_PLAN = """
            rollout:
              steps:
                - share: 0.2
                  hold: 4s
                - share: 0.6
                  hold: 4s
                - share: 1.0
                  hold: 4s
                - promote
              gates:
                max_lag: 1000000
                check_data: true
                command: ["true"]
            """;

    static Kit.Run rollout(Kit kit, String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--timeout");
        a.add("90s");
        return kit.run(new RolloutCommand(), a);
    }

    /** Starts the legacy version on the topic, with records already processed and a producer writing 200 a second. */
    static void running(Kit kit, TestProducer producer) {
        producer.produce(300);
        kit.startLegacy();
        kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
        producer.startBackground(200);
    }

    /** Waits until the hold of the step the state records has passed (on this host's clock, which the rollout also uses). */
    static void awaitHoldElapsed(Kit kit, Duration hold) {
        Instant since = kit.state().rollout().since();
        Waits.until("the hold of " + hold + " since " + since + " has elapsed", hold.plusSeconds(30), Waits.quiet(),
                () -> !Instant.now().isBefore(since.plus(hold).plusMillis(100)));
    }

    static void assertShare(Kit kit, double share) {
        MigrationState s = kit.state();
        assertEquals(MigrationState.Phase.ROUTING, s.phase());
        assertEquals(share, s.share(), 1e-9);
    }

    @Test
    @DisplayName("repeated runs reach promotion, passing each step only when its hold has elapsed and the gates pass; every record once")
    void repeated_runs_reach_promotion() throws Exception {
        try (Kit kit = new Kit(dir, 4, PROMOTING_PLAN); TestProducer producer = new TestProducer(kit.topic)) {
            running(kit, producer);
            Duration hold = Duration.ofSeconds(4);

            Kit.Run start = rollout(kit).ok();
            assertTrue(start.out().contains("no migration yet: starting it at step 1 of 4 (share 20 %, hold 4s)"), start.out());
            assertShare(kit, 0.2);

            double[] next = {0.6, 1.0};
            double current = 0.2;
            for (double share : next) {
                Kit.Run early = rollout(kit).ok();
                assertTrue(early.out().contains("holding at " + Text.percent(current)), early.out());
                assertShare(kit, current);
                awaitHoldElapsed(kit, hold);
                Kit.Run advance = rollout(kit).ok();
                assertTrue(advance.out().contains("advancing to " + Text.percent(share)), advance.out());
                assertTrue(advance.out().contains("gates passed: routing, max_lag, command, check_data"), advance.out());
                assertShare(kit, share);
                current = share;
            }
            Kit.Run early = rollout(kit).ok();
            assertTrue(early.out().contains("holding at 100 % (step 3 of 4)") && early.out().contains("next: promote (step 4)"), early.out());
            awaitHoldElapsed(kit, hold);
            Kit.Run promote = rollout(kit).ok();
            assertTrue(promote.out().contains("promoting (step 4 of 4)"), promote.out());
            assertTrue(promote.out().contains("promoted: the new version"), promote.out());
            MigrationState done = kit.state();
            assertEquals(MigrationState.Phase.PROMOTED, done.phase());

            // Each step began at least its hold after the one before, as the history shows.
            List<Instant> steps = done.history().stream().filter(c -> c.what().startsWith("rollout: step ")).map(MigrationState.Change::at).toList();
            assertEquals(4, steps.size(), done.history().toString());
            for (int i = 1; i < steps.size(); i++) {
                assertTrue(Duration.between(steps.get(i - 1), steps.get(i)).compareTo(hold) >= 0, "step " + (i + 1) + " came too early: " + steps);
            }
            Kit.Run after = rollout(kit).ok();
            assertTrue(after.out().contains("rollout done: promoted"), after.out());
            assertEquals(done.version(), kit.state().version(), "a run after the end changes nothing");

            List<String> produced = producer.stop();
            kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced);
        }
    }
}
