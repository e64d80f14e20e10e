package canary.engine.router;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import canary.common.Steps;
import canary.common.Text;
import canary.common.Waits;
import canary.common.UserException;
import canary.context.Context;
import canary.context.Route;
import canary.context.Rule;
import canary.kafka.KafkaCluster;
import canary.kafka.KafkaStateStore;
import canary.kafka.RoutedCounts;
import canary.release.MigrationState;
import canary.release.Operator;

/**
 * The embedded router: a transactional consume → decide → produce loop. Each record of the
 * original topic goes to {@code <topic>_legacy} or {@code <topic>_new}, byte for byte (key, value,
 * headers, timestamp) and to the same partition number; the output and the source offsets commit
 * atomically with {@code sendOffsetsToTransaction(offsets, consumer.groupMetadata())}.
 *
 * <p>It follows the migration state: the share applies to the records it routes next; the stop
 * flag makes it finish its transaction and leave the group while staying alive; the end of the
 * migration makes it exit. Instances with the same group share the partitions.
 */
public final class Router implements AutoCloseable {

    private static final Duration POLL = Duration.ofMillis(200);
    /** The named step after the records of a batch were sent in the open transaction, before its offsets and commit. */
    public static final String RECORDS_SENT = "router.records-sent";
    private static final Duration SESSION_TIMEOUT = Duration.ofSeconds(10);
    static final Duration METADATA_MAX_AGE = Duration.ofSeconds(5);

    private final Properties client;
    private final Context ctx;
    private final int instance;
    private final PrintWriter log;
    private final AtomicBoolean closing = new AtomicBoolean();

    private KafkaConsumer<byte[], byte[]> source;
    private KafkaProducer<byte[], byte[]> producer;
    private KafkaConsumer<byte[], byte[]> stateReader;
    private KafkaStateStore store;
    private MigrationState state;
    private Route route;
    private long routeVersion = -1;
    private boolean subscribed;
    private long routedLegacy;
    private long routedNew;
    private long lastReport = System.nanoTime();
    private final RouterHealth health;
    private final Tuning tuning;

    // The open transaction: when it began, the bytes it holds, and per source partition the records it routed to legacy and new.
    private boolean inTransaction;
    private long transactionStarted;
    private long transactionBytes;
    private final Map<Integer, long[]> pending = new HashMap<>();
    /** The committed routed counts of the partitions this instance owns (null topic: the release has no counts topic). */
    private final Map<Integer, RoutedCounts.Count> counts = new HashMap<>();
    private String countsTopic;
    /** Partitions of the counts topic (one for a migration of this version of the kit; see {@link RoutedCounts}). */
    private int countsPartitions;

    /**
     * How big a transaction grows: it commits when it is {@code commitInterval} old or holds {@code commitBytes} of keys and
     * values, whichever comes first (and before the partitions go, before routing stops, before the instance leaves).
     */
    public record Tuning(Duration commitInterval, long commitBytes) {
        /**
         * Chosen by measurement: see the README, "Speed and memory". The byte budget only matters with a backlog (at 5,000
         * records/s of 1 KiB, 50 ms hold 250 KB): 16 MiB routed 200,000 records at 63,830–67,066 records/s with 25
         * transactions, 4 MiB at 56,465–61,678 with 41 (five runs each).
         */
        public static final Tuning DEFAULT = new Tuning(Duration.ofMillis(50), 16L * 1024 * 1024);

        public Tuning {
            if (commitInterval.isNegative() || commitInterval.isZero()) {
                throw new UserException("invalid commit interval " + commitInterval + ": expected more than 0");
            }
            if (commitBytes < 1) {
                throw new UserException("invalid commit byte budget " + commitBytes + ": expected 1 or more");
            }
        }
    }
    /** The largest record the original topic accepts: the router's producer and consumer take records that large. */
    private int maxMessageBytes = KafkaCluster.DEFAULT_MAX_MESSAGE_BYTES;
    private RouterMetrics metrics;
    /** What the open transaction routed, for the metrics once it commits. */
    private RouterMetrics.Batch batch;

