package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.StatusCommand;
import canary.common.Steps;
import canary.common.Waits;
import canary.kafka.KafkaCluster;
import canary.kafka.RoutedCounts;
import canary.platform.Processes;
import canary.release.MigrationState;

/**
 * The router commits how many records it routed to each version per partition in the same transaction as the records: after a
 * router SIGKILLed between preparing and committing a transaction, the counts status shows equal what check_data and a plain
 * consumer count by reading, and status gives them without reading the derived topics.
 */
class RoutedCountsTest {

    @TempDir
    Path dir;

    /**
     * One counts partition holds every source partition's key: reading takes each key's last committed record, however far
     * back it is (a partition idle while others route), skips aborted ones, and counts a record of an earlier release (other
     * start offsets) or of another context as nothing. A counts topic of the first layout (one partition per source partition)
     * is read the same way (partition p % n).
     */
    @Test
    void the_latest_count_of_each_partition_is_read_back_from_one_shared_partition() throws Exception {
        for (int countsPartitions : new int[] {1, 3}) {
            String topic = TestBroker.unique("counts") + "_canary_counts";
            Properties client = TestBroker.clientProperties();
            try (KafkaCluster c = KafkaCluster.connect(client)) {
                c.createTopic(topic, countsPartitions, RoutedCounts.TOPIC_CONFIGS);
            }
            Map<Integer, Long> start = Map.of(0, 10L, 1, 20L, 2, 30L, 3, 40L, 4, 50L);
            Properties pp = new Properties();
            pp.putAll(client);
            pp.put("transactional.id", topic + "-writer");
            try (var producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.initTransactions();
                // partition 0: its only record, then many commits of the others after it (far beyond the first window)
                commit(producer, topic, countsPartitions, "ctx", new RoutedCounts.Count(0, 10, 15, 3, 2));
                // partition 3: only an earlier release's record (start offset 7)
                commit(producer, topic, countsPartitions, "ctx", new RoutedCounts.Count(3, 7, 9, 1, 1));
                for (int i = 1; i <= 200; i++) {
                    commit(producer, topic, countsPartitions, "ctx", new RoutedCounts.Count(1, 20, 20 + i, i, 0),
                            new RoutedCounts.Count(2, 30, 30 + 2 * i, i, i));
                }
                // partition 1: a later aborted record; another context's record for partition 4
                producer.beginTransaction();
                producer.send(RoutedCounts.record(topic, countsPartitions, "ctx", new RoutedCounts.Count(1, 20, 999, 900, 99)));
                producer.flush();
                producer.abortTransaction();
                commit(producer, topic, countsPartitions, "ctx-2", new RoutedCounts.Count(4, 50, 60, 5, 5));
            }
            Map<Integer, RoutedCounts.Count> latest = RoutedCounts.latest(client, topic, "ctx", start.keySet(), start,
                    Duration.ofSeconds(30));
            assertEquals(Map.of(0, new RoutedCounts.Count(0, 10, 15, 3, 2),
                    1, new RoutedCounts.Count(1, 20, 220, 200, 0),
                    2, new RoutedCounts.Count(2, 30, 430, 200, 200)), latest, countsPartitions + " counts partition(s)");
        }
    }

    private static void commit(KafkaProducer<byte[], byte[]> producer, String topic, int countsPartitions,
                               String context, RoutedCounts.Count... counts) {
        producer.beginTransaction();
        for (RoutedCounts.Count c : counts) {
            producer.send(RoutedCounts.record(topic, countsPartitions, context, c));
        }
        producer.commitTransaction();
    }

