package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.SetupCommand;
import canary.cli.TeardownCommand;
import canary.common.Waits;
import canary.kafka.KafkaCluster;
import canary.platform.Processes;
import canary.platform.broker.LocalBroker;
import canary.release.Lag;

/** The local platform: setup starts a real broker, the producer and legacy; teardown leaves nothing behind. */
class SetupTeardownTest {

    @TempDir
    Path dir;

    @Test
    void setup_starts_the_local_platform_and_teardown_leaves_nothing_behind() throws Exception {
        int port = LocalBroker.freePort();
        int controller = LocalBroker.freePort();
        String service = Kit.javaCommandYaml("canary.demo.DummyService", "{context}", "{service}", "{topic}");
        Path ctxFile = dir.resolve("ctx.yaml");
        Files.writeString(ctxFile, "name: local-demo\ntopic: orders\nstate_dir: state\n"
                + "local:\n  port: " + port + "\n  controller_port: " + controller + "\n  producer_rate: 50\n"
                + "legacy:\n  group: service_v1\n  run: " + service + "\n"
                + "new:\n  group: service_v2\n  run: " + service + "\n");
        Path state = dir.resolve("state");

        Kit.Run first = Kit.run(new SetupCommand(), ctxFile.toString(), "--timeout", "2m").ok();
        assertTrue(first.out().contains("started a KRaft broker on 127.0.0.1:" + port), first.out());
        Processes processes = new Processes(state);
        List<Long> pids = new ArrayList<>();
        for (String name : List.of("broker", "local-demo.producer", "orders.service-service_v1")) {
            assertTrue(processes.isRunning(name), name + " runs");
            pids.add(processes.pid(name).orElseThrow());
        }

        // An independent client sees the topic with 6 partitions, a growing record count and legacy's offsets advancing.
        Properties client = new Properties();
        client.put("bootstrap.servers", "127.0.0.1:" + port);
        try (KafkaCluster c = KafkaCluster.connect(client)) {
            assertEquals(6, c.partitions("orders"));
            long before = Lag.total(c.endOffsets("orders"));
            Waits.until("records keep arriving", Duration.ofSeconds(30), Waits.quiet(),
                    () -> Lag.total(c.endOffsets("orders")) > before + 20);
            Waits.until("legacy commits on every partition", Duration.ofSeconds(60), Waits.quiet(),
                    () -> c.committedOffsets("service_v1", "orders").size() == 6);
            long committed = Lag.total(c.committedOffsets("service_v1", "orders"));
            Waits.until("legacy's committed offsets advance", Duration.ofSeconds(30), Waits.quiet(),
                    () -> Lag.total(c.committedOffsets("service_v1", "orders")) > committed);
        }

        Kit.Run again = Kit.run(new SetupCommand(), ctxFile.toString()).ok();
        assertTrue(again.out().contains("broker already runs"), again.out());
        assertTrue(again.out().contains("demo producer already runs"), again.out());
        assertTrue(again.out().contains("legacy version (service_v1) already runs"), again.out());
        assertEquals(pids.get(0), processes.pid("broker").orElseThrow(), "nothing restarted");

        Kit.Run refused = Kit.run(new TeardownCommand(), ctxFile.toString());
        refused.expect(2);
        assertTrue(refused.err().contains("add --yes"), refused.err());
        assertTrue(processes.isRunning("broker"), "a refused teardown changes nothing");

        Kit.Run down = Kit.run(new TeardownCommand(), ctxFile.toString(), "--yes").ok();
        assertTrue(down.out().contains("teardown done"), down.out());
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "process " + pid + " is gone");
        }
        assertFalse(Files.exists(state), "the state folder is gone");
    }
}
