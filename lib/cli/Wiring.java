package canary.cli;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.Properties;
import java.util.function.Function;

import canary.common.Waits;
import canary.context.Context;
import canary.engine.ksqldb.KsqlEngine;
import canary.engine.router.RouterEngine;
import canary.kafka.KafkaCluster;
import canary.kafka.KafkaStateStore;
import canary.platform.ProcessProbe;
import canary.platform.ProcessVersions;
import canary.platform.Processes;
import canary.platform.Webhooks;
import canary.release.Engine;
import canary.release.Liveness;
import canary.release.Operator;

/**
 * The one factory of what the commands talk to outside the JVM: the clock, the environment, who
 * runs the command, and the session of a context (Kafka, the state, the engine, the processes).
 * Commands take it in their constructor; the fast tests pass one that builds in-memory fakes, the
 * way ksqlDB's migration commands take a client supplier and a clock.
 */
public interface Wiring {

    Clock clock();

    /** The environment: ${VAR} references of the context, user and host for the history. */
    Function<String, String> env();

    /**
     * Opens everything a command needs for {@code ctx}; {@code command} is recorded with every change of the state. Progress
     * goes to {@code out}, warnings (an unreadable state record) to {@code err}.
     */
    Session open(Context ctx, String command, PrintWriter out, PrintWriter err, Duration timeout);

    /** The real thing: the cluster, ksqlDB and the processes of this host. */
    static Wiring real() {
        return Real.INSTANCE;
    }

    /** Kafka, ksqlDB and the local processes, with the system clock and the process environment. */
    final class Real implements Wiring {
        static final Real INSTANCE = new Real();

        private Real() {
        }

        @Override
        public Clock clock() {
            return Clock.systemUTC();
        }

        @Override
        public Function<String, String> env() {
            return System::getenv;
        }

        @Override
        public Session open(Context ctx, String command, PrintWriter out, PrintWriter err, Duration timeout) {
            Properties client = ctx.kafka().clientProperties();
            KafkaCluster cluster = KafkaCluster.connect(client);
            try {
                cluster.checkReachable(timeout);
                Waits.Progress progress = Waits.to(out);
                Processes processes = new Processes(ctx.stateDir());
                Operator operator = Operator.of(command, env());
                KafkaStateStore store = KafkaStateStore.of(ctx, client, operator, clock()).warnTo(line -> {
                    err.println(line);
                    err.flush();
                });
                Engine engine = switch (ctx.engine()) {
                    case ROUTER -> new RouterEngine(ctx, cluster, processes, RouterCommand.class.getName(), progress);
                    case KSQLDB -> new KsqlEngine(ctx, cluster, KsqlEngine.client(ctx), progress);
                };
                return new Session(ctx, cluster, store, engine, new ProcessVersions(ctx, cluster, processes, progress), clock(), operator,
                        Liveness.onHost(operator.host()), new ProcessProbe(ctx.stateDir(), ctx.name()), out, timeout, cluster,
                        Webhooks.of(ctx.notifications(), line -> {
                            err.println(line);
                            err.flush();
                        }));
            } catch (RuntimeException e) {
                cluster.close();
                throw e;
            }
        }
    }
}
