package canary.release;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What the release logic asks of the Kafka cluster. Offsets and counts are per partition number.
 * Implemented on a real cluster by {@code canary.kafka.KafkaCluster}; the fast tests use an
 * in-memory fake.
 */
public interface Cluster {

    /** A member of a consumer group: who, where, and the partitions it holds. */
    record Member(String memberId, String clientId, String host, List<Integer> partitions) {
    }

    boolean topicExists(String topic);

    /** Whether every one of {@code topics} exists. */
    default boolean topicsExist(java.util.Collection<String> topics) {
        return topics.stream().allMatch(this::topicExists);
    }

    /** The partition count of a topic; a missing topic is an error naming it. */
    int partitions(String topic);

    /** Creates a topic unless it exists; true when it was created now. */
    boolean createTopic(String topic, int partitions, Map<String, String> configs);

    /** Committed offsets of a group on a topic; partitions without a committed offset are absent. */
    Map<Integer, Long> committedOffsets(String group, String topic);

    /** Sets a group's committed offsets on a topic. The group must have no members. */
    void setOffsets(String group, String topic, Map<Integer, Long> offsets);

    Map<Integer, Long> beginningOffsets(String topic);

    /** End offsets as a read_committed consumer sees them (the last stable offset). */
    Map<Integer, Long> endOffsets(String topic);

    /** End offset minus committed offset per partition (from the beginning where nothing is committed). */
    Map<Integer, Long> lag(String group, String topic);

    /** Records a group still has to process on a topic, counted by reading (a transaction marker is not lag). */
    Map<Integer, Long> unprocessed(String group, String topic, Duration timeout);

    /** Every record of a topic per partition, read with read_committed. */
    Map<Integer, Long> countAll(String topic, Duration timeout);

    /** The members of a group (empty when the group does not exist or has none). */
    List<Member> members(String group);
}
