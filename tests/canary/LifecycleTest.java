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

/** The whole canary lifecycle on the embedded router, with producers running, proven from what the services processed. */
class LifecycleTest {

    @TempDir
    Path dir;

    @Test
    void every_record_is_processed_exactly_once_from_migration_to_promotion() throws Exception {
        try (Kit kit = new Kit(dir, 6, ""); TestProducer producer = new TestProducer(kit.topic)) {
            producer.produce(300);
            kit.startLegacy();
            kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
            producer.startBackground(200);

            kit.migration("0.1").ok();
            MigrationState s = kit.state();
            assertEquals(MigrationState.Phase.ROUTING, s.phase());
            assertEquals(0.1, s.share());
            Thread.sleep(1500);
            kit.updateRate("0.5").ok();
            Thread.sleep(1500);
            Kit.Run drained = kit.updateRate("100%", "--drain").ok();
            assertTrue(drained.out().contains("share: 50 % -> 100 %"), drained.out());
            Thread.sleep(1500);
            Kit.Run check = kit.checkData().ok();
            assertTrue(check.out().contains("integrity: clean"), check.out());
            Kit.Run promote = kit.promote().ok();
            assertTrue(promote.out().contains("HAND-OVER OFFSET"), promote.out());
            Thread.sleep(1000);

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
}
