package canary.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.UserException;
import canary.release.Rollout;

/** Commands run to completion as real child processes: exit code, last line of output, timeout; the rollout's probe on top. */
@Tag("fast")
class CommandsTest {

    @TempDir
    Path dir;

    @Test
    void gives_the_exit_code_and_the_last_line_this_run_wrote() throws Exception {
        Path log = dir.resolve("logs/cmd.log");
        Files.createDirectories(log.getParent());
        Files.writeString(log, "an earlier run\n");
        Commands.Finished f = Commands.run(List.of("sh", "-c", "echo first; echo 'error rate 7 %' >&2; exit 3"), dir, log, Duration.ofSeconds(20));
        assertEquals(3, f.exitCode());
        assertEquals("error rate 7 %", f.lastLine());
        assertTrue(Files.readString(log).startsWith("an earlier run\nfirst\n"), "output is appended to the log");
        assertEquals("", Commands.run(List.of("true"), dir, log, Duration.ofSeconds(20)).lastLine(), "nothing new written");
    }

    @Test
    void kills_a_command_that_runs_longer_than_its_timeout() throws Exception {
        long t0 = System.nanoTime();
        Commands.Finished f = Commands.run(List.of("sleep", "30"), dir, dir.resolve("sleep.log"), Duration.ofMillis(300));
        assertTrue(f.timedOut());
        assertNull(f.exitCode());
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 20);
    }

    @Test
    void the_rollout_probe_reports_exit_code_and_last_line_and_names_a_command_that_cannot_run() {
        ProcessProbe probe = new ProcessProbe(dir, "ctx");
        Rollout.ProbeResult r = probe.run(List.of("sh", "-c", "echo lag ok; exit 1"), dir, Duration.ofSeconds(20));
        assertEquals(new Rollout.ProbeResult(1, "lag ok"), r);
        UserException e = assertThrows(UserException.class, () -> probe.run(List.of("./no-such-probe"), dir, Duration.ofSeconds(5)));
        assertTrue(e.getMessage().startsWith("cannot run the probe ./no-such-probe in " + dir), e.getMessage());
        assertTrue(e.getMessage().contains("check rollout.gates.command"), e.getMessage());
    }
}
