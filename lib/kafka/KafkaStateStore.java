package canary.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import canary.common.Json;
import canary.common.Text;
import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.release.MigrationState;
import canary.release.Operator;
import canary.release.StateStore;

/**
 * The migration state in the cluster: the latest record for the context's key in the compacted
 * topic {@code <topic>_canary_state}. Any host sees the same state. A write checks the version it
 * read: writers share one transactional id per context, so a second writer fences the first, and the
 * version is checked again after fencing. A write fenced by a writer that changed nothing is made
 * again; a stale write writes nothing and fails with one line naming the version it read and the
 * change that came in between.
 */
public final class KafkaStateStore implements StateStore {

    /** How long a fenced write waits for the writer that fenced it to commit: a commit takes milliseconds. */
    private static final Duration FENCED_WAIT = Duration.ofSeconds(3);

    private final Properties client;
    private final String topic;
    private final String key;
    private final Operator operator;
    private final Clock clock;
    private java.util.function.Consumer<String> warnings = line -> { };
    private KafkaProducer<byte[], byte[]> producer;
    /** The version this store wrote last (-1: none, or it deleted the state): reads wait until they see it. */
    private long lastWritten = -1;

    /** @param operator who writes, recorded with every change; the clock says when */
    public KafkaStateStore(Properties clientProperties, String topic, String contextName, Operator operator, Clock clock) {
        this.client = clientProperties;
        this.topic = topic;
        this.key = contextName;
        this.operator = operator;
        this.clock = clock;
    }

    public static KafkaStateStore of(Context ctx, Properties clientProperties, Operator operator, Clock clock) {
        return new KafkaStateStore(clientProperties, ctx.stateTopic(), ctx.name(), operator, clock);
    }

    /** Where a warning about an unreadable state record goes (stderr of a script); nowhere by default. */
    public KafkaStateStore warnTo(java.util.function.Consumer<String> sink) {
        this.warnings = sink;
        return this;
    }

    public String topic() {
        return topic;
    }

    /**
     * Creates the compacted state topic unless it exists, with the cluster's replication factor and min.insync.replicas: the
     * record that says where a release stands is as durable as the cluster's own defaults make any topic.
     */
    @Override
    public void ensureExists() {
        try (KafkaCluster cluster = KafkaCluster.connect(client)) {
            cluster.createTopic(topic, 1, Map.of("cleanup.policy", "compact"));
        }
    }

    /** The current state, or empty when there is no migration (no record, a tombstone, or no topic). */
    @Override
    public Optional<MigrationState> read() {
        try (KafkaConsumer<byte[], byte[]> c = consumer(true)) {
            Optional<MigrationState> s = readAll(c);
            // commitTransaction() returns before the commit marker reaches the partition, so a read right after
            // our own write may still end before it: read again until our write shows (read your own writes).
            long deadline = System.nanoTime() + Duration.ofMillis(KafkaCluster.API_TIMEOUT_MS).toNanos();
            while (s.map(MigrationState::version).orElse(-1L) < lastWritten && System.nanoTime() < deadline) {
                sleep(50);
                s = readAll(c);
            }
            return s;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(UserException.ENVIRONMENT, "interrupted while reading the state");
        }
    }

    /** A consumer of the state topic (read_committed, no group), for {@link #readAll} and {@link #parse}: one that follows it. */
    public KafkaConsumer<byte[], byte[]> consumer() {
        return consumer(false);
    }

