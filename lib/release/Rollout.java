package canary.release;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import canary.common.Durations;
import canary.common.Text;
import canary.common.UserException;
import canary.context.Context;
import canary.context.Role;
import canary.context.RolloutPlan;
import canary.context.RolloutPlan.Step;
import canary.context.Rule;
import canary.release.MigrationState.Phase;

/**
 * One run of a progressive rollout: looks at the state in the cluster, finds the plan step the
 * release is at, and advances at most one step when its hold has elapsed and the gates pass. Keeps
 * no local file: the step, the time its hold started and the last gate result are typed fields of
 * the state ({@link MigrationState#rollout()}, {@link MigrationState#shareSet()},
 * {@link MigrationState#lastGate()}); the history lines it writes are for people only. Prints one
 * line saying why it did or did not advance.
 */
public final class Rollout {

    /** Advanced, or holding as planned (also: nothing left to do). */
    public static final int OK = 0;
    /** A gate failed: held, or rolled back. */
    public static final int GATE_FAILED = 1;

    /** A gate that keeps failing is recorded in the state once, then again at most this often. */
    public static final Duration REPEAT_GATE_RECORD = Duration.ofHours(1);

    /** Runs the probe of {@code rollout.gates.command}. */
    public interface Probe {
        /** Runs {@code argv} in {@code dir}, no shell, for at most {@code timeout}. */
        ProbeResult run(List<String> argv, Path dir, Duration timeout);
    }

    /** How a probe ended: its exit code (null when it did not finish in time) and its last line of output. */
    public record ProbeResult(Integer exitCode, String lastLine) {
    }

    /** Asks a Prometheus server the queries of {@code rollout.gates.prometheus}; the release layer does no HTTP itself. */
    public interface MetricSource {
        /**
         * The value of the instant query {@code query} at the server {@code url}, asked for at most {@code timeout}: one number, or
         * a failure with a one-line reason (unreachable, an HTTP or PromQL error, no series, several series, not a number).
         */
        MetricValue query(String url, String query, Duration timeout);
    }

    /** The answer to a query: {@code value}, or why there is none ({@code failure}). */
    public record MetricValue(double value, String failure) {
        public static MetricValue of(double value) {
            return new MetricValue(value, null);
        }

        public static MetricValue failed(String reason) {
            return new MetricValue(Double.NaN, reason);
        }
    }

