package canary;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.SerializationFeature;
import org.apache.kafka.clients.admin.MemberDescription;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows where a release stands: phase, engine, routing, share (and who changed it when), the router "
                + "instances, and per partition the start offset, the router's position, the lag of the router and of each "
                + "version, the records routed to each version so far; the last check_data. Exit code 0 healthy, 1 degraded "
                + "(routing should run but no instance does, a version is not consuming, the last check found a difference), "
                + "2 no migration.",
        footer = {"", "Examples:", "  ./jbang status.java services_examples/context.yaml",
                "  ./jbang status.java services_examples/context.yaml --output json | jq .partitions"})
public final class StatusCommand extends ContextCommand {

    public static final int HEALTHY = 0;
    public static final int DEGRADED = 1;
    public static final int NO_MIGRATION = 2;

    @Option(names = {"-o", "--output"}, defaultValue = "table", paramLabel = "table|json",
            description = "table (for people, default) or json (for tools; schema in the README)")
    String output;

    @Option(names = "--history", description = "also list every change of the state: time, user, host, command, what")
    boolean history;

    @Option(names = "--watch", description = "refresh every few seconds until interrupted (on a terminal)")
    boolean watch;

    @Option(names = "--interval", defaultValue = "5s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "refresh interval of --watch (default ${DEFAULT-VALUE})")
    Duration interval;

    @Override
    public Integer call() throws Exception {
        if (!output.equals("table") && !output.equals("json")) {
            throw new UserException("invalid --output '" + output + "': expected table or json");
        }
        Context ctx = context();
        try (Session s = new Session(ctx, "status", out(), timeout)) {
            if (!watch) {
                return show(s, out());
            }
            int code;
            do {
                java.io.StringWriter buffer = new java.io.StringWriter();
                code = show(s, new PrintWriter(buffer));
                if (System.console() != null) {
                    out().print("\033[H\033[2J");
                }
                out().print(buffer);
                out().flush();
                Thread.sleep(interval.toMillis());
            } while (true);
        }
    }

    int show(Session s, PrintWriter out) throws Exception {
        Report r = Report.measure(s, timeout);
        if (output.equals("json")) {
            out.println(StateStore.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r.json(history)));
        } else {
            r.print(out, history);
        }
        out.flush();
        return r.exitCode();
    }

