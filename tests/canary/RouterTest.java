package canary;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.context.Context;
import canary.context.Routing;
import canary.engine.router.Router;
import canary.kafka.KafkaCluster;
import canary.kafka.KafkaStateStore;
import canary.release.Lag;
import canary.release.MigrationState;
import canary.release.Operator;

/** The router on its own: pass-through, the start boundary, the observed share. */
class RouterTest {

    @TempDir
    Path dir;

    Kit kit;
    Thread routerThread;
    Router router;

    /** Prepares routing as migration does (topics, state, router offsets at {@code start}) and runs a router in this JVM. */
    void route(double share, String routing, Map<Integer, Long> start) throws Exception {
        Context ctx = kit.ctx();
        try (KafkaCluster c = kit.cluster(); KafkaStateStore store = KafkaStateStore.of(ctx, TestBroker.clientProperties(), new Operator("test", "test-host", "test"), java.time.Clock.systemUTC())) {
            store.ensureExists();
            c.createTopic(ctx.legacyTopic(), kit.partitions, Map.of());
            c.createTopic(ctx.newTopic(), kit.partitions, Map.of());
            c.setOffsets(ctx.routerGroup(), ctx.topic(), start);
            store.write(-1, MigrationState.start(ctx.name(), Context.EngineKind.ROUTER, Routing.parse(routing), share, start)
                    .withPhase(MigrationState.Phase.ROUTING).withRouterRunning(true), "test");
        }
        router = new Router(ctx, TestBroker.clientProperties(), 0, new PrintWriter(System.out, true), null); // in the test report on failure
        routerThread = new Thread(router::run, "router");
        routerThread.start();
    }

    @AfterEach
    void stopRouter() throws Exception {
        if (router != null) {
            router.close();
            routerThread.join(20_000);
        }
    }

    static Map<Integer, Long> zeros(int partitions) {
        Map<Integer, Long> m = new TreeMap<>();
        for (int p = 0; p < partitions; p++) {
            m.put(p, 0L);
        }
        return m;
    }

