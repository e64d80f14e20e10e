package canary.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import canary.common.Json;
import canary.common.Waits;

/**
 * The routed counts of a release: in the compacted topic {@code <topic>_canary_counts} (one partition per partition of the
 * original topic), the router writes, in the same transaction as the records it routed, one cumulative record per source
 * partition it routed from: how many records of that partition went to each version since the start offset. The latest
 * committed record of a partition is therefore exactly what the derived topics hold for it, and reading it costs a few
 * records per partition however many were routed. A record carries the partition's start offset: one left by an earlier
 * release of the same topic (other start offsets) counts as nothing.
 */
public final class RoutedCounts {

    /** The topic's settings: compacted, so that it keeps about one record per partition however long the release routes. */
    public static final Map<String, String> TOPIC_CONFIGS = Map.of(
            "cleanup.policy", "compact",
            "segment.ms", String.valueOf(Duration.ofMinutes(10).toMillis()),
            "min.cleanable.dirty.ratio", "0.1");

    /** How far back from the end of a partition reading starts: each commit adds a record and a marker. */
    private static final int WINDOW = 16;

    /** The cumulative count of one source partition: records from {@code startOffset} up to {@code position}. */
    public record Count(int partition, long startOffset, long position, long legacy, long toNew) {
        public Count plus(long moreLegacy, long moreNew, long newPosition) {
            return new Count(partition, startOffset, newPosition, legacy + moreLegacy, toNew + moreNew);
        }
    }

    private RoutedCounts() {
    }

    /** The record to send to the counts topic, in the same transaction as the routed records it counts. */
    public static ProducerRecord<byte[], byte[]> record(String countsTopic, String context, Count c) {
        try {
            return new ProducerRecord<>(countsTopic, c.partition(), (context + "/" + c.partition()).getBytes(StandardCharsets.UTF_8),
                    Json.MAPPER.writeValueAsBytes(c));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The latest committed count of each partition in {@code partitions} whose start offset is the one in {@code startOffsets}
     * (a partition without one is absent: nothing was routed from it in this release). Reads a few records at the end of each
     * partition (read_committed), going further back only past aborted transactions.
     */
    public static Map<Integer, Count> latest(Properties client, String countsTopic, String context, Collection<Integer> partitions,
                                             Map<Integer, Long> startOffsets, Duration timeout) {
        Map<Integer, Count> out = new TreeMap<>();
        if (partitions.isEmpty()) {
            return out;
        }
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "canary-counts-" + UUID.randomUUID().toString().substring(0, 8));
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        KafkaCluster.readToEnd(p);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = partitions.stream().map(n -> new TopicPartition(countsTopic, n)).toList();
            c.assign(tps);
            Map<TopicPartition, Long> begin = c.beginningOffsets(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps); // read_committed: the last stable offset
            Map<TopicPartition, Long> from = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
            for (TopicPartition tp : tps) {
                from.put(tp, end.get(tp));
            }
            long window = WINDOW;
            List<TopicPartition> open = new ArrayList<>(tps);
            while (!open.isEmpty()) {
                List<TopicPartition> reading = new ArrayList<>();
                Map<TopicPartition, Long> to = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
                for (TopicPartition tp : open) {
                    long stop = from.get(tp);
                    long start = Math.max(begin.get(tp), stop - window);
                    if (start >= stop) {
                        continue;
                    }
                    from.put(tp, start);
                    to.put(tp, stop);
                    reading.add(tp);
                }
                if (reading.isEmpty()) {
                    break;
                }
                Map<Integer, Count> found = read(c, reading, from, to, context, timeout);
                found.forEach((n, count) -> {
                    Long start = startOffsets.get(n);
                    if (start != null && start == count.startOffset()) {
                        out.put(n, count);
                    }
                });
                // A partition with a record (of this release or an earlier one) is decided; the others go further back.
                open.removeIf(tp -> found.containsKey(tp.partition()) || from.get(tp) <= begin.get(tp));
                window *= 4;
            }
        }
        return out;
    }

    /** The last count record of each partition in [from, to). */
    private static Map<Integer, Count> read(KafkaConsumer<byte[], byte[]> c, List<TopicPartition> tps, Map<TopicPartition, Long> from,
                                            Map<TopicPartition, Long> to, String context, Duration timeout) {
        Map<Integer, Count> last = new TreeMap<>();
        c.assign(tps);
        for (TopicPartition tp : tps) {
            c.seek(tp, from.get(tp));
        }
        List<TopicPartition> open = new ArrayList<>(tps);
        Waits.whileWorking("the routed counts in " + tps.get(0).topic() + " are read", timeout, () -> {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                if (r.offset() < to.get(tp) && r.key() != null
                        && new String(r.key(), StandardCharsets.UTF_8).equals(context + "/" + r.partition())) {
                    try {
                        last.put(r.partition(), Json.MAPPER.readValue(r.value(), Count.class));
                    } catch (IOException e) {
                        // an unreadable record counts as none: the next commit writes a readable one after it
                    }
                }
            }
            open.removeIf(tp -> c.position(tp) >= to.get(tp));
            return open.isEmpty() ? null : open.size() + " partitions left";
        });
        return last;
    }
}
