package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.StatusCommand;
import canary.cli.StatusReport;
import canary.platform.ProcessVersions;

/** status tells the truth: its JSON matches what an independent Kafka client measures. */
class StatusTest {

    @TempDir
    Path dir;

    @Test
    void json_status_matches_an_independent_client_and_exit_codes_say_how_it_stands() throws Exception {
        try (Kit kit = new Kit(dir, 3, ""); TestProducer producer = new TestProducer(kit.topic)) {
            Kit.run(new StatusCommand(), kit.contextFile.toString(), "--output", "json").expect(StatusReport.Health.NO_MIGRATION.exitCode);
            kit.legacyHasProcessed(producer, 150);
            kit.migration("0.5").ok();
            producer.produce(200);
            kit.awaitDrained("canary-router-" + kit.topic, kit.topic, Duration.ofSeconds(60));
            kit.awaitDrained(kit.newGroup, kit.topic + "_new", Duration.ofSeconds(60));
            kit.awaitDrained(kit.legacyGroup, kit.topic + "_legacy", Duration.ofSeconds(60));
            Kit.Run healthy = Kit.run(new StatusCommand(), kit.contextFile.toString()).expect(StatusReport.Health.HEALTHY.exitCode);
            assertTrue(healthy.out().contains("ROUTER POSITION"), healthy.out());

            // The new version stops consuming: its lag grows and status says the release is degraded.
            kit.processes().stop(ProcessVersions.processName(kit.topic, kit.newGroup), Duration.ofSeconds(20));
            producer.produce(300);
            kit.awaitDrained("canary-router-" + kit.topic, kit.topic, Duration.ofSeconds(60));
            kit.awaitDrained(kit.legacyGroup, kit.topic + "_legacy", Duration.ofSeconds(60));
            Kit.Run degraded = Kit.run(new StatusCommand(), kit.contextFile.toString(), "--output", "json", "--history")
                    .expect(StatusReport.Health.DEGRADED.exitCode);
            JsonNode json = new ObjectMapper().readTree(degraded.out());
            assertEquals("degraded", json.get("status").asText());
            assertEquals("routing", json.get("phase").asText());
            assertEquals(0.5, json.get("share").asDouble());
            assertTrue(json.get("problems").get(0).asText().contains("the new version"), json.toString());
            assertTrue(json.get("history").size() >= 2);

            try (Admin admin = TestBroker.admin()) {
                Map<TopicPartition, OffsetAndMetadata> router = admin.listConsumerGroupOffsets("canary-router-" + kit.topic)
                        .partitionsToOffsetAndMetadata().get();
                Map<TopicPartition, OffsetAndMetadata> fresh = admin.listConsumerGroupOffsets(kit.newGroup)
                        .partitionsToOffsetAndMetadata().get();
                for (JsonNode p : json.get("partitions")) {
                    int partition = p.get("partition").asInt();
                    long position = router.get(new TopicPartition(kit.topic, partition)).offset();
                    assertEquals(position, p.get("router_position").asLong(), "router position of partition " + partition);
                    long end = admin.listOffsets(Map.of(new TopicPartition(kit.topic, partition), OffsetSpec.latest()),
                            new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get().get(new TopicPartition(kit.topic, partition)).offset();
                    assertEquals(end - position, p.get("router_lag").asLong());
                    TopicPartition newTp = new TopicPartition(kit.topic + "_new", partition);
                    long newEnd = admin.listOffsets(Map.of(newTp, OffsetSpec.latest()), new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                            .all().get().get(newTp).offset();
                    long committed = fresh.get(newTp).offset();
                    long unprocessed = PlainCount.records(kit.topic + "_new", partition, committed, newEnd);
                    assertEquals(unprocessed, p.get("new_lag").asLong(), "records the new version has still to process on partition " + partition);
                    assertEquals(0, p.get("legacy_lag").asLong());
                    long routedNew = PlainCount.records(kit.topic + "_new", partition, 0, newEnd);
                    assertEquals(routedNew, p.get("routed_to_new").asLong());
                }
                long totalNewLag = 0;
                for (JsonNode p : json.get("partitions")) {
                    totalNewLag += p.get("new_lag").asLong();
                }
                assertTrue(totalNewLag > 50, "about half of 300 records wait for the new version: " + totalNewLag);
            }
        }
    }
}
