package canary.context;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;

import canary.common.Durations;
import canary.common.Table;
import canary.common.Text;
import canary.common.UserException;

/**
 * The progressive plan of a release, from the {@code rollout} key of the context: steps that set the
 * share and the match rules, each held for a while, optionally ending with {@code promote}; the gates
 * that must pass before each advance; what to do when one fails. A step's rules stay until a later step
 * sets others ({@code rules: []} removes them); a step without a share keeps the one before (the first:
 * 0). An immutable value; errors name the file, the key and what is expected, like every error of
 * {@link Context}.
 *
 * <pre>
 * rollout:
 *   steps:
 *     - rules: ["header:tenant=beta"]   # friends and family first, share 0
 *       hold: 1h
 *     - share: 0.1
 *       hold: 30m
 *     - share: 1.0
 *       hold: 10m
 *     - promote
 *   gates:
 *     max_lag: 10000
 *     check_data: true
 *     command: ["./probe.sh", "{service}"]
 *   on_failure: hold
 * </pre>
 */
public record RolloutPlan(List<Step> steps, Gates gates, OnFailure onFailure) {

    /** The key of the plan in the context file. */
    public static final String KEY = "rollout";

    /**
     * One step: route {@code share} to the new version with {@code rules} decided before it (the rules in force at this step,
     * whether it sets them or keeps those of the step before) and keep it for at least {@code hold}, or (only as the last step)
     * promote the new version.
     */
    public record Step(boolean promote, double share, Duration hold, List<Rule> rules) {

        public Step {
            rules = List.copyOf(rules);
        }

        public static Step share(double share, Duration hold) {
            return new Step(false, share, hold, List.of());
        }

        public static Step share(double share, Duration hold, List<Rule> rules) {
            return new Step(false, share, hold, rules);
        }

        public static Step promoteStep() {
            return new Step(true, 1.0, Duration.ZERO, List.of());
        }

        /** For people: "share 25 %, hold 1 h", "share 0 %, rules header:tenant=beta, hold 1h" or "promote". */
        public String describe() {
            return promote ? "promote" : "share " + Text.percent(share) + (rules.isEmpty() ? "" : ", rules " + Rule.describeAll(rules))
                    + ", hold " + Durations.compact(hold);
        }
    }

    /**
     * What must hold before each advance, besides routing running and both versions consuming (always
     * checked): the lag of each version at most {@code maxLag} records (summed over partitions),
     * the probe {@code command} exiting 0, and check_data clean (always: the last check_data, if any, was clean).
     */
    public record Gates(OptionalLong maxLag, boolean checkData, List<String> command, Prometheus prometheus) {

        public Gates(OptionalLong maxLag, boolean checkData, List<String> command) {
            this(maxLag, checkData, command, null);
        }

        public static Gates defaults() {
            return new Gates(OptionalLong.empty(), true, List.of());
        }

        /** The gates in the order they are evaluated, for people. */
        public List<String> describe() {
            List<String> out = new ArrayList<>();
            out.add("routing runs and both versions consume");
            maxLag.ifPresent(l -> out.add("the lag of each version is at most " + l + " records"));
            out.add("the last check_data, if any, found no difference");
            if (!command.isEmpty()) {
                out.add("the probe " + String.join(" ", command) + " exits 0");
            }
            if (prometheus != null) {
                for (MetricQuery q : prometheus.queries()) {
                    out.add("prometheus " + q.name() + ": " + q.query() + " " + q.bounds() + " (at " + prometheus.url() + ")");
                }
            }
            if (checkData) {
                out.add("check_data is clean");
            }
            return out;
        }
    }

    /**
     * Gates on Prometheus queries ({@code gates.prometheus}): each query is an instant query against the server at {@code url}
     * ({@code /api/v1/query}) that must give one number within its bounds.
     */
    public record Prometheus(String url, List<MetricQuery> queries) {
        public Prometheus {
            queries = List.copyOf(queries);
        }
    }

    /**
     * One query of {@code gates.prometheus.queries}: a PromQL expression with placeholders, and at least one bound: the value
     * must be at most {@code max} and at least {@code min}.
     */
    public record MetricQuery(String name, String query, Double max, Double min) {

        /** The placeholders of a query, as in the probe command. */
        public static final List<String> PLACEHOLDERS = List.of("{service}", "{topic}", "{context}");

