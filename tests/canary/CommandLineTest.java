package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import canary.cli.CheckDataCommand;
import canary.cli.ContextCommand;
import canary.cli.MigrationCommand;
import canary.cli.PromoteCommand;
import canary.cli.RollbackCommand;
import canary.cli.RolloutCommand;
import canary.cli.RouterCommand;
import canary.cli.SetupCommand;
import canary.cli.StatusCommand;
import canary.cli.TeardownCommand;
import canary.cli.UpdateRateCommand;
import canary.common.Durations;
import canary.demo.DemoCommand;

/** What every script's command line does before it touches anything: help, durations. */
@Tag("fast")
class CommandLineTest {

    static List<ContextCommand> commands() {
        return List.of(new CheckDataCommand(), new MigrationCommand(), new PromoteCommand(), new RollbackCommand(), new RolloutCommand(),
                new RouterCommand(), new SetupCommand(), new StatusCommand(), new TeardownCommand(), new UpdateRateCommand(), new DemoCommand(),
                new canary.cli.ExporterCommand());
    }

    @Test
    void every_help_prints_an_example_and_no_warning() {
        for (ContextCommand c : commands()) {
            Kit.Run help = Kit.run(c, "--help").ok();
            assertTrue(help.out().contains("./jbang "), help.out());
            assertEquals("", help.err(), "picocli warns about the help text of " + c.getClass().getSimpleName());
        }
    }

    @Test
    void durations_stop_at_a_year_rather_than_overflow() {
        // What a script prints for --timeout 200000d is in BadInputCatalogueTest.
        assertEquals(Duration.ofDays(365), Durations.parse("365d"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("366d"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("99999999999999s"));
    }

    @Test
    void status_watch_calls_a_lag_that_grows_at_every_sample_a_problem() {
        StatusCommand.LagTrend t = new StatusCommand.LagTrend();
        assertEquals(null, t.add(10));
        assertEquals(null, t.add(20));
        assertEquals(null, t.add(30));
        assertTrue(t.add(40).contains("the router's lag grew at each of the last 4 samples (10 -> 40 records)"));
        assertEquals(null, t.add(40), "a sample that does not grow ends it");
        assertEquals(null, t.add(50));
    }
}
