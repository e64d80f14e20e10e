package canary.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import canary.context.Share;
import canary.release.Lifecycle;
import canary.release.RouteRequest;

@Command(name = "migration", mixinStandardHelpOptions = true,
        description = "Stops the legacy version, captures its committed offsets, creates <topic>_legacy and <topic>_new, "
                + "starts routing at the given share (default 0.1) with the match rules of the context file (or those given), "
                + "and starts both versions on their topics.",
        footer = {"", "Examples:", "  ./jbang migration.java services_examples/context.yaml .1",
                "  ./jbang migration.java services_examples/context.yaml 0 --rule header:tenant=beta",
                "  ./jbang migration.java ctx-partitions.yaml --partitions 0,1"})
public final class MigrationCommand extends ContextCommand {

    @Parameters(index = "1", arity = "0..1", paramLabel = "SHARE", defaultValue = "0.1",
            description = "share of records routed to the new version: 0.1, .1 or 10%% (default ${DEFAULT-VALUE})")
    String share;

    @Mixin
    RoutingOptions routing;

    @Option(names = "--missing-offsets", paramLabel = "earliest|latest", defaultValue = "fail",
            description = "where to start on a partition where the legacy group has no committed offset: earliest, latest, or fail "
                    + "(default: refuse)")
    Lifecycle.MissingOffsets missingOffsets;

    @Option(names = "--allow-at-least-once", description = "ksqlDB engine: run even if ksqlDB does not keep processing.guarantee=exactly_once_v2 for the queries")
    boolean allowAtLeastOnce;

    @Option(names = "--dry-run", description = "print the plan and the start offsets, change nothing")
    boolean dryRun;

    @Override
    public Integer call() {
        // With --partitions the default share does not apply; a share typed beside them is refused by the lifecycle.
        Double s = routing.partitions != null && !shareGiven() ? null : Double.valueOf(Share.parse(share));
        RouteRequest request = routing.request(s);
        return withLockedSession(session -> session.lifecycle.migrate(request, missingOffsets, allowAtLeastOnce, dryRun));
    }

    /** Whether SHARE was typed (not its default): with --partitions, a typed share is a contradiction the lifecycle refuses. */
    private boolean shareGiven() {
        return spec.commandLine().getParseResult().hasMatchedPositional(1);
    }

    public static void main(String[] args) {
        Cli.main(new MigrationCommand(), args);
    }
}
