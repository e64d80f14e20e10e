package canary.platform;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.core.JsonProcessingException;

import canary.common.AtomicFile;
import canary.common.Durations;
import canary.common.Json;

/**
 * Keeps one of the kit's processes alive on this host: runs the command, and when it ends with an
 * exit code other than 0 (done) or 2 (refused: a bad configuration, a duplicate router instance),
 * starts it again after a back-off of 1 s, doubling up to {@link #MAX_BACKOFF}, back to 1 s once a run
 * lasted {@link #STABLE}. It never gives up: a process that keeps failing stays visible in status
 * with its restart count and last exit code instead of disappearing.
 *
 * <p>The supervisor is the process {@link Processes} records under the name; what it runs is
 * recorded in {@code <state>/supervision/<name>.json} (pid and start time of the current child,
 * restarts, last exit). SIGTERM to the supervisor stops the child (SIGTERM, then SIGKILL after
 * {@link #CHILD_GRACE}) and ends it. Output of both goes to the name's log file.
 *
 * <p>Run as {@code java canary.platform.Supervisor <state folder> <name> <command...>}.
 */
public final class Supervisor {

    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    static final Duration STABLE = Duration.ofSeconds(60);
    static final Duration CHILD_GRACE = Duration.ofSeconds(15);
    /** The exit code of a refusal (UserException.BAD_INPUT): running the same command again would be refused again. */
    static final int REFUSED = 2;
    /** Marks the supervisor's own lines in the log it shares with its child. */
    static final String LOG_TAG = "[supervisor]";

    /** What a supervised process is doing. */
    public enum Phase {
        /** The command runs. */
        RUNNING,
        /** The command failed; it starts again at {@code nextStart}. */
        BACKOFF,
        /** The command ended by itself with 0 (done) or 2 (refused): not restarted. */
        EXITED,
        /** The command could not be started at all (no such program). */
        CANNOT_START,
        /** Seen by a reader, never written: the supervisor was killed; its child still runs, unwatched. */
        UNSUPERVISED,
        /** Seen by a reader, never written: the supervisor was killed, and its child is gone too. */
        GONE
    }

    /**
     * The file a supervisor keeps about its child.
     *
     * @param childPid     the current (or last) child, -1 before the first start
     * @param childStarted its start time in epoch milliseconds, -1 when the OS does not tell
     */
    public record Record(String name, Phase phase, long childPid, long childStarted, int restarts, Integer lastExit, Instant lastExitAt,
                         Instant since, Instant nextStart) {

        Record withPhase(Phase p) {
            return new Record(name, p, childPid, childStarted, restarts, lastExit, lastExitAt, since, nextStart);
        }

        /** One line for status and logs. */
        public String describe() {
            String s = switch (phase) {
                case RUNNING -> "runs (pid " + childPid + ")";
                case BACKOFF -> "restarting at " + nextStart;
                case EXITED -> "exited with code " + lastExit;
                case CANNOT_START -> "cannot start";
                case UNSUPERVISED -> "runs (pid " + childPid + ") but its supervisor is gone: setup.java starts it again supervised";
                case GONE -> "is gone with its supervisor: setup.java brings it back";
            };
            if (restarts > 0 && lastExit != null) {
                s += ", restarted " + restarts + " time" + (restarts == 1 ? "" : "s") + " (last exit code " + lastExit + " at " + lastExitAt + ")";
            }
            return s;
        }
    }

    private final Path file;
    private final String name;
    private final List<String> command;
    private volatile Process child;
    private volatile boolean stopping;
    private Record record;

    Supervisor(Path stateDir, String name, List<String> command) {
        this.file = recordFile(stateDir, name);
        this.name = name;
        this.command = command;
        this.record = new Record(name, Phase.RUNNING, -1, -1, 0, null, null, Instant.now(), null);
    }

