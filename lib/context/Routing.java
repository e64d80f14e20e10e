package canary.context;

import java.nio.charset.StandardCharsets;
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
    KEY_HASH("key-hash");

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
                .orElseThrow(() -> new UserException("unknown routing '" + word + "': expected random or key-hash"));
    }

    /** Whether a share change must drain first: a key must never be processed by both versions at once. */
    public boolean drainsOnShareChange() {
        return this == KEY_HASH;
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
