package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.kafka.KafkaCluster;
import canary.platform.Processes;
import canary.release.Lag;
import canary.release.MigrationState;

/** Router instances killed with SIGKILL mid-stream lose nothing and double nothing. */
class RouterCrashTest {

    @TempDir
    Path dir;

    static void startInstance(Kit kit, int n) {
        kit.processes().start(kit.routerProcess(n), Processes.javaCommand("canary.cli.RouterCommand", kit.contextFile.toString(),
                "--instance", String.valueOf(n)), kit.dir, Map.of());
    }

    static void awaitRouted(Kit kit, long atLeast) {
        try (KafkaCluster c = kit.cluster()) {
            Waits.until("the router moved past " + atLeast, Duration.ofSeconds(90), Waits.quiet(),
                    () -> Lag.total(c.committedOffsets("canary-router-" + kit.topic, kit.topic)) > atLeast);
        }
    }

    static long routed(Kit kit) {
        try (KafkaCluster c = kit.cluster()) {
            return Lag.total(c.committedOffsets("canary-router-" + kit.topic, kit.topic));
        }
    }

    @Test
    void killing_router_instances_mid_stream_loses_and_doubles_nothing() throws Exception {
        try (Kit kit = new Kit(dir, 6, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 200);
            producer.startBackground(400);
            kit.migration("0.5").ok();

            // Kill instance 0 three times mid-stream: its supervisor starts it again, whose producer fences the dead one's transaction.
            for (int i = 1; i <= 3; i++) {
                awaitRouted(kit, routed(kit) + 200);
                Kit.kill9Child(kit.processes(), kit.routerProcess(0));
                assertEquals(137, Kit.awaitRestarted(kit.processes(), kit.routerProcess(0), i).lastExit());
            }
            Kit.Run status = kit.status();
            assertTrue(status.out().contains(kit.routerProcess(0) + " runs") && status.out().contains("restarted 3 times"), status.out());
            // Two instances share the partitions; killing one for good loses nothing: the other takes its partitions over.
            startInstance(kit, 1);
            try (KafkaCluster c = kit.cluster()) {
                Waits.until("two router instances share the partitions", Duration.ofSeconds(60), Waits.quiet(),
                        () -> c.members("canary-router-" + kit.topic).size() == 2);
            }
            awaitRouted(kit, routed(kit) + 300);
            assertTrue(Kit.kill9(kit.processes(), kit.routerProcess(0)), "router-0 and its supervisor killed for good");
            try (KafkaCluster c = kit.cluster()) {
                Waits.until("instance 1 owns every partition", Duration.ofSeconds(60), Waits.quiet(), () -> {
                    var m = c.members("canary-router-" + kit.topic);
                    return m.size() == 1 && m.get(0).partitions().size() == 6;
                });
            }
            awaitRouted(kit, routed(kit) + 300);

            Kit.Run check = kit.checkData().ok();
            assertTrue(check.out().contains("integrity: clean"), check.out());
            kit.promoteAndAssertExactlyOnce(producer);
            assertEquals(MigrationState.Phase.PROMOTED, kit.state().phase());
        }
    }
}
