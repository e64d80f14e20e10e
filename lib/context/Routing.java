package canary.context;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.apache.kafka.common.utils.Utils;

import canary.common.UserException;
import canary.common.Words;

/**
 * How a record is routed to the new version; the share is the fraction of records that go to it.
 * One definition for both engines: the embedded router decides with {@link #toNew}, the ksqlDB
 * engine writes the same rule as SQL with the same {@link #BUCKETS} and {@link #threshold}.
 */
public enum Routing {
    /** Each record independently: new with probability {@code share}. */
    RANDOM("random"),
    /**
     * A stable hash of the key picks a bucket in [0, 10000); new if the bucket is below
     * {@code round(share * 10000)}. A key stays on one version while the share does not drop and
     * moves only from legacy to new when it rises. Records with a null key are routed at random.
     */
    KEY_HASH("key-hash"),
    /**
     * Whole partitions: the new version gets the first {@code ceil(share * partitions)} partitions of the
     * original topic (or a list given by the operator), every record of them, in order; the legacy version
     * the rest. Raising the share only adds partitions.
     */
    PARTITIONS("partitions");

    /** Key-hash buckets: a key's bucket is in [0, BUCKETS). */
    public static final int BUCKETS = 10_000;

    private final String word;

    Routing(String word) {
        this.word = word;
    }

    /** The name in the context file, the state and the output: random or key-hash. */
    @JsonValue
    public String word() {
        return word;
    }

    @JsonCreator
    public static Routing parse(String word) {
        String w = word == null ? "" : word.trim().toLowerCase(Locale.ROOT);
        return Words.find(values(), Routing::word, w)
                .orElseThrow(() -> new UserException("unknown routing '" + word + "': expected random, key-hash or partitions"));
    }

    /**
     * Whether a share change must drain first: a key (key-hash) or a partition (partitions) keeps its order only if the
     * version it leaves has processed all of its records before the other version gets the next one.
     */
    public boolean drainsOnShareChange() {
        return this == KEY_HASH || this == PARTITIONS;
    }

    /**
     * The partitions the new version gets at {@code share} with routing {@code partitions}: the first
     * {@code ceil(share * partitions)} (a share that is a whole number of partitions up to float error counts as that number),
     * so a higher share always keeps the partitions of a lower one.
     */
    public static List<Integer> firstPartitions(double share, int partitions) {
        int n = (int) Math.ceil(share * partitions - 1e-9);
        n = Math.max(0, Math.min(partitions, n));
        List<Integer> out = new ArrayList<>(n);
        for (int p = 0; p < n; p++) {
            out.add(p);
        }
        return List.copyOf(out);
    }

    /** A list of partitions as an operator writes it: {@code 0,1,4} or ranges {@code 0-3,5}; sorted, each once. */
    public static List<Integer> parsePartitions(String text) {
        java.util.TreeSet<Integer> out = new java.util.TreeSet<>();
        String t = text == null ? "" : text.trim();
        java.util.regex.Pattern one = java.util.regex.Pattern.compile("(\\d{1,5})(?:\\s*-\\s*(\\d{1,5}))?");
        for (String part : t.split(",", -1)) {
            java.util.regex.Matcher m = one.matcher(part.trim());
            if (!m.matches()) {
                throw new UserException("invalid partitions '" + text + "': expected partition numbers and ranges such as 0,1,4 or 0-3");
            }
            int from = Integer.parseInt(m.group(1));
            int to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
            if (to < from) {
                throw new UserException("invalid partitions '" + text + "': the range " + part.trim() + " runs backwards");
            }
            for (int i = from; i <= to; i++) {
                out.add(i);
            }
        }
        return List.copyOf(out);
    }

    /** Refuses a partition that the topic does not have. */
    public static void requireWithin(List<Integer> chosen, int partitions, String topic) {
        for (int p : chosen) {
            if (p < 0 || p >= partitions) {
                throw new UserException("partition " + p + " is not a partition of " + topic + " (it has " + partitions + ": 0 to "
                        + (partitions - 1) + ")");
            }
        }
    }

    /** The buckets that go to the new version: keys whose bucket is below this number. */
    public static long threshold(double share) {
        return Math.round(share * BUCKETS);
    }

    /** Decides once for a record: true when it goes to the new version. */
    public boolean toNew(byte[] key, double share) {
        if (share <= 0.0) {
            return false;
        }
        if (share >= 1.0) {
            return true;
        }
        if (this == PARTITIONS) {
            throw new IllegalStateException("routing partitions decides by partition: use Route");
        }
        if (this == KEY_HASH && key != null) {
            return bucket(key) < threshold(share);
        }
        return ThreadLocalRandom.current().nextDouble() < share;
    }

    /** The key's bucket in [0, 10000): murmur2, the hash Kafka's default partitioner uses. */
    public static int bucket(byte[] key) {
        return Utils.toPositive(Utils.murmur2(key)) % BUCKETS;
    }

    public static int bucket(String key) {
        return bucket(key.getBytes(StandardCharsets.UTF_8));
    }
}
