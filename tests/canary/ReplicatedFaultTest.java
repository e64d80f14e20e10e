package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import canary.demo.DummyService;
import canary.release.MigrationState;

/**
 * Faults on a replicated cluster (three brokers, replication factor 3, min.insync.replicas 2): the broker leading
 * partition 0 of the original topic (and, on three brokers with three partitions, derived partitions too) is SIGKILLed
 * (a) while routing runs, (b) while update_rate --drain waits at its named step update-rate.drained, (c) while promote
 * waits at handover.versions-stopped; it is restarted each time, the interrupted commands are run again, and every record
 * the producers had acknowledged is processed exactly once by exactly one version. In CI: the short form (100 records/s, one
 * kill while routing); {@code -Dcanary.long=true}: 300 records/s and three kills while routing (the README's figures).
 *
 * <p>The harness rides out the outage it causes: a read of the committed offsets that gets no answer while the killed
 * broker's group coordinator moves is asked again ({@link Kit#awaitRouted}).
 */
class ReplicatedFaultTest {

    static final boolean LONG = Boolean.getBoolean("canary.long");

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 20, unit = java.util.concurrent.TimeUnit.MINUTES)
    void the_leader_broker_killed_during_routing_drain_and_promote_loses_and_doubles_nothing() throws Exception {
        try (TestCluster cluster = TestCluster.start(3)) {
            Kit kit = Kit.onCluster(dir, 3, cluster.bootstrapServers());
            try (kit; TestProducer producer = new TestProducer(kit.topic, kit.client)) {
                int rate = LONG ? 300 : 100;
                kit.routing(producer, 100, rate, "0.5");
                long routed = 100;

                // (a) during routing: routing goes on with two brokers, then the third comes back.
                for (int i = 0; i < (LONG ? 3 : 1); i++) {
                    int leader = killLeader(cluster, kit);
                    routed += rate;
                    kit.awaitRouted(routed);
                    cluster.restart(leader);
                }
                // (b) during update_rate --drain, at its named step; the re-run takes the interrupted drain over.
                kit.killAt("canary.cli.UpdateRateCommand", "update-rate.drained", () -> restartAfter(cluster, killLeader(cluster, kit)),
                        "100%", "--drain");
                kit.updateRate("100%", "--drain").ok();
                routed += rate;
                kit.awaitRouted(routed);
                // (c) during promote, at a named step of the hand-over; the re-run continues where it stopped.
                kit.killAt("canary.cli.PromoteCommand", "handover.versions-stopped", () -> restartAfter(cluster, killLeader(cluster, kit)));
                kit.promote().ok();

                producer.stop();
                List<String> acknowledged = producer.acknowledged();
                assertEquals(List.of(), producer.failed(), "no send failed for good");
                kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(90));
                kit.assertExactlyOnceAllowingRedelivery(new ArrayList<>(acknowledged));
                assertEquals(MigrationState.Phase.PROMOTED, kit.state().phase());
                assertTrue(DERIVED_LEADERS_KILLED.get() > 0, "at least one kill took down the leader of a derived partition");
                long redelivered = redelivered(kit, kit.legacyGroup) + redelivered(kit, kit.newGroup);
                System.out.println("ReplicatedFaultTest" + (LONG ? " (long)" : "") + ": " + acknowledged.size() + " records acknowledged, "
                        + kit.processed(kit.legacyGroup).size() + " processed by legacy, " + kit.processed(kit.newGroup).size()
                        + " by new (" + redelivered + " of them the same offset delivered again to the same version), " + ((LONG ? 3 : 1) + 2)
                        + " leader kills (" + DERIVED_LEADERS_KILLED.get() + " derived partition leaders among them); lost 0, by two versions 0");
            }
        }
    }

    /** Leaders of derived partitions among the killed brokers (each kill counts the derived partitions the broker led). */
    static final AtomicInteger DERIVED_LEADERS_KILLED = new AtomicInteger();

    /** SIGKILLs the broker leading partition 0 of the original topic; returns its id. */
    static int killLeader(TestCluster cluster, Kit kit) {
        int leader = cluster.leaderOf(new TopicPartition(kit.topic, 0));
        assertTrue(leader > 0, "partition 0 has a leader");
        for (String derived : List.of(kit.ctx().legacyTopic(), kit.ctx().newTopic())) {
            DERIVED_LEADERS_KILLED.addAndGet((int) cluster.leaders(derived).stream().filter(l -> l == leader).count());
        }
        cluster.kill9(leader);
        return leader;
    }

    /** Records a version processed at an offset it had processed before (its commit did not reach the killed broker). */
    static long redelivered(Kit kit, String group) {
        List<DummyService.Processed> all = kit.processed(group);
        return all.size() - all.stream().map(p -> p.topic() + "/" + p.partition() + "@" + p.offset()).distinct().count();
    }

    static void restartAfter(TestCluster cluster, int node) {
        cluster.restart(node);
    }
}
