package canary.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import canary.common.Durations;
import canary.common.Json;
import canary.common.Text;
import canary.context.RolloutPlan;
import canary.release.MigrationState;
import canary.release.Rollout;

/**
 * The live page of {@code status.java ctx --serve}: a JDK HTTP server on one address that serves the page
 * ({@link LivePage}, no build step, nothing from the internet) and {@code /api/status}, the JSON of
 * {@code status --output json --history} plus what the page draws: routed records per version sampled by this server while
 * it runs, the share over time from the state's history, and the rollout plan with its current step, hold time left and last
 * gate result. A sampler thread measures every interval; requests only read its last snapshot, so any number of open pages
 * cost the cluster nothing more. With actions allowed, {@code POST /api/action/promote}, {@code /api/action/rollback},
 * {@code /api/action/pause} and {@code /api/action/resume} run the same commands as promote.java, rollback.java and
 * rollout.java --pause / --resume, and only with the token printed at start.
 */
final class LiveServer implements AutoCloseable {

    /** The header that carries the action token. */
    static final String TOKEN_HEADER = "X-Canary-Token";
    /** The actions of the page: promote.java, rollback.java, rollout.java --pause and rollout.java --resume. */
    static final List<String> ACTIONS = List.of("promote", "rollback", "pause", "resume");
    /** Routed-records samples kept (at the default interval of 5 s: an hour). */
    static final int SAMPLES = 720;

    /** Runs an action as its script would, returning its exit code and what it printed. */
    interface Actions {
        ActionResult run(String action);
    }

    record ActionResult(int exitCode, String out, String err) {
    }