        /**
         * The query as sent: {@code {service}} the new version's consumer group, {@code {topic}} the topic it consumes
         * ({@code <topic>_new}), {@code {context}} the context's name (the {@code context} label of the kit's metrics).
         */
        public String resolve(String service, String topic, String context) {
            return query.replace("{service}", service).replace("{topic}", topic).replace("{context}", context);
        }

        /** Null when {@code value} is within the bounds, else why not ("0.7 > 0.5"). */
        public String violation(double value) {
            if (max != null && value > max) {
                return MetricQuery.number(value) + " > " + MetricQuery.number(max);
            }
            if (min != null && value < min) {
                return MetricQuery.number(value) + " < " + MetricQuery.number(min);
            }
            return null;
        }

        /** A value for people: 3, 0.25, 1.5E-7 (no trailing zeros), NaN. */
        public static String number(double v) {
            if (!Double.isFinite(v)) {
                return Double.toString(v);
            }
            if (v == Math.rint(v) && Math.abs(v) < 1e15) {
                return Long.toString((long) v);
            }
            return new java.math.BigDecimal(Double.toString(v)).stripTrailingZeros().toString();
        }

        /** "<= 0.5", ">= 1", "between 1 and 5". */
        public String bounds() {
            if (max != null && min != null) {
                return "between " + MetricQuery.number(min) + " and " + MetricQuery.number(max);
            }
            return max != null ? "<= " + MetricQuery.number(max) : ">= " + MetricQuery.number(min);
        }
    }

    public enum OnFailure {
        /** Keep the current step and exit 1; the next run evaluates the gates again. */
        HOLD("hold"),
        /** Hand the original topic back to the legacy version. */
        ROLLBACK("rollback");

        public final String word;

        OnFailure(String word) {
            this.word = word;
        }
    }

    public RolloutPlan {
        steps = List.copyOf(steps);
    }

    /** The number of steps, promote included. */
    public int size() {
        return steps.size();
    }

    public Step step(int index) {
        return steps.get(index);
    }

    /** Whether the plan ends by promoting the new version. */
    public boolean promotes() {
        return steps.get(steps.size() - 1).promote();
    }

    /** The share the migration starts with: the first step's. */
    public double firstShare() {
        return steps.get(0).share();
    }

