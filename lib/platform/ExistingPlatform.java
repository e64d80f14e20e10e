package canary.platform;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;

import canary.context.Context;
import canary.release.Cluster;

/** A cluster someone else runs: setup checks that it answers and that the topic exists; teardown leaves it as it was. */
public final class ExistingPlatform implements Platform {

    private final Context ctx;

    public ExistingPlatform(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public List<String> describeSetup() {
        return List.of("check that Kafka at " + ctx.kafka().describe() + " answers and that " + ctx.topic() + " exists");
    }

    @Override
    public Context provision(PrintWriter out, Duration timeout) {
        return ctx;
    }

    @Override
    public void populate(Context c, Cluster cluster, PrintWriter out) {
        out.println("Kafka at " + c.kafka().describe() + " answers; topic " + c.topic() + " has " + cluster.partitions(c.topic()) + " partitions");
    }

    @Override
    public boolean startsLegacy() {
        return false;
    }

    @Override
    public String describeTeardown() {
        return null;
    }

    @Override
    public boolean clusterGoesAway() {
        return false;
    }

    @Override
    public void destroy(PrintWriter out) {
        // not ours to destroy
    }
}
