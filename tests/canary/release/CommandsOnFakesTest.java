package canary.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import canary.cli.Cli;
import canary.cli.ContextCommand;
import canary.cli.MigrationCommand;
import canary.cli.PromoteCommand;
import canary.cli.RolloutCommand;
import canary.cli.Session;
import canary.cli.StatusCommand;
import canary.cli.UpdateRateCommand;
import canary.cli.Wiring;
import canary.common.Json;
import canary.context.Context;
import canary.platform.LocalLock;
import canary.release.Fakes.World;

/**
 * The scripts' commands, exactly as users run them (picocli, the error handler, the host lock),
 * against a {@link Wiring} of in-memory fakes instead of Kafka and processes: what the commands
 * add to the release logic is checked in milliseconds.
 */
@Tag("fast")
class CommandsOnFakesTest {

    @TempDir
    Path dir;

    record Run(int code, String out, String err) {
    }

    static Wiring wiring(World w) {
        return new Wiring() {
            @Override
            public Clock clock() {
                return w.clock;
            }

            @Override
            public Function<String, String> env() {
                return Map.<String, String>of()::get;
            }

            @Override
            public Session open(Context ctx, String command, PrintWriter out, PrintWriter err, Duration timeout) {
                return new Session(ctx, w.cluster, w.store, w.engine, w.versions, w.clock, Fakes.OPERATOR, w.liveness,
                        (argv, d, t) -> new Rollout.ProbeResult(0, "ok"), out, timeout, () -> { });
            }
        };
    }

    static Run run(World w, ContextCommand command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(command.wiring(wiring(w)));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    @Test
    void a_whole_release_through_the_scripts_commands() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        String ctx = w.ctx.file().toString();
        w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);

        assertEquals(0, run(w, new MigrationCommand(), ctx, ".2").code());
        assertEquals(0.2, w.store.state.share());
        Run rate = run(w, new UpdateRateCommand(), ctx, "50%");
        assertEquals(0, rate.code(), rate.err());
        assertTrue(rate.out().contains("share: 20 % -> 50 % to the new version"), rate.out());

        Run status = run(w, new StatusCommand(), ctx, "--output", "json");
        assertEquals(0, status.code(), status.err());
        JsonNode json = Json.MAPPER.readTree(status.out());
        assertEquals("healthy", json.get("status").asText());
        assertEquals("routing", json.get("phase").asText());
        assertEquals("router", json.get("engine").asText());
        assertEquals(0.5, json.get("share").asDouble());
        assertEquals(1, json.get("version_members").get("new").asInt());
        assertEquals(w.clock.instant().toString(), json.get("share_set").get("at").asText());

