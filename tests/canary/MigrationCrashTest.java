package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.StatusCommand;
import canary.kafka.KafkaCluster;
import canary.release.MigrationState;
import canary.release.MigrationState.Phase;

/**
 * A migration killed with SIGKILL at each of its named steps converges when run again: routing runs from the legacy group's
 * committed offsets, status is healthy, and every record is processed exactly once. Each run stops itself at the step
 * (Steps.reached) and the test kills it there.
 */
class MigrationCrashTest {

    @TempDir
    Path dir;

    /** Each run takes over what the killed one left, so the steps follow each other: one release for all of them. */
    @Test
    void a_migration_killed_at_each_of_its_steps_converges_when_run_again() throws Exception {
        try (Kit kit = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 100);
            producer.startBackground(10);

            kit.killAt("canary.cli.MigrationCommand", "migration.legacy-stopped", "0.5");
            // Legacy stopped, nothing recorded yet: status says there is no migration (exit 2), not that all is well.
            Kit.run(new StatusCommand(), kit.contextFile.toString()).expect(2);
            assertNull(kit.state());
            Map<Integer, Long> committed = new TreeMap<>();
            try (Admin admin = TestBroker.admin()) {
                Map<TopicPartition, OffsetAndMetadata> legacy = admin.listConsumerGroupOffsets(kit.legacyGroup)
                        .partitionsToOffsetAndMetadata().get();
                legacy.forEach((tp, om) -> committed.put(tp.partition(), om.offset()));
            }
            assertEquals(2, committed.size(), "legacy committed on both partitions: " + committed);

            for (String step : List.of("migration.state-written", "migration.routing-created", "migration.versions-started",
                    "migration.routing-recorded")) {
                kit.killAt("canary.cli.MigrationCommand", step, "0.5");
                MigrationState s = kit.state();
                assertEquals(committed, s.startOffsets(), "routing starts at the legacy group's committed offsets (killed at " + step + ")");
                assertEquals(MigrationState.StepKind.MIGRATION, s.step().kind(), "the killed migration's step is recorded");
                Kit.Run status = Kit.run(new StatusCommand(), kit.contextFile.toString()).expect(1);
                if (step.equals("migration.routing-recorded")) {
                    assertEquals(Phase.ROUTING, s.phase());
                    assertTrue(status.out().contains("DEGRADED: routing should run but no routing instance is in group"), status.out());
                } else {
                    assertEquals(Phase.MIGRATING, s.phase());
                    assertTrue(status.out().contains("DEGRADED: the migration was interrupted"), status.out());
                }
            }

            Kit.Run rerun = kit.migration("0.5").ok();
            assertTrue(rerun.out().contains("taking over the interrupted migration.java"), rerun.out());
            assertTrue(rerun.out().contains("migration done"), rerun.out());
            MigrationState s = kit.state();
            assertEquals(Phase.ROUTING, s.phase());
            assertTrue(s.routerRunning() && s.step() == null, "routing runs, no step left");
            assertEquals(committed, s.startOffsets());
            kit.awaitRouted(150);
            Kit.run(new StatusCommand(), kit.contextFile.toString()).ok();
            Kit.Run again = kit.migration("0.5").expect(2);
            assertTrue(again.err().contains("a migration is already active"), again.err());

            Kit.Run check = kit.checkData().ok();
            assertTrue(check.out().contains("integrity: clean"), check.out());
            kit.promoteAndAssertExactlyOnce(producer);
            try (KafkaCluster c = kit.cluster()) {
                assertTrue(c.members(kit.legacyGroup).isEmpty(), "legacy is stopped after the promotion");
            }
        }
    }
}
