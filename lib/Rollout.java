package canary;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import canary.MigrationState.Change;
import canary.MigrationState.Phase;
import canary.RolloutPlan.Step;

/**
 * One run of a progressive rollout: looks at the state in the cluster, finds the plan step the
 * release is at, and advances at most one step when its hold has elapsed and the gates pass. Keeps
 * no local file: the step and the time it started come from the state history, where each advance
 * leaves a line {@code rollout: step K of N ...}. Prints one line saying why it did or did not advance.
 */
public final class Rollout {

    /** Advanced, or holding as planned (also: nothing left to do). */
    public static final int OK = 0;
    /** A gate failed: held, or rolled back. */
    public static final int GATE_FAILED = 1;

    /** The history line each advance leaves; the step it names is where the release stands. */
    private static final Pattern STEP_LINE = Pattern.compile("^rollout: step (\\d+) of (\\d+)\\b");
    private static final String GATE_LINE = "rollout: gate ";
    /** A gate that keeps failing is recorded in the history once, then again at most this often. */
    static final Duration REPEAT_GATE_RECORD = Duration.ofHours(1);

    /** Runs the probe of {@code rollout.gates.command}. */
    public interface Probe {
        /** Runs {@code argv} in {@code dir}, no shell, for at most {@code timeout}. */
        ProbeResult run(List<String> argv, Path dir, Duration timeout);
    }

    /** How a probe ended: its exit code (null when it did not finish in time) and its last line of output. */
    public record ProbeResult(Integer exitCode, String lastLine) {
    }

    /** Where a routing release stands in the plan. */
    record Position(
            /* the plan step (0-based) whose share is routed; -1 below the first step */
            int step,
            /* when that step started: the step line of the history, else the last share change; null if unknown */
            Instant since,
            /* the share is exactly the step's (false: someone set a share that is not in the plan) */
            boolean onPlan) {

        Duration hold(RolloutPlan plan) {
            return plan.step(Math.max(step, 0)).hold();
        }
    }

    /** The gates evaluated before an advance: those that passed, and the first that failed (null: all passed). */
    record Gates(List<String> passed, String failed, String reason) {
        boolean ok() {
            return failed == null;
        }
    }

    private final Context ctx;
    private final KafkaCluster cluster;
    private final StateStore store;
    private final Lifecycle lifecycle;
    private final RolloutPlan plan;
    private final Clock clock;
    private final Probe probe;
    private final PrintWriter out;
    private final Duration timeout;

    /** {@code plan} may be null for the operator overrides, which do not follow it. */
    public Rollout(Context ctx, KafkaCluster cluster, StateStore store, Lifecycle lifecycle, RolloutPlan plan, Clock clock,
                   Probe probe, PrintWriter out, Duration timeout) {
        this.ctx = ctx;
        this.cluster = cluster;
        this.store = store;
        this.lifecycle = lifecycle;
        this.plan = plan;
        this.clock = clock;
        this.probe = probe;
        this.out = out;
        this.timeout = timeout;
    }

    public static Rollout of(Session s, RolloutPlan plan, PrintWriter out, Duration timeout) {
        return new Rollout(s.ctx, s.cluster, s.store, s.lifecycle, plan, Clock.systemUTC(), new ProcessProbe(s.ctx.stateDir()), out, timeout);
    }

    // ------------------------------------------------------------------ one run

    /** Advances at most one step of the plan; returns {@link #OK} or {@link #GATE_FAILED}. */
    public int run(boolean dryRun) {
        Optional<MigrationState> current = store.read();
        if (current.isEmpty()) {
            return start(dryRun);
        }
        MigrationState st = current.get();
        String dry = dryRun ? "dry run: " : "";
        switch (st.phase()) {
            case MIGRATING:
                line(dry + "a migration was interrupted (" + Lifecycle.when(st) + "): " + (dryRun ? "would resume" : "resuming") + " it");
                lifecycle.migrate(st.share(), Lifecycle.MissingOffsets.FAIL, false, dryRun);
                return OK;
            case PROMOTING:
            case ROLLING_BACK:
                String to = st.phase() == Phase.PROMOTING ? "new" : "legacy";
                line(dry + "a " + (to.equals("new") ? "promotion" : "rollback") + " was interrupted (" + Lifecycle.when(st) + "): "
                        + (dryRun ? "would finish" : "finishing") + " it");
                lifecycle.handOver(to, dryRun);
                return OK;
            case PROMOTED:
                line("rollout done: promoted (" + Lifecycle.when(st) + "); nothing to do");
                return OK;
            case ROLLED_BACK:
                line("rolled back (" + Lifecycle.when(st) + "); nothing to do: the rollout does not restart by itself "
                        + "(run migration.java to release again; rollout then continues from the step of its share)");
                return OK;
            case ROUTING:
            default:
                return advance(st, dryRun);
        }
    }

