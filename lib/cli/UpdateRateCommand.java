package canary.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import canary.context.Share;

@Command(name = "update_rate", mixinStandardHelpOptions = true,
        description = "Changes the share of records routed to the new version. Drains first (stop routing, wait until both "
                + "versions processed everything, resume) with --drain, and always with key-hash routing.",
        footer = {"", "Examples:", "  ./jbang update_rate.java services_examples/context.yaml .5",
                "  ./jbang update_rate.java services_examples/context.yaml 90% --drain"})
public final class UpdateRateCommand extends ContextCommand {

    @Parameters(index = "1", paramLabel = "SHARE", description = "share of records routed to the new version: 0.9, .9 or 90%%")
    String share;

    @Option(names = "--drain", description = "stop routing and wait until both versions processed everything before the change")
    boolean drain;

    @Option(names = "--dry-run", description = "print what would change, change nothing")
    boolean dryRun;

    @Override
    public Integer call() {
        double s = Share.parse(share);
        return withLockedSession(session -> session.lifecycle.updateShare(s, drain, dryRun));
    }

    public static void main(String[] args) {
        Cli.main(new UpdateRateCommand(), args);
    }
}