    @Test
    void status_shows_the_committed_counts_without_reading_the_derived_topics_after_a_router_killed_mid_commit() throws Exception {
        try (Kit kit = new Kit(dir, 4, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 100);
            producer.startBackground(300);
            kit.migration("0.5").ok();
            try (KafkaCluster c = kit.cluster()) {
                assertTrue(c.topicExists(kit.topic + "_canary_counts"), "the migration creates the counts topic");
            }
            kit.awaitRouted(200);

            // Instance 1 takes half the partitions and is killed with its transaction prepared (records, counts and offsets sent,
            // not committed): the transaction aborts, instance 0 takes the partitions back and continues their counts.
            Path reached = dir.resolve("reached-prepared");
            Processes p = kit.processes();
            p.start("router-1", Processes.javaCommand("canary.cli.RouterCommand", kit.contextFile.toString(), "--instance", "1"), kit.dir,
                    Map.of(Steps.PAUSE_AT, "router.transaction-prepared", Steps.PAUSE_FILE, reached.toString()));
            Waits.until("router instance 1 prepared a transaction", Duration.ofSeconds(90), Waits.quiet(), () -> Files.exists(reached));
            assertTrue(Kit.kill9(p, "router-1"), "instance 1 killed with its transaction prepared");
            try (KafkaCluster c = kit.cluster()) {
                Waits.until("instance 0 owns every partition again", Duration.ofSeconds(60), Waits.quiet(), () -> {
                    var m = c.members(kit.ctx().routerGroup());
                    return m.size() == 1 && m.get(0).partitions().size() == 4;
                });
            }
            kit.awaitRouted(600);
            List<String> produced = producer.stop();
            kit.awaitDrained(kit.ctx().routerGroup(), kit.topic, Duration.ofSeconds(60));
            kit.awaitDrained(kit.legacyGroup, kit.topic + "_legacy", Duration.ofSeconds(60));
            kit.awaitDrained(kit.newGroup, kit.topic + "_new", Duration.ofSeconds(60));

            Kit.Run check = kit.checkData().ok();
            assertTrue(check.out().contains("integrity: clean"), check.out());
            MigrationState.Check counted = kit.state().lastCheck();
            Map<Integer, long[]> byReading = new HashMap<>();
            try (KafkaCluster c = kit.cluster()) {
                Map<Integer, Long> legacyEnd = c.endOffsets(kit.topic + "_legacy");
                Map<Integer, Long> newEnd = c.endOffsets(kit.topic + "_new");
                for (int partition = 0; partition < 4; partition++) {
                    byReading.put(partition, new long[] {PlainCount.records(kit.topic + "_legacy", partition, 0, legacyEnd.get(partition)),
                            PlainCount.records(kit.topic + "_new", partition, 0, newEnd.get(partition))});
                }
            }
            assertStatusCounts(kit, byReading, counted);

            // Make the derived topics unreadable: every record deleted (the versions have processed them all). Status still
            // shows the same counts, so it takes them from the counts topic, not from reading the derived topics.
            try (Admin admin = TestBroker.admin(); KafkaCluster c = kit.cluster()) {
                Map<TopicPartition, RecordsToDelete> all = new HashMap<>();
                for (String t : List.of(kit.topic + "_legacy", kit.topic + "_new")) {
                    c.endOffsets(t).forEach((partition, end) -> all.put(new TopicPartition(t, partition), RecordsToDelete.beforeOffset(end)));
                }
                admin.deleteRecords(all).all().get();
                assertEquals(0, PlainCount.records(kit.topic + "_legacy", 0, 0, c.endOffsets(kit.topic + "_legacy").get(0)),
                        "the derived topics hold no records any more");
            }
            assertStatusCounts(kit, byReading, counted);

            kit.promote().ok();
            kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced);
            try (KafkaCluster c = kit.cluster()) {
                Waits.until("promote deletes the counts topic with the derived topics", Duration.ofSeconds(30), Waits.quiet(),
                        () -> !c.topicExists(kit.topic + "_canary_counts"));
            }
        }
    }

    private static void assertStatusCounts(Kit kit, Map<Integer, long[]> byReading, MigrationState.Check counted) throws Exception {
        Kit.Run status = Kit.run(new StatusCommand(), kit.contextFile.toString(), "--output", "json");
        JsonNode json = new ObjectMapper().readTree(status.out());
        long legacy = 0;
        long toNew = 0;
        for (JsonNode row : json.get("partitions")) {
            int partition = row.get("partition").asInt();
            assertEquals(byReading.get(partition)[0], row.get("routed_to_legacy").asLong(), "routed to legacy, partition " + partition);
            assertEquals(byReading.get(partition)[1], row.get("routed_to_new").asLong(), "routed to new, partition " + partition);
            legacy += row.get("routed_to_legacy").asLong();
            toNew += row.get("routed_to_new").asLong();
        }
        assertEquals(counted.toLegacy(), legacy, "status and check_data agree on the records routed to legacy");
        assertEquals(counted.toNew(), toNew, "status and check_data agree on the records routed to new");
        assertTrue(legacy > 0 && toNew > 0, status.out());
    }
}