    /** The plan for people: a table of steps, then the gates and what happens when one fails. */
    public List<String> describe() {
        Table t = new Table("STEP", "ACTION", "SHARE", "RULES", "HOLD");
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            boolean newRules = i > 0 && !s.promote() && !s.rules().equals(steps.get(i - 1).rules());
            String action = s.promote() ? "promote" : i == 0 ? "start migration"
                    : newRules && s.share() == steps.get(i - 1).share() ? "update rules" : newRules ? "update share and rules" : "update share";
            t.row(i + 1, action, s.promote() ? "-" : Text.percent(s.share()), s.promote() ? "-" : Rule.describeAll(s.rules()),
                    s.promote() ? "-" : Durations.compact(s.hold()));
        }
        List<String> out = new ArrayList<>(t.toString().lines().toList());
        out.add("");
        out.add("gates before each advance:");
        for (String g : gates.describe()) {
            out.add("  - " + g);
        }
        out.add("on a failed gate: " + (onFailure == OnFailure.HOLD
                ? "hold (no change, exit 1; the next run evaluates the gates again)"
                : "rollback (hand the original topic back to the legacy version, exit 1)"));
        if (!promotes()) {
            out.add("the plan ends at " + Text.percent(steps.get(steps.size() - 1).share())
                    + " without promote: promote by hand (promote.java or rollout.java --promote-now)");
        }
        return out;
    }

    // ------------------------------------------------------------------ loading

    /** The plan of a context; fails with a clear line when the context has none or it is wrong. */
    public static RolloutPlan of(Context ctx) {
        return of(ctx, System::getenv);
    }

    public static RolloutPlan of(Context ctx, Function<String, String> env) {
        JsonNode node = ctx.extensions().get(KEY);
        if (node == null || node.isNull()) {
            throw new Context.ContextException(ctx.file() + ": missing key '" + KEY + "' (the progressive plan: steps with share and "
                    + "hold, optionally ending with promote; gates; on_failure)");
        }
        return new Reader(ctx.file(), env, ctx.rules(), ctx.routing()).plan(node);
    }

    /** Parses the value of the {@code rollout} key of {@code file} (a context without rules and with random routing). */
    public static RolloutPlan parse(Path file, JsonNode node, Function<String, String> env) {
        return new Reader(file, env, List.of(), Routing.RANDOM).plan(node);
    }

    /** Walks the YAML of the plan; every error names the file, the key and what is expected. */
    private static final class Reader {
        private static final String STEP_EXPECTED = "a mapping with share, rules and hold (e.g. {share: 0.25, hold: 1h}) or the word promote";
        private static final String SHARE_EXPECTED = "a share from 0 to 1 such as 0.25, .25 or 25%";
        private static final String HOLD_EXPECTED = "a duration such as 30s, 5m or 1h30m";

        private final Path file;
        private final Function<String, String> env;
        private final List<Rule> contextRules;
        private final Routing routing;

        /** @param contextRules the rules the migration starts with when the first step sets none (the context file's) */
        Reader(Path file, Function<String, String> env, List<Rule> contextRules, Routing routing) {
            this.file = file;
            this.env = env;
            this.contextRules = contextRules;
            this.routing = routing;
        }

        RolloutPlan plan(JsonNode node) {
            Map<String, JsonNode> m = object(node, KEY, Set.of("steps", "gates", "on_failure"));
            List<Step> steps = steps(m.get("steps"));
            Gates gates = m.containsKey("gates") && !m.get("gates").isNull() ? gates(m.get("gates")) : Gates.defaults();
            OnFailure onFailure = onFailure(m.get("on_failure"));
            return new RolloutPlan(steps, gates, onFailure);
        }

        List<Step> steps(JsonNode node) {
            String key = KEY + ".steps";
            if (node == null || node.isNull()) {
                throw new Context.ContextException(file + ": missing key '" + key + "' (a list of steps: {share: 0.1, hold: 30m}, ..., "
                        + "optionally promote as the last)");
            }
            if (!node.isArray() || node.isEmpty()) {
                throw bad(key, "a non-empty list of steps, each " + STEP_EXPECTED, describe(node));
            }
            List<Step> steps = new ArrayList<>();
            for (int i = 0; i < node.size(); i++) {
                JsonNode n = node.get(i);
                String at = key + "[" + i + "]";
                String which = " (step " + (i + 1) + ")";
                if (n.isTextual() && n.asText().trim().equals("promote")) {
                    if (i != node.size() - 1) {
                        throw bad(at, which, "promote only as the last step (after it there is nothing left to route)", "promote");
                    }
                    if (i == 0) {
                        throw bad(at, which, "a share step first: the first step's share is the migration's share", "promote");
                    }
                    steps.add(Step.promoteStep());
                    continue;
                }
                if (!n.isObject()) {
                    throw bad(at, which, STEP_EXPECTED, describe(n));
                }
                Map<String, JsonNode> sm = object(n, at, Set.of("share", "rules", "hold"));
                Step before = steps.isEmpty() ? null : steps.get(steps.size() - 1);
                boolean hasShare = sm.get("share") != null && !sm.get("share").isNull();
                boolean hasRules = sm.containsKey("rules");
                if (!hasShare && !hasRules) {
                    throw new Context.ContextException(file + ": missing key '" + at + ".share'" + which + " (" + SHARE_EXPECTED
                            + "; or rules, for a step that only changes the rules)");
                }
                double share = hasShare ? share(sm.get("share"), at + ".share", which) : before == null ? 0.0 : before.share();
                List<Rule> rules = hasRules ? rules(sm.get("rules"), at + ".rules", which) : before == null ? contextRules : before.rules();
                Duration hold = hold(sm.get("hold"), at + ".hold", which);
                if (before != null && share < before.share()) {
                    throw bad(at + ".share", which, "a share not below the step before (" + Text.percent(before.share())
                            + "): shares never decrease", describe(sm.get("share")));
                }
                steps.add(Step.share(share, hold, rules));
            }
            return steps;
        }

        double share(JsonNode n, String key, String which) {
            if (n == null || n.isNull()) {
                throw new Context.ContextException(file + ": missing key '" + key + "'" + which + " (" + SHARE_EXPECTED + ")");
            }
            if (!n.isNumber() && !n.isTextual()) {
                throw bad(key, which, SHARE_EXPECTED, describe(n));
            }
            try {
                return Share.parse(n.asText());
            } catch (UserException e) {
                throw bad(key, which, SHARE_EXPECTED, describe(n));
            }
        }

        List<Rule> rules(JsonNode n, String key, String which) {
            String expected = "a list of rules, each " + Rule.EXPECTED + " (e.g. [\"header:tenant=beta\"]; [] removes them)";
            if (n == null || n.isNull() || !n.isArray()) {
                throw bad(key, which, expected, n == null || n.isNull() ? "nothing" : describe(n));
            }
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < n.size(); i++) {
                if (!n.get(i).isTextual()) {
                    throw bad(key + "[" + i + "]", which, "a rule, " + Rule.EXPECTED, describe(n.get(i)));
                }
                texts.add(n.get(i).asText());
            }
            if (!texts.isEmpty() && routing == Routing.PARTITIONS) {
                throw new Context.ContextException(file + ": key '" + key + "'" + which + ": rules and routing partitions exclude each"
                        + " other (a rule would split a partition's records between the two versions)");
            }
            try {
                return Rule.parseAll(texts);
            } catch (UserException e) {
                throw new Context.ContextException(file + ": key '" + key + "'" + which + ": " + e.getMessage());
            }
        }

        Duration hold(JsonNode n, String key, String which) {
            if (n == null || n.isNull()) {
                return Duration.ZERO;
            }
            if (!n.isTextual() && !(n.isIntegralNumber() && n.asLong() == 0)) {
                throw bad(key, which, HOLD_EXPECTED, describe(n));
            }
            try {
                return Durations.parse(n.asText().equals("0") ? "0s" : n.asText());
            } catch (IllegalArgumentException e) {
                throw bad(key, which, HOLD_EXPECTED, describe(n));
            }
        }

        Gates gates(JsonNode node) {
            String key = KEY + ".gates";
            Map<String, JsonNode> m = object(node, key, Set.of("max_lag", "check_data", "command", "prometheus"));
            OptionalLong maxLag = OptionalLong.empty();
            JsonNode lag = m.get("max_lag");
            if (lag != null && !lag.isNull()) {
                if (!lag.isIntegralNumber() || !lag.canConvertToLong() || lag.asLong() < 0) {
                    throw bad(key + ".max_lag", "", "a whole number of records from 0 up (the most lag each version may have)", describe(lag));
                }
                maxLag = OptionalLong.of(lag.asLong());
            }
            boolean checkData = true;
            JsonNode check = m.get("check_data");
            if (check != null && !check.isNull()) {
                if (!check.isBoolean()) {
                    throw bad(key + ".check_data", "", "true or false", describe(check));
                }
                checkData = check.asBoolean();
            }
            List<String> command = command(m.get("command"), key + ".command");
            JsonNode prom = m.get("prometheus");
            return new Gates(maxLag, checkData, command, prom == null || prom.isNull() ? null : prometheus(prom, key + ".prometheus"));
        }

        Prometheus prometheus(JsonNode node, String key) {
            Map<String, JsonNode> m = object(node, key, Set.of("url", "queries"));
            JsonNode u = m.get("url");
            if (u == null || u.isNull()) {
                throw new Context.ContextException(file + ": missing key '" + key + ".url' (the Prometheus server, e.g. "
                        + "http://127.0.0.1:9090)");
            }
            String urlExpected = "the Prometheus server's http(s) URL, e.g. http://127.0.0.1:9090";
            if (!u.isTextual()) {
                throw bad(key + ".url", urlExpected, describe(u));
            }
            String url = Context.substitute(u.asText().trim(), env, file + ": key '" + key + ".url'");
            try {
                java.net.URI uri = new java.net.URI(url);
                if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                    throw bad(key + ".url", urlExpected, describe(u));
                }
            } catch (java.net.URISyntaxException e) {
                throw bad(key + ".url", urlExpected, describe(u));
            }
            JsonNode qs = m.get("queries");
            String qExpected = "a non-empty list of queries, each {name: ..., query: ..., max: N} (or min: N, or both)";
            if (qs == null || qs.isNull()) {
                throw new Context.ContextException(file + ": missing key '" + key + ".queries' (" + qExpected + ")");
            }
            if (!qs.isArray() || qs.isEmpty()) {
                throw bad(key + ".queries", qExpected, describe(qs));
            }
            List<MetricQuery> out = new ArrayList<>();
            Set<String> names = new java.util.HashSet<>();
            for (int i = 0; i < qs.size(); i++) {
                String at = key + ".queries[" + i + "]";
                Map<String, JsonNode> q = object(qs.get(i), at, Set.of("name", "query", "max", "min"));
                String name = text(q.get("name"), at + ".name", "a name for the gate (letters, digits, '_', '-', '.')");
                if (!name.matches("[A-Za-z0-9_.-]+")) {
                    throw bad(at + ".name", "letters, digits, '_', '-' or '.' only", describe(q.get("name")));
                }
                if (!names.add(name)) {
                    throw bad(at + ".name", "a name no other query of " + key + " has", describe(q.get("name")));
                }
                String query = text(q.get("query"), at + ".query", "a PromQL expression, e.g. sum(rate(errors_total{group=\"{service}\"}[5m]))");
                java.util.regex.Matcher ph = java.util.regex.Pattern.compile("\\{[a-z_]+}").matcher(query);
                while (ph.find()) {
                    if (!MetricQuery.PLACEHOLDERS.contains(ph.group())) {
                        throw new Context.ContextException(file + ": key '" + at + ".query': unknown placeholder " + ph.group()
                                + " (expected " + String.join(", ", MetricQuery.PLACEHOLDERS) + ")");
                    }
                }
                Double max = bound(q.get("max"), at + ".max");
                Double min = bound(q.get("min"), at + ".min");
                if (max == null && min == null) {
                    throw new Context.ContextException(file + ": key '" + at + "': expected max or min (the value must be at most max, at"
                            + " least min), got neither");
                }
                if (max != null && min != null && min > max) {
                    throw bad(at + ".min", "at most max (" + MetricQuery.number(max) + ")", MetricQuery.number(min));
                }
                out.add(new MetricQuery(name, query, max, min));
            }
            return new Prometheus(url, out);
        }

        String text(JsonNode n, String key, String expected) {
            if (n == null || n.isNull()) {
                throw new Context.ContextException(file + ": missing key '" + key + "' (" + expected + ")");
            }
            if (!n.isTextual() || n.asText().isBlank()) {
                throw bad(key, expected, describe(n));
            }
            return n.asText().trim();
        }

        Double bound(JsonNode n, String key) {
            if (n == null || n.isNull()) {
                return null;
            }
            if (!n.isNumber() || !Double.isFinite(n.asDouble())) {
                throw bad(key, "a number, e.g. 0.01 or 500", describe(n));
            }
            return n.asDouble();
        }

        List<String> command(JsonNode n, String key) {
            if (n == null || n.isNull()) {
                return List.of();
            }
            String expected = "a non-empty list of arguments, e.g. [\"./probe.sh\", \"{service}\"] (run without a shell)";
            if (!n.isArray() || n.isEmpty()) {
                throw bad(key, "", expected, describe(n));
            }
            List<String> out = new ArrayList<>();
            for (JsonNode a : n) {
                if (!a.isValueNode() || a.isNull()) {
                    throw bad(key, "", expected, describe(n));
                }
                out.add(Context.substitute(a.asText(), env, file + ": key '" + key + "'"));
            }
            return List.copyOf(out);
        }

        OnFailure onFailure(JsonNode n) {
            if (n == null || n.isNull()) {
                return OnFailure.HOLD;
            }
            String v = n.isValueNode() ? n.asText().trim() : "";
            for (OnFailure f : OnFailure.values()) {
                if (f.word.equals(v)) {
                    return f;
                }
            }
            throw bad(KEY + ".on_failure", "", "hold or rollback", describe(n));
        }

        Map<String, JsonNode> object(JsonNode node, String where, Set<String> allowed) {
            return Context.mapping(file, node, where, allowed);
        }

        Context.ContextException bad(String key, String expected, String got) {
            return bad(key, "", expected, got);
        }

        Context.ContextException bad(String key, String which, String expected, String got) {
            return new Context.ContextException(file + ": key '" + key + "'" + which + ": expected " + expected + ", got " + got);
        }

        static String describe(JsonNode n) {
            return Context.describe(n);
        }
    }
}
