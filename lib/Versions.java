package canary;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.MemberDescription;

/**
 * Starts and stops the two versions of the service with the context's commands: a long-running
 * {@code run} command the kit starts detached and stops by pid, or {@code start}/{@code stop}
 * commands that return at once. Stopping waits until the version's group has no members, so that
 * its committed offsets are final.
 */
public final class Versions {

    /** How long a freshly started command must stay alive to count as started. */
    static final Duration STARTUP_CHECK = Duration.ofMillis(1500);

    private final Context ctx;
    private final KafkaCluster cluster;
    private final Processes processes;
    private final Waits.Progress progress;

    public Versions(Context ctx, KafkaCluster cluster, Processes processes, Waits.Progress progress) {
        this.ctx = ctx;
        this.cluster = cluster;
        this.processes = processes;
        this.progress = progress;
    }

    static String processName(String role) {
        return "service-" + role;
    }

    /** Starts a version on a topic unless its process already runs. */
    public void start(String role, String topic, Duration timeout) {
        Context.Service s = ctx.service(role);
        if (s.longRunning()) {
            if (processes.isRunning(processName(role))) {
                progress.accept(role + " version (" + s.group() + ") already runs");
                return;
            }
            processes.start(processName(role), s.command(s.run(), topic, ctx.file()), ctx.directory(), Map.of());
            awaitStillRunning(role);
            progress.accept("started the " + role + " version (group " + s.group() + ") on " + topic);
        } else {
            runToCompletion(role, "start", s.command(s.start(), topic, ctx.file()), timeout);
            progress.accept("started the " + role + " version (group " + s.group() + ") on " + topic);
        }
    }

    /** A command that cannot start (a wrong path, a bad argument) exits at once: say so instead of reporting success. */
    private void awaitStillRunning(String role) {
        long until = System.nanoTime() + STARTUP_CHECK.toNanos();
        while (System.nanoTime() < until) {
            if (!processes.isRunning(processName(role))) {
                Path log = processes.logFile(processName(role));
                String last = "";
                try {
                    List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
                    last = lines.isEmpty() ? "" : ": " + lines.get(lines.size() - 1).strip();
                } catch (IOException ignored) {
                    // the message below still names the log
                }
                throw new UserException(UserException.BAD_INPUT, "the " + role + " version exited right after it started (log " + log + last
                        + "); check " + role + ".run in " + ctx.file());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Stops a version and waits until its group is empty. */
    public void stop(String role, String topic, Duration timeout) {
        Context.Service s = ctx.service(role);
        if (s.longRunning()) {
            if (processes.isRunning(processName(role))) {
                processes.stop(processName(role), Duration.ofSeconds(20));
                progress.accept("stopped the " + role + " version (group " + s.group() + ")");
            }
        } else {
            runToCompletion(role, "stop", s.command(s.stop(), topic, ctx.file()), timeout);
            progress.accept("stopped the " + role + " version (group " + s.group() + ")");
        }
        Waits.untilNothingLeft("the group " + s.group() + " of the " + role + " version is empty", timeout, progress, () -> {
            List<MemberDescription> m = cluster.members(s.group());
            return m.isEmpty() ? null : m.size() + " member(s) left";
        });
    }

    /** Whether the version's process runs (long-running) or its group has members (start/stop). */
    public boolean running(String role) {
        Context.Service s = ctx.service(role);
        return s.longRunning() ? processes.isRunning(processName(role)) : !cluster.members(s.group()).isEmpty();
    }

    private void runToCompletion(String role, String what, List<String> argv, Duration timeout) {
        Path log = ctx.stateDir().resolve("logs").resolve(processName(role) + "-" + what + ".log");
        try {
            Files.createDirectories(log.getParent());
            Process p = new ProcessBuilder(argv).directory(ctx.directory().toFile())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new UserException(UserException.ENVIRONMENT, "the " + what + " command of the " + role + " version did not return within "
                        + Durations.format(timeout) + ": " + String.join(" ", argv) + " (output in " + log + ")");
            }
            if (p.exitValue() != 0) {
                throw new UserException(UserException.ENVIRONMENT, "the " + what + " command of the " + role + " version failed with exit code "
                        + p.exitValue() + ": " + String.join(" ", argv) + " (output in " + log + ")");
            }
        } catch (IOException e) {
            throw new UserException(UserException.BAD_INPUT, "cannot run the " + what + " command of the " + role + " version ("
                    + String.join(" ", argv) + "): " + e.getMessage() + "; check " + role + "." + what + " in " + ctx.file());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(UserException.ENVIRONMENT, "interrupted");
        }
    }
}
