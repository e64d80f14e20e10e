package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.TeardownCommand;
import canary.context.Role;
import canary.kafka.KafkaCluster;
import canary.platform.Processes;
import canary.release.MigrationState.Phase;

/**
 * Two contexts of two topics on one cluster and one state_dir, released at the same time: both migrations run at once and both
 * route at once, each ends exactly once, and the teardown of one leaves the other's processes, topics, state and files untouched.
 */
class SideBySideTest {

    @TempDir
    Path dir;

    @Test
    void two_releases_sharing_a_state_dir_route_at_once_end_exactly_once_and_one_teardown_leaves_the_other_running() throws Exception {
        String shared = "state_dir: ../state\n";
        try (Kit a = new Kit(Files.createDirectories(dir.resolve("a")), 2, shared);
             Kit b = new Kit(Files.createDirectories(dir.resolve("b")), 2, shared);
             TestProducer pa = new TestProducer(a.topic); TestProducer pb = new TestProducer(b.topic)) {
            Path state = a.ctx().stateDir().toAbsolutePath().normalize();
            assertEquals(state, b.ctx().stateDir().toAbsolutePath().normalize(), "one state_dir");
            a.legacyHasProcessed(pa, 60);
            b.legacyHasProcessed(pb, 60);
            pa.startBackground(60);
            pb.startBackground(60);

            CompletableFuture<Kit.Run> ma = CompletableFuture.supplyAsync(() -> a.migration("0.5"));
            CompletableFuture<Kit.Run> mb = CompletableFuture.supplyAsync(() -> b.migration("0.5"));
            ma.get().ok();
            mb.get().ok();
            a.awaitRouted(60);
            b.awaitRouted(60);
            Processes processes = new Processes(state);
            for (Kit k : List.of(a, b)) {
                for (String name : List.of(k.routerProcess(0), k.versionProcess(Role.LEGACY), k.versionProcess(Role.NEW))) {
                    assertTrue(processes.isRunning(name), name + " runs: " + processes.running());
                }
            }
            String statusA = a.status().ok().out();
            assertFalse(statusA.contains(b.routerProcess(0)), "status of one context shows its own processes only: " + statusA);

            // Both hand over at the same time.
            CompletableFuture<Kit.Run> promoteA = CompletableFuture.supplyAsync(() -> a.promote());
            CompletableFuture<Kit.Run> checkB = CompletableFuture.supplyAsync(() -> b.checkData());
            promoteA.get().ok();
            assertTrue(checkB.get().ok().out().contains("integrity: clean"));
            List<String> producedA = pa.stop();
            a.awaitDrained(a.newGroup, a.topic, Duration.ofSeconds(60));
            a.assertExactlyOnce(producedA);

            Kit.Run teardown = a.run(new TeardownCommand(), List.of("--yes")).ok();
            assertTrue(teardown.out().contains("kept the folder, which other contexts use"), teardown.out());
            for (String name : List.of(a.routerProcess(0), a.versionProcess(Role.LEGACY), a.versionProcess(Role.NEW))) {
                assertFalse(processes.isRunning(name), name + " is stopped");
            }
            for (String name : List.of(b.routerProcess(0), b.versionProcess(Role.LEGACY), b.versionProcess(Role.NEW))) {
                assertTrue(processes.isRunning(name), name + " still runs");
            }
            try (KafkaCluster c = a.cluster()) {
                assertFalse(c.topicExists(a.topic + "_canary_state"), "the torn down context's state topic is deleted");
                for (String t : List.of(b.topic + "_legacy", b.topic + "_new", b.topic + "_canary_state")) {
                    assertTrue(c.topicExists(t), t + " stays");
                }
            }
            assertEquals(Phase.ROUTING, b.state().phase());
            assertTrue(Files.exists(state.resolve("processed").resolve(b.legacyGroup + ".tsv")), "the other context's files stay");

            b.awaitRouted(120);
            b.promote().ok();
            List<String> producedB = pb.stop();
            b.awaitDrained(b.newGroup, b.topic, Duration.ofSeconds(60));
            b.assertExactlyOnce(producedB);
            Kit.Run last = b.run(new TeardownCommand(), List.of("--yes")).ok();
            assertTrue(last.out().contains("deleted " + state), last.out());
            assertFalse(Files.exists(state), "the last context's teardown deletes the folder");
        }
    }
}
