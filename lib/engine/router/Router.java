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

import canary.common.Text;
import canary.common.UserException;
import canary.context.Context;
import canary.context.Route;
import canary.context.Rule;
import canary.kafka.KafkaStateStore;
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
    private static final Duration SESSION_TIMEOUT = Duration.ofSeconds(10);

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
    private RouterMetrics metrics;

    /** @param healthFile where the instance writes its health (see {@link RouterHealth}), or null for none */
    public Router(Context ctx, Properties clientProperties, int instance, PrintWriter log, java.nio.file.Path healthFile) {
        this.ctx = ctx;
        this.client = clientProperties;
        this.instance = instance;
        this.log = log;
        this.health = new RouterHealth(healthFile, instance);
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
            stateReader.close();
            stateReader = null;
            throw new UserException("no migration for context '" + ctx.name() + "' (no state in " + ctx.stateTopic()
                    + "): run migration.java first; router.java routes a migration that is under way");
        }
        health.write("starting", state, 0, 0);
        refuseDuplicate(null);
        source = new KafkaConsumer<>(consumerProperties(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        producer = newProducer();
        say("router instance " + instance + " of context '" + ctx.name() + "' started (transactional id " + transactionalId() + ")");
        try {
            while (!closing.get()) {
                followState();
                metrics.state(state, subscribed);
                if (state == null || !state.phase().active()) {
                    say("the migration is " + (state == null ? "gone" : state.phase().word()) + ": router instance " + instance + " exits");
                    health.write("exited", state, routedLegacy, routedNew);
                    return 0;
                }
                boolean route = state.routerRunning() && state.phase() == MigrationState.Phase.ROUTING;
                health.maybeWrite(route ? "routing" : "paused", state, routedLegacy, routedNew);
                if (!route) {
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
                routeOneBatch();
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

    private void routeOneBatch() {
        ConsumerRecords<byte[], byte[]> records = source.poll(POLL);
        if (records.isEmpty()) {
            return;
        }
        Route route = route();
        RouterMetrics.Batch batch = metrics.batch();
        long toLegacy = 0;
        long toNew = 0;
        try {
            producer.beginTransaction();
            for (ConsumerRecord<byte[], byte[]> r : records) {
                Headers headers = r.headers();
                boolean isNew = route.toNew(r.partition(), r.key(), name -> {
                    Header h = headers.lastHeader(name);
                    return h == null ? null : h.value();
                });
                producer.send(new ProducerRecord<>(isNew ? ctx.newTopic() : ctx.legacyTopic(), r.partition(), r.timestamp(),
                        r.key(), r.value(), r.headers()));
                batch.add(r.partition(), isNew, r.timestamp());
                if (isNew) {
                    toNew++;
                } else {
                    toLegacy++;
                }
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (TopicPartition tp : records.partitions()) {
                offsets.put(tp, new OffsetAndMetadata(source.position(tp)));
            }
            long commitStarted = System.nanoTime();
            producer.sendOffsetsToTransaction(offsets, source.groupMetadata());
            producer.commitTransaction();
            routedLegacy += toLegacy;
            routedNew += toNew;
            metrics.committed(batch, commitStarted);
            metrics.lag(source);
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            // Our transactional id was taken over: by a second process with our instance number (then this one gives way, or the
            // two would fence each other forever), or after a transaction timeout (then start over from the committed offsets).
            metrics.aborted("fenced");
            refuseDuplicate(source.groupMetadata().memberId());
            say("producer fenced (" + e.getClass().getSimpleName() + "): reopening and rewinding to the committed offsets");
            producer.close(Duration.ZERO);
            producer = newProducer();
            rewind();
        } catch (CommitFailedException | RebalanceInProgressException e) {
            say("the group rebalanced during the transaction: aborting it; the records are routed again by their new owner");
            metrics.aborted("rebalance");
            abortQuietly();
            rewind();
        } catch (WakeupException e) {
            metrics.aborted("shutdown");
            abortQuietly();
            throw e;
        } catch (KafkaException e) {
            say("transaction failed (" + Text.firstLine(e.getMessage()) + "): aborting and rewinding to the committed offsets");
            metrics.aborted("error");
            abortQuietly();
            rewind();
        }
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
        try (canary.kafka.KafkaCluster cluster = canary.kafka.KafkaCluster.connect(client)) {
            while (true) {
                List<canary.release.Cluster.Member> others = cluster.members(ctx.routerGroup()).stream()
                        .filter(m -> m.clientId().equals(clientId()) && !m.memberId().equals(self)).toList();
                if (others.isEmpty()) {
                    return;
                }
                if (System.nanoTime() > deadline || closing.get()) {
                    health.write("refused", state, routedLegacy, routedNew);
                    throw new UserException("router instance " + instance + " of context '" + ctx.name() + "' already runs ("
                            + others.get(0).clientId() + " on " + others.get(0).host() + "): give this one another --instance");
                }
                sleepQuietly(Duration.ofMillis(500));
            }
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
            }
        }
    }

    private void abortQuietly() {
        try {
            producer.abortTransaction();
        } catch (KafkaException e) {
            producer.close(Duration.ZERO);
            producer = newProducer();
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
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
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
            // Transactions are committed before every poll, so none is open here: nothing to abort.
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                say("assigned partitions " + partitions.stream().map(TopicPartition::partition).sorted().toList());
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

    private void shutdown() {
        say("router instance " + instance + " stopping: routed legacy " + routedLegacy + ", new " + routedNew);
        health.write("stopped", state, routedLegacy, routedNew);
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
            }
            if (store != null) {
                store.close();
            }
        }
    }
}
