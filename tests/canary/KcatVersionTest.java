package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Steps;
import canary.common.Waits;
import canary.context.Role;
import canary.demo.DummyService;
import canary.engine.router.Router;
import canary.kafka.KafkaCluster;
import canary.platform.Processes;
import canary.release.MigrationState;

/**
 * A version in another client library: kcat (librdkafka's high-level balanced consumer, {@code kcat -G}) from Debian, as
 * the new version and as both. What a version "processed" is what kcat printed (one line per record in its log), so
 * exactly-once is asserted from what kcat consumed. kcat commits with librdkafka's auto commit (every 5 s, and on close
 * after SIGTERM) and starts from the committed offsets the kit sets at migration and hand-over (no {@code -o}).
 */
class KcatVersionTest {

    @TempDir
    Path dir;

    @Test
    void kcat_as_the_new_version_processes_every_record_once_and_a_read_uncommitted_reader_sees_an_aborted_transaction_twice()
            throws Exception {
        try (Kit kit = Kit.withRuns(dir, 2, "", null, Kit.kcatYaml()); TestProducer producer = new TestProducer(kit.topic)) {
            kit.routing(producer, 200, 200, "0.5");
            Processes p = kit.processes();
            try (KafkaCluster c = kit.cluster()) {
                assertEquals(1, c.members(kit.newGroup).size(), "kcat is a member of the new version's group");
            }
            // A reader of both routing topics as a version that ignores the rule would read them: read_uncommitted.
            String observer = kit.topic + "-uncommitted";
            p.start("kcat-uncommitted", List.of("kcat", "-q", "-u", "-b", TestBroker.bootstrapServers(), "-G", observer,
                    "-X", "auto.offset.reset=earliest", "-X", "isolation.level=read_uncommitted", "-f", Kit.KCAT_FORMAT,
                    kit.ctx().legacyTopic(), kit.ctx().newTopic()), kit.dir, Map.of());

            // A second router instance SIGKILLed with a transaction open: its records stay in the log, aborted, and the first
            // instance routes them again once the group gave it the partitions.
            leaveAnAbortedTransaction(kit);
            kit.awaitRouted(600);
            Waits.until("the read_uncommitted reader processed records of the aborted transaction and their routed copies",
                    Duration.ofSeconds(60), Waits.quiet(), () -> !twice(Kit.kcatProcessed(p.logFile("kcat-uncommitted"))).isEmpty());

            kit.updateRate("100%", "--drain").ok();
            kit.awaitRouted(800);
            Kit.Run check = kit.checkData().ok();
            assertTrue(check.out().contains("integrity: clean"), check.out());
            Kit.Run promote = kit.promote().ok();
            assertTrue(promote.out().contains("HAND-OVER OFFSET"), promote.out());

            List<String> produced = producer.stop();
            kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
            // kcat reads read_committed by default (librdkafka's default): the aborted records never reached it.
            kit.assertExactlyOnce(produced);
            assertTrue(kit.processed(kit.newGroup).stream().anyMatch(x -> x.topic().equals(kit.ctx().newTopic())), "kcat processed _new");

            // kcat's group honoured the offsets the hand-over set: its first record on the original topic is the hand-over position.
            MigrationState done = kit.state();
            assertEquals(MigrationState.Phase.PROMOTED, done.phase());
            Map<Integer, Long> first = firstOffsets(kit.processed(kit.newGroup), kit.topic);
            assertFalse(first.isEmpty(), "kcat processed the original topic after the promotion");
            first.forEach((part, o) -> assertEquals(done.handover().offsets().get(part), o, "first offset of kcat on partition " + part));
        }
    }

    /**
     * kcat as the legacy version too. The hand-back on rollback is exact (kcat is stopped after the drain, when nothing
     * arrives). But the migration stops legacy while producers write: kcat 1.7.1 drops a record that its poll returns after
     * SIGTERM, whose offset librdkafka has already stored (enable.auto.offset.store) and commits on close. So a kcat legacy
     * loses at most that one record per partition: the one just before the start offset the migration captured.
     */
    @Test
    void kcat_as_legacy_loses_at_most_the_record_in_hand_at_the_migration_and_hands_back_exactly_on_rollback() throws Exception {
        try (Kit kit = Kit.withRuns(dir, 2, "", Kit.kcatYaml(), Kit.kcatYaml()); TestProducer producer = new TestProducer(kit.topic)) {
            kit.routing(producer, 100, 150, "0.5");
            Kit.Run back = kit.rollback().ok();
            assertTrue(back.out().contains("rolled back"), back.out());
            List<String> produced = producer.stop();
            kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));

