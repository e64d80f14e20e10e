package canary.cli;

import java.time.temporal.ChronoUnit;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.UserException;
import canary.context.Context;
import canary.context.RolloutPlan;
import canary.platform.LocalLock;
import canary.release.Rollout;

@Command(name = "rollout", mixinStandardHelpOptions = true,
        description = {"Advances a release along the plan under 'rollout' in the context, at most one step a run: starts the "
                + "migration at the first step's share, then moves to the next step once the current step's hold has elapsed and "
                + "the gates pass (routing runs and both versions consume; max_lag; the probe command; check_data), and promotes "
                + "when the plan ends with promote. Prints one line saying why it did or did not advance. Made for cron: "
                + "idempotent, non-interactive, one run at a time per host (a run that finds another command running skips).",
                "--pause stops the plan's advance until --resume: runs while paused change nothing and exit 1 (update_rate, "
                + "promote and rollback by hand still work).",
                "Exit code 0 advanced or holding, 1 a gate failed (held or rolled back, as on_failure says) or the rollout is paused, "
                + "2 bad input (also: nothing to pause or resume), 3 Kafka or a wait failed."},
        footer = {"", "Examples:", "  ./jbang rollout.java services_examples/context.yaml --plan",
                "  * * * * * cd /path/to/canary-router && ./jbang rollout.java ctx.yaml >> rollout.log 2>&1",
                "  ./jbang rollout.java services_examples/context.yaml --pause",
                "  ./jbang rollout.java services_examples/context.yaml --abort"})
public final class RolloutCommand extends ContextCommand {

    @Option(names = "--plan", description = "validate the plan and print it; needs no cluster")
    boolean plan;

    @Option(names = "--promote-now", description = "operator override: promote right away, skipping holds and gates")
    boolean promoteNow;

    @Option(names = "--abort", description = "operator override: roll back right away")
    boolean abort;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Mode mode = new Mode();

    /** A dry run, a pause or a resume: one at most. */
    static final class Mode {
        @Option(names = "--dry-run", description = "say what this run would do (gates are evaluated except check_data), change nothing")
        boolean dryRun;

        @Option(names = "--pause", description = "pause the rollout: runs change nothing (and exit 1) until --resume; "
                + "update_rate, promote and rollback by hand still work")
        boolean pause;

        @Option(names = "--resume", description = "resume a paused rollout: the next run advances as the plan says")
        boolean resume;
    }

    @Override
    public Integer call() {
        boolean dryRun = mode.dryRun;
        if ((plan ? 1 : 0) + (promoteNow ? 1 : 0) + (abort ? 1 : 0) > 1) {
            throw new UserException("choose one of --plan, --promote-now and --abort");
        }
        if ((mode.pause || mode.resume) && (plan || promoteNow || abort)) {
            throw new UserException((mode.pause ? "--pause" : "--resume") + " goes alone, not with --plan, --promote-now or --abort");
        }
        Context ctx = context();
        if (mode.pause || mode.resume) {
            // Like the overrides, a pause does not need the plan: it stops the plan's advance even while the plan is being fixed.
            return withLockedSession(s -> mode.pause ? s.rollout(null).pause() : s.rollout(null).resume());
        }
        if (promoteNow || abort) {
            // Overrides do not follow the plan: they work even while the plan in the file is being fixed.
            return withLockedSession(s -> {
                Rollout r = s.rollout(null);
                return promoteNow ? r.promoteNow(dryRun) : r.abort(dryRun);
            });
        }
        RolloutPlan p = RolloutPlan.of(ctx);
        if (plan) {
            out().println("plan of context '" + ctx.name() + "' (" + ctx.file() + "):");
            p.describe().forEach(out()::println);
            out().flush();
            return 0;
        }
        try {
            return withLockedSession(s -> s.rollout(p).run(dryRun));
        } catch (LocalLock.Busy e) {
            // From cron, the previous run (or an operator's command) still running is normal: skip this run.
            out().println(wiring.clock().instant().truncatedTo(ChronoUnit.SECONDS) + " " + ctx.name() + ": skipped this run: " + e.getMessage());
            out().flush();
            return Rollout.OK;
        }
    }

    public static void main(String[] args) {
        Cli.main(new RolloutCommand(), args);
    }
}
