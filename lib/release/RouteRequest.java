package canary.release;

import java.util.List;

import canary.context.Rule;

/**
 * How an operator asks routing to change (update_rate, a rollout step) or to start (migration); a null part keeps what the
 * release has (at migration: the share must be given, and null rules are the context file's).
 *
 * @param share      the share of records for the new version
 * @param partitions with routing {@code partitions}: the partitions for the new version, instead of a share
 * @param rules      the match rules, all of them (an empty list removes every rule)
 */
public record RouteRequest(Double share, List<Integer> partitions, List<Rule> rules) {

    public RouteRequest {
        partitions = partitions == null ? null : List.copyOf(partitions);
        rules = rules == null ? null : List.copyOf(rules);
    }

    public static RouteRequest share(double share) {
        return new RouteRequest(share, null, null);
    }

    /** A share and rules, as a rollout step sets them. */
    public static RouteRequest of(double share, List<Rule> rules) {
        return new RouteRequest(share, null, rules);
    }

    /** Whether it asks for anything at all. */
    public boolean empty() {
        return share == null && partitions == null && rules == null;
    }
}
