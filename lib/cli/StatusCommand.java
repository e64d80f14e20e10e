package canary.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.Json;
import canary.context.Context;
import canary.platform.LocalPlatform;
import canary.platform.Processes;
import canary.platform.LastHealth;
import canary.release.Lifecycle;
import canary.release.Notifications;
import canary.release.MigrationState;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows where a release stands: phase, engine, routing, share (and who changed it when), the router "
                + "instances, and per partition the start offset, the router's position, the lag of the router and of each "
                + "version, the records routed to each version so far; the last check_data. Exit code 0 healthy, 1 degraded "
                + "(routing should run but no instance does, a version is not consuming, the last check found a difference), "
                + "2 no migration.",
        footer = {"", "Examples:", "  ./jbang status.java services_examples/context.yaml",
                "  ./jbang status.java services_examples/context.yaml --output json | jq .partitions"})
public final class StatusCommand extends ContextCommand {

    /** How the report is printed. */
    public enum Output { TABLE, JSON }

    @Option(names = {"-o", "--output"}, defaultValue = "table", paramLabel = "table|json",
            description = "table (for people, default) or json (for tools; schema in the README)")
    Output output;

    @Option(names = "--history", description = "also list every change of the state: time, user, host, command, what")
    boolean history;

    @Option(names = "--watch", description = "refresh every few seconds until interrupted (on a terminal)")
    boolean watch;

    @Option(names = "--interval", defaultValue = "5s", converter = PositiveDurationConverter.class, paramLabel = "DURATION",
            description = "refresh interval of --watch (default ${DEFAULT-VALUE})")
    Duration interval;

    @Option(names = "--serve", description = "serve a live page of the release (and its JSON at /api/status) until interrupted; "
            + "it measures every --interval")
    boolean serve;

    @Option(names = "--port", defaultValue = "8780", paramLabel = "PORT", description = "port of --serve (default ${DEFAULT-VALUE}; 0: any free port)")
    int port;

    @Option(names = "--bind", defaultValue = "127.0.0.1", paramLabel = "ADDRESS",
            description = "address --serve listens on (default ${DEFAULT-VALUE}: this host only; 0.0.0.0: every interface)")
    String bind;

    @Option(names = "--allow-actions", description = "with --serve: show promote, rollback and pause/resume buttons, which need the token printed at start")
    boolean allowActions;

    @Override
    public Integer call() throws Exception {
        Context ctx = context();
        if ((allowActions || port != 8780 || !bind.equals("127.0.0.1")) && !serve) {
            throw new canary.common.UserException(canary.common.UserException.BAD_INPUT,
                    "--port, --bind and --allow-actions go with --serve");
        }
        if (serve && (watch || output == Output.JSON)) {
            throw new canary.common.UserException(canary.common.UserException.BAD_INPUT, "--serve shows the page: leave out --watch and --output");
        }
        if (port < 0 || port > 65535) {
            throw new canary.common.UserException(canary.common.UserException.BAD_INPUT, "invalid --port " + port + ": expected 0 to 65535");
        }
        try (Session s = wiring.open(ctx, commandLine(), out(), err(), timeout)) {
            if (serve) {
                return serve(s);
            }
            if (!watch) {
                return show(s, out());
            }
            LagTrend trend = new LagTrend();
            do {
                java.io.StringWriter buffer = new java.io.StringWriter();
                show(s, new PrintWriter(buffer), trend);
                if (System.console() != null) {
                    out().print("\033[H\033[2J");
                }
                out().print(buffer);
                out().flush();
                Thread.sleep(interval.toMillis());
            } while (true);
        }
    }

