package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

import canary.common.UserException;
import canary.common.Waits;
import canary.kafka.KafkaCluster;
import canary.release.Lag;

/** The admin helper against the real broker: offsets, lag, members, topics. */
class KafkaClusterTest {

    @Test
    void reads_committed_offsets_end_offsets_lag_and_members() throws Exception {
        String topic = TestBroker.unique("admin");
        String group = topic + "-group";
        try (KafkaCluster c = KafkaCluster.connect(TestBroker.clientProperties()); TestProducer producer = new TestProducer(topic)) {
            assertTrue(c.createTopic(topic, 3, Map.of()));
            assertFalse(c.createTopic(topic, 3, Map.of()), "creating an existing topic is idempotent");
            UserException mismatch = assertThrows(UserException.class, () -> c.createTopic(topic, 4, Map.of()));
            assertTrue(mismatch.getMessage().contains("already exists with 3 partitions, expected 4"), mismatch.getMessage());
            assertEquals(3, c.partitions(topic));
            producer.produce(90);
            Map<Integer, Long> end = c.endOffsets(topic);
            assertEquals(90, Lag.total(end));
            assertEquals(Map.of(0, 0L, 1, 0L, 2, 0L), c.beginningOffsets(topic));

            assertEquals(Map.of(), c.committedOffsets(group, topic), "no commit yet");
            assertEquals(end, c.lag(group, topic), "without a commit the whole partition is lag");
            c.setOffsets(group, topic, Map.of(0, 1L, 1, 2L, 2, end.get(2)));
            assertEquals(Map.of(0, 1L, 1, 2L, 2, end.get(2)), c.committedOffsets(group, topic));
            assertEquals(Map.of(0, end.get(0) - 1, 1, end.get(1) - 2, 2, 0L), c.lag(group, topic));
            assertTrue(c.members(group).isEmpty());

            Properties p = TestBroker.clientProperties();
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                consumer.subscribe(List.of(topic));
                Waits.until("the consumer joined", Duration.ofSeconds(30), Waits.quiet(), () -> {
                    consumer.poll(Duration.ofMillis(100));
                    return !consumer.assignment().isEmpty();
                });
                assertEquals(1, c.members(group).size());
                consumer.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(end.get(0))));
                assertEquals(0L, c.lag(group, topic).get(0));
            }
            Waits.until("the group is empty", Duration.ofSeconds(30), Waits.quiet(), () -> c.members(group).isEmpty());

            assertEquals(List.of(topic), c.deleteTopics(List.of(topic, topic + "-never-existed")));
            UserException missing = assertThrows(UserException.class, () -> c.partitions(topic + "-never-existed"));
            assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        }
    }

    @Test
    void counts_records_by_reading_them_so_transaction_markers_are_not_records() throws Exception {
        String topic = TestBroker.unique("markers");
        try (KafkaCluster c = KafkaCluster.connect(TestBroker.clientProperties())) {
            c.createTopic(topic, 1, Map.of());
            Properties p = TestBroker.clientProperties();
            p.put("transactional.id", topic + "-tx");
            try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(p,
                    new org.apache.kafka.common.serialization.ByteArraySerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer())) {
                producer.initTransactions();
                for (int t = 0; t < 5; t++) {
                    producer.beginTransaction();
                    producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, new byte[]{1}));
                    producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, new byte[]{2}));
                    if (t == 2) {
                        producer.flush(); // the aborted records are written, then marked aborted
                        producer.abortTransaction();
                    } else {
                        producer.commitTransaction();
                    }
                }
            }
            // 10 records and 5 markers take 15 offsets; 2 records were aborted.
            // Markers are written by the transaction coordinator after the commit returns.
            Waits.until("the last marker is written", Duration.ofSeconds(30), Waits.quiet(), () -> c.endOffsets(topic).get(0) == 15L);
            assertEquals(8L, c.countAll(topic, Duration.ofSeconds(30)).get(0));
            String group = topic + "-g";
            c.setOffsets(group, topic, Map.of(0, 14L));
            assertEquals(1L, c.lag(group, topic).get(0), "offset lag counts the final marker");
            assertEquals(0L, c.unprocessed(group, topic, Duration.ofSeconds(30)).get(0),
                    "but no record is left to process");
        }
    }
}
