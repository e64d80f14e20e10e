package canary.platform;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import canary.common.Text;
import canary.common.UserException;
import canary.release.Rollout;

/** The rollout's probe as a child process, its output appended to {@code <state_dir>/logs/<context>.rollout-probe.log}. */
public final class ProcessProbe implements Rollout.Probe {

    private final Path log;

    public ProcessProbe(Path stateDir, String context) {
        this.log = stateDir.resolve("logs").resolve(context + ".rollout-probe.log");
    }

    @Override
    public Rollout.ProbeResult run(List<String> argv, Path dir, Duration timeout) {
        try {
            Commands.Finished f = Commands.run(argv, dir, log, timeout);
            return new Rollout.ProbeResult(f.exitCode(), f.lastLine());
        } catch (IOException e) {
            throw new UserException(UserException.BAD_INPUT, "cannot run the probe " + String.join(" ", argv) + " in " + dir + ": "
                    + Text.firstLine(e.getMessage()) + "; check rollout.gates.command (log " + log + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(UserException.ENVIRONMENT, "interrupted while the probe ran");
        }
    }
}
