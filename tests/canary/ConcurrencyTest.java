package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

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
            assertTrue(e.getMessage().contains("changed while this command ran (read version 0, now 1 by"), e.getMessage());
            assertTrue(e.getMessage().contains("(host-b: b changes the share)"), e.getMessage());
            MigrationState now = a.read().orElseThrow();
            assertEquals(0.5, now.share(), "the stale write wrote nothing");
            assertEquals(2, now.history().size());
            assertEquals("host-b", now.lastChange().command());
        }
    }
}
