package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.context.Context;
import canary.engine.ksqldb.KsqlClient;
import canary.engine.ksqldb.KsqlEngine;
import canary.engine.ksqldb.KsqlStatements;
import canary.kafka.KafkaCluster;
import canary.release.Integrity;
import canary.release.MigrationState;

/**
 * The Kafka side of the ksqlDB hand-over, on the real test broker: consumer groups stand in for the
 * ksqlDB query groups (one on the original topic for the rating query, two on {@code <topic>_rated}
 * for the filter queries); the replay server answers the ksqlDB part.
 */
class KsqlHandoverTest {

    static KafkaCluster cluster;

    @TempDir
    Path dir;

    KsqlReplayServer server;
    final List<String> progress = new java.util.concurrent.CopyOnWriteArrayList<>();

    String topic;
    Context ctx;
    KsqlStatements.Names names;
    KsqlEngine engine;

    @BeforeAll
    static void connect() {
        cluster = KafkaCluster.connect(TestBroker.clientProperties());
    }

    @AfterAll
    static void disconnect() {
        cluster.close();
    }

    @BeforeEach
    void start() {
        server = new KsqlReplayServer();
        topic = TestBroker.unique("handover");
        for (String t : List.of(topic, topic + "_rated", topic + "_legacy", topic + "_new")) {
            cluster.createTopic(t, 2, Map.of());
        }
        ctx = KsqlEngineTest.context(dir, topic, server.endpoint().toString(), "");
        names = KsqlStatements.Names.of(topic);
        KsqlClient client = new KsqlClient(server.endpoint(), null, null, null, Duration.ofSeconds(5),
                new KsqlClient.RetryPolicy(2, Duration.ofMillis(10), Duration.ofMillis(10)), d -> { });
        engine = new KsqlEngine(ctx, cluster, client, progress::add,
                Duration.ofMillis(300), Duration.ofSeconds(30));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    MigrationState state(Map<Integer, Long> start) {
        return KsqlEngineTest.routing(ctx, start, 0.5, "random");
    }

    String group(String role) {
        return KsqlEngineTest.ids(names).get(role + ".group");
    }

    /** Writes records in one committed transaction: the partition's end offset then lies after a transaction marker. */
    static void produceTransactionally(String topic, int partition, int n, boolean commit) {
        Properties p = TestBroker.clientProperties();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "handover-test-" + TestBroker.unique("tx"));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, partition, ("k" + i).getBytes(StandardCharsets.UTF_8),
                        ("{\"id\":\"" + i + "\"}").getBytes(StandardCharsets.UTF_8)));
            }
            if (commit) {
                producer.commitTransaction();
            } else {
                producer.abortTransaction();
            }
        }
    }

    @Test
    void position_is_the_rating_groups_committed_offsets_once_they_stop_moving() throws Exception {
        KsqlEngineTest.produce(topic, 0, 50);
        KsqlEngineTest.produce(topic, 1, 50);
        String rating = group("rating");
        KsqlEngineTest.commit(rating, topic, Map.of(0, 10L, 1, 10L));
        AtomicLong lastCommitAt = new AtomicLong();
        Thread mover = new Thread(() -> {
            // the rating query finishing its last records after the pause: offsets move for a while, then stop
            for (long o = 11; o <= 30; o++) {
                KsqlEngineTest.commit(rating, topic, Map.of(0, o, 1, o + 5));
                lastCommitAt.set(System.nanoTime());
                try {
                    Thread.sleep(80);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "rating-group-stand-in");
        server.ksql(KsqlFixtures.showProperties("exactly_once_v2", 1000));
        mover.start();
        Waits.until("the stand-in moved the offsets once", Duration.ofSeconds(10), Waits.quiet(), () -> lastCommitAt.get() != 0);

        Map<Integer, Long> position = engine.position(state(Map.of(0, 0L, 1, 0L)));
        long returnedAt = System.nanoTime();
        mover.join();

        assertEquals(Map.of(0, 30L, 1, 35L), position, "the last committed offsets, not a value read while they moved");
        assertEquals(cluster.committedOffsets(rating, topic), new TreeMap<>(position));
        assertTrue(Duration.ofNanos(returnedAt - lastCommitAt.get()).toMillis() >= 1000,
                "position returned only after the offsets stayed unchanged for longer than the server's commit interval");
        assertEquals(List.of("SHOW PROPERTIES;"), server.requests().stream().map(KsqlReplayServer.Recorded::ksql).toList(),
                "the commit interval comes from the server; the group id from the state");
    }

    @Test
    void position_waits_for_a_transaction_still_open_on_rated() throws Exception {
        KsqlEngineTest.produce(topic, 0, 20);
        KsqlEngineTest.commit(group("rating"), topic, Map.of(0, 20L, 1, 0L));
        server.ksql(KsqlFixtures.showProperties("exactly_once_v2", 200));
        Properties p = TestBroker.clientProperties();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "rating-stand-in-" + TestBroker.unique("tx"));
        AtomicLong committedAt = new AtomicLong();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic + "_rated", 0, "k".getBytes(StandardCharsets.UTF_8), "{}".getBytes(StandardCharsets.UTF_8)));
            producer.flush();
            Thread decider = new Thread(() -> {
                try {
                    Thread.sleep(2000);
                    committedAt.set(System.nanoTime());
                    producer.commitTransaction();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "rating-transaction-stand-in");
            decider.start();

            Map<Integer, Long> position = engine.position(state(Map.of(0, 0L, 1, 0L)));
            long returnedAt = System.nanoTime();
            decider.join();

            assertEquals(Map.of(0, 20L, 1, 0L), position);
            assertTrue(returnedAt > committedAt.get() && committedAt.get() > 0, "position returned while a transaction on _rated was open");
            assertTrue(progress.stream().anyMatch(l -> l.contains("undecided transaction(s) on " + topic + "_rated")), progress.toString());
        }
    }

    @Test
    void position_never_goes_below_the_start_offsets() {
        KsqlEngineTest.produce(topic, 0, 20);
        KsqlEngineTest.commit(group("rating"), topic, Map.of(0, 4L));
        server.ksql(KsqlFixtures.showProperties("exactly_once_v2", 100));

        Map<Integer, Long> position = engine.position(state(Map.of(0, 12L, 1, 0L)));

        assertEquals(Map.of(0, 12L, 1, 0L), position, "records below the start offset were the legacy version's");
    }

    @Test
    void position_leaves_out_partitions_added_to_the_original_during_the_release() {
        KsqlEngineTest.produce(topic, 0, 20);
        KsqlEngineTest.produce(topic, 1, 20);
        assertTrue(cluster.growTo(topic, 3));
        Waits.until("the broker knows partition 2 of " + topic, Duration.ofSeconds(15), Waits.quiet(),
                () -> cluster.endOffsets(topic).containsKey(2));
        KsqlEngineTest.produce(topic, 2, 9);
        // the rating query filters out the added partition's records (its WHERE names the start offsets' partitions only) and
        // still commits past them
        KsqlEngineTest.commit(group("rating"), topic, Map.of(0, 15L, 1, 20L, 2, 9L));
        server.ksql(KsqlFixtures.showProperties("exactly_once_v2", 100));

        Map<Integer, Long> position = engine.position(state(Map.of(0, 0L, 1, 0L)));

        assertEquals(Map.of(0, 15L, 1, 20L), position,
                "nothing of partition 2 was routed: the hand-over gives it to the surviving version from offset 0, not at 9");
        assertFalse(engine.routesAddedPartitions(), "status is told that the queries leave added partitions alone");
    }

    @Test
    void pause_returns_only_after_the_filter_groups_have_processed_every_record_of_rated() throws Exception {
        String rated = topic + "_rated";
        produceTransactionally(rated, 0, 6, true);
        produceTransactionally(rated, 1, 4, true);
        Map<Integer, Long> lastRecordPlusOne = Map.of(0, 6L, 1, 4L);
        // the legacy filter is done: it committed past its last record (the transaction marker is not a record)
        KsqlEngineTest.commit(group("legacy"), rated, lastRecordPlusOne);
        // the new filter still has records to process
        KsqlEngineTest.commit(group("new"), rated, Map.of(0, 2L, 1, 0L));
        server.ksql(KsqlEngineTest.queries(names, "RUNNING", "RUNNING"))
                .reply("GET", "/info", 200, KsqlFixtures.info("0.29.0"))
                .ksql(KsqlFixtures.commandStatus("PAUSE " + KsqlEngineTest.ratingId(names) + ";", 5))
                .ksql(KsqlEngineTest.queries(names, "PAUSED", "PAUSED"));
        AtomicLong caughtUpAt = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread newFilter = new Thread(() -> {
            try {
                Thread.sleep(1500);
                KsqlEngineTest.commit(group("new"), rated, lastRecordPlusOne);
                caughtUpAt.set(System.nanoTime());
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "new-filter-stand-in");
        newFilter.start();

        engine.pause(state(Map.of(0, 0L, 1, 0L)), Duration.ofSeconds(30));
        long returnedAt = System.nanoTime();
        newFilter.join();

        assertEquals(null, failure.get());
        assertTrue(caughtUpAt.get() > 0 && returnedAt > caughtUpAt.get(), "pause returned before the new filter group caught up");
        assertTrue(progress.stream().anyMatch(l -> l.contains("new filter query lag 8")), progress.toString());
        assertTrue(cluster.lag(group("legacy"), rated).values().stream().anyMatch(l -> l > 0),
                "offset lag counts the transaction markers; the wait did not, or it would never have ended");
        assertEquals(List.of("SHOW QUERIES EXTENDED;", "PAUSE " + KsqlEngineTest.ratingId(names) + ";", "SHOW QUERIES EXTENDED;"),
                server.requests().stream().filter(r -> r.path().equals("/ksql")).map(KsqlReplayServer.Recorded::ksql).toList());
    }

    @Test
    void pause_waits_until_the_rating_querys_transaction_on_rated_is_decided() throws Exception {
        String rated = topic + "_rated";
        KsqlEngineTest.commit(group("legacy"), rated, Map.of(0, 0L, 1, 0L));
        KsqlEngineTest.commit(group("new"), rated, Map.of(0, 0L, 1, 0L));
        server.ksql(KsqlEngineTest.queries(names, "PAUSED", "PAUSED"));
        Properties p = TestBroker.clientProperties();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "rating-stand-in-" + TestBroker.unique("tx"));
        AtomicLong abortedAt = new AtomicLong();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(rated, 1, "k".getBytes(StandardCharsets.UTF_8), "{}".getBytes(StandardCharsets.UTF_8)));
            producer.flush();
            Thread decider = new Thread(() -> {
                try {
                    Thread.sleep(1500);
                    abortedAt.set(System.nanoTime());
                    producer.abortTransaction();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "rating-transaction-stand-in");
            decider.start();

            engine.pause(state(Map.of(0, 0L, 1, 0L)), Duration.ofSeconds(30));
            long returnedAt = System.nanoTime();
            decider.join();

            assertTrue(abortedAt.get() > 0 && returnedAt > abortedAt.get(),
                    "the filter groups had no lag while the transaction was open: the drain must wait for it");
            assertTrue(progress.stream().anyMatch(l -> l.contains("undecided transaction(s) on " + rated)), progress.toString());
        }
    }

    @Test
    void count_reads_rated_legacy_and_new_with_read_committed() {
        produceTransactionally(topic + "_rated", 0, 7, true);
        produceTransactionally(topic + "_rated", 1, 3, true);
        produceTransactionally(topic + "_legacy", 0, 5, true);
        produceTransactionally(topic + "_legacy", 0, 9, false);
        produceTransactionally(topic + "_new", 0, 2, true);
        produceTransactionally(topic + "_legacy", 1, 1, true);
        produceTransactionally(topic + "_new", 1, 2, true);

        Integrity result = engine.count(state(Map.of(0, 0L, 1, 0L)), Duration.ofSeconds(30));

        List<Integrity.Row> expected = new ArrayList<>();
        expected.add(new Integrity.Row(0, 7, 5, 2));
        expected.add(new Integrity.Row(1, 3, 1, 2));
        assertEquals(expected, result.rows(), "aborted records and transaction markers are not counted");
        assertTrue(result.clean());
        assertEquals(topic + "_rated", result.consumedFrom());

        produceTransactionally(topic + "_rated", 1, 1, true);
        Integrity after = engine.count(state(Map.of(0, 0L, 1, 0L)), Duration.ofSeconds(30));
        assertEquals(1, after.rows().get(1).difference(), "a record in _rated that reached neither version shows");
    }
}
