package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.demo.DemoProducer;
import canary.demo.DummyService;
import canary.platform.Processes;

class DemoProducerAndDummyServiceTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static Admin admin;

    @TempDir
    Path dir;

    @BeforeAll
    static void connect() {
        admin = TestBroker.admin();
    }

    @AfterAll
    static void disconnect() {
        admin.close();
    }

    @Test
    void should_process_every_record_exactly_once_across_a_graceful_restart() throws Exception {
        String topic = createTopic("orders", 3);
        String group = TestBroker.unique("service_v1");
        Path out = dir.resolve("processed/" + group + ".tsv");

        List<String> ids = new ArrayList<>();
        try (DemoProducer producer = new DemoProducer(TestBroker.clientProperties(), topic, 0, DemoProducer.newRunId())) {
            ids.addAll(producer.produce(200));
        }
        assertEquals(200, Set.copyOf(ids).size(), "ids are unique");

        Running first = Running.start(new DummyService(TestBroker.clientProperties(), group, topic, out));
        awaitCaughtUp(group, topic, out, 200);
        assertExactlyOnce(DummyService.readProcessed(out), ids, topic);
        first.stop();
        assertEquals(200, first.service.processed());
        Waits.until("the group " + group + " has no members", TIMEOUT, Waits.quiet(), () -> members(group) == 0);

        // A restarted producer never repeats an id.
        try (DemoProducer producer = new DemoProducer(TestBroker.clientProperties(), topic, 0, DemoProducer.newRunId())) {
            ids.addAll(producer.produce(150));
        }
        Running second = Running.start(new DummyService(TestBroker.clientProperties(), group, topic, out));
        awaitCaughtUp(group, topic, out, 350);
        second.stop();

        assertEquals(150, second.service.processed(), "the restarted service continues where the first committed");
        assertExactlyOnce(DummyService.readProcessed(out), ids, topic);
    }

    @Test
    void should_stop_gracefully_under_load_without_processing_a_record_twice() throws Exception {
        String topic = createTopic("orders-load", 4);
        String group = TestBroker.unique("service_v1");
        Path out = dir.resolve(group + ".tsv");
        DemoProducer producer = new DemoProducer(TestBroker.clientProperties(), topic, 2000, DemoProducer.newRunId());
        Thread producing = new Thread(producer::run, "producer");
        producing.start();
        try {
            for (int round = 1; round <= 3; round++) {
                Running service = Running.start(new DummyService(TestBroker.clientProperties(), group, topic, out));
                int before = DummyService.readProcessed(out).size();
                Waits.until("round " + round + " processes records", TIMEOUT, Waits.quiet(),
                        () -> DummyService.readProcessed(out).size() > before + 100);
                service.stop();
            }
        } finally {
            assertTrue(producer.stopAndWait(TIMEOUT), () -> "the producer stops; its thread: " + stackOf(producing));
            producing.join(TIMEOUT.toMillis());
        }
        assertEquals(0, producer.failures());
        Running last = Running.start(new DummyService(TestBroker.clientProperties(), group, topic, out));
        awaitCaughtUp(group, topic, out, producer.sent());
        last.stop();

        List<DummyService.Processed> processed = DummyService.readProcessed(out);
        assertEquals(producer.sent(), processed.size());
        assertExactlyOnce(processed, processed.stream().map(DummyService.Processed::id).toList(), topic);
    }

    @Test
    void should_write_json_orders_keyed_by_order_id_with_headers() throws Exception {
        String topic = createTopic("orders-shape", 2);
        String runId = DemoProducer.newRunId();
        List<String> ids;
        try (DemoProducer producer = new DemoProducer(TestBroker.clientProperties(), topic, 0, runId)) {
            ids = producer.produce(20);
        }
        assertTrue(runId.matches("[0-9a-z]{4}"), runId);
        assertEquals(runId + "-000001", ids.get(0));

        List<ConsumerRecord<String, String>> records = readAll(topic, 20);
        ObjectMapper json = new ObjectMapper();
        for (ConsumerRecord<String, String> r : records) {
            JsonNode v = json.readTree(r.value());
            assertTrue(ids.contains(v.get("id").asText()));
            assertEquals(v.get("order_id").asText(), r.key());
            assertTrue(v.get("item").asText().startsWith("Item_"));
            assertTrue(v.get("amount").isNumber());
            assertNotNull(java.time.Instant.parse(v.get("created_at").asText()));
            assertEquals("demo-producer", new String(r.headers().lastHeader("source").value(), StandardCharsets.UTF_8));
            assertEquals(36, r.headers().lastHeader("trace-id").value().length);
        }
    }

    @Test
    void should_run_producer_and_service_as_processes_from_a_context_file_and_stop_them_with_sigterm() throws Exception {
        String topic = createTopic("orders-proc", 3);
        String group = TestBroker.unique("service_v1");
        Path state = dir.resolve("etc");
        Path ctxFile = dir.resolve("context.yaml");
        Files.writeString(ctxFile, String.join("\n",
                "name: proc-test",
                "topic: " + topic,
                "state_dir: " + state,
                "kafka:",
                "  bootstrap_servers: " + TestBroker.bootstrapServers(),
                "local:",
                "  producer_rate: 300",
                "legacy:",
                "  group: " + group,
                "  run: [\"x\"]",
                "new:",
                "  group: " + group + "-new",
                "  run: [\"x\"]",
                ""));
        Processes processes = new Processes(state);
        Path out = DummyService.outputFile(state, group);
        try {
            processes.start("producer", Processes.javaCommand(DemoProducer.class.getName(), ctxFile.toString()), dir, Map.of());
            processes.start(group, Processes.javaCommand(DummyService.class.getName(), ctxFile.toString(), group, topic), dir, Map.of());
            Waits.until("the service process processes records", TIMEOUT, Waits.quiet(), () -> DummyService.readProcessed(out).size() >= 300);

            assertEquals(Processes.Stopped.TERMINATED, processes.stop(group, Duration.ofSeconds(30)).outcome());
            assertTrue(Files.readString(processes.logFile(group)).contains("stopped after"), "the shutdown hook ran to its end");
            Map<TopicPartition, Long> committed = committed(group);
            Map<TopicPartition, Long> processedUpTo = DummyService.readProcessed(out).stream().collect(Collectors.toMap(
                    p -> new TopicPartition(p.topic(), p.partition()), p -> p.offset() + 1, Math::max));
            assertEquals(processedUpTo, committed, "on SIGTERM the last processed batch is committed");
            assertEquals(0, members(group));

            assertEquals(Processes.Stopped.TERMINATED, processes.stop("producer", Duration.ofSeconds(30)).outcome());
            assertTrue(Files.readString(processes.logFile("producer")).contains("stopped after"));

            processes.start(group, Processes.javaCommand(DummyService.class.getName(), ctxFile.toString(), group, topic), dir, Map.of());
            long total = endOffsets(topic).values().stream().mapToLong(Long::longValue).sum();
            awaitCaughtUp(group, topic, out, total);
            List<DummyService.Processed> processed = DummyService.readProcessed(out);
            assertExactlyOnce(processed, processed.stream().map(DummyService.Processed::id).toList(), topic);
        } finally {
            for (String name : processes.running()) {
                processes.stop(name, Duration.ofSeconds(10));
            }
        }
    }

    @Test
    void should_read_back_processed_lines_and_ignore_a_cut_last_line() throws Exception {
        Path f = dir.resolve("p.tsv");
        Files.writeString(f, "orders\t0\t5\tab-000001\norders\t2\t7\t-\norders\t1\t");
        assertEquals(List.of(new DummyService.Processed("orders", 0, 5, "ab-000001"), new DummyService.Processed("orders", 2, 7, "-")),
                DummyService.readProcessed(f));
        assertEquals(List.of(), DummyService.readProcessed(dir.resolve("missing.tsv")));
        // The next run of a killed service appends: the cut line goes first, or it would glue itself to the next line.
        DummyService.dropTornLine(f);
        assertEquals("orders\t0\t5\tab-000001\norders\t2\t7\t-\n", Files.readString(f));
        DummyService.dropTornLine(f);
        assertEquals("orders\t0\t5\tab-000001\norders\t2\t7\t-\n", Files.readString(f), "a whole file is left as it is");
        Files.writeString(f, "orders\t1\t");
        DummyService.dropTornLine(f);
        assertEquals("", Files.readString(f), "a file of one cut line becomes empty");
        DummyService.dropTornLine(dir.resolve("missing.tsv"));
        assertEquals("-", DummyService.idOf("not json".getBytes(StandardCharsets.UTF_8)));
        assertEquals("-", DummyService.idOf("{\"no_id\":1}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("-", DummyService.idOf(null));
        assertEquals("x y", DummyService.idOf("{\"id\":\"x\\ty\"}".getBytes(StandardCharsets.UTF_8)));
    }

    // ------------------------------------------------------------------ helpers

    /** A service running in a thread of the test JVM. */
    private record Running(DummyService service, Thread thread) {
        static Running start(DummyService s) {
            Thread t = new Thread(s::run, "dummy-service");
            t.start();
            return new Running(s, t);
        }

        void stop() throws InterruptedException {
            assertTrue(service.stopAndWait(TIMEOUT), "the service stops");
            thread.join(TIMEOUT.toMillis());
            assertFalse(thread.isAlive());
        }
    }

    private static String stackOf(Thread t) {
        StringBuilder s = new StringBuilder(t.getState().toString());
        for (StackTraceElement e : t.getStackTrace()) {
            s.append("\n\tat ").append(e);
        }
        return s.toString();
    }

    private static String createTopic(String prefix, int partitions) throws Exception {
        String topic = TestBroker.unique(prefix);
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
        return topic;
    }

    /** Waits until the file has {@code expected} lines and the group's committed offsets reach the end of the topic. */
    private static void awaitCaughtUp(String group, String topic, Path out, long expected) {
        Waits.untilNothingLeft(group + " processed and committed all of " + topic, TIMEOUT, Waits.quiet(), () -> {
            int lines = DummyService.readProcessed(out).size();
            if (lines < expected) {
                return lines + " of " + expected + " lines";
            }
            Map<TopicPartition, Long> end = endOffsets(topic);
            end.values().removeIf(o -> o == 0);
            Map<TopicPartition, Long> committed = committed(group);
            return committed.equals(end) ? null : "committed " + committed + " vs end " + end;
        });
    }

    /** Each offset of the topic once, each id once, and exactly the expected ids. */
    private static void assertExactlyOnce(List<DummyService.Processed> processed, List<String> expectedIds, String topic) {
        Map<String, Long> perId = processed.stream().collect(Collectors.groupingBy(DummyService.Processed::id, Collectors.counting()));
        Map<String, Long> twice = new TreeMap<>(perId);
        twice.values().removeIf(n -> n == 1);
        assertEquals(Map.of(), twice, "ids processed more than once");
        assertEquals(new HashSet<>(expectedIds), perId.keySet());
        assertEquals(expectedIds.size(), processed.size());

        Map<TopicPartition, Long> end = endOffsets(topic);
        Set<String> positions = new HashSet<>();
        for (DummyService.Processed p : processed) {
            assertEquals(topic, p.topic());
            assertTrue(positions.add(p.partition() + "@" + p.offset()), "offset processed twice: " + p);
            assertTrue(p.offset() < end.get(new TopicPartition(p.topic(), p.partition())));
        }
        assertEquals(end.values().stream().mapToLong(Long::longValue).sum(), positions.size(), "every offset processed");
    }

    private static Map<TopicPartition, Long> committed(String group) {
        try {
            Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            Map<TopicPartition, Long> out = new HashMap<>();
            m.forEach((tp, o) -> {
                if (o != null) {
                    out.put(tp, o.offset());
                }
            });
            return out;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<TopicPartition, Long> endOffsets(String topic) {
        try {
            int n = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
            Map<TopicPartition, OffsetSpec> q = new HashMap<>();
            for (int p = 0; p < n; p++) {
                q.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            return admin.listOffsets(q).all().get().entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset(), (a, b) -> a, HashMap::new));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static int members(String group) {
        try {
            return admin.describeConsumerGroups(List.of(group)).all().get().get(group).members().size();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<ConsumerRecord<String, String>> readAll(String topic, int expected) {
        Properties p = TestBroker.clientProperties();
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Waits.until(expected + " records read from " + topic, TIMEOUT, Waits.quiet(), () -> {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
                return out.size() >= expected;
            });
        }
        return out;
    }

}
