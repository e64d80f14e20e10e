package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.demo.DummyService;
import canary.kafka.KafkaCluster;
import canary.release.MigrationState;

/**
 * Partitions added to the original topic while routing runs: the router grows the derived topics to match before it routes a
 * record of a new partition, records start offset 0 for each new partition in the state, and update_rate, check_data, status
 * and promote count them; producers write to the new partitions throughout; every record is processed exactly once.
 */
class PartitionsAddedTest {

    @TempDir
    Path dir;

    @Test
    void partitions_added_during_routing_are_grown_into_the_derived_topics_and_every_record_is_processed_once() throws Exception {
        try (Kit kit = new Kit(dir, 2, "routing: partitions\n"); TestProducer before = new TestProducer(kit.topic);
             Admin admin = TestBroker.admin()) {
            kit.legacyHasProcessed(before, 60);
            before.startBackground(60);
            kit.migration("--partitions", "0").ok();
            kit.awaitRouted(60);

            admin.createPartitions(Map.of(kit.topic, NewPartitions.increaseTo(4))).all().get();
            // A producer started now sees the 4 partitions: its keys spread over all of them.
            try (TestProducer after = new TestProducer(kit.topic)) {
                after.startBackground(60);
                Waits.until("the router recorded the new partitions", Duration.ofSeconds(60), Waits.quiet(),
                        () -> kit.state().startOffsets().size() == 4);
                MigrationState grown = kit.state();
                assertEquals(0L, grown.startOffsets().get(2));
                assertEquals(0L, grown.startOffsets().get(3));
                assertEquals(List.of(0), grown.newPartitions(), "new partitions go to legacy until update_rate gives them away");
                assertEquals(0.25, grown.share(), "the new version's share of the larger count");
                try (KafkaCluster c = kit.cluster()) {
                    assertEquals(4, c.partitions(kit.topic + "_legacy"));
                    assertEquals(4, c.partitions(kit.topic + "_new"));
                    Waits.until("records of the new partitions are routed", Duration.ofSeconds(60), Waits.quiet(),
                            () -> c.endOffsets(kit.topic + "_legacy").get(3) > 0);
                }

                kit.updateRate("--partitions", "0,3").ok();
                assertEquals(List.of(0, 3), kit.state().newPartitions());
                Waits.until("the new version processed records of the added partition 3", Duration.ofSeconds(60), Waits.quiet(),
                        () -> kit.processed(kit.newGroup).stream().anyMatch(p -> p.topic().equals(kit.topic + "_new") && p.partition() == 3));
                Kit.Run check = kit.checkData().ok();
                assertTrue(check.out().contains("integrity: clean"), check.out());
                kit.status().ok();
                Kit.Run promote = kit.promote().ok();
                assertTrue(promote.out().contains("HAND-OVER OFFSET"), promote.out());

                List<String> produced = new ArrayList<>(before.stop());
                produced.addAll(after.stop());
                kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
                kit.assertExactlyOnce(produced);
                assertTrue(kit.processed(kit.legacyGroup).stream().anyMatch(p -> p.topic().equals(kit.topic + "_legacy") && p.partition() == 2),
                        "legacy processed records of the added partition 2 while routing ran");
                MigrationState done = kit.state();
                assertEquals(4, done.handover().offsets().size(), "the hand-over covers the added partitions: " + done.handover());
                for (DummyService.Processed p : kit.processed(kit.newGroup)) {
                    assertTrue(!p.topic().equals(kit.topic) || p.offset() >= done.handover().offsets().get(p.partition()),
                            "the new version starts each partition of the original at the hand-over position: " + p);
                }
            }
        }
    }
}
