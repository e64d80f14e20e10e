package canary.platform;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import canary.common.Durations;
import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Role;
import canary.release.Cluster;
import canary.release.Versions;

/**
 * Starts and stops the two versions of the service with the context's commands: a long-running
 * {@code run} command the kit starts detached and stops by pid, or {@code start}/{@code stop}
 * commands that return at once. Stopping waits until the version's group has no members, so that
 * its committed offsets are final.
 */
public final class ProcessVersions implements Versions {

    /** How long a freshly started command must stay alive to count as started. */
    static final Duration STARTUP_CHECK = Duration.ofMillis(2000);

    private final Context ctx;
    private final Cluster cluster;
    private final Processes processes;
    private final Waits.Progress progress;

    public ProcessVersions(Context ctx, Cluster cluster, Processes processes, Waits.Progress progress) {
        this.ctx = ctx;
        this.cluster = cluster;
        this.processes = processes;
        this.progress = progress;
    }

    /**
     * The name a version's process is recorded under: {@code <topic>.service-<group>} ({@link ProcessNames#service}), after the
     * original topic and the version's consumer group rather than its role or context, so that the version a promotion (or
     * rollback) leaves running is the same process for the next release of the topic, where it is the legacy version.
     */
    public static String processName(String topic, String group) {
        return ProcessNames.service(topic, group);
    }

    private String processName(Role role) {
        return processName(ctx.topic(), ctx.service(role).group());
    }

    /**
     * Starts a version on a topic unless its process already runs, then waits until its group has a member: what the kit says
     * after it (a migration's versions consume, a promotion's version consumes the topic) is then true, and status right after
     * it does not find the group empty.
     */
    @Override
    public void start(Role role, String topic, Duration timeout) {
        Context.Service s = ctx.service(role);
        if (s.longRunning()) {
            if (processes.isRunning(processName(role))) {
                progress.accept(role + " version (" + s.group() + ") already runs");
            } else {
                processes.start(processName(role), s.command(s.run(), topic, ctx.file()), ctx.directory(), principalEnv(s), true);
                awaitStillRunning(role);
                progress.accept("started the " + role + " version (group " + s.group() + ") on " + topic);
            }
        } else {
            runToCompletion(role, "start", s.command(s.start(), topic, ctx.file()), timeout);
            progress.accept("started the " + role + " version (group " + s.group() + ") on " + topic);
        }
        String log = s.longRunning() ? " (its log: " + processes.logFile(processName(role)) + ")" : "";
        Waits.untilNothingLeft("the " + role + " version has joined its group " + s.group(), timeout, progress,
                () -> cluster.members(s.group()).isEmpty() ? "no member yet" + log : null);
    }

    /**
     * A command that cannot start (a wrong path, a bad argument) exits at once: say so instead of reporting success, and stop
     * its supervisor, which would otherwise start it again and again.
     */
    private void awaitStillRunning(Role role) {
        String name = processName(role);
        long until = System.nanoTime() + STARTUP_CHECK.toNanos();
        while (System.nanoTime() < until) {
            Optional<Supervisor.Record> r = processes.supervision(name);
            boolean failed = !processes.isRunning(name) || r.map(x -> x.restarts() > 0 || x.phase() != Supervisor.Phase.RUNNING).orElse(false);
            if (failed) {
                processes.stop(name, Duration.ofSeconds(5));
                Path log = processes.logFile(name);
                String last = "";
                try {
                    List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
                    last = lines.stream().filter(l -> !l.contains(Supervisor.LOG_TAG)).reduce((a, b) -> b).map(l -> ": " + l.strip()).orElse("");
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
    @Override
    public void stop(Role role, String topic, Duration timeout) {
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
            List<Cluster.Member> m = cluster.members(s.group());
            return m.isEmpty() ? null : m.size() + " member(s) left";
        });
    }

    /** The version's own client properties file for its commands, when the context names one. */
    static Map<String, String> principalEnv(Context.Service s) {
        return s.kafkaProperties().map(f -> Map.of(Context.KAFKA_PROPERTIES_ENV, f.toAbsolutePath().toString())).orElse(Map.of());
    }

    /** Whether the version's process runs (long-running) or its group has members (start/stop). */
    @Override
    public boolean running(Role role) {
        Context.Service s = ctx.service(role);
        return s.longRunning() ? processes.isRunning(processName(role)) : !cluster.members(s.group()).isEmpty();
    }

    private void runToCompletion(Role role, String what, List<String> argv, Duration timeout) {
        Path log = ctx.stateDir().resolve("logs").resolve(processName(role) + "-" + what + ".log");
        Commands.Finished f;
        try {
            f = Commands.run(argv, ctx.directory(), log, timeout, principalEnv(ctx.service(role)));
        } catch (IOException e) {
            throw new UserException(UserException.BAD_INPUT, "cannot run the " + what + " command of the " + role + " version ("
                    + String.join(" ", argv) + "): " + e.getMessage() + "; check " + role + "." + what + " in " + ctx.file());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(UserException.ENVIRONMENT, "interrupted");
        }
        if (f.timedOut()) {
            throw new UserException(UserException.ENVIRONMENT, "the " + what + " command of the " + role + " version did not return within "
                    + Durations.format(timeout) + ": " + String.join(" ", argv) + " (output in " + log + ")");
        }
        if (f.exitCode() != 0) {
            throw new UserException(UserException.ENVIRONMENT, "the " + what + " command of the " + role + " version failed with exit code "
                    + f.exitCode() + ": " + String.join(" ", argv) + " (output in " + log + ")");
        }
    }
}
