package canary;

import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Counts records with a plain read_committed consumer written here, not with the kit's code: expected values for the tests. */
final class PlainCount {

    private PlainCount() {
    }

    /** Records of one partition with {@code from <= offset < to}. */
    static long records(String topic, int partition, long from, long to) {
        Properties p = TestBroker.clientProperties();
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        TopicPartition tp = new TopicPartition(topic, partition);
        long n = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.assign(List.of(tp));
            c.seek(tp, from);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (c.position(tp) < to) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("could not read " + tp + " up to offset " + to + " within 30 s");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.offset() >= from && r.offset() < to) {
                        n++;
                    }
                }
            }
        }
        return n;
    }
}
