package canary;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

import org.apache.kafka.common.utils.Utils;

/**
 * How a record is routed to the new version. The share is the fraction of records that go to the
 * new version.
 */
public enum Routing {
    /** Each record independently: new with probability {@code share}. */
    RANDOM("random"),
    /**
     * A stable hash of the key picks a bucket in [0, 10000); new if the bucket is below
     * {@code share * 10000}. A key stays on one version while the share does not drop and moves
     * only from legacy to new when it rises. Records with a null key are routed at random.
     */
    KEY_HASH("key-hash");

    public static final int BUCKETS = 10_000;

    public final String word;

    Routing(String word) {
        this.word = word;
    }

    public static Routing parse(String word) {
        for (Routing r : values()) {
            if (r.word.equals(word)) {
                return r;
            }
        }
        throw new UserException("unknown routing '" + word + "': expected random or key-hash");
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
            return bucket(key) < Math.round(share * BUCKETS);
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