    /** Where a routing release stands in the plan. */
    public record Position(
            /* the plan step (0-based) whose share is routed; -1 below the first step */
            int step,
            /* when that step started: the rollout's own record, else when the share was set; null if unknown */
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
    private final Cluster cluster;
    private final StateStore store;
    private final Lifecycle lifecycle;
    private final RolloutPlan plan;
    private final Clock clock;
    private final Probe probe;
    private final MetricSource metrics;
    private final PrintWriter out;
    private final Duration timeout;

    /** {@code plan} may be null for the operator overrides, which do not follow it. */
    public Rollout(Context ctx, Cluster cluster, StateStore store, Lifecycle lifecycle, RolloutPlan plan, Clock clock,
                   Probe probe, PrintWriter out, Duration timeout) {
        this(ctx, cluster, store, lifecycle, plan, clock, probe,
                (url, query, t) -> MetricValue.failed("no Prometheus client in this session"), out, timeout);
    }

    /** @param metrics asks the Prometheus server of {@code rollout.gates.prometheus} */
    public Rollout(Context ctx, Cluster cluster, StateStore store, Lifecycle lifecycle, RolloutPlan plan, Clock clock,
                   Probe probe, MetricSource metrics, PrintWriter out, Duration timeout) {
        this.metrics = metrics;
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
                Role to = st.phase() == Phase.PROMOTING ? Role.NEW : Role.LEGACY;
                line(dry + "a " + (to == Role.NEW ? "promotion" : "rollback") + " was interrupted (" + Lifecycle.when(st) + "): "
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
            lifecycle.migrate(RouteRequest.of(first.share(), first.rules()), Lifecycle.MissingOffsets.FAIL, false, true);
            return OK;
        }
        line("no migration yet: starting it at " + what);
        lifecycle.migrate(RouteRequest.of(first.share(), first.rules()), Lifecycle.MissingOffsets.FAIL, false, false);
        MigrationState st = store.read().orElseThrow();
        store.write(st.version(), st.withRollout(new MigrationState.RolloutStep(0, plan.size(), clock.instant())),
                stepLine(0, "migration started"));
        return OK;
    }

    private int advance(MigrationState st, boolean dryRun) {
        MigrationState.Pause paused = st.paused();
        if (paused != null) {
            // An operator paused the plan's advance: this run changes nothing, as a hold.
            line((dryRun ? "dry run: " : "") + pausedLine(paused));
            return GATE_FAILED;
        }
        Position pos = locate(plan, st);
        String at = where(pos, st);
        int next = pos.step() + 1;
        if (next >= plan.size()) {
            line("plan complete at " + at + ": the plan ends without promote; promote with rollout.java --promote-now or promote.java");
            return OK;
        }
        Instant now = clock.instant();
        if (pos.since() == null) {
            // The state does not say when this share was set: the hold starts now.
            int step = Math.max(pos.step(), 0);
            if (!dryRun) {
                store.write(st.version(), st.withRollout(new MigrationState.RolloutStep(step, plan.size(), now)),
                        stepLine(step, "start of the hold unknown, counted from now"));
            }
            line((dryRun ? "dry run: " : "") + "holding at " + at + ": the state does not say when this step started; its hold counts from now");
            return OK;
        }
        Duration hold = pos.hold(plan);
        Duration elapsed = Duration.between(pos.since(), now);
        if (elapsed.isNegative()) {
            elapsed = Duration.ZERO; // another host's clock is ahead
        }
        if (elapsed.compareTo(hold) < 0) {
            line((dryRun ? "dry run: " : "") + "holding at " + at + ": " + Durations.compact(elapsed) + " of " + Durations.compact(hold)
                    + " elapsed; next: " + nextWhat(next));
            return OK;
        }
        Gates gates = gates(st, pos, dryRun);
        if (!gates.ok()) {
            return gateFailed(st, pos, at, gates, dryRun);
        }
        Step n = plan.step(next);
        String why = "after " + Durations.compact(elapsed) + " at " + routing(st.share(), st.rules()) + "; gates passed: "
                + String.join(", ", gates.passed());
        if (dryRun) {
            line("dry run: would " + (n.promote() ? "promote (step " + (next + 1) + " of " + plan.size() + ")"
                    : "advance to " + target(n, st) + " (step " + (next + 1) + " of " + plan.size() + ")") + " " + why);
            if (n.promote()) {
                lifecycle.handOver(Role.NEW, true);
            } else {
                lifecycle.updateRouting(RouteRequest.of(n.share(), n.rules()), false, true);
            }
            return OK;
        }
        if (n.promote()) {
            line("promoting (step " + (next + 1) + " of " + plan.size() + ") " + why);
            recordStep(next, gates, why);
            lifecycle.handOver(Role.NEW, false);
        } else {
            line("advancing to " + target(n, st) + " (step " + (next + 1) + " of " + plan.size() + ", hold "
                    + Durations.compact(n.hold()) + ") " + why);
            lifecycle.updateRouting(RouteRequest.of(n.share(), n.rules()), false, false);
            recordStep(next, gates, why);
        }
        return OK;
    }

    /** Records the step just reached, its start and the gates that let it: typed fields, and one line of history for people. */
    private void recordStep(int step, Gates gates, String why) {
        MigrationState st = store.read().orElseThrow();
        Instant now = clock.instant();
        store.write(st.version(), st.withRollout(new MigrationState.RolloutStep(step, plan.size(), now))
                .withLastGate(new MigrationState.GateResult(now, step, true, null, String.join(", ", gates.passed()))), stepLine(step, why));
    }

    private int gateFailed(MigrationState st, Position pos, String at, Gates gates, boolean dryRun) {
        boolean rollback = plan.onFailure() == RolloutPlan.OnFailure.ROLLBACK;
        if (dryRun) {
            line("dry run: gate failed: " + gates.reason() + "; would " + (rollback ? "roll back (on_failure rollback)"
                    : "hold at " + at + " (on_failure hold)"));
            if (rollback) {
                lifecycle.handOver(Role.LEGACY, true);
            }
            return GATE_FAILED;
        }
        recordGateFailure(pos, gates);
        if (!rollback) {
            line("gate failed: " + gates.reason() + "; holding at " + at + " (on_failure hold)");
            return GATE_FAILED;
        }
        line("gate failed: " + gates.reason() + "; rolling back from " + at + " (on_failure rollback)");
        lifecycle.handOver(Role.LEGACY, false);
        return GATE_FAILED;
    }

    /** Records a failed gate in the state, unless the same gate failed at the same step less than an hour ago. */
    private void recordGateFailure(Position pos, Gates gates) {
        MigrationState st = store.read().orElseThrow();
        MigrationState.GateResult last = st.lastGate();
        Instant now = clock.instant();
        if (last != null && !last.passed() && gates.failed().equals(last.gate()) && last.step() == pos.step()
                && Duration.between(last.at(), now).compareTo(REPEAT_GATE_RECORD) < 0) {
            return;
        }
        String stepName = pos.step() < 0 ? "below step 1" : "step " + (pos.step() + 1) + " of " + plan.size();
        store.write(st.version(), st.withLastGate(new MigrationState.GateResult(now, pos.step(), false, gates.failed(), gates.reason())),
                "rollout: gate " + gates.failed() + " failed at " + stepName + ": " + gates.reason());
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
        for (Role role : Role.values()) {
            String group = ctx.service(role).group();
            if (cluster.members(group).isEmpty()) {
                return new Gates(passed, "routing", "the " + role + " version (group " + group + ") has no members: it is not consuming");
            }
        }
        passed.add("routing");

        if (g.maxLag().isPresent()) {
            long max = g.maxLag().getAsLong();
            for (Role role : Role.values()) {
                long lag = Lag.total(cluster.lag(ctx.service(role).group(), ctx.derivedTopic(role)));
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
                return new Gates(passed, "command", "probe " + shown + " did not finish within " + Durations.compact(timeout) + tail);
            }
            if (r.exitCode() != 0) {
                return new Gates(passed, "command", "probe " + shown + " exited " + r.exitCode() + tail);
            }
            passed.add("command");
        }

        if (g.prometheus() != null) {
            for (RolloutPlan.MetricQuery q : g.prometheus().queries()) {
                String name = "prometheus:" + q.name();
                String query = q.resolve(ctx.newVersion().group(), ctx.newTopic(), ctx.name());
                MetricValue v = metrics.query(g.prometheus().url(), query, timeout);
                String reason = v.failure() != null ? v.failure()
                        : !Double.isFinite(v.value()) ? "the query gave " + RolloutPlan.MetricQuery.number(v.value()) + ", not a number"
                        : q.violation(v.value());
                if (reason != null) {
                    return new Gates(passed, name, "prometheus " + q.name() + " (" + query + "): " + reason);
                }
                passed.add(name);
            }
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
                            + " (consumed " + tot.consumed() + ", legacy " + tot.toLegacy() + ", new " + tot.toNew() + ")");
                }
                passed.add("check_data");
            }
        }
        return new Gates(passed, null, null);
    }

    // ------------------------------------------------------------------ operator overrides

    /** Promotes right away, skipping the holds and the gates. */
    public int promoteNow(boolean dryRun) {
        return override(Role.NEW, "--promote-now", dryRun);
    }

    /** Rolls back right away. */
    public int abort(boolean dryRun) {
        return override(Role.LEGACY, "--abort", dryRun);
    }

    /** The hand-over records the command line (rollout.java --promote-now) in the history: no extra write. */
    private int override(Role to, String flag, boolean dryRun) {
        String verb = to == Role.NEW ? "promoting" : "rolling back";
        MigrationState st = store.read().orElseThrow(() -> new UserException("no migration for context '" + ctx.name() + "': nothing to "
                + (to == Role.NEW ? "promote" : "roll back")));
        if (st.phase() == Phase.ROUTING) {
            line((dryRun ? "dry run: would be " : "") + verb + " now at " + Text.percent(st.share()) + " (operator override "
                    + flag + ": holds and gates skipped)");
        }
        return lifecycle.handOver(to, dryRun);
    }

    // ------------------------------------------------------------------ pause

    /** The line of a run while paused. */
    static String pausedLine(MigrationState.Pause p) {
        return "rollout paused by " + p.by() + " at " + p.at() + ": rollout.java --resume continues it";
    }

    /**
     * Pauses the rollout of a routing release: later runs change nothing until {@link #resume()}. Only the plan's automatic
     * advance stops: update_rate, promote and rollback by hand still work. One write of the state.
     */
    public int pause() {
        MigrationState st = store.read().orElseThrow(() -> new UserException("no migration for context '" + ctx.name()
                + "': no rollout to pause"));
        if (st.phase() != Phase.ROUTING) {
            throw new UserException("no rollout under way to pause: the release is " + st.phase().word() + " (" + Lifecycle.when(st) + ")");
        }
        if (st.paused() != null) {
            throw new UserException("already " + pausedLine(st.paused()));
        }
        Operator op = lifecycle.operator();
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        MigrationState.Pause p = new MigrationState.Pause(op.user() + "@" + op.host(), now);
        MigrationState.RolloutStep r = st.rollout() == null ? new MigrationState.RolloutStep(-1, 0, null) : st.rollout();
        store.write(st.version(), st.withRollout(r.withPaused(p)), "rollout paused by " + p.by());
        line("rollout paused at " + routing(st.share(), st.rules()) + ": rollout.java runs change nothing until rollout.java --resume");
        return OK;
    }

    /** Resumes a paused rollout: the next run advances as the plan says (the hold counts from the step's start, pause included). */
    public int resume() {
        MigrationState st = store.read().orElseThrow(() -> new UserException("no migration for context '" + ctx.name()
                + "': no rollout to resume"));
        MigrationState.Pause p = st.paused();
        if (p == null) {
            throw new UserException("the rollout is not paused: nothing to resume");
        }
        MigrationState.RolloutStep r = st.rollout();
        Operator op = lifecycle.operator();
        store.write(st.version(), st.withRollout(r.onlyPause() ? null : r.withPaused(null)),
                "rollout resumed by " + op.user() + "@" + op.host() + " (paused by " + p.by() + " at " + p.at() + ")");
        line("rollout resumed" + (st.phase() == Phase.ROUTING ? ": the next rollout.java run advances as the plan says" : ""));
        return OK;
    }

    // ------------------------------------------------------------------ where a release stands

    /**
     * Finds the step a routing release is at, from typed fields only. The rollout's own record
     * names it if that step's share and rules are the current ones and the routing was not set after it;
     * otherwise the first step with the current share and rules, timed from when the routing was set; otherwise
     * (a share or rules set by hand that are not in the plan) the last step below the share, or -1 below the first.
     */
    public static Position locate(RolloutPlan plan, MigrationState st) {
        double share = st.share();
        Instant shareAt = st.shareSet() == null ? null : st.shareSet().at();
        MigrationState.RolloutStep r = st.rollout();
        if (r != null && r.steps() == plan.size() && r.step() >= 0 && r.step() < plan.size() && !plan.step(r.step()).promote()
                && same(plan.step(r.step()), st) && r.since() != null && (shareAt == null || !r.since().isBefore(shareAt))) {
            return new Position(r.step(), r.since(), true);
        }
        int below = -1;
        for (int i = 0; i < plan.size(); i++) {
            Step s = plan.step(i);
            if (s.promote()) {
                continue;
            }
            if (same(s, st)) {
                return new Position(i, shareAt, true);
            }
            if (s.share() < share) {
                below = i;
            }
        }
        return new Position(below, shareAt, false);
    }

    private static boolean same(Step s, MigrationState st) {
        return same(s.share(), st.share()) && s.rules().equals(st.rules());
    }

    /** The routing for people: "10 %", "0 %, rules header:tenant=beta". */
    private static String routing(double share, List<Rule> rules) {
        return Text.percent(share) + (rules.isEmpty() ? "" : ", rules " + Rule.describeAll(rules));
    }

    /** Where step {@code n} goes from {@code st}: its share, and its rules when they differ ("rules none" when it removes them). */
    private static String target(Step n, MigrationState st) {
        return Text.percent(n.share()) + (n.rules().equals(st.rules()) ? "" : ", rules " + Rule.describeAll(n.rules()));
    }

    private String where(Position pos, MigrationState st) {
        String pct = routing(st.share(), st.rules());
        if (pos.onPlan()) {
            return pct + " (step " + (pos.step() + 1) + " of " + plan.size() + ")";
        }
        if (pos.step() < 0) {
            return pct + " (set outside the plan, below step 1 at " + routing(plan.firstShare(), plan.step(0).rules()) + ")";
        }
        return pct + " (set outside the plan, above step " + (pos.step() + 1) + " at " + routing(plan.step(pos.step()).share(),
                plan.step(pos.step()).rules()) + ")";
    }

    private String nextWhat(int next) {
        Step n = plan.step(next);
        boolean newRules = next > 0 && !n.promote() && !n.rules().equals(plan.step(next - 1).rules());
        return (n.promote() ? "promote" : Text.percent(n.share()) + (newRules ? ", rules " + Rule.describeAll(n.rules()) : ""))
                + " (step " + (next + 1) + ")";
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
}