    /** @param healthFile where the instance writes its health (see {@link RouterHealth}), or null for none */
    public Router(Context ctx, Properties clientProperties, int instance, PrintWriter log, java.nio.file.Path healthFile) {
        this(ctx, clientProperties, instance, log, healthFile, Tuning.DEFAULT);
    }

    public Router(Context ctx, Properties clientProperties, int instance, PrintWriter log, java.nio.file.Path healthFile, Tuning tuning) {
        this.ctx = ctx;
        this.client = clientProperties;
        this.instance = instance;
        this.log = log;
        this.health = new RouterHealth(healthFile, instance);
        this.tuning = tuning;
        this.metrics = new RouterMetrics(ctx.name());
    }

    /** Where this instance counts what it does (a served registry; by default one nobody reads). */
    public Router metrics(RouterMetrics m) {
        this.metrics = m;
        return this;
    }

    /** The client id of this instance's consumer: what makes an instance number visible in the router group. */
    public String clientId() {
        return "canary-router-" + ctx.name() + "-" + instance;
    }

    public String transactionalId() {
        return ctx.routerGroup() + "-" + instance;
    }

    /** Routes until the migration ends (returns 0) or {@link #close()} is called from another thread. */
    public int run() {
        // What needs no state (the duplicate check, the topics, the clients) is done while the state is read: a restarted
        // instance routes sooner.
        CompletableFuture<Void> clients = new CompletableFuture<>();
        Thread opening = new Thread(() -> {
            try {
                openClients();
                clients.complete(null);
            } catch (Throwable t) {
                clients.completeExceptionally(t);
            }
        }, "router-" + instance + "-start");
        opening.setDaemon(true);
        opening.start();
        try {
            readState();
        } catch (RuntimeException e) {
            awaitQuietly(clients);
            closeClients();
            throw e;
        }
        health.write("starting", state, 0, 0);
        try {
            clients.join();
        } catch (CompletionException e) {
            closeClients();
            if (e.getCause() instanceof DuplicateInstance d) {
                health.write("refused", state, 0, 0);
                throw d;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
        if (countsTopic == null) {
            say("warning: no topic " + ctx.countsTopic() + " (a migration made before the kit kept routed counts): routing without"
                    + " counts; status counts the derived topics by reading them");
        }
        say("router instance " + instance + " of context '" + ctx.name() + "' started (transactional id " + transactionalId() + ")");
        try {
            while (!closing.get()) {
                followState();
                metrics.state(state, subscribed);
                if (state == null || !state.phase().active()) {
                    abort("the migration ended", null);
                    say("the migration is " + (state == null ? "gone" : state.phase().word()) + ": router instance " + instance + " exits");
                    health.write("exited", state, routedLegacy, routedNew);
                    return 0;
                }
                boolean route = state.routerRunning() && state.phase() == MigrationState.Phase.ROUTING;
                health.maybeWrite(route ? "routing" : "paused", state, routedLegacy, routedNew);
                if (!route) {
                    commit();
                    if (subscribed) {
                        source.unsubscribe();
                        subscribed = false;
                        say("routing stopped: left group " + ctx.routerGroup() + ", waiting for the run flag");
                    }
                    pollState(POLL);
                    continue;
                }
                if (!subscribed) {
                    source.subscribe(List.of(ctx.topic()), new Rebalances());
                    subscribed = true;
                    say("routing " + ctx.topic() + " at share " + Text.percent(state.share()) + " (" + state.routing().word()
                            + (state.newPartitions() == null ? "" : " " + state.newPartitions())
                            + (state.rules().isEmpty() ? "" : ", rules " + Rule.describeAll(state.rules())) + ")");
                }
                routeOnePoll();
                if (due()) {
                    commit();
                }
                report();
            }
            return 0;
        } catch (WakeupException e) {
            if (!closing.get()) {
                throw e;
            }
            return 0;
        } finally {
            shutdown();
        }
    }

    /** The migration's state, waited for a moment if the migration that wrote it just did; none is an error (exit 2). */
    private void readState() {
        store = KafkaStateStore.of(ctx, client, new Operator("router", "", "router"), java.time.Clock.systemUTC()).warnTo(this::say);
        stateReader = store.consumer();
        state = store.readAll(stateReader).orElse(null);
        if (state == null && !stateReader.assignment().isEmpty()) {
            // A migration that just wrote its state may not show yet (the commit marker lands after the commit returns).
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (state == null && System.nanoTime() < deadline && !closing.get()) {
                pollState(POLL);
            }
        }
        if (state == null) {
            throw new UserException("no migration for context '" + ctx.name() + "' (no state in " + ctx.stateTopic()
                    + "): run migration.java first; router.java routes a migration that is under way");
        }
    }

    /**
     * Refuses a second process with this instance number before its producer could fence that one, then learns the topics
     * and opens the clients. Runs while the state is read: it must not touch the state.
     */
    private void openClients() {
        refuseDuplicate(null);
        int maxBytes;
        try (KafkaCluster cluster = KafkaCluster.connect(client)) {
            countsTopic = cluster.topicExists(ctx.countsTopic()) ? ctx.countsTopic() : null;
            countsPartitions = countsTopic == null ? 0 : cluster.partitions(countsTopic);
            maxBytes = cluster.maxMessageBytes(ctx.topic());
        }
        maxMessageBytes = maxBytes;
        source = new KafkaConsumer<>(consumerProperties(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        producer = newProducer();
    }

    private static void awaitQuietly(CompletableFuture<Void> f) {
        try {
            f.join();
        } catch (CompletionException ignored) {
            // the first failure is the one reported
        }
    }

    /**
     * Adds the records of one poll to the open transaction (beginning one when none is open). The poll waits at most until the
     * open transaction is due, so that a quiet topic does not hold routed records back.
     */
    private void routeOnePoll() {
        ConsumerRecords<byte[], byte[]> records = source.poll(inTransaction ? untilDue() : POLL);
        if (records.isEmpty()) {
            return;
        }
        Route route = route();
        if (!inTransaction) {
            producer.beginTransaction();
            inTransaction = true;
            transactionStarted = System.nanoTime();
            batch = metrics.batch();
        }
        try {
            for (ConsumerRecord<byte[], byte[]> r : records) {
                Headers headers = r.headers();
                boolean isNew = route.toNew(r.partition(), r.key(), name -> {
                    Header h = headers.lastHeader(name);
                    return h == null ? null : h.value();
                });
                producer.send(new ProducerRecord<>(isNew ? ctx.newTopic() : ctx.legacyTopic(), r.partition(), r.timestamp(),
                        r.key(), r.value(), r.headers()));
                pending.computeIfAbsent(r.partition(), p -> new long[2])[isNew ? 1 : 0]++;
                batch.add(r.partition(), isNew, r.timestamp());
                transactionBytes += Math.max(0, r.serializedKeySize()) + Math.max(0, r.serializedValueSize());
            }
            // Crash tests kill an instance here, with its records sent and its transaction open, to leave an aborted transaction.
            Steps.reached(RECORDS_SENT);
        } catch (WakeupException e) {
            throw e;
        } catch (KafkaException e) {
            abort("sending failed (" + Text.firstLine(e.getMessage()) + ")", e);
        }
    }

    private Duration untilDue() {
        long left = tuning.commitInterval().toNanos() - (System.nanoTime() - transactionStarted);
        return Duration.ofNanos(Math.max(0, Math.min(left, POLL.toNanos())));
    }

    /** The open transaction has reached the commit interval or the byte budget. */
    private boolean due() {
        return inTransaction && (System.nanoTime() - transactionStarted >= tuning.commitInterval().toNanos()
                || transactionBytes >= tuning.commitBytes());
    }

    /**
     * THE place where a transaction commits: the source offsets of every partition it routed from and, when the release has a
     * counts topic, the cumulative routed counts of those partitions commit with the routed records. Failures abort (below).
     */
    private void commit() {
        if (!inTransaction) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        Map<Integer, RoutedCounts.Count> next = new HashMap<>();
        try {
            for (Map.Entry<Integer, long[]> e : pending.entrySet()) {
                TopicPartition tp = new TopicPartition(ctx.topic(), e.getKey());
                long position = source.position(tp);
                offsets.put(tp, new OffsetAndMetadata(position));
                if (countsTopic != null) {
                    RoutedCounts.Count c = counts.get(e.getKey());
                    if (c != null) {
                        RoutedCounts.Count n = c.plus(e.getValue()[0], e.getValue()[1], position);
                        producer.send(RoutedCounts.record(countsTopic, countsPartitions, ctx.name(), n));
                        next.put(e.getKey(), n);
                    }
                }
            }
            long commitStarted = System.nanoTime();
            producer.sendOffsetsToTransaction(offsets, source.groupMetadata());
            Steps.reached("router.transaction-prepared");
            producer.commitTransaction();
            metrics.committed(batch, commitStarted);
            metrics.lag(source);
        } catch (WakeupException e) {
            abort("stopping", e);
            throw e;
        } catch (KafkaException e) {
            abort("the commit failed", e);
            return;
        }
        counts.putAll(next);
        for (long[] n : pending.values()) {
            routedLegacy += n[0];
            routedNew += n[1];
        }
        endTransaction();
        Steps.reached("router.committed");
    }

    /**
     * THE place where a transaction aborts: what it routed is dropped and the source rewound to the committed offsets, so that
     * the records are routed again (by this instance or, after a rebalance, by their new owner). {@code cause} says why: a
     * fenced producer (another process took the transactional id, or the transaction timed out) is replaced rather than asked
     * to abort; null for a stop (close, lost partitions) where the records are routed again by whoever owns them next.
     */
    private void abort(String why, Exception cause) {
        if (!inTransaction) {
            return;
        }
        endTransaction();
        metrics.aborted(cause instanceof ProducerFencedException || cause instanceof InvalidProducerEpochException ? "fenced"
                : cause instanceof CommitFailedException || cause instanceof RebalanceInProgressException ? "rebalance"
                : cause == null || cause instanceof WakeupException ? "shutdown" : "error");
        if (cause instanceof ProducerFencedException || cause instanceof InvalidProducerEpochException) {
            // Our transactional id was taken over: by a second process with our instance number (then this one gives way, or the
            // two would fence each other forever), or after a transaction timeout (then start over from the committed offsets).
            say("producer fenced (" + cause.getClass().getSimpleName() + "): reopening and rewinding to the committed offsets");
            refuseDuplicate(source.groupMetadata().memberId());
            producer.close(Duration.ZERO);
            producer = newProducer();
        } else {
            if (cause instanceof CommitFailedException || cause instanceof RebalanceInProgressException) {
                say("the group rebalanced during the transaction: aborting it; the records are routed again by their new owner");
            } else if (cause != null && !(cause instanceof WakeupException)) {
                say("transaction failed: " + why + " (" + Text.firstLine(cause.getMessage()) + "): aborting and rewinding to the committed offsets");
            }
            try {
                producer.abortTransaction();
            } catch (KafkaException e) {
                producer.close(Duration.ZERO);
                producer = newProducer();
            }
        }
        if (cause != null && !(cause instanceof WakeupException)) {
            rewind();
        }
    }

    private void endTransaction() {
        inTransaction = false;
        pending.clear();
        transactionBytes = 0;
    }

    /** How records are routed under the state followed now: built once per state version. */
    private Route route() {
        if (route == null || routeVersion != state.version()) {
            route = state.route();
            routeVersion = state.version();
        }
        return route;
    }

    /**
     * Refuses to run (exit 2, one line) while another member of the router group uses this instance number: two processes with
     * one transactional id fence each other on every transaction. {@code self} is this instance's own member id, if it has one.
     */
    private void refuseDuplicate(String self) {
        // A member left by a killed process stays in the group until its session times out: only a member that outlives that
        // is another live process.
        long deadline = System.nanoTime() + SESSION_TIMEOUT.plusSeconds(5).toNanos();
        try (KafkaCluster cluster = KafkaCluster.connect(client)) {
            while (true) {
                List<canary.release.Cluster.Member> others = cluster.members(ctx.routerGroup()).stream()
                        .filter(m -> m.clientId().equals(clientId()) && !m.memberId().equals(self)).toList();
                if (others.isEmpty()) {
                    return;
                }
                if (System.nanoTime() > deadline || closing.get()) {
                    health.write("refused", state, routedLegacy, routedNew);
                    throw new DuplicateInstance("router instance " + instance + " of context '" + ctx.name() + "' already runs ("
                            + others.get(0).clientId() + " on " + others.get(0).host() + "): give this one another --instance");
                }
                sleepQuietly(Duration.ofMillis(500));
            }
        }
    }

    /** Another live process uses this instance number. */
    private static final class DuplicateInstance extends UserException {
        DuplicateInstance(String message) {
            super(message);
        }
    }

    private static void sleepQuietly(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** After an abort: go back to the committed offsets so that nothing routed in the aborted transaction is skipped. */
    private void rewind() {
        Set<TopicPartition> assigned = source.assignment();
        if (assigned.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> committed = source.committed(assigned);
        for (TopicPartition tp : assigned) {
            OffsetAndMetadata om = committed.get(tp);
            if (om != null) {
                source.seek(tp, om.offset());
            } else if (state != null && state.startOffsets().containsKey(tp.partition())) {
                source.seek(tp, state.startOffsets().get(tp.partition()));
            }
        }
    }

    private void followState() {
        pollState(Duration.ZERO);
    }

    private void pollState(Duration wait) {
        for (ConsumerRecord<byte[], byte[]> r : stateReader.poll(wait)) {
            Optional<MigrationState> s;
            try {
                s = store.parse(r);
            } catch (KafkaStateStore.UnreadableStateException e) {
                say("warning: " + e.getMessage() + "; following the last readable state until a readable one comes");
                continue;
            }
            if (s != null) {
                MigrationState before = state;
                state = s.orElse(null);
                if (before != null && state != null && before.share() != state.share()) {
                    say("share changed from " + Text.percent(before.share()) + " to " + Text.percent(state.share()));
                }
                if (before != null && state != null && !before.rules().equals(state.rules())) {
                    say("rules changed from " + Rule.describeAll(before.rules()) + " to " + Rule.describeAll(state.rules()));
                }
                if (before != null && state != null && !java.util.Objects.equals(before.newPartitions(), state.newPartitions())) {
                    say("partitions of the new version changed from " + before.newPartitions() + " to " + state.newPartitions());
                }
            }
        }
    }

    private void report() {
        if (System.nanoTime() - lastReport > Duration.ofSeconds(30).toNanos()) {
            say("routed so far: legacy " + routedLegacy + ", new " + routedNew);
            lastReport = System.nanoTime();
        }
    }

    private Properties consumerProperties() {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, ctx.routerGroup());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // The migration sets the router's offsets to the start offsets; never guess a position.
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, String.valueOf(SESSION_TIMEOUT.toMillis()));
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "2000");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
        // Partitions added to the original topic show within seconds, not after the default 5 minutes.
        p.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, String.valueOf(METADATA_MAX_AGE.toMillis()));
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(Math.max(1_048_576, maxMessageBytes)));
        // A fetch holds at most this much (50 MB by default): the heap of -Xmx256m must hold a fetch and a transaction's batches.
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(Math.max(8 * 1024 * 1024, maxMessageBytes)));
        // A fetch answered as soon as one record is there makes a request per few records at moderate rates: wait for 64 KiB or
        // 25 ms. Measured at 5,000 records/s (bench, 30 s each): broker CPU 14.0 s -> 10.3 s, p99 70 -> 76 ms.
        p.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, String.valueOf(64 * 1024));
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "25");
        return p;
    }

    private KafkaProducer<byte[], byte[]> newProducer() {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId() + "-producer");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "15000");
        // Measured at 5,000 records/s with the 50 ms commit interval (bench, 30 s each): linger 5 ms p99 98 ms, broker CPU 17.5 s;
        // 20 ms: 87 ms, 16.1 s; 50 ms: 111 ms, 15.4 s. A commit flushes what lingers, so a record never waits longer than that.
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        // After a commit the coordinator writes the markers; a transaction that adds a partition or offsets before they are written
        // is answered CONCURRENT_TRANSACTIONS and retried after this back-off (100 ms by default: the p99 of a record).
        p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "10");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(16 * 1024 * 1024));
        // A record as large as the original topic takes must fit one request (with room for its headers and the batch's).
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(Math.max(1_048_576, maxMessageBytes + 16_384)));
        KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        prod.initTransactions();
        return prod;
    }

    private void say(String line) {
        log.println(java.time.Instant.now() + " " + line);
        log.flush();
    }

    private final class Rebalances implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // The open transaction routed records of these partitions: commit it while this instance still owns them (the group
            // generation still holds), so that their new owner starts after them.
            commit();
            partitions.forEach(tp -> counts.remove(tp.partition()));
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            // Another member owns them already: the open transaction cannot commit; its records are routed again by the new owner.
            abort("the partitions were lost", null);
            partitions.forEach(tp -> counts.remove(tp.partition()));
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                say("assigned partitions " + partitions.stream().map(TopicPartition::partition).sorted().toList());
                startNewPartitions(partitions);
                loadCounts(partitions.stream().map(TopicPartition::partition).toList());
            }
        }
    }

    /**
     * Partitions added to the original topic during the release, met in an assignment before any of their records is routed:
     * the derived topics grow to the original's partition count, the state records start offset 0 for each new partition
     * (routing with partitions: they go to legacy until update_rate gives them to the new version), and the router group
     * commits offset 0 on them, so that the hand-over position and check_data count them from their first record.
     */
    private void startNewPartitions(Collection<TopicPartition> assigned) {
        List<Integer> unknown = assigned.stream().map(TopicPartition::partition).filter(p -> !state.startOffsets().containsKey(p)).sorted().toList();
        if (unknown.isEmpty()) {
            return;
        }
        int count;
        try (KafkaCluster cluster = KafkaCluster.connect(client)) {
            count = cluster.partitions(ctx.topic());
            // The counts topic needs no new partition: a new source partition's counts go to partition p % n of it.
            for (String t : List.of(ctx.legacyTopic(), ctx.newTopic())) {
                if (cluster.growTo(t, count)) {
                    say("partitions added to " + ctx.topic() + ": grew " + t + " to " + count + " partitions");
                }
            }
        }
        MigrationState grown = recordNewPartitions(count);
        Map<TopicPartition, OffsetAndMetadata> zero = new HashMap<>();
        Map<TopicPartition, OffsetAndMetadata> committed = source.committed(new java.util.HashSet<>(assigned));
        for (TopicPartition tp : assigned) {
            if (committed.get(tp) == null && grown.startOffsets().containsKey(tp.partition())) {
                long start = grown.startOffsets().get(tp.partition());
                source.seek(tp, start);
                zero.put(tp, new OffsetAndMetadata(start));
            }
        }
        if (!zero.isEmpty()) {
            commit();
            producer.beginTransaction();
            producer.sendOffsetsToTransaction(zero, source.groupMetadata());
            producer.commitTransaction();
            say("routing the new partitions " + zero.keySet().stream().map(TopicPartition::partition).sorted().toList() + " of " + ctx.topic()
                    + " from offset 0");
        }
    }

    /** Writes start offset 0 for the partitions of the original topic the state does not know yet (up to {@code count}). */
    private MigrationState recordNewPartitions(int count) {
        for (int attempt = 0; ; attempt++) {
            MigrationState s = store.read().orElseThrow(() -> new IllegalStateException("the state of context '" + ctx.name() + "' is gone"));
            if (s.startOffsets().size() >= count) {
                state = s;
                return s;
            }
            Map<Integer, Long> start = new java.util.TreeMap<>(s.startOffsets());
            List<Integer> added = new java.util.ArrayList<>();
            for (int p = start.size(); p < count; p++) {
                start.put(p, 0L);
                added.add(p);
            }
            try {
                state = store.write(s.version(), s.withNewPartitions(start), "partitions " + added + " added to " + ctx.topic()
                        + ": derived topics grown to " + count + " partitions, start offset 0");
                return state;
            } catch (canary.release.StateStore.StaleStateException e) {
                if (attempt >= 10) {
                    throw e;
                }
                say("the state changed while recording the new partitions: reading it again");
            }
        }
    }


    /** Stops the loop from another thread (a shutdown hook): the open transaction is aborted, the group left. */
    @Override
    public void close() {
        if (closing.compareAndSet(false, true) && source != null) {
            source.wakeup();
        }
    }

    /**
     * Continues the routed counts of newly assigned partitions from their committed records. The previous owner's last commit
     * may still be writing its markers (or a killed owner's transaction waits for its timeout): wait until no transaction is
     * undecided on those partitions of the counts topic, or the count read would miss a commit whose offsets this instance
     * starts after.
     */
    private void loadCounts(List<Integer> partitions) {
        if (countsTopic == null) {
            return;
        }
        try (KafkaCluster cluster = KafkaCluster.connect(client)) {
            // Every transaction written before now (the previous owner's last, whose markers may still be on their way, or a
            // killed owner's, aborted at its timeout) must be decided; transactions other instances begin later may stay open.
            java.util.Set<Integer> held = new java.util.TreeSet<>();
            partitions.forEach(p -> held.add(RoutedCounts.partitionOf(p, countsPartitions)));
            Map<Integer, Long> written = cluster.highWatermarks(countsTopic);
            Waits.until("the transactions written to partitions " + held + " of " + countsTopic + " are decided", Duration.ofSeconds(60),
                    Waits.quiet(), () -> {
                        Map<Integer, Long> stable = cluster.endOffsets(countsTopic);
                        return held.stream().allMatch(p -> stable.getOrDefault(p, 0L) >= written.getOrDefault(p, 0L));
                    });
        }
        Map<Integer, RoutedCounts.Count> latest = RoutedCounts.latest(client, countsTopic, ctx.name(), partitions, state.startOffsets(),
                Duration.ofSeconds(30));
        for (int p : partitions) {
            long start = state.startOffsets().getOrDefault(p, 0L);
            counts.put(p, latest.getOrDefault(p, new RoutedCounts.Count(p, start, start, 0, 0)));
        }
    }

    private void shutdown() {
        abort("stopping", null);
        say("router instance " + instance + " stopping: routed legacy " + routedLegacy + ", new " + routedNew);
        health.write("stopped", state, routedLegacy, routedNew);
        closeClients();
    }

    private void closeClients() {
        try {
            if (producer != null) {
                producer.close(Duration.ofSeconds(5));
            }
        } finally {
            if (source != null) {
                source.close(CloseOptions.timeout(Duration.ofSeconds(5)));
            }
            if (stateReader != null) {
                stateReader.close(CloseOptions.timeout(Duration.ofSeconds(1)));
                stateReader = null;
            }
            if (store != null) {
                store.close();
            }
        }
    }
}
