package canary.platform;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.kafka.KafkaCluster;
import canary.release.Cluster;

/**
 * A single-node KRaft broker started on this host from the Kafka jars, the original topic and the
 * demo producer, as background processes under the state folder. The broker and the producer run
 * classes that only setup and demo compile (lib/platform/broker, lib/demo), named here by class name.
 */
public final class LocalPlatform implements Platform {

    public static final String BROKER = ProcessNames.BROKER;
    static final String BROKER_CLASS = "canary.platform.broker.LocalBroker";
    static final String PRODUCER_CLASS = "canary.demo.DemoProducer";

    private final Context ctx;
    private final Processes processes;

    public LocalPlatform(Context ctx, Processes processes) {
        this.ctx = ctx;
        this.processes = processes;
    }

    @Override
    public List<String> describeSetup() {
        return List.of("start a KRaft broker on 127.0.0.1:" + ctx.local().port() + " (data under " + ctx.stateDir().resolve("kafka") + ")",
                "create " + ctx.topic() + " with " + ctx.partitions() + " partitions"
                        + (ctx.local().producer() ? " and start the demo producer at " + ctx.local().producerRate() + " records/s" : ""),
                "start the legacy version (group " + ctx.legacy().group() + ") on " + ctx.topic());
    }

    @Override
    public Context provision(PrintWriter out, Duration timeout) {
        if (processes.isRunning(BROKER)) {
            out.println("broker already runs on 127.0.0.1:" + ctx.local().port());
        } else {
            processes.start(BROKER, Processes.javaCommand(BROKER_CLASS, ctx.stateDir().resolve("kafka").toString(),
                    String.valueOf(ctx.local().port()), String.valueOf(ctx.local().controllerPort())), ctx.directory(), Map.of());
            out.println("started a KRaft broker on 127.0.0.1:" + ctx.local().port() + " (log: " + processes.logFile(BROKER) + ")");
        }
        // A broker just started takes a few seconds to answer.
        try (KafkaCluster cluster = KafkaCluster.connect(ctx.kafka().clientProperties())) {
            Waits.until("the broker on 127.0.0.1:" + ctx.local().port() + " answers", timeout, Waits.to(out), () -> {
                try {
                    cluster.checkReachable(Duration.ofSeconds(5));
                    return true;
                } catch (UserException e) {
                    return false;
                }
            });
        }
        return ctx;
    }

    @Override
    public void populate(Context c, Cluster cluster, PrintWriter out) {
        out.println(cluster.createTopic(c.topic(), c.partitions(), Map.of())
                ? "created topic " + c.topic() + " (" + c.partitions() + " partitions)"
                : "topic " + c.topic() + " already exists (" + c.partitions() + " partitions)");
        if (c.local().producer()) {
            if (processes.isRunning(ProcessNames.producer(c))) {
                out.println("demo producer already runs");
            } else {
                processes.start(ProcessNames.producer(c), Processes.javaCommand(PRODUCER_CLASS, c.file().toAbsolutePath().toString()), c.directory(), Map.of(), true);
                out.println("started the demo producer (" + c.local().producerRate() + " records/s to " + c.topic() + ")");
            }
        }
    }

    @Override
    public boolean startsLegacy() {
        return true;
    }

    @Override
    public String describeTeardown() {
        return null;
    }

    @Override
    public boolean clusterGoesAway() {
        return true;
    }

    @Override
    public void destroy(PrintWriter out) {
        // the broker is one of the kit's processes: teardown stopped it, and its data goes with the state folder
    }
}
