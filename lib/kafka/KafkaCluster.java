package canary.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.time.Duration;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import canary.common.Durations;
import canary.common.Text;
import canary.common.UserException;
import canary.common.Waits;
import canary.release.Cluster;

/**
 * What the kit asks of a Kafka cluster, on top of an injected {@link Admin}: partitions, committed
 * offsets of a group, end offsets, lag, group members, topics. Offsets are per partition number.
 */
public final class KafkaCluster implements Cluster, AutoCloseable {

    static final int API_TIMEOUT_MS = 15_000;

    /**
     * Settings of a consumer that reads a range once and stops at its end (the state, the routed counts, records counted): a
     * fetch at the end returns after 20 ms instead of the default 500, which a read_committed reader meets whenever a
     * transaction marker follows the last record. A warm status spent about 1 s of its 1.2 s of asking in such waits.
     */
    static void readToEnd(java.util.Properties consumer) {
        consumer.put(org.apache.kafka.clients.consumer.ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
    }

    private final Admin admin;
    private final String where;
    private final RecordCounter counter;
    private final Properties clientProperties;

    /** @param clientProperties for the consumers that count records by reading them */
    public KafkaCluster(Admin admin, String where, Properties clientProperties) {
        this.admin = admin;
        this.where = where;
        this.counter = new RecordCounter(clientProperties);
        this.clientProperties = clientProperties;
    }

    /** An Admin with bounded timeouts: an unreachable broker fails in about 15 s with a clear line. */
    public static KafkaCluster connect(Properties clientProperties) {
        Properties p = new Properties();
        p.putAll(clientProperties);
        p.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(API_TIMEOUT_MS));
        p.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.putIfAbsent(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "2000");
        return new KafkaCluster(Admin.create(p), String.valueOf(p.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)), clientProperties);
    }

    /** The client settings this cluster's consumers use. */
    public Properties clientProperties() {
        return clientProperties;
    }

    public Admin admin() {
        return admin;
    }

    /**
     * Fails with a clear line when the cluster does not answer within {@code timeout} (at most the API timeout: a --timeout
     * shorter than it bounds the check too).
     */
    public void checkReachable(java.time.Duration timeout) {
        int ms = (int) Math.max(1, Math.min(API_TIMEOUT_MS, timeout.toMillis()));
        try {
            admin.describeCluster(new org.apache.kafka.clients.admin.DescribeClusterOptions().timeoutMs(ms)).nodes().get(ms + 5_000L, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TimeoutException) {
                throw new UserException(UserException.ENVIRONMENT, "cannot reach Kafka at " + where + " (no answer within "
                        + Durations.format(java.time.Duration.ofMillis(ms)) + "): check that the broker runs and the connection settings", e.getCause());
            }
            throw failure("describe the cluster", e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw unreachable("describe the cluster");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(UserException.ENVIRONMENT, "interrupted while trying to describe the cluster");
        }
    }

    /** How many brokers of the cluster answer (registered and not fenced). */
    public int brokerCount() {
        return get(admin.describeCluster().nodes(), "describe the cluster").size();
    }

    // ------------------------------------------------------------------ topics

    @Override
    public boolean topicExists(String topic) {
        return get(admin.listTopics().names(), "list topics").contains(topic);
    }

    /** Whether every one of {@code topics} exists, in one request. */
    @Override
    public boolean topicsExist(java.util.Collection<String> topics) {
        return get(admin.listTopics().names(), "list topics").containsAll(topics);
    }

    /** The partition count of a topic; a missing topic is an error naming it. */
    @Override
    public int partitions(String topic) {
        return describe(topic).partitions().size();
    }

    public TopicDescription describe(String topic) {
        try {
            return get(admin.describeTopics(List.of(topic)).allTopicNames(), "describe topic " + topic).get(topic);
        } catch (UserException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                throw new UserException("topic '" + topic + "' does not exist on " + where);
            }
            throw e;
        }
    }

    /**
     * Creates a topic unless it exists. An existing topic with another partition count is an error.
     *
     * @return true when it was created now
     */
    @Override
    public boolean createTopic(String topic, int partitions, Map<String, String> configs) {
        return createTopic(topic, partitions, Optional.empty(), configs);
    }

    /** {@link #createTopic(String, int, Map)} with a replication factor (empty: the cluster's default). */
    public boolean createTopic(String topic, int partitions, Optional<Short> replicationFactor, Map<String, String> configs) {
        try {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(partitions), replicationFactor).configs(configs)))
                    .all().get(API_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            awaitLeaders(topic, partitions);
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TopicExistsException) {
                int existing = partitions(topic);
                if (existing != partitions) {
                    throw new UserException("topic '" + topic + "' already exists with " + existing + " partitions, expected " + partitions);
                }
                return false;
            }
            throw failure("create topic " + topic, e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw unreachable("create topic " + topic);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(UserException.ENVIRONMENT, "interrupted");
        }
    }

    /**
     * The topic-level configs a derived topic takes from the original: what the services depend on (how long records stay,
     * compaction, the largest record, which timestamp, compression, how many replicas must acknowledge).
     */
    public static final List<String> MIRRORED_CONFIGS = List.of("retention.ms", "retention.bytes", "cleanup.policy", "max.message.bytes",
            "message.timestamp.type", "compression.type", "min.insync.replicas");

    /** The largest record a topic takes when nothing says otherwise (Kafka's default of max.message.bytes). */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

    /**
     * What a derived topic copies from the original: its partitions, its replication factor (at most the number of brokers),
     * the {@link #MIRRORED_CONFIGS} set on the original topic itself (those left at a default are left at the same default:
     * the derived topic lives in the same cluster and gets the same value), and the largest record the original accepts.
     */
    public record TopicShape(int partitions, int replicationFactor, Map<String, String> configs, int maxMessageBytes) {

        /** "3 partitions, replication factor 1, max.message.bytes=2097152, cleanup.policy=compact" for progress lines. */
        public String describe() {
            return partitions + " partitions, replication factor " + replicationFactor + (configs.isEmpty() ? ", the cluster's default configs"
                    : ", " + String.join(", ", configs.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()));
        }

        /** This shape with another partition count (the one the start offsets were captured for). */
        public TopicShape withPartitions(int n) {
            return new TopicShape(n, replicationFactor, configs, maxMessageBytes);
        }
    }

    /** The shape of {@code original} that its derived topics take (see {@link TopicShape}). */
    public TopicShape shapeOf(String original) {
        TopicDescription d = describe(original);
        int replicas = d.partitions().isEmpty() ? 1 : d.partitions().get(0).replicas().size();
        int brokers = get(admin.describeCluster().nodes(), "describe the cluster").size();
        Map<String, ConfigEntry> entries = topicConfigs(original);
        int rf = Math.max(1, Math.min(replicas, brokers));
        Map<String, String> configs = new java.util.LinkedHashMap<>();
        for (String key : MIRRORED_CONFIGS) {
            ConfigEntry e = entries.get(key);
            if (e != null && e.value() != null && e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) {
                configs.put(key, e.value());
            }
        }
        // A derived topic with fewer replicas than the original (fewer brokers now) must still take writes.
        configs.computeIfPresent("min.insync.replicas", (k, v) -> String.valueOf(Math.min(Integer.parseInt(v), rf)));
        return new TopicShape(d.partitions().size(), rf, Map.copyOf(configs), maxMessageBytes(entries));
    }

    /** The largest record {@code topic} accepts (its max.message.bytes, wherever it is set). */
    public int maxMessageBytes(String topic) {
        return maxMessageBytes(topicConfigs(topic));
    }

    private static int maxMessageBytes(Map<String, ConfigEntry> entries) {
        ConfigEntry e = entries.get("max.message.bytes");
        try {
            return e == null || e.value() == null ? DEFAULT_MAX_MESSAGE_BYTES : Integer.parseInt(e.value());
        } catch (NumberFormatException x) {
            return DEFAULT_MAX_MESSAGE_BYTES;
        }
    }

    /** Every config of a topic, by name, with where its value comes from. */
    public Map<String, ConfigEntry> topicConfigs(String topic) {
        ConfigResource r = new ConfigResource(
                ConfigResource.Type.TOPIC, topic);
        Config c = get(admin.describeConfigs(List.of(r)).all(), "describe the configs of topic " + topic).get(r);
        Map<String, ConfigEntry> out = new TreeMap<>();
        for (ConfigEntry e : c.entries()) {
            out.put(e.name(), e);
        }
        return out;
    }

    /**
     * Creates a topic shaped like {@code shape} unless it exists (an existing one with another partition count is an error).
     *
     * @return true when it was created now
     */
    public boolean createTopic(String topic, TopicShape shape) {
        return createTopic(topic, shape.partitions(), Optional.of((short) shape.replicationFactor()), shape.configs());
    }

    /**
     * Adds partitions to {@code topic} until it has {@code partitions} (nothing when it has them already) and waits until each
     * has a leader.
     *
     * @return whether partitions were added now
     */
    public boolean growTo(String topic, int partitions) {
        if (partitions(topic) >= partitions) {
            return false;
        }
        try {
            get(admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(partitions))).all(),
                    "add partitions to " + topic);
        } catch (UserException e) {
            // Another router instance grew it at the same moment.
            if (!(e.getCause() instanceof InvalidPartitionsException) || partitions(topic) < partitions) {
                throw e;
            }
        }
        awaitLeaders(topic, partitions);
        return true;
    }

    private void awaitLeaders(String topic, int partitions) {
        // Writing to a partition before its leader is known can fail; wait until every partition answers.
        Waits.until("topic " + topic + " has a leader on every partition", java.time.Duration.ofMillis(API_TIMEOUT_MS), Waits.quiet(), () -> {
            try {
                return describe(topic).partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())
                        && endOffsets(topic).size() == partitions;
            } catch (UserException e) {
                return false;
            }
        });
    }

    /** Deletes the topics that exist; returns those it deleted. */
    public List<String> deleteTopics(Collection<String> topics) {
        List<String> existing = new ArrayList<>();
        var names = get(admin.listTopics().names(), "list topics");
        for (String t : topics) {
            if (names.contains(t)) {
                existing.add(t);
            }
        }
        if (!existing.isEmpty()) {
            try {
                get(admin.deleteTopics(existing).all(), "delete topics " + existing);
            } catch (UserException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw e;
                }
            }
        }
        return existing;
    }

    // ------------------------------------------------------------------ offsets

    /** Committed offsets of a group on a topic; partitions without a committed offset are absent. */
    @Override
    public Map<Integer, Long> committedOffsets(String group, String topic) {
        Map<TopicPartition, OffsetAndMetadata> all = get(admin.listConsumerGroupOffsets(Map.of(group, new ListConsumerGroupOffsetsSpec()),
                new org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions().requireStable(true))
                .partitionsToOffsetAndMetadata(group), "read the committed offsets of group " + group);
        Map<Integer, Long> out = new TreeMap<>();
        all.forEach((tp, om) -> {
            if (tp.topic().equals(topic) && om != null) {
                out.put(tp.partition(), om.offset());
            }
        });
        return out;
    }

    /** End offsets as a read_committed consumer sees them (the last stable offset). */
    @Override
    public Map<Integer, Long> endOffsets(String topic) {
        return offsets(topic, OffsetSpec.latest());
    }

    @Override
    public Map<Integer, Long> beginningOffsets(String topic) {
        return offsets(topic, OffsetSpec.earliest());
    }

    /**
     * Partitions where a transaction is still open or its markers are not all written yet: the last
     * stable offset is below the high watermark. Empty when every record is committed or aborted.
     */
    public Map<Integer, Long> undecided(String topic) {
        Map<Integer, Long> stable = endOffsets(topic);
        Map<Integer, Long> high = highWatermarks(topic);
        Map<Integer, Long> out = new TreeMap<>();
        high.forEach((p, h) -> {
            if (h > stable.getOrDefault(p, h)) {
                out.put(p, h - stable.get(p));
            }
        });
        return out;
    }

    /** The end of each partition as a read_uncommitted reader sees it: after every record written, open transactions' too. */
    public Map<Integer, Long> highWatermarks(String topic) {
        return offsets(topic, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED);
    }

    private Map<Integer, Long> offsets(String topic, OffsetSpec spec) {
        return offsets(topic, spec, IsolationLevel.READ_COMMITTED);
    }

    private Map<Integer, Long> offsets(String topic, OffsetSpec spec, IsolationLevel isolation) {
        int n = partitions(topic);
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < n; p++) {
            request.put(new TopicPartition(topic, p), spec);
        }
        Map<TopicPartition, ListOffsetsResultInfo> res = get(admin.listOffsets(request,
                new ListOffsetsOptions(isolation)).all(), "read the offsets of " + topic);
        Map<Integer, Long> out = new TreeMap<>();
        res.forEach((tp, info) -> out.put(tp.partition(), info.offset()));
        return out;
    }

    /**
     * Lag of a group on a topic per partition: end offset minus committed offset (a partition without
     * a committed offset counts from the beginning of the partition).
     */
    @Override
    public Map<Integer, Long> lag(String group, String topic) {
        Map<Integer, Long> end = endOffsets(topic);
        Map<Integer, Long> committed = committedOffsets(group, topic);
        Map<Integer, Long> begin = committed.size() == end.size() ? Map.of() : beginningOffsets(topic);
        Map<Integer, Long> out = new TreeMap<>();
        end.forEach((p, e) -> out.put(p, Math.max(0, e - committed.getOrDefault(p, begin.getOrDefault(p, 0L)))));
        return out;
    }

    @Override
    public Map<Integer, Long> unprocessed(String group, String topic, Duration timeout) {
        return counter.unprocessed(this, group, topic, timeout);
    }

    @Override
    public Map<Integer, Long> countAll(String topic, Duration timeout) {
        return counter.countAll(this, topic, timeout);
    }

    /** Records of {@code topic} per partition with {@code from[p] <= offset < to[p]}, read with read_committed. */
    public Map<Integer, Long> count(String topic, Map<Integer, Long> from, Map<Integer, Long> to, Duration timeout) {
        return counter.count(topic, from, to, timeout);
    }

    /** Sets a group's committed offsets on a topic. The group must have no members. */
    @Override
    public void setOffsets(String group, String topic, Map<Integer, Long> offsets) {
        Map<TopicPartition, OffsetAndMetadata> req = new HashMap<>();
        offsets.forEach((p, o) -> req.put(new TopicPartition(topic, p), new OffsetAndMetadata(o)));
        get(admin.alterConsumerGroupOffsets(group, req).all(), "set the offsets of group " + group + " on " + topic);
    }

    // ------------------------------------------------------------------ groups

    @Override
    public List<Member> members(String group) {
        ConsumerGroupDescription d = describeGroup(group);
        if (d == null) {
            return List.of();
        }
        List<Member> out = new ArrayList<>();
        for (MemberDescription m : d.members()) {
            out.add(new Member(m.consumerId(), m.clientId(), m.host().replaceFirst("^/", ""),
                    m.assignment().topicPartitions().stream().map(TopicPartition::partition).sorted().toList()));
        }
        return out;
    }

    public Optional<GroupState> groupState(String group) {
        ConsumerGroupDescription d = describeGroup(group);
        return d == null ? Optional.empty() : Optional.of(d.groupState());
    }

    private ConsumerGroupDescription describeGroup(String group) {
        try {
            Map<String, KafkaFuture<ConsumerGroupDescription>> m = admin.describeConsumerGroups(List.of(group)).describedGroups();
            return get(m.get(group), "describe group " + group);
        } catch (UserException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return null;
            }
            throw e;
        }
    }

    public void deleteGroup(String group) {
        try {
            get(admin.deleteConsumerGroups(List.of(group)).all(), "delete group " + group);
        } catch (UserException e) {
            if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                throw e;
            }
        }
    }

    // ------------------------------------------------------------------ plumbing

    <T> T get(KafkaFuture<T> future, String what) {
        try {
            return future.get(API_TIMEOUT_MS + 5_000L, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw failure(what, e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw unreachable(what);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(UserException.ENVIRONMENT, "interrupted while trying to " + what);
        }
    }

    private UserException failure(String what, Throwable cause) {
        if (cause instanceof TimeoutException) {
            return new UserException(UserException.ENVIRONMENT, "cannot reach Kafka at " + where + " (no answer within "
                    + API_TIMEOUT_MS / 1000 + " s while trying to " + what + "): check that the broker runs and the connection settings", cause);
        }
        UserException known = KafkaErrors.explain(cause);
        String message = known != null ? known.getMessage() : cause.getClass().getSimpleName() + ": " + Text.firstLine(cause.getMessage());
        return new UserException(known != null ? known.exitCode() : UserException.ENVIRONMENT, "cannot " + what + ": " + message, cause);
    }

    private UserException unreachable(String what) {
        return new UserException(UserException.ENVIRONMENT, "cannot reach Kafka at " + where + " (no answer within "
                + API_TIMEOUT_MS / 1000 + " s while trying to " + what + "): check that the broker runs and the connection settings");
    }

    @Override
    public void close() {
        admin.close(java.time.Duration.ofSeconds(5));
    }
}
