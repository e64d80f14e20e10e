package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import canary.kafka.KafkaCluster;
import canary.platform.Processes;
import canary.release.MigrationState;

/** A promotion or rollback killed with SIGKILL part-way converges when run again: nothing lost, nothing doubled. */
class HandoverCrashTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} killed after {1} ms, then after {2} ms, converges when run again")
    @CsvSource({"canary.cli.PromoteCommand, 1200, 900", "canary.cli.RollbackCommand, 2500, 400"})
    void a_killed_hand_over_converges_when_run_again(String command, long firstKill, long secondKill) throws Exception {
        boolean promote = command.endsWith("PromoteCommand");
        try (Kit kit = new Kit(dir, 4, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 200);
            producer.startBackground(200);
            kit.migration("0.5").ok();
            Thread.sleep(1500);

            Processes p = kit.processes();
            for (long delay : List.of(firstKill, secondKill)) {
                p.start("handover", Processes.javaCommand(command, kit.contextFile.toString(), "--timeout", "90s"), kit.dir, Map.of());
                Thread.sleep(delay);
                Kit.kill9(p, "handover");
            }
            Kit.Run rerun = promote ? kit.promote() : kit.rollback();
            rerun.ok();
            MigrationState done = kit.state();
            assertEquals(promote ? MigrationState.Phase.PROMOTED : MigrationState.Phase.ROLLED_BACK, done.phase(), rerun.out());
            assertTrue(done.handover().offsetsApplied() && done.handover().started(), rerun.out());

            Thread.sleep(1000);
            List<String> produced = producer.stop();
            kit.awaitDrained(promote ? kit.newGroup : kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced);
            try (KafkaCluster c = kit.cluster()) {
                assertTrue(c.members(promote ? kit.legacyGroup : kit.newGroup).isEmpty(), "the other version is stopped");
            }
        }
    }
}
