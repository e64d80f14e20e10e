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

import canary.cli.StatusCommand;
import canary.kafka.KafkaCluster;
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
                kit.killAt(command, step);
                if (step.equals("handover.done")) {
                    // the hand-over is done and the owner consumes: only the removal of the routing resources is left to the re-run
                    Kit.Run status = Kit.run(new StatusCommand(), kit.contextFile.toString()).ok();
                    assertTrue(status.out().contains("phase     " + (promote ? "promoted" : "rolled-back")), status.out());
                } else {
                    Kit.Run status = Kit.run(new StatusCommand(), kit.contextFile.toString()).expect(1);
                    assertTrue(status.out().contains("was interrupted") && status.out().contains("again to finish it"), status.out());
                }
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
}
