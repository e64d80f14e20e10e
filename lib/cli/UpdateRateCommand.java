package canary.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import canary.common.UserException;
import canary.context.Share;
import canary.release.RouteRequest;

@Command(name = "update_rate", mixinStandardHelpOptions = true,
        description = "Changes the share of records routed to the new version, the match rules decided before it, and with routing "
                + "partitions the new version's partitions. Drains first (stop routing, wait until both versions processed "
                + "everything, resume) with --drain, whenever the rules change, and when the share moves keys (key-hash) or "
                + "partitions (partitions) from one version to the other.",
        footer = {"", "Examples:", "  ./jbang update_rate.java services_examples/context.yaml .5",
                "  ./jbang update_rate.java services_examples/context.yaml 90% --drain",
                "  ./jbang update_rate.java services_examples/context.yaml 0 --rule header:tenant=beta",
                "  ./jbang update_rate.java services_examples/context.yaml 10% --rule header:tenant=beta --rule legacy:key-prefix:vip-",
                "  ./jbang update_rate.java services_examples/context.yaml --no-rules",
                "  ./jbang update_rate.java ctx-partitions.yaml --partitions 0-3"})
public final class UpdateRateCommand extends ContextCommand {

    @Parameters(index = "1", arity = "0..1", paramLabel = "SHARE",
            description = "share of records routed to the new version: 0.9, .9 or 90%% (leave it out to keep the share and change only"
                    + " the rules or the partitions)")
    String share;

    @Mixin
    RoutingOptions routing;

    @Option(names = "--drain", description = "stop routing and wait until both versions processed everything before the change")
    boolean drain;

    @Option(names = "--dry-run", description = "print what would change, change nothing")
    boolean dryRun;

    @Override
    public Integer call() {
        RouteRequest request = routing.request(share == null ? null : Share.parse(share));
        if (request.empty()) {
            throw new UserException("nothing to change: give a share (0.5, 50%), --partitions, --rule or --no-rules");
        }
        return withLockedSession(session -> session.lifecycle.updateRouting(request, drain, dryRun));
    }

    public static void main(String[] args) {
        Cli.main(new UpdateRateCommand(), args);
    }
}
