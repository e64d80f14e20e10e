package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.SetupCommand;
import canary.cli.TeardownCommand;
import canary.common.Waits;
import canary.platform.LocalPlatform;
import canary.platform.Processes;
import canary.platform.broker.LocalBroker;
import canary.release.MigrationState;

/**
 * The whole single-node cluster of the local platform SIGKILLed mid-routing and brought back the documented way, by
 * running setup.java again: it starts the broker on its data under the state folder and brings back whatever should run;
 * the release then finishes with every record the producers had acknowledged processed exactly once by one version.
 */
class ClusterRestartTest {

    @TempDir
    Path dir;

    @Test
    void the_local_broker_killed_mid_routing_comes_back_with_setup_and_the_release_finishes_exactly_once() throws Exception {
        int port = LocalBroker.freePort();
        Kit kit = Kit.onLocalPlatform(dir, 3, port, LocalBroker.freePort());
        try (kit) {
            Kit.Run first = kit.run(new SetupCommand(), List.of("--timeout", "2m")).ok();
            assertTrue(first.out().contains("started a KRaft broker on 127.0.0.1:" + port), first.out());
            try (TestProducer producer = new TestProducer(kit.topic, kit.client)) {
                producer.produce(150);
                kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
                producer.startBackground(100);
                kit.migration("0.5").ok();
                kit.awaitRouted(150);

                Processes p = kit.processes();
                long before = p.pid(LocalPlatform.BROKER).orElseThrow();
                assertTrue(Kit.kill9(p, LocalPlatform.BROKER), "the broker was running");
                // The producers keep producing: their sends wait in the client for the broker and are retried when it is back.
                Kit.Run back = kit.run(new SetupCommand(), List.of("--timeout", "2m")).ok();
                assertTrue(back.out().contains("started a KRaft broker on 127.0.0.1:" + port), back.out());
                assertTrue(p.pid(LocalPlatform.BROKER).orElseThrow() != before, "a new broker process");
                kit.awaitRouted(600);
                Waits.until("status is healthy again", Duration.ofSeconds(120), Waits.quiet(), () -> kit.status().exitCode() == 0);

                Kit.Run check = kit.checkData().ok();
                assertTrue(check.out().contains("integrity: clean"), check.out());
                kit.promote().ok();
                producer.stop();
                List<String> acknowledged = producer.acknowledged();
                assertTrue(acknowledged.size() > 600, "records were produced before, during and after the outage: " + acknowledged.size());
                assertEquals(List.of(), producer.failed(), "no send failed for good: the producers retried through the outage");
                assertEquals(producer.ids().size(), acknowledged.size(), "every record sent was acknowledged in the end");
                kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
                // The versions (at least once: they commit after processing) may process their last uncommitted batch again when the
                // broker died under their commit; the router decided every record once.
                kit.assertExactlyOnceAllowingRedelivery(new ArrayList<>(acknowledged));
                assertEquals(MigrationState.Phase.PROMOTED, kit.state().phase());
            } finally {
                Kit.Run down = kit.run(new TeardownCommand(), List.of("--yes"));
                assertEquals(0, down.exitCode(), down.out() + down.err());
            }
            assertFalse(kit.processes().isRunning(LocalPlatform.BROKER), "teardown stopped the broker");
        }
    }
}