    private int start(boolean dryRun) {
        Step first = plan.step(0);
        String what = "step 1 of " + plan.size() + " (" + first.describe() + ")";
        if (dryRun) {
            line("dry run: no migration yet: would start it at " + what);
            lifecycle.migrate(first.share(), Lifecycle.MissingOffsets.FAIL, false, true);
            return OK;
        }
        line("no migration yet: starting it at " + what);
        lifecycle.migrate(first.share(), Lifecycle.MissingOffsets.FAIL, false, false);
        store.update(stepLine(0, "migration started"), s -> s);
        return OK;
    }

    private int advance(MigrationState st, boolean dryRun) {
        Position pos = locate(plan, st);
        String at = where(pos, st.share());
        int next = pos.step() + 1;
        if (next >= plan.size()) {
            line("plan complete at " + at + ": the plan ends without promote; promote with rollout.java --promote-now or promote.java");
            return OK;
        }
        Instant now = clock.instant();
        if (pos.since() == null) {
            // No share change in the history (it was cut or edited): the hold starts now.
            if (!dryRun) {
                store.update(stepLine(Math.max(pos.step(), 0), "start of the hold unknown, counted from now"), s -> s);
            }
            line((dryRun ? "dry run: " : "") + "holding at " + at + ": the start of this step is not in the history; its hold counts from now");
            return OK;
        }
        Duration hold = pos.hold(plan);
        Duration elapsed = Duration.between(pos.since(), now);
        if (elapsed.isNegative()) {
            elapsed = Duration.ZERO; // another host's clock is ahead
        }
        if (elapsed.compareTo(hold) < 0) {
            line((dryRun ? "dry run: " : "") + "holding at " + at + ": " + RolloutPlan.compact(elapsed) + " of " + RolloutPlan.compact(hold)
                    + " elapsed; next: " + nextWhat(next));
            return OK;
        }
        Gates gates = gates(st, pos, dryRun);
        if (!gates.ok()) {
            return gateFailed(pos, at, gates, dryRun);
        }
        Step n = plan.step(next);
        String why = "after " + RolloutPlan.compact(elapsed) + " at " + MigrationState.percent(st.share()) + "; gates passed: "
                + String.join(", ", gates.passed());
        if (dryRun) {
            line("dry run: would " + (n.promote() ? "promote (step " + (next + 1) + " of " + plan.size() + ")"
                    : "advance to " + MigrationState.percent(n.share()) + " (step " + (next + 1) + " of " + plan.size() + ")") + " " + why);
            if (n.promote()) {
                lifecycle.handOver("new", true);
            } else {
                lifecycle.updateShare(n.share(), false, true);
            }
            return OK;
        }
        if (n.promote()) {
            line("promoting (step " + (next + 1) + " of " + plan.size() + ") " + why);
            store.update(stepLine(next, why), s -> s);
            lifecycle.handOver("new", false);
        } else {
            line("advancing to " + MigrationState.percent(n.share()) + " (step " + (next + 1) + " of " + plan.size() + ", hold "
                    + RolloutPlan.compact(n.hold()) + ") " + why);
            lifecycle.updateShare(n.share(), false, false);
            store.update(stepLine(next, why), s -> s);
        }
        return OK;
    }

    private int gateFailed(Position pos, String at, Gates gates, boolean dryRun) {
        boolean rollback = plan.onFailure() == RolloutPlan.OnFailure.ROLLBACK;
        String stepName = pos.step() < 0 ? "below step 1" : "step " + (pos.step() + 1) + " of " + plan.size();
        String record = GATE_LINE + gates.failed() + " failed at " + stepName + ": " + gates.reason();
        if (dryRun) {
            line("dry run: gate failed: " + gates.reason() + "; would " + (rollback ? "roll back (on_failure rollback)"
                    : "hold at " + at + " (on_failure hold)"));
            if (rollback) {
                lifecycle.handOver("legacy", true);
            }
            return GATE_FAILED;
        }
        recordGateFailure(record);
        if (!rollback) {
            line("gate failed: " + gates.reason() + "; holding at " + at + " (on_failure hold)");
            return GATE_FAILED;
        }
        line("gate failed: " + gates.reason() + "; rolling back from " + at + " (on_failure rollback)");
        lifecycle.handOver("legacy", false);
        return GATE_FAILED;
    }