    /** One measurement of where a release stands. */
    record Report(Context ctx, Optional<MigrationState> state, List<MemberDescription> routers, List<Row> rows,
                  Map<String, Integer> members, List<String> problems) {

        record Row(int partition, Long startOffset, Long routerPosition, Long routerLag, Long legacyLag, Long newLag,
                   Long routedToLegacy, Long routedToNew) {
        }

        static Report measure(Session s, Duration timeout) {
            Context ctx = s.ctx;
            Optional<MigrationState> state = s.store.read();
            List<Row> rows = new ArrayList<>();
            List<String> problems = new ArrayList<>();
            Map<String, Integer> members = new LinkedHashMap<>();
            List<MemberDescription> routers = List.of();
            if (state.isPresent()) {
                MigrationState st = state.get();
                members.put("legacy", s.cluster.members(ctx.legacy().group()).size());
                members.put("new", s.cluster.members(ctx.newVersion().group()).size());
                if (st.phase().active()) {
                    String routing = s.engine.routingGroup(st);
                    routers = s.cluster.members(routing);
                    Map<Integer, Long> end = s.cluster.endOffsets(ctx.topic());
                    Map<Integer, Long> position = s.cluster.committedOffsets(routing, ctx.topic());
                    boolean derived = s.cluster.topicExists(ctx.legacyTopic()) && s.cluster.topicExists(ctx.newTopic());
                    // Lag in records still to process (read where offsets differ): a transaction marker is not lag.
                    RecordCounter counter = new RecordCounter(s.client);
                    Map<Integer, Long> legacyLag = derived ? counter.unprocessed(s.cluster, ctx.legacy().group(), ctx.legacyTopic(), timeout) : Map.of();
                    Map<Integer, Long> newLag = derived ? counter.unprocessed(s.cluster, ctx.newVersion().group(), ctx.newTopic(), timeout) : Map.of();
                    Map<Integer, Long> toLegacy = derived ? counter.countAll(s.cluster, ctx.legacyTopic(), timeout) : Map.of();
                    Map<Integer, Long> toNew = derived ? counter.countAll(s.cluster, ctx.newTopic(), timeout) : Map.of();
                    for (Map.Entry<Integer, Long> e : st.startOffsets().entrySet()) {
                        int p = e.getKey();
                        Long pos = position.get(p);
                        rows.add(new Row(p, e.getValue(), pos, pos == null ? null : Math.max(0, end.get(p) - pos),
                                legacyLag.get(p), newLag.get(p), toLegacy.get(p), toNew.get(p)));
                    }
                    boolean routingWanted = st.routerRunning() && st.phase() == MigrationState.Phase.ROUTING;
                    if (routingWanted && routers.isEmpty()) {
                        problems.add("routing should run but no routing instance is in group " + routing);
                    }
                    if (st.phase() == MigrationState.Phase.ROUTING) {
                        members.forEach((role, n) -> {
                            if (n == 0) {
                                problems.add("the " + role + " version (group " + ctx.service(role).group() + ") has no members: it is not consuming");
                            }
                        });
                    }
                } else {
                    String owner = st.phase() == MigrationState.Phase.PROMOTED ? "new" : "legacy";
                    Map<Integer, Long> lag = s.cluster.lag(ctx.service(owner).group(), ctx.topic());
                    lag.forEach((p, l) -> rows.add(new Row(p, st.startOffsets().get(p), null, null,
                            owner.equals("legacy") ? l : null, owner.equals("new") ? l : null, null, null)));
                }
                if (st.lastCheck() != null && !st.lastCheck().clean()) {
                    problems.add("the last check_data (" + st.lastCheck().at() + ") found a difference of " + st.lastCheck().difference());
                }
            }
            return new Report(ctx, state, routers, rows, members, problems);
        }

        int exitCode() {
            if (state.isEmpty()) {
                return NO_MIGRATION;
            }
            return problems.isEmpty() ? HEALTHY : DEGRADED;
        }

        void print(PrintWriter out, boolean withHistory) {
            out.println("context   " + ctx.name() + " (topic " + ctx.topic() + ", engine " + ctx.engine().word + ", platform " + ctx.platform().word + ")");
            if (state.isEmpty()) {
                out.println("phase     no migration (run migration to start one)");
                return;
            }
            MigrationState st = state.get();
            out.println("phase     " + st.phase().word());
            MigrationState.Change c = lastShareChange(st);
            out.println("share     " + MigrationState.percent(st.share()) + " to the new version, routing " + st.routing()
                    + (c == null ? "" : "; set " + c.at() + " by " + c.user() + "@" + c.host() + " (" + c.command() + ")"));
            if (st.phase().active()) {
                out.println("router    " + (st.routerRunning() ? "run flag on" : "stopped (run flag off)") + ", " + routers.size()
                        + " instance(s)" + (routers.isEmpty() ? "" : ": " + String.join(", ", routers.stream()
                        .map(m -> m.clientId() + "@" + m.host().replaceFirst("^/", "") + " "
                                + m.assignment().topicPartitions().stream().map(tp -> tp.partition()).sorted().toList()).toList())));
            }
            out.println("versions  legacy " + ctx.legacy().group() + ": " + members.get("legacy") + " member(s); new "
                    + ctx.newVersion().group() + ": " + members.get("new") + " member(s)");
            if (st.handover() != null) {
                out.println("hand-over to " + st.handover().to() + (st.handover().offsetsApplied() ? ", offsets applied" : "")
                        + (st.handover().started() ? ", started on " + ctx.topic() : ""));
            }
            MigrationState.Check k = st.lastCheck();
            out.println("checked   " + (k == null ? "never (run check_data)" : (k.clean() ? "clean" : "MISMATCH") + " at " + k.at()
                    + ": consumed " + k.consumed() + " = legacy " + k.legacy() + " + new " + k.fresh() + " (difference " + k.difference() + ")"));
            if (!rows.isEmpty()) {
                out.println();
                Table t = new Table("PARTITION", "START OFFSET", "ROUTER POSITION", "ROUTER LAG", "LEGACY LAG", "NEW LAG",
                        "ROUTED TO LEGACY", "ROUTED TO NEW");
                for (Row r : rows) {
                    t.row(r.partition(), dash(r.startOffset()), dash(r.routerPosition()), dash(r.routerLag()), dash(r.legacyLag()),
                            dash(r.newLag()), dash(r.routedToLegacy()), dash(r.routedToNew()));
                }
                t.print(out);
            }
            for (String p : problems) {
                out.println("DEGRADED: " + p);
            }
            if (withHistory && st.history() != null) {
                out.println();
                Table h = new Table("TIME", "USER", "HOST", "COMMAND", "CHANGE");
                for (MigrationState.Change ch : st.history()) {
                    h.row(ch.at(), ch.user(), ch.host(), ch.command(), ch.what());
                }
                h.print(out);
            }
        }

        static MigrationState.Change lastShareChange(MigrationState st) {
            MigrationState.Change found = null;
            if (st.history() != null) {
                for (MigrationState.Change ch : st.history()) {
                    if (ch.what().startsWith("share ") || ch.what().startsWith("migration started")) {
                        found = ch;
                    }
                }
            }
            return found;
        }

        static String dash(Long v) {
            return v == null ? "-" : String.valueOf(v);
        }

        Map<String, Object> json(boolean withHistory) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("context", ctx.name());
            m.put("topic", ctx.topic());
            m.put("engine", ctx.engine().word);
            m.put("platform", ctx.platform().word);
            m.put("status", state.isEmpty() ? "no-migration" : problems.isEmpty() ? "healthy" : "degraded");
            m.put("problems", problems);
            if (state.isPresent()) {
                MigrationState st = state.get();
                m.put("phase", st.phase().word());
                m.put("routing", st.routing());
                m.put("share", st.share());
                m.put("router_running", st.routerRunning());
                m.put("router_instances", routers.stream().map(r -> Map.of("client_id", r.clientId(), "host", r.host(),
                        "partitions", r.assignment().topicPartitions().stream().map(tp -> tp.partition()).sorted().toList())).toList());
                m.put("version_members", members);
                m.put("last_change", st.lastChange());
                m.put("last_check", st.lastCheck());
                m.put("handover", st.handover());
                List<Map<String, Object>> parts = new ArrayList<>();
                for (Row r : rows) {
                    Map<String, Object> p = new LinkedHashMap<>();
                    p.put("partition", r.partition());
                    p.put("start_offset", r.startOffset());
                    p.put("router_position", r.routerPosition());
                    p.put("router_lag", r.routerLag());
                    p.put("legacy_lag", r.legacyLag());
                    p.put("new_lag", r.newLag());
                    p.put("routed_to_legacy", r.routedToLegacy());
                    p.put("routed_to_new", r.routedToNew());
                    parts.add(p);
                }
                m.put("partitions", parts);
                if (withHistory) {
                    m.put("history", st.history());
                }
            }
            return m;
        }
    }

    public static void main(String[] args) {
        Cli.main(new StatusCommand(), args);
    }
}
