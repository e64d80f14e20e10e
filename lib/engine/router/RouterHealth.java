package canary.engine.router;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import canary.common.AtomicFile;
import canary.common.Json;
import canary.release.MigrationState;

/**
 * The health file of a router instance, for a supervisor's probe (a Kubernetes exec liveness probe, a
 * systemd watchdog script, a monitoring agent): one JSON object, rewritten whole at least every
 * {@link #EVERY} while the instance runs and on every change of its status. A file older than a few
 * times {@link #EVERY} means the instance hangs or is gone.
 */
final class RouterHealth {

    static final Duration EVERY = Duration.ofSeconds(5);

    /**
     * @param status starting, routing, paused (run flag off, or a hand-over in progress), refused (another process runs this
     *               instance number), exited (the migration ended), stopped (SIGTERM)
     */
    record Content(int instance, long pid, String status, Instant updatedAt, String phase, Double share, long routedLegacy,
                   long routedNew) {
    }

    private final Path file;
    private final int instance;
    private String lastStatus;
    private long lastWrite;

    RouterHealth(Path file, int instance) {
        this.file = file;
        this.instance = instance;
    }

    /** Writes when the status changed or {@link #EVERY} has passed. */
    void maybeWrite(String status, MigrationState state, long routedLegacy, long routedNew) {
        if (!status.equals(lastStatus) || System.nanoTime() - lastWrite > EVERY.toNanos()) {
            write(status, state, routedLegacy, routedNew);
        }
    }

    void write(String status, MigrationState state, long routedLegacy, long routedNew) {
        lastStatus = status;
        lastWrite = System.nanoTime();
        if (file == null) {
            return;
        }
        Content c = new Content(instance, ProcessHandle.current().pid(), status, Instant.now(), state == null ? null : state.phase().word(),
                state == null ? null : state.share(), routedLegacy, routedNew);
        try {
            AtomicFile.write(file, Json.MAPPER.writeValueAsString(c) + "\n");
        } catch (IOException e) {
            // health is for others to read; routing goes on without it
        }
    }
}