    private final Session session;
    private final Duration timeout;
    private final Duration interval;
    private final String token;
    private final Actions actions;
    private final HttpServer server;
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "live-page-sampler"));
    private final ExecutorService actionRunner = Executors.newSingleThreadExecutor(r -> daemon(r, "live-page-action"));
    private final ArrayDeque<ObjectNode> samples = new ArrayDeque<>();
    private final PrintWriter err;
    private volatile byte[] snapshot;

    /** @param token null: read-only (no action answers anything but 403) */
    LiveServer(Session session, InetSocketAddress address, Duration timeout, Duration interval, String token, Actions actions,
               PrintWriter err) throws IOException {
        this.session = session;
        this.timeout = timeout;
        this.interval = interval;
        this.token = token;
        this.actions = actions;
        this.err = err;
        this.snapshot = Json.MAPPER.writeValueAsBytes(Json.MAPPER.createObjectNode().put("sampled_at", (String) null)
                .put("starting", true));
        this.server = HttpServer.create(address, 16);
        server.setExecutor(Executors.newFixedThreadPool(4, r -> daemon(r, "live-page-http")));
        server.createContext("/", this::page);
        server.createContext("/api/status", this::status);
        server.createContext("/api/action/", this::action);
    }

    /** A fresh random token (128 bits, hex) for the actions. */
    static String newToken() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    void start() {
        sample();
        sampler.scheduleWithFixedDelay(this::sample, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        server.start();
    }

    /** The address the server listens on (its port when 0 was asked). */
    InetSocketAddress address() {
        return server.getAddress();
    }

    // ------------------------------------------------------------------ sampling

    /** One measurement: the status, one more routed-records sample, the plan's position; never throws (the page shows why). */
    void sample() {
        try {
            StatusReport r = StatusReport.measure(session, timeout, true);
            StatusCommand.noticeHealth(session, r);
            Optional<MigrationState> state = session.store.read();
            ObjectNode root = Json.MAPPER.valueToTree(r);
            Instant now = session.clock().instant();
            root.put("sampled_at", now.toString());
            root.put("interval_seconds", interval.toMillis() / 1000.0);
            root.put("actions_allowed", token != null);
            if (r.partitions() != null && r.phase() != null && r.phase().active()) {
                ObjectNode s = Json.MAPPER.createObjectNode();
                s.put("time", now.toString());
                s.put("share", r.share());
                s.put("routed_to_legacy", sum(r.partitions(), StatusReport.Partition::routedToLegacy));
                s.put("routed_to_new", sum(r.partitions(), StatusReport.Partition::routedToNew));
                synchronized (samples) {
                    samples.addLast(s);
                    while (samples.size() > SAMPLES) {
                        samples.removeFirst();
                    }
                }
            }
            ArrayNode routed = root.putArray("routed_over_time");
            synchronized (samples) {
                samples.forEach(routed::add);
            }
            ArrayNode shares = root.putArray("share_over_time");
            state.ifPresent(st -> st.history().stream().filter(c -> c.share() != null)
                    .forEach(c -> shares.addObject().put("time", c.at().toString()).put("share", c.share())));
            root.set("plan", plan(state, now));
            snapshot = Json.MAPPER.writeValueAsBytes(root);
        } catch (RuntimeException | IOException e) {
            canary.common.UserException u = Cli.explain(e);
            String why = Text.firstLine(u != null ? u.getMessage() : e.toString());
            err.println("status --serve: could not measure: " + why);
            err.flush();
            try {
                ObjectNode failed = (ObjectNode) Json.MAPPER.readTree(snapshot);
                failed.put("sample_error", why);
                snapshot = Json.MAPPER.writeValueAsBytes(failed);
            } catch (IOException ignored) {
                // keep the last snapshot
            }
        }
    }

    /** The rollout plan of the context with where the release stands in it, or null without a plan. */
    private ObjectNode plan(Optional<MigrationState> state, Instant now) {
        if (!session.ctx.extensions().containsKey(RolloutPlan.KEY)) {
            return null;
        }
        ObjectNode p = Json.MAPPER.createObjectNode();
        RolloutPlan plan;
        try {
            plan = RolloutPlan.of(session.ctx);
        } catch (RuntimeException e) {
            p.put("error", Text.firstLine(e.getMessage()));
            return p;
        }
        ArrayNode steps = p.putArray("steps");
        for (int i = 0; i < plan.size(); i++) {
            RolloutPlan.Step s = plan.step(i);
            ObjectNode n = steps.addObject().put("step", i + 1).put("describe", s.describe()).put("promote", s.promote());
            if (!s.promote()) {
                n.put("share", s.share()).put("hold", Durations.compact(s.hold()));
            }
        }
        p.putPOJO("gates", plan.gates().describe());
        p.put("on_failure", plan.onFailure().word);
        MigrationState.Pause paused = state.map(MigrationState::paused).orElse(null);
        p.put("paused", paused != null);
        if (paused != null) {
            p.put("paused_by", paused.by());
            p.put("paused_at", paused.at().toString());
        }
        if (state.isPresent() && state.get().phase() == MigrationState.Phase.ROUTING) {
            Rollout.Position pos = Rollout.locate(plan, state.get());
            p.put("current_step", pos.step() + 1);
            p.put("on_plan", pos.onPlan());
            if (pos.since() != null && pos.step() >= 0) {
                Duration left = plan.step(pos.step()).hold().minus(Duration.between(pos.since(), now));
                p.put("hold_since", pos.since().toString());
                p.put("hold_left_seconds", Math.max(0, left.toSeconds()));
            }
        }
        return p;
    }

    private static long sum(List<StatusReport.Partition> rows, java.util.function.Function<StatusReport.Partition, Long> f) {
        return rows.stream().map(f).filter(java.util.Objects::nonNull).mapToLong(Long::longValue).sum();
    }

    // ------------------------------------------------------------------ HTTP

    private void page(HttpExchange x) throws IOException {
        if (!x.getRequestURI().getPath().equals("/")) {
            send(x, 404, "text/plain; charset=utf-8", "not found\n");
            return;
        }
        send(x, 200, "text/html; charset=utf-8", LivePage.HTML);
    }

    private void status(HttpExchange x) throws IOException {
        send(x, 200, "application/json", snapshot);
    }

    private void action(HttpExchange x) throws IOException {
        String name = x.getRequestURI().getPath().substring("/api/action/".length());
        if (!x.getRequestMethod().equals("POST")) {
            send(x, 405, "text/plain; charset=utf-8", "POST only\n");
            return;
        }
        if (token == null) {
            send(x, 403, "text/plain; charset=utf-8", "read-only page: start status.java with --allow-actions to allow actions\n");
            return;
        }
        String given = x.getRequestHeaders().getFirst(TOKEN_HEADER);
        if (given == null || !MessageDigest.isEqual(given.trim().getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
            send(x, 403, "text/plain; charset=utf-8", "wrong or missing token (header " + TOKEN_HEADER + "): use the one status.java printed at start\n");
            return;
        }
        if (!ACTIONS.contains(name)) {
            send(x, 404, "text/plain; charset=utf-8", "unknown action '" + name + "': promote, rollback, pause or resume\n");
            return;
        }
        err.println("status --serve: " + name + " asked from " + x.getRemoteAddress().getAddress().getHostAddress());
        err.flush();
        ActionResult result;
        try {
            result = actionRunner.submit(() -> actions.run(name)).get();
        } catch (Exception e) {
            result = new ActionResult(3, "", String.valueOf(e.getMessage()));
        }
        sampler.execute(this::sample);
        ObjectNode n = Json.MAPPER.createObjectNode().put("action", name).put("exit_code", result.exitCode()).put("out", result.out())
                .put("err", result.err());
        send(x, result.exitCode() == 0 ? 200 : 409, "application/json", Json.MAPPER.writeValueAsBytes(n));
    }

    private static void send(HttpExchange x, int code, String type, String body) throws IOException {
        send(x, code, type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange x, int code, String type, byte[] body) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        x.getResponseHeaders().set("Cache-Control", "no-store");
        x.sendResponseHeaders(code, body.length);
        try (OutputStream o = x.getResponseBody()) {
            o.write(body);
        }
    }

    /** Runs {@code command} (promote, rollback or rollout) in this JVM as its script does, capturing its output. */
    static ActionResult runCommand(Supplier<ContextCommand> command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = Cli.commandLine(command.get());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new ActionResult(code, out.toString(), err.toString());
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    @Override
    public void close() {
        server.stop(0);
        sampler.shutdownNow();
        actionRunner.shutdownNow();
        ((ExecutorService) server.getExecutor()).shutdownNow();
        try {
            sampler.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