    /** {@code oneOff}: a consumer that reads to the end once, so its fetches at the end need not wait for more. */
    private KafkaConsumer<byte[], byte[]> consumer(boolean oneOff) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(KafkaCluster.API_TIMEOUT_MS));
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "canary-state-reader-" + UUID.randomUUID().toString().substring(0, 8));
        if (oneOff) {
            KafkaCluster.readToEnd(p);
        }
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Reads the partition from the beginning to its end and keeps the last value of the key. */
    public Optional<MigrationState> readAll(KafkaConsumer<byte[], byte[]> c) {
        return readAll(c, true);
    }

    private Optional<MigrationState> readAll(KafkaConsumer<byte[], byte[]> c, boolean warn) {
        final class Latest {
            Optional<MigrationState> state = Optional.empty();
            UnreadableStateException unreadable;
        }
        Latest last = new Latest();
        scan(c, r -> {
            try {
                Optional<MigrationState> s = parse(r);
                if (s != null) {
                    last.state = s;
                    last.unreadable = null;
                }
            } catch (UnreadableStateException e) {
                last.unreadable = e;
            }
        });
        return warn ? warnIfUnreadable(last.state, last.unreadable) : last.state;
    }

    @Override
    public Map<String, MigrationState> contexts() {
        Map<String, MigrationState> latest = new LinkedHashMap<>();
        try (KafkaConsumer<byte[], byte[]> c = consumer(true)) {
            scan(c, r -> {
                if (r.key() == null) {
                    return;
                }
                String context = new String(r.key(), StandardCharsets.UTF_8);
                if (r.value() == null) {
                    latest.remove(context);
                    return;
                }
                try {
                    MigrationState s = Json.MAPPER.readValue(r.value(), MigrationState.class);
                    latest.remove(context);
                    latest.put(context, s);
                } catch (java.io.IOException | RuntimeException e) {
                    // an unreadable record changes nothing: the context's latest readable state stands where it was
                }
            });
        }
        return latest;
    }

    /** Hands every record of the state topic, from its beginning to its end now, to {@code each}; nothing without the topic. */
    private void scan(KafkaConsumer<byte[], byte[]> c, java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
        TopicPartition tp = new TopicPartition(topic, 0);
        if (c.partitionsFor(topic, Duration.ofMillis(KafkaCluster.API_TIMEOUT_MS)).isEmpty()) {
            return;
        }
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        long end = c.endOffsets(List.of(tp)).get(tp);
        long deadline = System.nanoTime() + Duration.ofMillis(KafkaCluster.API_TIMEOUT_MS).toNanos();
        while (c.position(tp) < end) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                each.accept(r);
            }
            if (System.nanoTime() > deadline) {
                throw new UserException(UserException.ENVIRONMENT, "cannot read the state topic " + topic + " to its end within "
                        + KafkaCluster.API_TIMEOUT_MS / 1000 + " s");
            }
        }
    }

    private Optional<MigrationState> warnIfUnreadable(Optional<MigrationState> last, UnreadableStateException unreadable) {
        if (unreadable != null) {
            // The latest readable state wins: one unreadable record must not brick the context; the next write supersedes it.
            warnings.accept("warning: " + unreadable.getMessage() + "; using the state before it ("
                    + last.map(st -> "version " + st.version() + ", phase " + st.phase().word()).orElse("none: no migration")
                    + "); the next change of the state writes a readable record after it");
        }
        return last;
    }

    /** A record's state for our key: null if it is about another key, empty for a tombstone. */
    public Optional<MigrationState> parse(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null || !key.equals(new String(r.key(), StandardCharsets.UTF_8))) {
            return null;
        }
        if (r.value() == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.MAPPER.readValue(r.value(), MigrationState.class));
        } catch (java.io.IOException | RuntimeException e) {
            throw new UnreadableStateException("the state record of context '" + key + "' in " + topic + " at offset " + r.offset()
                    + " is not readable (" + Text.firstLine(e.getMessage()) + ")");
        }
    }

    /** A record of the context's key that is not a state the kit can read (written by hand, by another tool, or damaged). */
    public static final class UnreadableStateException extends UserException {
        UnreadableStateException(String message) {
            super(ENVIRONMENT, message);
        }
    }

    /**
     * Writes {@code next} if the stored state still has {@code expectedVersion} (−1: there must be no
     * state). Returns what was written: {@code next} with version + 1 and one more line of history.
     */
    @Override
    public MigrationState write(long expectedVersion, MigrationState next, String what) {
        MigrationState toWrite = next.next(expectedVersion, change(what));
        send(expectedVersion, serialize(toWrite));
        lastWritten = toWrite.version();
        return toWrite;
    }

    /** Removes the state (a tombstone), checking the version like a write. */
    @Override
    public void delete(long expectedVersion) {
        send(expectedVersion, null);
        lastWritten = -1;
    }

    private void send(long expectedVersion, byte[] value) {
        for (boolean retried = false; ; retried = true) {
            try {
                KafkaProducer<byte[], byte[]> p = producer();
                Optional<MigrationState> stored = read();
                if (version(stored) != expectedVersion) {
                    throw stale(expectedVersion, stored);
                }
                p.beginTransaction();
                p.send(new ProducerRecord<>(topic, 0, key.getBytes(StandardCharsets.UTF_8), value));
                p.commitTransaction();
                return;
            } catch (ProducerFencedException | InvalidProducerEpochException e) {
                // Another command opened the writer of this context's state after this one (they share one transactional id), so
                // nothing of this write was committed. Either that command is writing a new version right now, or it wrote
                // nothing (it was refused, or it ended): wait a moment to tell which.
                closeProducer();
                Optional<MigrationState> now = awaitChange(expectedVersion);
                if (version(now) != expectedVersion) {
                    throw stale(expectedVersion, now);
                }
                if (retried) {
                    throw new StaleStateException("another command keeps taking over the writer of the state of context '" + key
                            + "' (transactional id " + transactionalId() + ") without changing the state (still version " + expectedVersion
                            + "); this command wrote nothing: make sure only one command runs for this context, then run it again");
                }
                // Nobody wrote: write again with a writer of our own, which fences the other (its write then finds ours).
            } catch (KafkaException e) {
                closeProducer();
                throw new UserException(UserException.ENVIRONMENT, "cannot write the state of context '" + key + "' to " + topic + ": "
                        + Text.firstLine(e.getMessage()), e);
            }
        }
    }

    /** The stored state once its version is no longer {@code version}, or as it is after {@link #FENCED_WAIT}. */
    private Optional<MigrationState> awaitChange(long version) {
        try (KafkaConsumer<byte[], byte[]> c = consumer(true)) {
            AtomicReference<Optional<MigrationState>> last = new AtomicReference<>();
            try {
                Waits.until("another writer of the state commits", FENCED_WAIT, Waits.quiet(), () -> {
                    last.set(readAll(c, false));
                    return version(last.get()) != version;
                });
            } catch (Waits.WaitTimeoutException e) {
                // it wrote nothing
            }
            return last.get();
        }
    }

    private static long version(Optional<MigrationState> s) {
        return s.map(MigrationState::version).orElse(-1L);
    }

    /** This command read version {@code read} and wanted to write the next; the stored state is {@code now}. */
    private StaleStateException stale(long read, Optional<MigrationState> now) {
        String what;
        if (now.isEmpty()) {
            what = "it read version " + read + ", then another command removed the state";
        } else {
            MigrationState.Change c = now.get().lastChange();
            String by = c == null ? "" : " by " + c.user() + "@" + c.host() + " at " + c.at() + " (" + c.command() + ": " + c.what() + ")";
            what = (read < 0 ? "it found no migration, then another command started one (version " + now.get().version() + by + ")"
                    : "it read version " + read + ", then another command wrote version " + now.get().version() + by);
        }
        return new StaleStateException("the state of context '" + key + "' changed while this command ran: " + what
                + "; this command wrote nothing: check status and run again");
    }

    private byte[] serialize(MigrationState s) {
        try {
            return Json.MAPPER.writeValueAsBytes(s);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            Properties p = new Properties();
            p.putAll(client);
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId());
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(KafkaCluster.API_TIMEOUT_MS));
            p.put(ProducerConfig.CLIENT_ID_CONFIG, "canary-state-writer-" + UUID.randomUUID().toString().substring(0, 8));
            producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
            producer.initTransactions();
        }
        return producer;
    }

    /** One per context: a second writer fences the first. */
    private String transactionalId() {
        return "canary-state-" + topic + "-" + key;
    }

    private void closeProducer() {
        if (producer != null) {
            try {
                producer.close(Duration.ofSeconds(5));
            } catch (RuntimeException ignored) {
                // already failed; the next write opens a new one
            }
            producer = null;
        }
    }

    MigrationState.Change change(String what) {
        return new MigrationState.Change(clock.instant(), operator.user(), operator.host(), operator.command(), what);
    }

    @Override
    public void close() {
        closeProducer();
    }
}
