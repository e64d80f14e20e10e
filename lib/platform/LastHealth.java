package canary.platform;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import canary.common.AtomicFile;

/**
 * The health status last found for a context on this host ({@code <state_dir>/health/status-<context>.last}): status is
 * stateless, so this file is what lets it notify once when a release turns degraded, not at every look.
 */
public final class LastHealth {

    private final Path file;

    public LastHealth(Path stateDir, String context) {
        this.file = stateDir.resolve("health").resolve("status-" + context + ".last");
    }

    /**
     * Records {@code now} (a health word such as healthy or degraded) and says whether it is {@code degraded} after a
     * different one (or none yet): a transition to notify. A file the kit cannot write is not an error of status.
     */
    public synchronized boolean turned(String now, String degraded) {
        String before;
        try {
            before = Files.readString(file).trim();
        } catch (NoSuchFileException e) {
            before = null;
        } catch (IOException e) {
            return false;
        }
        if (now.equals(before)) {
            return false;
        }
        try {
            AtomicFile.write(file, now + "\n");
        } catch (IOException e) {
            return false; // without the record, notifying would repeat at every status
        }
        return now.equals(degraded);
    }
}
