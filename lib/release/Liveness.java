package canary.release;

import java.time.Instant;

/** Whether the process that runs a step is still alive. */
public interface Liveness {

    boolean alive(MigrationState.StepInProgress step, Instant now);

    /**
     * On {@code host}: the recorded process still runs (same pid, same start time). Elsewhere the
     * kit cannot look: the step counts as alive until its deadline.
     */
    static Liveness onHost(String host) {
        return (step, now) -> {
            if (!host.equals(step.host())) {
                return now.isBefore(step.until());
            }
            return ProcessHandle.of(step.pid()).filter(ProcessHandle::isAlive)
                    .map(h -> step.processStarted() == null || h.info().startInstant().map(step.processStarted()::equals).orElse(true))
                    .orElse(false);
        };
    }
}
