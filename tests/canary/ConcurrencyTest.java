package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.context.Context;
import canary.context.Routing;
import canary.kafka.KafkaCluster;
import canary.kafka.KafkaStateStore;
import canary.platform.Processes;
import canary.release.MigrationState;
import canary.release.Operator;
import canary.release.StateStore;

/** Two runs at once: one is refused and the state stays intact. */
class ConcurrencyTest {

    @TempDir
    Path dir;

    @Test
    void a_second_script_for_the_same_context_on_this_host_is_refused() throws Exception {
        try (Kit kit = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 50);
            kit.migration("0.1").ok();
            MigrationState before = kit.state();

            Processes p = kit.processes();
            p.start("lock-holder", Processes.javaCommand("canary.HoldLock", kit.ctx().stateDir().toString(), kit.topic), dir, Map.of());
            Waits.until("the other command holds the lock", Duration.ofSeconds(30), Waits.quiet(),
                    () -> Files.exists(p.logFile("lock-holder")) && read(p.logFile("lock-holder")).contains("locked"));
            Kit.Run refused = kit.updateRate("0.5");
            BadInputTest.assertOneLine(refused, 2, "another canary-router command is running for context '" + kit.topic + "'");
            assertTrue(refused.err().contains("held by a test"), refused.err());
            assertEquals(before, kit.state(), "state intact");
            p.stop("lock-holder", Duration.ofSeconds(5));

            kit.updateRate("0.5").ok();
            assertEquals(0.5, kit.state().share());
        }
    }

    static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    @Test
    void a_write_based_on_a_stale_read_fails_and_writes_nothing() throws Exception {
        String topic = TestBroker.unique("state");
        try (KafkaCluster c = KafkaCluster.connect(TestBroker.clientProperties());
             KafkaStateStore a = new KafkaStateStore(TestBroker.clientProperties(), topic + "_canary_state", "ctx",
                     new Operator("ops", "host-a", "host-a"), java.time.Clock.systemUTC());
             KafkaStateStore b = new KafkaStateStore(TestBroker.clientProperties(), topic + "_canary_state", "ctx",
                     new Operator("ops", "host-b", "host-b"), java.time.Clock.systemUTC())) {
            a.ensureExists();
            MigrationState first = a.write(-1, MigrationState.start("ctx", Context.EngineKind.ROUTER, Routing.RANDOM, 0.1, Map.of(0, 0L)), "start");
            MigrationState readByA = a.read().orElseThrow();
            MigrationState readByB = b.read().orElseThrow();
            assertEquals(first, readByA);
            b.write(readByB.version(), readByB.withShare(0.5), "b changes the share");
            StateStore.StaleStateException e = assertThrows(StateStore.StaleStateException.class,
                    () -> a.write(readByA.version(), readByA.withShare(0.9), "a changes the share"));
            assertTrue(e.getMessage().contains("the state of context 'ctx' changed while this command ran: it read version 0, then another"
                    + " command wrote version 1 by ops@host-b at "), e.getMessage());
            assertTrue(e.getMessage().endsWith("(host-b: b changes the share); this command wrote nothing: check status and run again"),
                    e.getMessage());
            MigrationState now = a.read().orElseThrow();
            assertEquals(0.5, now.share(), "the stale write wrote nothing");
            assertEquals(2, now.history().size());
            assertEquals("host-b", now.lastChange().command());
        }
    }

    @Test
    void two_writers_that_read_the_same_version_and_write_at_once_one_is_refused_naming_the_other() throws Exception {
        String topic = TestBroker.unique("state") + "_canary_state";
        try (KafkaStateStore first = store(topic, "host-0")) {
            first.ensureExists();
            first.write(-1, MigrationState.start("ctx", Context.EngineKind.ROUTER, Routing.RANDOM, 0.1, Map.of(0, 0L)), "start");
        }
        try (KafkaStateStore a = store(topic, "host-a"); KafkaStateStore b = store(topic, "host-b")) {
            MigrationState readByA = readWhenVisible(a);
            MigrationState readByB = readWhenVisible(b);
            assertEquals(readByA, readByB, "both read version 0");
            CyclicBarrier together = new CyclicBarrier(2);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                var writeA = pool.submit(() -> writeAt(together, a, readByA, 0.3, "a changes the share"));
                var writeB = pool.submit(() -> writeAt(together, b, readByB, 0.7, "b changes the share"));
                Object outcomeA = writeA.get(60, TimeUnit.SECONDS);
                Object outcomeB = writeB.get(60, TimeUnit.SECONDS);

                boolean aWon = outcomeA instanceof MigrationState;
                assertTrue(aWon != (outcomeB instanceof MigrationState), "exactly one write wins: " + outcomeA + " / " + outcomeB);
                String winner = aWon ? "host-a" : "host-b";
                String refused = ((Exception) (aWon ? outcomeB : outcomeA)).getMessage();
                assertTrue((aWon ? outcomeB : outcomeA) instanceof StateStore.StaleStateException, refused);
                assertFalse(refused.contains("\n"), "one line: " + refused);
                assertTrue(refused.startsWith("the state of context 'ctx' changed while this command ran: it read version 0, then another"
                        + " command wrote version 1 by ops@" + winner + " at "), refused);
                assertTrue(refused.endsWith("(" + winner + ": " + (aWon ? "a" : "b") + " changes the share); this command wrote nothing:"
                        + " check status and run again"), refused);

                MigrationState now = readFresh(topic, 1);
                assertEquals(1, now.version());
                assertEquals(aWon ? 0.3 : 0.7, now.share(), "the winner's change, and only it, is stored");
                assertEquals(2, now.history().size());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void a_writer_fenced_by_one_that_wrote_nothing_writes_its_change() throws Exception {
        String topic = TestBroker.unique("state") + "_canary_state";
        try (KafkaStateStore a = store(topic, "host-a")) {
            a.ensureExists();
            MigrationState first = a.write(-1, MigrationState.start("ctx", Context.EngineKind.ROUTER, Routing.RANDOM, 0.1, Map.of(0, 0L)),
                    "start");
            // Another command opens the state's writer (the context's transactional id), which fences a's, and writes nothing.
            Properties p = TestBroker.clientProperties();
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "canary-state-" + topic + "-ctx");
            try (var other = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                other.initTransactions();
            }
            MigrationState written = a.write(first.version(), first.withShare(0.5), "a changes the share");
            assertEquals(1, written.version());
            MigrationState now = readFresh(topic, 1);
            assertEquals(0.5, now.share(), "the change is stored");
            assertEquals("a changes the share", now.lastChange().what());
        }
    }

    private static KafkaStateStore store(String topic, String host) {
        return new KafkaStateStore(TestBroker.clientProperties(), topic, "ctx", new Operator("ops", host, host), java.time.Clock.systemUTC());
    }

    /** The state as a new reader sees it once version {@code atLeast} shows. */
    private static MigrationState readFresh(String topic, long atLeast) {
        try (KafkaStateStore reader = store(topic, "reader")) {
            return readWhenVisible(reader, atLeast);
        }
    }

    private static MigrationState readWhenVisible(KafkaStateStore store) {
        return readWhenVisible(store, 0);
    }

    /** What {@code store} reads once version {@code atLeast} shows (a commit returns before its marker reaches the partition). */
    private static MigrationState readWhenVisible(KafkaStateStore store, long atLeast) {
        AtomicReference<MigrationState> read = new AtomicReference<>();
        Waits.until("version " + atLeast + " of the state is visible", Duration.ofSeconds(30), Waits.quiet(), () -> {
            read.set(store.read().orElse(null));
            return read.get() != null && read.get().version() >= atLeast;
        });
        return read.get();
    }

    /** Writes once both writers are ready; returns what was written, or the refusal. */
    private static Object writeAt(CyclicBarrier together, KafkaStateStore store, MigrationState read, double share,
                                  String what) throws Exception {
        together.await(30, TimeUnit.SECONDS);
        try {
            return store.write(read.version(), read.withShare(share), what);
        } catch (StateStore.StaleStateException e) {
            return e;
        }
    }
}
