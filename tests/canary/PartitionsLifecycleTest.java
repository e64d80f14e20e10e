package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Json;
import canary.demo.DummyService;
import canary.kafka.KafkaCluster;
import canary.release.MigrationState;

/**
 * Whole-partition routing on the embedded router with producers running: the new version owns 2 of 6 partitions, then 4,
 * then all of them by promotion. From what the two versions processed (with when they processed it): each partition's
 * records were processed by one version at any time, in the order they were produced, and every record exactly once.
 */
class PartitionsLifecycleTest {

    @TempDir
    Path dir;

    @Test
    void each_partition_is_processed_by_one_version_at_a_time_in_order_from_2_of_6_to_4_to_promotion() throws Exception {
        // A busy legacy version (a pause after each batch) has a backlog when partitions move: only a drain keeps them in order.
        try (Kit kit = new Kit(dir, 6, "routing: partitions\n", "1s"); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 120);
            producer.startBackground(120);

            kit.migration("33%").ok();
            assertEquals(List.of(0, 1), kit.state().newPartitions(), "ceil(0.33 x 6) = 2 partitions");
            kit.awaitRouted(300);
            kit.awaitDrained(kit.newGroup, kit.topic + "_new", Duration.ofSeconds(30));
            // The new version's group reads all 6 partitions of <topic>_new; 4 of them stay empty: nothing to process, no lag.
            try (KafkaCluster c = kit.cluster()) {
                Map<Integer, Long> ends = c.endOffsets(kit.topic + "_new");
                assertTrue(ends.get(0) > 0 && ends.get(1) > 0, "records in the new version's partitions: " + ends);
                for (int p = 2; p < 6; p++) {
                    assertEquals(0L, ends.get(p), "partition " + p + " of " + kit.topic + "_new is empty");
                }
                Map<Integer, Long> lag = c.lag(kit.newGroup, kit.topic + "_new");
                for (int p = 2; p < 6; p++) {
                    assertEquals(0L, lag.get(p), "the new version's group has nothing to do on empty partition " + p + ": " + lag);
                }
                assertEquals(0L, c.endOffsets(kit.topic + "_legacy").get(0), "legacy gets nothing of the new version's partitions");
            }
            Kit.Run status = kit.status("--output", "json").ok();
            JsonNode json = Json.MAPPER.readTree(status.out());
            assertEquals("healthy", json.get("status").asText(), "empty partitions are not a problem: " + status.out());
            assertEquals("[0,1]", json.get("new_partitions").toString());
            for (JsonNode row : json.get("partitions")) {
                if (row.get("partition").asInt() >= 2) {
                    assertEquals(0, row.get("routed_to_new").asLong(), row.toString());
                    assertEquals(0, row.get("new_lag").asLong(), row.toString());
                }
            }

            Kit.Run four = kit.updateRate("66%").ok();
            assertTrue(four.out().contains("partitions of the new version: 0, 1 -> 0, 1, 2, 3 (of 6)"), four.out());
            assertTrue(kit.state().lastChange().what().endsWith("(drained)"), "moving partitions drains first");
            kit.awaitRouted(650);

            kit.promoteAndAssertExactlyOnce(producer);
            MigrationState done = kit.state();
            assertEquals(MigrationState.Phase.PROMOTED, done.phase());

            // Each partition went from legacy to new once: 0 and 1 at the migration, 2 and 3 at the second step, 4 and 5 at
            // promotion. Before its move only legacy processed it, after only new, each in the order of production.
            Map<Integer, List<DummyService.Processed>> legacy = byPartition(kit.processed(kit.legacyGroup));
            Map<Integer, List<DummyService.Processed>> fresh = byPartition(kit.processed(kit.newGroup));
            for (int p = 0; p < 6; p++) {
                List<DummyService.Processed> l = legacy.getOrDefault(p, List.of());
                List<DummyService.Processed> n = fresh.getOrDefault(p, List.of());
                assertFalse(l.isEmpty() || n.isEmpty(), "partition " + p + " was processed by both versions, one after the other");
                assertInProductionOrder(producer, l, "legacy, partition " + p);
                assertInProductionOrder(producer, n, "new, partition " + p);
                long lastLegacy = l.stream().mapToLong(DummyService.Processed::at).max().orElseThrow();
                long firstNew = n.stream().mapToLong(DummyService.Processed::at).min().orElseThrow();
                assertTrue(lastLegacy < firstNew, "partition " + p + ": legacy processed it until " + lastLegacy
                        + ", new from " + firstNew + ": never both at once");
                assertTrue(producer.sent(l.get(l.size() - 1).id()).seq() < producer.sent(n.get(0).id()).seq(),
                        "partition " + p + ": new continues after the last record legacy processed");
                String newTopicBeforePromotion = kit.topic + "_new";
                boolean routedToNew = n.stream().anyMatch(x -> x.topic().equals(newTopicBeforePromotion));
                assertEquals(p < 4, routedToNew, "partition " + p + " was routed to the new version before promotion");
            }
        }
    }

    /** Processed records by the partition of the original topic they come from (the router keeps the partition number). */
    static Map<Integer, List<DummyService.Processed>> byPartition(List<DummyService.Processed> processed) {
        Map<Integer, List<DummyService.Processed>> out = new TreeMap<>();
        for (DummyService.Processed x : processed) {
            out.computeIfAbsent(x.partition(), k -> new ArrayList<>()).add(x);
        }
        return out;
    }

    /** Asserts that a version processed the records of one partition in the order they were produced, each once. */
    static void assertInProductionOrder(TestProducer producer, List<DummyService.Processed> inProcessingOrder, String what) {
        long last = -1;
        for (DummyService.Processed x : inProcessingOrder) {
            long seq = producer.sent(x.id()).seq();
            assertTrue(seq > last, what + ": record " + x.id() + " (number " + seq + ") processed after number " + last);
            last = seq;
        }
    }
}
