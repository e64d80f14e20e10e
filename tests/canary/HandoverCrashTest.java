package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import canary.common.Steps;
import canary.common.Waits;
import canary.kafka.KafkaCluster;
import canary.platform.Processes;
import canary.release.MigrationState;

/**
 * A promotion or rollback killed with SIGKILL at named steps converges when run again: nothing lost,
 * nothing doubled. Each run stops itself at the step (Steps.reached) and the test kills it there.
 */
class HandoverCrashTest {

    @TempDir
    Path dir;

    /** Each run resumes where the killed one stopped, so the steps of one case follow each other. */
    @ParameterizedTest(name = "{0} killed at {1}, then at {2}, then at {3}, converges when run again")
    @CsvSource({
            "canary.cli.PromoteCommand, handover.started, handover.position-captured, handover.offsets-applied",
            "canary.cli.RollbackCommand, handover.versions-stopped, handover.version-started, handover.done"})
    void a_killed_hand_over_converges_when_run_again(String command, String firstStep, String secondStep, String thirdStep)
            throws Exception {
        boolean promote = command.endsWith("PromoteCommand");
        try (Kit kit = new Kit(dir, 4, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 200);
            producer.startBackground(200);
            kit.migration("0.5").ok();
            kit.awaitRouted(100);

            for (String step : List.of(firstStep, secondStep, thirdStep)) {
                killAt(kit, command, step);
            }
            Kit.Run rerun = promote ? kit.promote() : kit.rollback();
            rerun.ok();
            MigrationState done = kit.state();
            assertEquals(promote ? MigrationState.Phase.PROMOTED : MigrationState.Phase.ROLLED_BACK, done.phase(), rerun.out());
            assertTrue(done.handover().offsetsApplied() && done.handover().started(), rerun.out());

            List<String> produced = producer.stop();
            kit.awaitDrained(promote ? kit.newGroup : kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced);
            try (KafkaCluster c = kit.cluster()) {
                assertTrue(c.members(promote ? kit.legacyGroup : kit.newGroup).isEmpty(), "the other version is stopped");
            }
        }
    }

    /** Runs the command in a child JVM that stops at {@code step}, and SIGKILLs it there. */
    static void killAt(Kit kit, String command, String step) throws Exception {
        Processes p = kit.processes();
        Path reached = kit.dir.resolve("reached-" + step);
        p.start("handover", Processes.javaCommand(command, kit.contextFile.toString(), "--timeout", "90s"), kit.dir,
                Map.of(Steps.PAUSE_AT, step, Steps.PAUSE_FILE, reached.toString()));
        Waits.until("the hand-over reaches step " + step + " (log " + p.logFile("handover") + ")", Duration.ofSeconds(120), Waits.quiet(),
                () -> Files.exists(reached) || !p.isRunning("handover"));
        assertTrue(Files.exists(reached), "the hand-over ended before step " + step + ": " + Files.readString(p.logFile("handover")));
        assertTrue(Kit.kill9(p, "handover"), "killed at " + step);
    }
}
