package canary.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Named steps of the code where a crash test stops a process, to SIGKILL it exactly there rather
 * than after a number of milliseconds. Off unless the process runs with {@code CANARY_PAUSE_AT}
 * naming the step: then, on reaching it, the process writes {@code CANARY_PAUSE_FILE} (its pid)
 * and waits until it is killed. Costs one environment lookup per step otherwise.
 */
public final class Steps {

    public static final String PAUSE_AT = "CANARY_PAUSE_AT";
    public static final String PAUSE_FILE = "CANARY_PAUSE_FILE";

    private static final Function<String, String> ENV = System::getenv;

    private Steps() {
    }

    /** Marks that the code reached {@code step}, the place right after a change was made durable. */
    public static void reached(String step) {
        if (!step.equals(ENV.apply(PAUSE_AT))) {
            return;
        }
        String file = ENV.apply(PAUSE_FILE);
        try {
            if (file != null) {
                AtomicFile.write(Path.of(file), step + " " + ProcessHandle.current().pid() + "\n");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
