package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.StatusCommand;
import canary.context.Role;
import canary.demo.DummyService;
import canary.kafka.KafkaCluster;
import canary.platform.ProcessVersions;
import canary.release.MigrationState;

/**
 * The whole canary lifecycle on the embedded router, with producers running, proven from what the services processed;
 * update_rate --drain and check_data are killed at named steps on the way and taken over by their re-runs.
 */
class LifecycleTest {

    @TempDir
    Path dir;

    @Test
    void every_record_is_processed_exactly_once_from_migration_to_promotion() throws Exception {
        try (Kit kit = new Kit(dir, 6, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 300);
            producer.startBackground(200);

            kit.migration("0.1").ok();
            MigrationState s = kit.state();
            assertEquals(MigrationState.Phase.ROUTING, s.phase());
            assertEquals(0.1, s.share());
            kit.awaitRouted(300);
            kit.updateRate("0.5").ok();
            kit.awaitRouted(600);
            // update_rate --drain and check_data stop routing while they run: killed at their named steps, they leave a stall
            // that status reports; running them again takes over and routing runs again.
            kit.killAt("canary.cli.UpdateRateCommand", "update-rate.drained", "100%", "--drain");
            Kit.Run stalled = Kit.run(new StatusCommand(), kit.contextFile.toString()).expect(1);
            assertTrue(stalled.out().contains("DEGRADED: routing is stopped (run flag off) and no step is in progress: the update_rate.java"
                    + " --drain on"), stalled.out());
            Kit.Run drained = kit.updateRate("100%", "--drain").ok();
            assertTrue(drained.out().contains("taking over the interrupted update_rate.java --drain"), drained.out());
            assertTrue(drained.out().contains("share: 50 % -> 100 %"), drained.out());
            kit.awaitRouted(900);
            Kit.run(new StatusCommand(), kit.contextFile.toString()).ok();
            kit.killAt("canary.cli.CheckDataCommand", "check-data.routing-stopped");
            Kit.run(new StatusCommand(), kit.contextFile.toString()).expect(1);
            Kit.Run check = kit.checkData().ok();
            assertTrue(check.out().contains("taking over the interrupted check_data.java"), check.out());
            assertTrue(check.out().contains("integrity: clean"), check.out());
            assertTrue(kit.state().routerRunning() && kit.state().step() == null, "routing runs again, no step left");
            Kit.run(new StatusCommand(), kit.contextFile.toString()).ok();
            Kit.Run promote = kit.promote().ok();
            assertTrue(promote.out().contains("HAND-OVER OFFSET"), promote.out());

            List<String> produced = producer.stop();
            kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced);

            MigrationState done = kit.state();
            assertEquals(MigrationState.Phase.PROMOTED, done.phase());
            // The new version continues on the original topic with the first record after the hand-over position.
            Map<Integer, Long> firstOnOriginal = new TreeMap<>();
            for (DummyService.Processed p : kit.processed(kit.newGroup)) {
                if (p.topic().equals(kit.topic)) {
                    firstOnOriginal.merge(p.partition(), p.offset(), Math::min);
                }
            }
            assertFalse(firstOnOriginal.isEmpty(), "the new version processed records of the original topic after promotion");
            firstOnOriginal.forEach((partition, first) ->
                    assertEquals(done.handover().offsets().get(partition), first, "first offset on partition " + partition));
            try (KafkaCluster c = kit.cluster()) {
                assertFalse(c.topicExists(kit.topic + "_legacy"), "derived topics are removed");
                assertFalse(c.topicExists(kit.topic + "_new"), "derived topics are removed");
                assertTrue(c.members("canary-router-" + kit.topic).isEmpty(), "no router instance is left");
            }
            // Promoting again says so and changes nothing.
            Kit.Run again = kit.promote().ok();
            assertTrue(again.out().contains("already promoted"), again.out());
            assertEquals(done.version(), kit.state().version());
        }
    }

    @Test
    void a_rollback_after_a_partial_ramp_hands_the_topic_back_to_legacy_exactly_after_the_position() throws Exception {
        try (Kit kit = new Kit(dir, 4, "routing: key-hash\n"); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 200);
            producer.startBackground(200);
            kit.migration("0.2").ok();
            kit.awaitRouted(300);
            kit.updateRate("0.4").ok();
            assertTrue(kit.state().lastChange().what().endsWith("(drained)"), "key-hash routing drains before a share change");
            kit.awaitRouted(600);

            Kit.Run dry = kit.rollback("--dry-run").ok();
            assertTrue(dry.out().contains("HAND-OVER OFFSET"), dry.out());
            assertEquals(MigrationState.Phase.ROUTING, kit.state().phase(), "a dry run changes nothing");

            Kit.Run back = kit.rollback().ok();
            assertTrue(back.out().contains("rolled back: the legacy version"), back.out());
            List<String> produced = producer.stop();
            kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced);

            MigrationState done = kit.state();
            assertEquals(MigrationState.Phase.ROLLED_BACK, done.phase());
            assertEquals(Role.LEGACY, done.handover().to());
            // Legacy continues on the original topic exactly after the hand-back position.
            Map<Integer, Long> firstAfter = new TreeMap<>();
            long beforeMigration = 0;
            for (DummyService.Processed p : kit.processed(kit.legacyGroup)) {
                if (p.topic().equals(kit.topic)) {
                    if (p.offset() < done.startOffsets().get(p.partition())) {
                        beforeMigration++;
                    } else {
                        firstAfter.merge(p.partition(), p.offset(), Math::min);
                    }
                }
            }
            assertTrue(beforeMigration > 0, "legacy processed the original topic before the migration");
            assertFalse(firstAfter.isEmpty());
            firstAfter.forEach((partition, first) ->
                    assertEquals(done.handover().offsets().get(partition), first, "first offset after the hand-back on partition " + partition));
            assertFalse(kit.processes().isRunning(ProcessVersions.processName(kit.topic, kit.newGroup)), "the new version is stopped");
            try (KafkaCluster c = kit.cluster()) {
                assertTrue(c.members(kit.newGroup).isEmpty(), "the new version's group is empty");
            }
            Kit.Run again = kit.rollback().ok();
            assertTrue(again.out().contains("already rolled-back"), again.out());
        }
    }
}