    List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected) {
        Properties p = TestBroker.clientProperties();
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < kit.partitions; i++) {
                tps.add(new TopicPartition(topic, i));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Waits.until(expected + " records in " + topic, Duration.ofSeconds(60), Waits.quiet(), () -> {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
                return out.size() >= expected;
            });
        }
        return out;
    }

    long waitRouted(int total) {
        Context ctx = kit.ctx();
        try (KafkaCluster c = kit.cluster()) {
            Waits.until(total + " records routed", Duration.ofSeconds(60), Waits.quiet(), () ->
                    Lag.total(c.committedOffsets(ctx.routerGroup(), ctx.topic())) >= total);
            return Lag.total(c.committedOffsets(ctx.routerGroup(), ctx.topic()));
        }
    }

    @Test
    void copies_key_value_headers_timestamp_and_partition_byte_for_byte() throws Exception {
        kit = new Kit(dir, 3, "");
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(TestBroker.clientProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 60; i++) {
                RecordHeaders h = new RecordHeaders();
                h.add("trace", ("t-" + i).getBytes(StandardCharsets.UTF_8));
                h.add("bin", new byte[]{0, (byte) 0xff, (byte) i});
                byte[] key = i % 10 == 0 ? null : ("key-" + i).getBytes(StandardCharsets.UTF_8);
                byte[] value = i % 7 == 0 ? null : new byte[]{(byte) i, 0, (byte) 0x80, 42};
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(kit.topic, i % 3, 1_600_000_000_000L + i * 1000L, key, value, h);
                p.send(r).get();
                sent.add(r);
            }
        }
        route(0.5, "random", zeros(3));
        waitRouted(60);
        Map<String, ConsumerRecord<byte[], byte[]>> byTrace = new HashMap<>();
        List<ConsumerRecord<byte[], byte[]>> legacy = readAllAvailable(kit.topic + "_legacy");
        List<ConsumerRecord<byte[], byte[]>> fresh = readAllAvailable(kit.topic + "_new");
        assertEquals(60, legacy.size() + fresh.size(), "every record lands in exactly one topic (legacy " + legacy.size() + ", new " + fresh.size() + ")");
        for (ConsumerRecord<byte[], byte[]> r : legacy) {
            byTrace.put(new String(r.headers().lastHeader("trace").value(), StandardCharsets.UTF_8), r);
        }
        for (ConsumerRecord<byte[], byte[]> r : fresh) {
            byTrace.put(new String(r.headers().lastHeader("trace").value(), StandardCharsets.UTF_8), r);
        }
        for (int i = 0; i < 60; i++) {
            ProducerRecord<byte[], byte[]> s = sent.get(i);
            ConsumerRecord<byte[], byte[]> r = byTrace.get("t-" + i);
            assertArrayEquals(s.key(), r.key(), "key of record " + i);
            assertArrayEquals(s.value(), r.value(), "value of record " + i);
            assertEquals(s.timestamp(), r.timestamp(), "timestamp of record " + i);
            assertEquals(s.partition(), r.partition(), "partition of record " + i);
            assertArrayEquals(s.headers().toArray(), r.headers().toArray(), "headers of record " + i);
        }
    }

    /**
     * Every record of {@code topic} once the router's last transaction is decided there: its commit returns (and its offsets
     * show) before the coordinator has written the markers on the derived topics, and a read_committed count stops before them.
     */
    List<ConsumerRecord<byte[], byte[]>> readAllAvailable(String topic) {
        return readAll(topic, (int) countDecided(topic));
    }

    /** The records of {@code topic} a read_committed reader sees once the router's last transaction is decided there. */
    long countDecided(String topic) {
        try (KafkaCluster c = kit.cluster()) {
            Waits.until("no transaction is undecided on " + topic, Duration.ofSeconds(30), Waits.quiet(), () -> c.undecided(topic).isEmpty());
            return Lag.total(c.countAll(topic, Duration.ofSeconds(30)));
        }
    }

    @Test
    void routes_the_record_at_the_committed_offset_and_none_before_it() throws Exception {
        kit = new Kit(dir, 2, "");
        try (TestProducer producer = new TestProducer(kit.topic)) {
            producer.produce(100);
            Map<Integer, Long> start = Map.of(0, 7L, 1, 0L);
            route(0.5, "random", start);
            Context ctx = kit.ctx();
            try (KafkaCluster c = kit.cluster()) {
                Map<Integer, Long> end = c.endOffsets(kit.topic);
                waitRouted((int) Lag.total(end)); // committed offsets: 7 + routed on p0, routed on p1
                List<ConsumerRecord<byte[], byte[]>> routed = new ArrayList<>(readAllAvailable(ctx.legacyTopic()));
                routed.addAll(readAllAvailable(ctx.newTopic()));
                assertEquals(Lag.total(end) - 7, routed.size(), "records from offset 7 of partition 0 and all of partition 1");
                // The record at the committed offset 7 of partition 0 is routed (the original's '>' skipped it).
                byte[] atSeven = recordAt(kit.topic, 0, 7).value();
                assertTrue(routed.stream().anyMatch(r -> r.partition() == 0 && java.util.Arrays.equals(r.value(), atSeven)),
                        "the record at the committed offset is routed");
                byte[] atSix = recordAt(kit.topic, 0, 6).value();
                assertTrue(routed.stream().noneMatch(r -> java.util.Arrays.equals(r.value(), atSix)), "records before it are not");
            }
        }
    }

    ConsumerRecord<byte[], byte[]> recordAt(String topic, int partition, long offset) {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(TestBroker.clientProperties(), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, partition);
            c.assign(List.of(tp));
            c.seek(tp, offset);
            List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
            Waits.until("the record at " + tp + "@" + offset, Duration.ofSeconds(30), Waits.quiet(), () -> {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
                return !got.isEmpty();
            });
            return got.get(0);
        }
    }

    @Test
    void the_observed_share_is_within_two_points_of_the_requested_one() throws Exception {
        kit = new Kit(dir, 6, "");
        try (TestProducer producer = new TestProducer(kit.topic)) {
            producer.produce(20_000);
            route(0.3, "random", zeros(6));
            waitRouted(20_000);
            // Counted once the last transaction's markers are written: its offsets show before them.
            long fresh = countDecided(kit.topic + "_new");
            long legacy = countDecided(kit.topic + "_legacy");
            assertEquals(20_000, fresh + legacy);
            double observed = fresh / 20_000.0;
            assertTrue(Math.abs(observed - 0.3) <= 0.02, "observed share " + observed);
        }
    }
}
