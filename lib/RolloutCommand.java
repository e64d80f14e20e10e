package canary;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "rollout", mixinStandardHelpOptions = true,
        description = "Advances a release along the plan under 'rollout' in the context, at most one step a run.")
public final class RolloutCommand extends ContextCommand {

    @Option(names = "--plan", description = "validate the plan and print it, offline")
    boolean plan;

    @Override
    public Integer call() {
        Context ctx = context();
        RolloutPlan p = RolloutPlan.of(ctx);
        if (plan) {
            p.describe().forEach(out()::println);
            out().flush();
            return 0;
        }
        throw new UserException("not yet");
    }

    public static void main(String[] args) {
        Cli.main(new RolloutCommand(), args);
    }
}