        Run bad = run(w, new UpdateRateCommand(), ctx, "1.5");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("invalid share '1.5'") && bad.err().strip().lines().count() == 1, bad.err());

        assertEquals(0, run(w, new PromoteCommand(), ctx).code());
        assertEquals(MigrationState.Phase.PROMOTED, w.store.state.phase());
        Run after = run(w, new StatusCommand(), ctx);
        assertTrue(after.out().contains("phase     promoted"), after.out());
    }

    @Test
    void status_says_degraded_with_exit_1_when_a_version_does_not_consume() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        String ctx = w.ctx.file().toString();
        assertEquals(2, run(w, new StatusCommand(), ctx).code(), "no migration");
        run(w, new MigrationCommand(), ctx, ".2");
        w.cluster.noMembers("service_v2");
        Run status = run(w, new StatusCommand(), ctx);
        assertEquals(1, status.code());
        assertTrue(status.out().contains("DEGRADED: the new version (group service_v2) has no members: it is not consuming"), status.out());
    }

    @Test
    void partitions_added_that_the_engine_does_not_route_are_degraded_in_status_and_handed_over_from_offset_0() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        String ctx = w.ctx.file().toString();
        w.engine.routesAdded = false;
        w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
        assertEquals(0, run(w, new MigrationCommand(), ctx, ".2").code());
        w.cluster.ends.get("orders").put(3, 7L);
        w.cluster.ends.get("orders").put(4, 5L);

        Run status = run(w, new StatusCommand(), ctx);
        assertEquals(1, status.code(), status.out());
        assertTrue(status.out().contains("DEGRADED: partitions [3, 4] were added to orders during the release and the router engine"
                + " does not route them: their 12 record(s) wait, processed by neither version; promote.java or rollback.java hands"
                + " them to the version that keeps orders from offset 0"), status.out());
        JsonNode rows = Json.MAPPER.readTree(run(w, new StatusCommand(), ctx, "--output", "json").out()).get("partitions");
        assertEquals(5, rows.size(), rows.toString());
        assertTrue(rows.get(3).get("start_offset").isNull(), "nothing of an added partition was routed: " + rows);
        assertEquals(7, rows.get(3).get("router_lag").asLong(), "its records wait: " + rows);

        Run promote = run(w, new PromoteCommand(), ctx);
        assertEquals(0, promote.code(), promote.err());
        assertTrue(promote.out().lines().anyMatch(l -> l.matches("4\\s+-\\s+0\\s.*")), "the hand-over table shows them: " + promote.out());
        assertEquals(Map.of(0, 70L, 1, 80L, 2, 90L, 3, 0L, 4, 0L), w.cluster.committedOffsets("service_v2", "orders"),
                "the new version takes the added partitions from their first record");
    }

    @Test
    void partitions_added_that_the_engine_routes_are_shown_without_a_start_offset_and_status_stays_healthy() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        String ctx = w.ctx.file().toString();
        assertEquals(0, run(w, new MigrationCommand(), ctx, ".2").code());
        w.cluster.ends.get("orders").put(3, 7L);

        Run status = run(w, new StatusCommand(), ctx);
        assertEquals(0, status.code(), "the router takes the partition up within seconds: " + status.out());
        assertTrue(status.out().lines().anyMatch(l -> l.matches("3\\s+-\\s+-\\s+7\\s.*")), status.out());
    }

    @Test
    void rollout_runs_read_the_clock_of_the_wiring() throws Exception {
        World w = new World(dir, "rollout:\n  steps:\n    - share: 0.1\n      hold: 10m\n    - promote\n  gates:\n    check_data: false\n",
                UnaryOperator.identity());
        String ctx = w.ctx.file().toString();
        assertTrue(run(w, new RolloutCommand(), ctx).out().contains("no migration yet: starting it at step 1 of 2"));
        w.clock.advance(Duration.ofMinutes(4));
        Run holding = run(w, new RolloutCommand(), ctx);
        assertTrue(holding.out().contains("2030-01-01T10:04:00Z fake: holding at 10 % (step 1 of 2): 4m of 10m elapsed"), holding.out());
        w.clock.advance(Duration.ofMinutes(7));
        assertTrue(run(w, new RolloutCommand(), ctx).out().contains("promoting (step 2 of 2)"));
        assertEquals(MigrationState.Phase.PROMOTED, w.store.state.phase());
    }

    @Test
    void rollout_pause_and_resume_from_the_command_line_and_status_shows_the_pause_as_healthy() throws Exception {
        World w = new World(dir, "rollout:\n  steps:\n    - share: 0.1\n      hold: 10m\n    - promote\n  gates:\n    check_data: false\n",
                UnaryOperator.identity());
        String ctx = w.ctx.file().toString();
        Run none = run(w, new RolloutCommand(), ctx, "--pause");
        assertEquals(2, none.code(), none.out());
        assertTrue(none.err().contains("no rollout to pause"), none.err());
        run(w, new RolloutCommand(), ctx);
        Run both = run(w, new RolloutCommand(), ctx, "--pause", "--resume");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("mutually exclusive"), both.err());
        assertEquals(2, run(w, new RolloutCommand(), ctx, "--pause", "--dry-run").code());
        assertEquals(2, run(w, new RolloutCommand(), ctx, "--pause", "--abort").code());
        assertEquals(null, w.store.state.paused(), "nothing was changed");

        Run paused = run(w, new RolloutCommand(), ctx, "--pause");
        assertEquals(0, paused.code(), paused.err());
        w.clock.advance(Duration.ofMinutes(11));
        Run held = run(w, new RolloutCommand(), ctx);
        assertEquals(1, held.code(), held.out());
        assertTrue(held.out().contains("fake: rollout paused by ops@host at 2030-01-01T10:00:00Z: rollout.java --resume continues it"), held.out());
        assertEquals(MigrationState.Phase.ROUTING, w.store.state.phase());

        Run status = run(w, new StatusCommand(), ctx);
        assertEquals(0, status.code(), "a paused rollout is not degraded: " + status.out());
        assertTrue(status.out().contains("rollout   paused by ops@host at 2030-01-01T10:00:00Z (rollout.java --resume continues it); step 1 of 2"),
                status.out());
        Run json = run(w, new StatusCommand(), ctx, "--output", "json");
        assertEquals("ops@host", new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out()).get("rollout").get("paused").get("by").asText(),
                json.out());

        Run twice = run(w, new RolloutCommand(), ctx, "--pause");
        assertEquals(2, twice.code());
        assertTrue(twice.err().contains("already rollout paused by ops@host"), twice.err());
        assertEquals(0, run(w, new RolloutCommand(), ctx, "--resume").code());
        assertTrue(run(w, new RolloutCommand(), ctx).out().contains("promoting (step 2 of 2)"));
        assertEquals(MigrationState.Phase.PROMOTED, w.store.state.phase());
    }

    @Test
    void a_rollout_run_from_cron_skips_while_another_command_holds_the_host_lock() throws Exception {
        World w = new World(dir, "rollout:\n  steps:\n    - share: 0.1\n      hold: 10m\n", UnaryOperator.identity());
        try (LocalLock busy = LocalLock.acquire(w.ctx.stateDir(), w.ctx.name(), "an operator's promote")) {
            Run skipped = run(w, new RolloutCommand(), w.ctx.file().toString());
            assertEquals(0, skipped.code(), skipped.err());
            // held in this JVM here; from cron the holder is another process ("on this host (<its command>, pid N ...)")
            assertTrue(skipped.out().contains("skipped this run: another canary-router command is running for context 'fake'"), skipped.out());
        }
        assertEquals(null, w.store.state, "nothing was changed");
    }

    @Test
    void status_tells_a_stall_an_interrupted_promotion_and_a_promoted_topic_nobody_consumes() throws Exception {
        World w = new World(dir, "", UnaryOperator.identity());
        String ctx = w.ctx.file().toString();
        run(w, new MigrationCommand(), ctx, ".2");
        MigrationState s = w.store.state;
        MigrationState.StepInProgress dead = new MigrationState.StepInProgress(MigrationState.StepKind.CHECK_DATA, "host", 7, null,
                w.clock.instant(), w.clock.instant());
        w.deadPids.add(7L);
        s = w.store.write(s.version(), s.withRouterRunning(false).withStep(dead), "routing stopped: check_data");
        Run stalled = run(w, new StatusCommand(), ctx);
        assertEquals(1, stalled.code(), stalled.out());
        assertTrue(stalled.out().contains("DEGRADED: routing is stopped (run flag off) and no step is in progress: the check_data.java on host"
                + " (pid 7"), stalled.out());

        MigrationState.StepInProgress live = new MigrationState.StepInProgress(MigrationState.StepKind.CHECK_DATA, "host", 8, null,
                w.clock.instant(), w.clock.instant());
        s = w.store.write(s.version(), s.withStep(live), "another check_data");
        Run busy = run(w, new StatusCommand(), ctx);
        assertEquals(0, busy.code(), busy.out());
        assertTrue(busy.out().contains("step      in progress: check_data.java on host (pid 8"), busy.out());

        s = w.store.write(s.version(), s.withPhase(MigrationState.Phase.PROMOTING).withStep(new MigrationState.StepInProgress(
                MigrationState.StepKind.PROMOTE, "host", 7, null, w.clock.instant(), w.clock.instant())),
                "promotion started");
        Run interrupted = run(w, new StatusCommand(), ctx, "--output", "json");
        assertEquals(1, interrupted.code());
        assertTrue(interrupted.out().contains("the promotion was interrupted (promote.java on host (pid 7"), interrupted.out());
        assertEquals("promote", Json.MAPPER.readTree(interrupted.out()).get("step").get("kind").asText());

        w.engine.position = Map.of(0, 70L, 1, 80L, 2, 90L);
        assertEquals(0, run(w, new PromoteCommand(), ctx).code());
        assertEquals(0, run(w, new StatusCommand(), ctx).code());
        w.cluster.noMembers("service_v2");
        Run orphan = run(w, new StatusCommand(), ctx);
        assertEquals(1, orphan.code());
        assertTrue(orphan.out().contains("DEGRADED: nothing consumes orders: the new version (group service_v2), which owns it since the"
                + " promotion, has no members"), orphan.out());
    }
}
