package canary.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import canary.common.Waits;
import canary.release.Lag;

/**
 * Counts records by reading them with {@code isolation.level=read_committed}: offsets are not record
 * counts (transaction markers, aborted records and compaction take offsets too), so integrity is
 * measured by reading.
 */
public final class RecordCounter {

    private final Properties client;

    public RecordCounter(Properties clientProperties) {
        this.client = clientProperties;
    }

    /** Records of {@code topic} per partition with {@code from[p] <= offset < to[p]}. */
    public Map<Integer, Long> count(String topic, Map<Integer, Long> from, Map<Integer, Long> to, Duration timeout) {
        Map<Integer, Long> counts = new TreeMap<>();
        List<TopicPartition> pending = new ArrayList<>();
        for (Map.Entry<Integer, Long> e : to.entrySet()) {
            long start = from.getOrDefault(e.getKey(), 0L);
            counts.put(e.getKey(), 0L);
            if (e.getValue() > start) {
                pending.add(new TopicPartition(topic, e.getKey()));
            }
        }
        if (pending.isEmpty()) {
            return counts;
        }
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            c.assign(pending);
            for (TopicPartition tp : pending) {
                c.seek(tp, from.getOrDefault(tp.partition(), 0L));
            }
            List<TopicPartition> open = new ArrayList<>(pending);
            Waits.whileWorking("the records of " + topic + " are counted", timeout, () -> {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.offset() < to.get(r.partition()) && r.offset() >= from.getOrDefault(r.partition(), 0L)) {
                        counts.merge(r.partition(), 1L, Long::sum);
                    }
                }
                open.removeIf(tp -> c.position(tp) >= to.get(tp.partition()));
                if (open.isEmpty()) {
                    return null;
                }
                c.pause(pending.stream().filter(tp -> !open.contains(tp)).toList());
                return open.size() + " partitions left";
            });
        }
        return counts;
    }

    /** Every record of a topic per partition (from its beginning to its end). */
    public Map<Integer, Long> countAll(KafkaCluster cluster, String topic, Duration timeout) {
        return count(topic, cluster.beginningOffsets(topic), cluster.endOffsets(topic), timeout);
    }

    /**
     * Records a group has still to process on a topic: read, not computed from offsets, so a
     * transaction marker after the last record is not taken for lag. Empty map entries mean none.
     */
    public Map<Integer, Long> unprocessed(KafkaCluster cluster, String group, String topic, Duration timeout) {
        Map<Integer, Long> lag = cluster.lag(group, topic);
        if (Lag.total(lag) == 0) {
            return lag;
        }
        Map<Integer, Long> end = cluster.endOffsets(topic);
        Map<Integer, Long> committed = cluster.committedOffsets(group, topic);
        Map<Integer, Long> begin = cluster.beginningOffsets(topic);
        Map<Integer, Long> from = new TreeMap<>();
        Map<Integer, Long> to = new TreeMap<>();
        lag.forEach((p, l) -> {
            from.put(p, committed.getOrDefault(p, begin.getOrDefault(p, 0L)));
            to.put(p, l > 0 ? end.get(p) : from.get(p));
        });
        return count(topic, from, to, timeout);
    }

    private KafkaConsumer<byte[], byte[]> consumer() {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        KafkaCluster.readToEnd(p);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "canary-counter-" + UUID.randomUUID().toString().substring(0, 8));
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