    /** Serves the live page until this thread is interrupted (Ctrl-C ends the JVM). */
    private int serve(Session s) throws Exception {
        java.net.InetSocketAddress address;
        try {
            address = new java.net.InetSocketAddress(java.net.InetAddress.getByName(bind), port);
        } catch (java.net.UnknownHostException e) {
            throw new canary.common.UserException(canary.common.UserException.BAD_INPUT, "invalid --bind " + bind + ": not an address of this host");
        }
        String token = allowActions ? LiveServer.newToken() : null;
        String file = contextFile.toString();
        String wait = canary.common.Durations.compact(timeout);
        LiveServer.Actions actions = name -> switch (name) {
            case "pause", "resume" -> LiveServer.runCommand(() -> new RolloutCommand().wiring(wiring), file, "--" + name, "--timeout", wait);
            default -> LiveServer.runCommand(() -> (name.equals("promote") ? new PromoteCommand() : new RollbackCommand())
                    .wiring(wiring), file, "--timeout", wait);
        };
        LiveServer server;
        try {
            server = new LiveServer(s, address, timeout, interval, token, actions, err());
        } catch (java.net.BindException e) {
            throw new canary.common.UserException(canary.common.UserException.BAD_INPUT, "cannot serve on " + bind + ":" + port + ": "
                    + e.getMessage() + " (another --port?)");
        }
        try (server) {
            server.start();
            java.net.InetSocketAddress a = server.address();
            String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
            out().println("live page of " + s.ctx.name() + " at http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort()
                    + "/ (JSON at /api/status; measured every " + canary.common.Durations.compact(interval) + "; "
                    + (token == null ? "read-only" : "actions allowed with token " + token + " (header " + LiveServer.TOKEN_HEADER + ")")
                    + "); Ctrl-C stops it");
            out().flush();
            try {
                new java.util.concurrent.CountDownLatch(1).await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return 0;
    }

    int show(Session s, PrintWriter out) throws Exception {
        return show(s, out, null);
    }

    int show(Session s, PrintWriter out, LagTrend trend) throws Exception {
        StatusReport r = StatusReport.measure(s, timeout, history);
        if (trend != null) {
            String growing = trend.add(r.phase() != null && r.phase().active() ? r.routerLag() : 0);
            if (growing != null) {
                r = r.withProblem(growing);
            }
        }
        noticeHealth(s, r);
        if (output == Output.JSON) {
            out.println(Json.PRETTY.writeValueAsString(r));
        } else {
            r.print(out);
            if (s.ctx.platform() == Context.PlatformKind.LOCAL) {
                out.println("brokers   " + LocalPlatform.describeBrokers(s.ctx, new Processes(s.ctx.stateDir())));
            }
            if (r.phase() != null && !r.phase().active()) {
                Map<String, MigrationState> later = s.lifecycle.releasedAfter(s.store.read());
                if (!later.isEmpty()) {
                    out.println("later     " + Lifecycle.describe(later) + " released " + s.ctx.topic() + " after this one and owns it"
                            + " now: see its status");
                }
            }
        }
        out.flush();
        return r.exitCode();
    }

    /** With webhooks: posts a degraded event when this status is degraded and the last one on this host was not. */
    static void noticeHealth(Session s, StatusReport r) {
        if (!s.notifier.enabled() || r.status() == StatusReport.Health.NO_MIGRATION) {
            return;
        }
        if (new LastHealth(s.ctx.stateDir(), s.ctx.name()).turned(r.status().word(), StatusReport.Health.DEGRADED.word())) {
            s.notifier.post(Notifications.degraded(s.ctx, r.phase(), r.share(), s.clock().instant(), r.problems()));
        }
    }

    public static void main(String[] args) {
        Cli.main(new StatusCommand(), args);
    }

    /** The router's lag over --watch samples: growing at every one of the last few samples means routing does not keep up. */
    public static final class LagTrend {
        static final int SAMPLES = 4;
        private final java.util.ArrayDeque<Long> last = new java.util.ArrayDeque<>();

        /** Adds a sample; returns the problem when the lag grew at each of the last {@value #SAMPLES} samples, else null. */
        public String add(long lag) {
            last.addLast(lag);
            if (last.size() > SAMPLES) {
                last.removeFirst();
            }
            if (last.size() < SAMPLES) {
                return null;
            }
            Long prev = null;
            for (Long l : last) {
                if (prev != null && l <= prev) {
                    return null;
                }
                prev = l;
            }
            return "the router's lag grew at each of the last " + SAMPLES + " samples (" + last.peekFirst() + " -> " + last.peekLast()
                    + " records): routing does not keep up with the producers";
        }
    }
}
