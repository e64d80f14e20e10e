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
 * The routed counts of a release: in the compacted topic {@code <topic>_canary_counts}, the router writes, in the same
 * transaction as the records it routed, one cumulative record per source partition it routed from (key
 * {@code <context>/<partition>}): how many records of that partition went to each version since the start offset. The latest
 * committed record of a key is therefore exactly what the derived topics hold for that partition, and reading it costs a few
 * records per partition however many were routed. A record carries the partition's start offset: one left by an earlier
 * release of the same topic (other start offsets) counts as nothing.
 *
 * <p>The topic has one partition ({@link #PARTITIONS}), so that a transaction adds one partition (and one marker) for its
 * counts however many source partitions it routed from. Source partition {@code p} is written to partition
 * {@code p % n} of a topic of {@code n} partitions: a topic made by an earlier version of the kit (one partition per source
 * partition) is read and written as it is, and partitions added to the original during a release need no new ones.
 */
public final class RoutedCounts {

    /** The topic's settings: compacted, so that it keeps about one record per partition however long the release routes. */
    public static final Map<String, String> TOPIC_CONFIGS = Map.of(
            "cleanup.policy", "compact",
            "segment.ms", String.valueOf(Duration.ofMinutes(10).toMillis()),
            "min.cleanable.dirty.ratio", "0.1");

    /** Partitions of a counts topic the migration creates. */
    public static final int PARTITIONS = 1;

    /** How far back from the end of a partition reading starts: each commit adds a record per source partition and a marker. */
    private static final int WINDOW = 16;

    /** The cumulative count of one source partition: records from {@code startOffset} up to {@code position}. */
    public record Count(int partition, long startOffset, long position, long legacy, long toNew) {
        public Count plus(long moreLegacy, long moreNew, long newPosition) {
            return new Count(partition, startOffset, newPosition, legacy + moreLegacy, toNew + moreNew);
        }
    }

    private RoutedCounts() {
    }

    /** The partition of a counts topic of {@code countsPartitions} partitions that holds the counts of source partition {@code p}. */
    public static int partitionOf(int p, int countsPartitions) {
        return p % countsPartitions;
    }

    /** The record to send to the counts topic (of {@code countsPartitions} partitions), in the same transaction as the routed records it counts. */
    public static ProducerRecord<byte[], byte[]> record(String countsTopic, int countsPartitions, String context, Count c) {
        try {
            return new ProducerRecord<>(countsTopic, partitionOf(c.partition(), countsPartitions),
                    (context + "/" + c.partition()).getBytes(StandardCharsets.UTF_8),
                    Json.MAPPER.writeValueAsBytes(c));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The latest committed count of each partition in {@code partitions} whose start offset is the one in {@code startOffsets}
     * (a partition without one is absent: nothing was routed from it in this release). Reads a few records at the end of the
     * counts partitions that hold them (read_committed), going further back only for keys not met yet.
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
            int n = c.partitionsFor(countsTopic, timeout).size();
            if (n == 0) {
                return out;
            }
            // the source partitions each counts partition holds, still to be decided (a record of this or an earlier release met)
            Map<TopicPartition, java.util.Set<Integer>> wanted = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
            for (int source : partitions) {
                wanted.computeIfAbsent(new TopicPartition(countsTopic, partitionOf(source, n)), k -> new java.util.TreeSet<>()).add(source);
            }
            List<TopicPartition> tps = new ArrayList<>(wanted.keySet());
            c.assign(tps);
            Map<TopicPartition, Long> begin = c.beginningOffsets(tps);
            Map<TopicPartition, Long> from = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
            from.putAll(c.endOffsets(tps)); // read_committed: the last stable offset
            long window = WINDOW * (long) Math.max(1, partitions.size());
            while (!wanted.isEmpty()) {
                List<TopicPartition> reading = new ArrayList<>();
                Map<TopicPartition, Long> to = new TreeMap<>(java.util.Comparator.comparingInt(TopicPartition::partition));
                for (TopicPartition tp : wanted.keySet()) {
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
                // The last record of each key in this range; the ranges go back in time, so a key met once is decided.
                Map<Integer, Count> found = read(c, reading, from, to, context, timeout);
                found.forEach((source, count) -> {
                    java.util.Set<Integer> left = wanted.get(new TopicPartition(countsTopic, partitionOf(source, n)));
                    if (left != null && left.remove(source)) {
                        Long start = startOffsets.get(source);
                        if (start != null && start == count.startOffset()) {
                            out.put(source, count);
                        }
                    }
                });
                wanted.entrySet().removeIf(e -> e.getValue().isEmpty() || from.get(e.getKey()) <= begin.get(e.getKey()));
                window *= 4;
            }
        }
        return out;
    }

    /** The source partition a key {@code <context>/<partition>} of this context names; null for another context's or none. */
    static Integer sourcePartition(byte[] key, String context) {
        if (key == null) {
            return null;
        }
        String k = new String(key, StandardCharsets.UTF_8);
        if (!k.startsWith(context + "/")) {
            return null;
        }
        try {
            return Integer.valueOf(k.substring(context.length() + 1));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The last count record of each source partition (of this context) in [from, to) of the given counts partitions. */
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
                Integer source = r.offset() < to.get(tp) ? sourcePartition(r.key(), context) : null;
                if (source != null) {
                    try {
                        last.put(source, Json.MAPPER.readValue(r.value(), Count.class));
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