    /** Records a failed gate in the history, unless the same gate at the same step was recorded less than an hour ago. */
    private void recordGateFailure(String record) {
        MigrationState st = store.read().orElseThrow();
        Change last = st.lastChange();
        String same = record.substring(0, record.indexOf(": ", GATE_LINE.length()));
        if (last != null && last.what().startsWith(same + ":")
                && Duration.between(last.at(), clock.instant()).compareTo(REPEAT_GATE_RECORD) < 0) {
            return;
        }
        store.write(st.version(), st, record);
    }

    // ------------------------------------------------------------------ gates

    /** Evaluates the gates, cheapest first, up to the first that fails. check_data runs last and only in a real run. */
    Gates gates(MigrationState st, Position pos, boolean dryRun) {
        List<String> passed = new ArrayList<>();
        RolloutPlan.Gates g = plan.gates();

        if (!st.routerRunning()) {
            return new Gates(passed, "routing", "routing is stopped (its run flag is off)");
        }
        String routing = lifecycle.routingGroup(st);
        if (cluster.members(routing).isEmpty()) {
            return new Gates(passed, "routing", "no routing instance runs in group " + routing);
        }
        for (String role : List.of("legacy", "new")) {
            String group = ctx.service(role).group();
            if (cluster.members(group).isEmpty()) {
                return new Gates(passed, "routing", "the " + role + " version (group " + group + ") has no members: it is not consuming");
            }
        }
        passed.add("routing");

        if (g.maxLag().isPresent()) {
            long max = g.maxLag().getAsLong();
            for (String role : List.of("legacy", "new")) {
                long lag = KafkaCluster.total(cluster.lag(ctx.service(role).group(), role.equals("legacy") ? ctx.legacyTopic() : ctx.newTopic()));
                if (lag > max) {
                    return new Gates(passed, "max_lag", "lag of " + role + " " + lag + " > " + max);
                }
            }
            passed.add("max_lag");
        }

        MigrationState.Check last = st.lastCheck();
        if (last != null && !last.clean()) {
            return new Gates(passed, "check_data", "the last check_data (" + last.at() + ") found a difference of " + last.difference()
                    + " records; investigate, then run check_data.java by hand to record a clean check");
        }

        if (!g.command().isEmpty()) {
            List<String> argv = ctx.newVersion().command(g.command(), ctx.newTopic(), ctx.file());
            ProbeResult r = probe.run(argv, ctx.directory(), timeout);
            String shown = String.join(" ", argv);
            String tail = r.lastLine() == null || r.lastLine().isBlank() ? "" : ": " + r.lastLine();
            if (r.exitCode() == null) {
                return new Gates(passed, "command", "probe " + shown + " did not finish within " + RolloutPlan.compact(timeout) + tail);
            }
            if (r.exitCode() != 0) {
                return new Gates(passed, "command", "probe " + shown + " exited " + r.exitCode() + tail);
            }
            passed.add("command");
        }

        if (g.checkData()) {
            if (dryRun) {
                passed.add("check_data (not run in a dry run)");
            } else {
                Integrity result = lifecycle.check(false);
                if (!result.clean()) {
                    Integrity.Row tot = result.total();
                    return new Gates(passed, "check_data", "check_data found a difference of " + tot.difference() + " records on partition(s) "
                            + result.rows().stream().filter(r -> r.difference() != 0).map(Integrity.Row::partition).toList()
                            + " (consumed " + tot.consumed() + ", legacy " + tot.legacy() + ", new " + tot.fresh() + ")");
                }
                passed.add("check_data");
            }
        }
        return new Gates(passed, null, null);
    }

    // ------------------------------------------------------------------ operator overrides

    /** Promotes right away, skipping the holds and the gates. */
    public int promoteNow(boolean dryRun) {
        return override("new", "--promote-now", dryRun);
    }

    /** Rolls back right away. */
    public int abort(boolean dryRun) {
        return override("legacy", "--abort", dryRun);
    }

    private int override(String to, String flag, boolean dryRun) {
        String verb = to.equals("new") ? "promoting" : "rolling back";
        MigrationState st = store.read().orElseThrow(() -> new UserException("no migration for context '" + ctx.name() + "': nothing to "
                + (to.equals("new") ? "promote" : "roll back")));
        if (st.phase() == Phase.ROUTING) {
            line((dryRun ? "dry run: would be " : "") + verb + " now at " + MigrationState.percent(st.share()) + " (operator override "
                    + flag + ": holds and gates skipped)");
            if (!dryRun) {
                store.write(st.version(), st, "rollout: " + flag + " by the operator at " + MigrationState.percent(st.share()));
            }
        }
        return lifecycle.handOver(to, dryRun);
    }

    // ------------------------------------------------------------------ where a release stands