    static Path recordFile(Path stateDir, String name) {
        return stateDir.resolve("supervision").resolve(name + ".json");
    }

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: Supervisor <state folder> <name> <command...>");
            System.exit(REFUSED);
        }
        Supervisor s = new Supervisor(Path.of(args[0]), args[1], List.of(Arrays.copyOfRange(args, 2, args.length)));
        Runtime.getRuntime().addShutdownHook(new Thread(s::stopChild, "supervisor-stop"));
        System.exit(s.run());
    }

    /** Runs the command until it ends with 0 or 2, or the supervisor is told to stop. */
    int run() {
        Duration backoff = FIRST_BACKOFF;
        while (!stopping) {
            Instant started = Instant.now();
            Process p;
            try {
                p = new ProcessBuilder(command).inheritIO().start();
            } catch (IOException e) {
                say("cannot start " + String.join(" ", command) + ": " + e.getMessage());
                write(new Record(name, Phase.CANNOT_START, -1, -1, record.restarts(), null, Instant.now(), record.since(), null));
                return REFUSED;
            }
            child = p;
            write(new Record(name, Phase.RUNNING, p.pid(), p.info().startInstant().map(Instant::toEpochMilli).orElse(-1L), record.restarts(),
                    record.lastExit(), record.lastExitAt(), record.since(), null));
            int code = waitFor(p);
            if (stopping) {
                break;
            }
            Instant ended = Instant.now();
            if (code == 0 || code == REFUSED) {
                say(name + " exited with code " + code + (code == 0 ? " (done)" : " (refused)") + ": not restarting it");
                write(new Record(name, Phase.EXITED, p.pid(), record.childStarted(), record.restarts(), code, ended, record.since(), null));
                return code;
            }
            if (Duration.between(started, ended).compareTo(STABLE) >= 0) {
                backoff = FIRST_BACKOFF;
            }
            Instant next = ended.plus(backoff);
            say(name + " exited with code " + code + describeSignal(code) + " after " + Durations.format(Duration.between(started, ended))
                    + ": restart " + (record.restarts() + 1) + " in " + Durations.format(backoff));
            write(new Record(name, Phase.BACKOFF, p.pid(), record.childStarted(), record.restarts() + 1, code, ended, record.since(), next));
            sleep(backoff);
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        }
        return 0;
    }

    private static String describeSignal(int code) {
        return switch (code) {
            case 137 -> " (SIGKILL)";
            case 143 -> " (SIGTERM)";
            case 134 -> " (SIGABRT)";
            case 139 -> " (SIGSEGV)";
            default -> "";
        };
    }

    /** SIGTERM to the supervisor: the child gets SIGTERM, and SIGKILL if it has not ended within {@link #CHILD_GRACE}. */
    void stopChild() {
        stopping = true;
        Process p = child;
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(CHILD_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                say(name + " did not end within " + Durations.format(CHILD_GRACE) + " of SIGTERM: SIGKILL");
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static int waitFor(Process p) {
        while (true) {
            try {
                return p.waitFor();
            } catch (InterruptedException e) {
                // only the shutdown hook ends this JVM; keep waiting for the child
            }
        }
    }

    private void sleep(Duration d) {
        long until = System.nanoTime() + d.toNanos();
        while (!stopping && System.nanoTime() < until) {
            try {
                Thread.sleep(Math.min(200, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void write(Record r) {
        record = r;
        try {
            AtomicFile.write(file, Json.MAPPER.writeValueAsString(r) + "\n");
        } catch (IOException e) {
            say("cannot write " + file + ": " + e.getMessage());
        }
    }

    private static void say(String line) {
        System.out.println(Instant.now() + " " + LOG_TAG + " " + line);
        System.out.flush();
    }

    /** The record a supervisor keeps for {@code name}, if any. */
    static Optional<Record> read(Path stateDir, String name) {
        Path f = recordFile(stateDir, name);
        try {
            return Optional.of(Json.MAPPER.readValue(Files.readString(f), Record.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (JsonProcessingException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        }
    }
}
