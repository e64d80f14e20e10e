package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.StatusCommand;
import canary.release.MigrationState;

/**
 * check_data and update_rate --drain stop routing while they run. Killed with SIGKILL at their named
 * steps, they leave routing stopped: status says so (exit 1), and running the step again takes it
 * over and starts routing again. Every record is processed exactly once.
 */
class InterruptedStepsTest {

    @TempDir
    Path dir;

    @Test
    void a_killed_check_data_or_drain_leaves_a_stall_that_status_reports_and_a_re_run_ends() throws Exception {
        try (Kit kit = new Kit(dir, 4, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 200);
            producer.startBackground(200);
            kit.migration("0.3").ok();
            kit.awaitRouted(100);
            Kit.run(new StatusCommand(), kit.contextFile.toString()).ok();

            kit.killAt("canary.cli.CheckDataCommand", "check-data.routing-stopped");
            Kit.Run stalled = Kit.run(new StatusCommand(), kit.contextFile.toString()).expect(1);
            assertTrue(stalled.out().contains("DEGRADED: routing is stopped (run flag off) and no step is in progress: the check_data.java on"),
                    stalled.out());
            Kit.Run again = kit.checkData().ok();
            assertTrue(again.out().contains("taking over the interrupted check_data.java"), again.out());
            MigrationState s = kit.state();
            assertTrue(s.routerRunning());
            assertNull(s.step());
            kit.awaitRouted(300);
            Kit.run(new StatusCommand(), kit.contextFile.toString()).ok();

            kit.killAt("canary.cli.UpdateRateCommand", "update-rate.drained", "0.6", "--drain");
            Kit.run(new StatusCommand(), kit.contextFile.toString()).expect(1);
            Kit.Run sameShare = kit.updateRate("0.3").ok();
            assertTrue(sameShare.out().contains("routing resumed at share 30 % (it was stopped by the interrupted update_rate.java --drain)"),
                    sameShare.out());
            kit.updateRate("0.6", "--drain").ok();
            assertEquals(0.6, kit.state().share());
            kit.awaitRouted(500);
            Kit.run(new StatusCommand(), kit.contextFile.toString()).ok();

            kit.promote().ok();
            List<String> produced = producer.stop();
            kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced);
        }
    }
}