    /**
     * Finds the step a routing release is at. The latest step line of the history names it, if it was
     * written after the last share change and that step's share is the current share; otherwise the
     * first step with the current share, timed from the last share change; otherwise (a share set by
     * hand that is not in the plan) the last step below it, or -1 below the first step.
     */
    static Position locate(RolloutPlan plan, MigrationState st) {
        List<Change> history = st.history() == null ? List.of() : st.history();
        int shareChange = -1;
        for (int i = 0; i < history.size(); i++) {
            String what = history.get(i).what();
            if (what.startsWith("share ") || what.startsWith("migration started")) {
                shareChange = i;
            }
        }
        Instant shareAt = shareChange < 0 ? null : history.get(shareChange).at();
        double share = st.share();
        for (int i = history.size() - 1; i > shareChange; i--) {
            Matcher m = STEP_LINE.matcher(history.get(i).what());
            if (m.find()) {
                int k = Integer.parseInt(m.group(1)) - 1;
                if (Integer.parseInt(m.group(2)) == plan.size() && k >= 0 && k < plan.size() && !plan.step(k).promote()
                        && same(plan.step(k).share(), share)) {
                    return new Position(k, history.get(i).at(), true);
                }
                break;
            }
        }
        int below = -1;
        for (int i = 0; i < plan.size(); i++) {
            Step s = plan.step(i);
            if (s.promote()) {
                continue;
            }
            if (same(s.share(), share)) {
                return new Position(i, shareAt, true);
            }
            if (s.share() < share) {
                below = i;
            }
        }
        return new Position(below, shareAt, false);
    }

    private String where(Position pos, double share) {
        String pct = MigrationState.percent(share);
        if (pos.onPlan()) {
            return pct + " (step " + (pos.step() + 1) + " of " + plan.size() + ")";
        }
        if (pos.step() < 0) {
            return pct + " (set outside the plan, below step 1 at " + MigrationState.percent(plan.firstShare()) + ")";
        }
        return pct + " (set outside the plan, above step " + (pos.step() + 1) + " at " + MigrationState.percent(plan.step(pos.step()).share()) + ")";
    }

    private String nextWhat(int next) {
        Step n = plan.step(next);
        return (n.promote() ? "promote" : MigrationState.percent(n.share())) + " (step " + (next + 1) + ")";
    }

    private String stepLine(int step, String why) {
        return "rollout: step " + (step + 1) + " of " + plan.size() + ": " + plan.step(step).describe() + " (" + why + ")";
    }

    private static boolean same(double a, double b) {
        return Math.abs(a - b) < 1e-9;
    }

    /** The one line a run prints about its decision: time, context, what and why. */
    private void line(String message) {
        out.println(clock.instant().truncatedTo(ChronoUnit.SECONDS) + " " + ctx.name() + ": " + message);
        out.flush();
    }

    // ------------------------------------------------------------------ the probe

    /**
     * Runs the probe as a child process without a shell, stdin from /dev/null, output appended to
     * {@code <state_dir>/logs/rollout-probe.log}; kills it (and its children) when it runs too long.
     */
    static final class ProcessProbe implements Probe {
        private final Path log;

        ProcessProbe(Path stateDir) {
            this.log = stateDir.resolve("logs").resolve("rollout-probe.log");
        }

        @Override
        public ProbeResult run(List<String> argv, Path dir, Duration timeout) {
            try {
                Files.createDirectories(log.getParent());
                long before = Files.exists(log) ? Files.size(log) : 0;
                Process p;
                try {
                    p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
                } catch (IOException e) {
                    throw new UserException(UserException.BAD_INPUT, "cannot run the probe " + String.join(" ", argv) + " in " + dir + ": "
                            + Cli.firstLine(e.getMessage()) + "; check rollout.gates.command");
                }
                Integer code = null;
                if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    code = p.exitValue();
                } else {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
                return new ProbeResult(code, lastLine(before));
            } catch (IOException e) {
                throw new UserException(UserException.ENVIRONMENT, "cannot write the probe's log " + log + ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UserException(UserException.ENVIRONMENT, "interrupted while the probe ran");
            }
        }

        /** The last non-blank line this run appended to the log, at most 200 characters. */
        private String lastLine(long from) throws IOException {
            String text;
            try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(log)) {
                long size = ch.size();
                long start = Math.max(from, size - 64 * 1024);
                if (size <= start) {
                    return "";
                }
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) (size - start));
                ch.position(start);
                while (buf.hasRemaining() && ch.read(buf) > 0) {
                    // read this run's output (its last 64 KiB at most)
                }
                text = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
            }
            List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
            String last = lines.isEmpty() ? "" : lines.get(lines.size() - 1).strip();
            return last.length() > 200 ? last.substring(0, 200) + "..." : last;
        }
    }
}
