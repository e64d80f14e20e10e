package canary.context;

import java.util.List;
import java.util.function.Function;

/**
 * How records are routed right now, as the state says: the match rules first (a legacy pin wins over
 * a rule to new), then the routing with its share, or with {@code partitions} routing the partitions
 * that belong to the new version. Built once per state and asked once per record.
 */
public final class Route {

    private final Routing routing;
    private final double share;
    private final boolean[] newPartition;
    private final Rule.Compiled[] legacyRules;
    private final Rule.Compiled[] newRules;

    /**
     * @param newPartitions the partitions routed to the new version with routing {@code partitions} (ignored otherwise)
     * @param rules         the match rules, decided before the share
     */
    public Route(Routing routing, double share, List<Integer> newPartitions, List<Rule> rules) {
        this.routing = routing;
        this.share = share;
        int max = newPartitions == null ? -1 : newPartitions.stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.newPartition = new boolean[max + 1];
        if (newPartitions != null) {
            newPartitions.forEach(p -> newPartition[p] = true);
        }
        List<Rule> all = rules == null ? List.of() : rules;
        this.legacyRules = all.stream().filter(r -> r.to() == Role.LEGACY).map(Rule::compiled).toArray(Rule.Compiled[]::new);
        this.newRules = all.stream().filter(r -> r.to() == Role.NEW).map(Rule::compiled).toArray(Rule.Compiled[]::new);
    }

    /**
     * Decides once for a record of {@code partition}: true when it goes to the new version.
     *
     * @param lastHeader the value of the record's last header with a name, or null when it has none
     */
    public boolean toNew(int partition, byte[] key, Function<String, byte[]> lastHeader) {
        for (Rule.Compiled r : legacyRules) {
            if (r.matches(key, lastHeader)) {
                return false;
            }
        }
        for (Rule.Compiled r : newRules) {
            if (r.matches(key, lastHeader)) {
                return true;
            }
        }
        if (routing == Routing.PARTITIONS) {
            return partition < newPartition.length && newPartition[partition];
        }
        return routing.toNew(key, share);
    }
}
