package canary.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.context.Role;

@Command(name = "rollback", mixinStandardHelpOptions = true,
        description = "Hands the original topic back to the legacy version at the exact position the router reached, stops the "
                + "new version and removes the routing resources. Safe to run again after a crash.",
        footer = {"", "Example:", "  ./jbang rollback.java services_examples/context.yaml"})
public final class RollbackCommand extends ContextCommand {

    @Option(names = "--dry-run", description = "print the plan and the hand-over offsets, change nothing")
    boolean dryRun;

    @Override
    public Integer call() {
        return withLockedSession(session -> session.lifecycle.handOver(Role.LEGACY, dryRun));
    }

    public static void main(String[] args) {
        Cli.main(new RollbackCommand(), args);
    }
}