            MigrationState done = kit.state();
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (String g : List.of(kit.legacyGroup, kit.newGroup)) {
                kit.processed(g).forEach(x -> seen.add(x.id()));
            }
            List<String> lost = produced.stream().filter(id -> !seen.contains(id)).toList();
            Map<Integer, Long> before = new TreeMap<>();
            done.startOffsets().forEach((part, o) -> {
                if (o > 0) {
                    before.put(part, o - 1);
                }
            });
            List<String> inHand = idsAt(kit.topic, before);
            assertTrue(inHand.containsAll(lost), "only the record in hand at the stop may be lost: lost " + lost + ", in hand " + inHand);
            kit.assertExactlyOnce(produced.stream().filter(id -> !lost.contains(id)).toList());

            assertEquals(Role.LEGACY, done.handover().to());
            Map<Integer, Long> after = new TreeMap<>();
            for (DummyService.Processed x : kit.processed(kit.legacyGroup)) {
                if (x.topic().equals(kit.topic) && x.offset() >= done.startOffsets().get(x.partition())) {
                    after.merge(x.partition(), x.offset(), Math::min);
                }
            }
            assertFalse(after.isEmpty(), "the legacy kcat processed the original topic after the rollback");
            after.forEach((part, o) -> assertEquals(done.handover().offsets().get(part), o, "first offset of the legacy kcat on partition " + part));
        }
    }

    /**
     * Starts router instance 1 so that it stops at {@link Router#RECORDS_SENT} with records of its first batch in an open
     * transaction, waits until they are in the log, and SIGKILLs it there: the transaction is aborted when it times out.
     */
    static void leaveAnAbortedTransaction(Kit kit) throws Exception {
        Processes p = kit.processes();
        Path reached = kit.dir.resolve("reached-" + Router.RECORDS_SENT);
        String router1 = canary.platform.ProcessNames.router(kit.ctx(), 1);
        p.start(router1, Processes.javaCommand("canary.cli.RouterCommand", kit.contextFile.toString(), "--instance", "1"), kit.dir,
                Map.of(Steps.PAUSE_AT, Router.RECORDS_SENT, Steps.PAUSE_FILE, reached.toString()));
        Waits.until("router instance 1 has sent records in an open transaction", Duration.ofSeconds(90), Waits.quiet(),
                () -> Files.exists(reached) || !p.isRunning(router1));
        assertTrue(Files.exists(reached), "router-1 ended before " + Router.RECORDS_SENT + ": " + Files.readString(p.logFile(router1)));
        try (KafkaCluster c = kit.cluster()) {
            Waits.until("the open transaction's records are in the log", Duration.ofSeconds(30), Waits.quiet(),
                    () -> !c.undecided(kit.ctx().legacyTopic()).isEmpty() || !c.undecided(kit.ctx().newTopic()).isEmpty());
        }
        assertTrue(Kit.kill9(p, router1));
    }

    /** The ids (the keys) of the records at these offsets of a topic. */
    static List<String> idsAt(String topic, Map<Integer, Long> offsets) {
        List<String> ids = new java.util.ArrayList<>();
        java.util.Properties props = TestBroker.clientProperties();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            offsets.forEach((part, o) -> {
                TopicPartition tp = new TopicPartition(topic, part);
                c.assign(List.of(tp));
                c.seek(tp, o);
                ConsumerRecords<String, String> rs = c.poll(Duration.ofSeconds(10));
                rs.records(tp).stream().filter(r -> r.offset() == o).forEach(r -> ids.add(r.key()));
            });
        }
        return ids;
    }

    static Map<Integer, Long> firstOffsets(List<DummyService.Processed> processed, String topic) {
        Map<Integer, Long> first = new TreeMap<>();
        processed.stream().filter(p -> p.topic().equals(topic)).forEach(p -> first.merge(p.partition(), p.offset(), Math::min));
        return first;
    }

    static List<String> twice(List<DummyService.Processed> processed) {
        Map<String, Integer> n = new HashMap<>();
        processed.forEach(p -> n.merge(p.id(), 1, Integer::sum));
        return n.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
    }
}
