package canary.cli;

import java.util.List;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

import canary.context.Routing;
import canary.context.Rule;
import canary.release.RouteRequest;

/** The options that say how records are routed, shared by migration and update_rate: match rules and a list of partitions. */
public final class RoutingOptions {

    @ArgGroup(exclusive = true)
    Rules rules;

    static final class Rules {
        @Option(names = "--rule", paramLabel = "RULE", required = true,
                description = {"a match rule, decided before the share (repeat it for more; the rules given replace all current ones):",
                        "  header:NAME=VALUE[,VALUE...]  the record's last header NAME is one of the values",
                        "  key:KEY[,KEY...]  the key is one of these; key-prefix:PREFIX[,PREFIX...]  the key starts with one",
                        "matching records go to the new version; after legacy: (legacy:key-prefix:vip-) they stay on the legacy version"})
        List<String> rules;

        @Option(names = "--no-rules", required = true, description = "remove every match rule")
        boolean none;
    }

    @Option(names = "--partitions", paramLabel = "LIST",
            description = "routing partitions: the partitions of the new version, e.g. 0,1 or 0-3, instead of a share")
    String partitions;

    /** The rules asked for: null when neither --rule nor --no-rules was given. */
    List<Rule> rules() {
        if (rules == null) {
            return null;
        }
        return rules.none ? List.of() : Rule.parseAll(rules.rules);
    }

    List<Integer> partitions() {
        return partitions == null ? null : Routing.parsePartitions(partitions);
    }

    /** What was asked, with {@code share} as given (null: none). */
    RouteRequest request(Double share) {
        return new RouteRequest(share, partitions(), rules());
    }
}
