package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.demo.DummyService;
import canary.kafka.KafkaCluster;

/**
 * Derived topics take the original's configuration: with max.message.bytes 2 MiB on the original, a record of 1.5 MiB is routed
 * and processed once; retention, compaction, timestamp type and compression equal the original's; the state topic keeps the
 * cluster's min.insync.replicas. Expected values are read with a plain Admin client.
 */
class TopicConfigsTest {

    private static final int TWO_MIB = 2 * 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void a_record_of_1_5_MiB_is_routed_and_processed_once_and_the_derived_topics_have_the_originals_configs() throws Exception {
        try (Kit kit = new Kit(dir, 3, ""); TestProducer producer = new TestProducer(kit.topic); Admin admin = TestBroker.admin()) {
            alter(admin, kit.topic, Map.of("max.message.bytes", String.valueOf(TWO_MIB), "retention.ms", "259200000",
                    "message.timestamp.type", "LogAppendTime", "compression.type", "lz4", "min.insync.replicas", "1"));
            kit.legacyHasProcessed(producer, 50);
            producer.startBackground(50);
            Kit.Run migration = kit.migration("0.5").ok();
            assertTrue(migration.out().contains("max.message.bytes=" + TWO_MIB), migration.out());
            assertMirrored(admin, kit.topic);

            List<String> big = new ArrayList<>();
            Properties p = TestBroker.clientProperties();
            p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(TWO_MIB));
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            try (KafkaProducer<byte[], byte[]> large = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < 4; i++) {
                    String id = "big-" + i + "-" + kit.topic;
                    String value = "{\"id\":\"" + id + "\",\"pad\":\"" + "x".repeat(1536 * 1024) + "\"}";
                    large.send(new ProducerRecord<>(kit.topic, i % 3, id.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8))).get();
                    big.add(id);
                }
            }
            kit.awaitRouted(150);
            kit.checkData().ok();
            kit.promote().ok();
            List<String> produced = new ArrayList<>(producer.stop());
            produced.addAll(big);
            kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced);
            long processedBig = kit.processed(kit.legacyGroup).stream().map(DummyService.Processed::id).filter(big::contains).count()
                    + kit.processed(kit.newGroup).stream().map(DummyService.Processed::id).filter(big::contains).count();
            assertEquals(big.size(), processedBig, "every 1.5 MiB record was processed once");

            Map<String, ConfigEntry> state = configs(admin, kit.topic + "_canary_state");
            assertEquals("compact", state.get("cleanup.policy").value());
            assertNotEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, state.get("min.insync.replicas").source(),
                    "the state topic takes the cluster's min.insync.replicas");
        }
    }

    @Test
    void a_compacted_original_with_a_size_limit_gives_compacted_derived_topics_with_the_same_limit() throws Exception {
        try (Kit kit = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(kit.topic); Admin admin = TestBroker.admin()) {
            alter(admin, kit.topic, Map.of("cleanup.policy", "compact,delete", "retention.bytes", "104857600",
                    "message.timestamp.type", "CreateTime"));
            kit.legacyHasProcessed(producer, 20);
            kit.migration("0.5").ok();
            assertMirrored(admin, kit.topic);
            assertEquals("compact,delete", configs(admin, kit.topic + "_new").get("cleanup.policy").value());
        }
    }

    /** The listed configs of both derived topics equal the original's, and they have its partitions and replication factor. */
    private static void assertMirrored(Admin admin, String topic) throws Exception {
        Map<String, String> original = mirrored(configs(admin, topic));
        var d = admin.describeTopics(List.of(topic, topic + "_legacy", topic + "_new")).allTopicNames().get();
        for (String derived : List.of(topic + "_legacy", topic + "_new")) {
            assertEquals(original, mirrored(configs(admin, derived)), derived);
            assertEquals(d.get(topic).partitions().size(), d.get(derived).partitions().size(), derived + " partitions");
            assertEquals(d.get(topic).partitions().get(0).replicas().size(), d.get(derived).partitions().get(0).replicas().size(),
                    derived + " replication factor");
        }
    }

    private static Map<String, String> mirrored(Map<String, ConfigEntry> all) {
        Map<String, String> out = new TreeMap<>();
        for (String key : KafkaCluster.MIRRORED_CONFIGS) {
            out.put(key, all.get(key).value());
        }
        return out;
    }

    private static void alter(Admin admin, String topic, Map<String, String> configs) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        List<AlterConfigOp> ops = configs.entrySet().stream()
                .map(e -> new AlterConfigOp(new ConfigEntry(e.getKey(), e.getValue()), AlterConfigOp.OpType.SET)).toList();
        admin.incrementalAlterConfigs(Map.of(r, ops)).all().get();
    }

    private static Map<String, ConfigEntry> configs(Admin admin, String topic) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config c = admin.describeConfigs(List.of(r)).all().get().get(r);
        Map<String, ConfigEntry> out = new TreeMap<>();
        c.entries().forEach(e -> out.put(e.name(), e));
        return out;
    }
}
