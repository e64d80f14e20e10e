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
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
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

    private final Admin admin;
    private final String where;
    private final RecordCounter counter;

    /** @param clientProperties for the consumers that count records by reading them */
    public KafkaCluster(Admin admin, String where, Properties clientProperties) {
        this.admin = admin;
        this.where = where;
        this.counter = new RecordCounter(clientProperties);
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
        try {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(partitions), Optional.empty()).configs(configs)))
                    .all().get(API_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            // Writing to a partition before its leader is known can fail; wait until every partition answers.
            Waits.until("topic " + topic + " has a leader on every partition", java.time.Duration.ofMillis(API_TIMEOUT_MS), Waits.quiet(), () -> {
                try {
                    return describe(topic).partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())
                            && endOffsets(topic).size() == partitions;
                } catch (UserException e) {
                    return false;
                }
            });
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
        Map<Integer, Long> high = offsets(topic, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED);
        Map<Integer, Long> out = new TreeMap<>();
        high.forEach((p, h) -> {
            if (h > stable.getOrDefault(p, h)) {
                out.put(p, h - stable.get(p));
            }
        });
        return out;
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
