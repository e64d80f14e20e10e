package canary.demo;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.cli.CheckDataCommand;
import canary.cli.Cli;
import canary.cli.ContextCommand;
import canary.cli.MigrationCommand;
import canary.cli.PromoteCommand;
import canary.cli.Session;
import canary.cli.SetupCommand;
import canary.cli.UpdateRateCommand;
import canary.common.Durations;
import canary.common.Table;
import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Role;
import canary.platform.LocalPlatform;
import canary.platform.Processes;
import canary.release.Lag;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The whole canary release on a local cluster in one command: setup (if needed), migration at 10 %, ramp to "
                + "50 % then 100 % while the producer keeps producing, check_data, promote, and a closing report of records per "
                + "version, lost and duplicated records, proven from what the two versions processed.",
        footer = {"", "Example:", "  ./jbang demo.java services_examples/context.yaml"})
public final class DemoCommand extends ContextCommand {

    @Option(names = "--hold", defaultValue = "10s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "how long each share runs before the next step (default ${DEFAULT-VALUE})")
    Duration hold;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = out();
        Context ctx = context();
        if (ctx.platform() != Context.PlatformKind.LOCAL || ctx.engine() != Context.EngineKind.ROUTER) {
            throw new UserException("the demo runs on platform local with engine router; " + ctx.file() + " has platform "
                    + ctx.platform().word() + ", engine " + ctx.engine().word());
        }
        String t = timeoutArg();
        step(out, "setup", new SetupCommand(), ctx.file().toString(), "--timeout", t);
        try (Session s = wiring.open(ctx, commandLine(), out, err(), timeout)) {
            if (s.store.read().map(st -> st.phase().active()).orElse(false)) {
                throw new UserException("a migration is already active for context '" + ctx.name() + "': finish it (promote or rollback) "
                        + "or run teardown before the demo");
            }
            out.println("== waiting until the legacy version has committed offsets on every partition");
            int partitions = s.cluster.partitions(ctx.topic());
            Waits.untilNothingLeft("the legacy version (" + ctx.legacy().group() + ") committed on every partition of " + ctx.topic(),
                    timeout, Waits.to(out), () -> {
                        int n = s.cluster.committedOffsets(ctx.legacy().group(), ctx.topic()).size();
                        return n == partitions ? null : n + " of " + partitions + " partitions";
                    });
        }
        step(out, "migration at 10 %", new MigrationCommand(), ctx.file().toString(), "0.1", "--timeout", t);
        pause(out);
        step(out, "update_rate to 50 %", new UpdateRateCommand(), ctx.file().toString(), "0.5", "--timeout", t);
        pause(out);
        step(out, "update_rate to 100 %", new UpdateRateCommand(), ctx.file().toString(), "1", "--timeout", t);
        pause(out);
        int check = Cli.commandLine(new CheckDataCommand()).setOut(out).setErr(err()).execute(ctx.file().toString(), "--timeout", t);
        out.println("== check_data: exit code " + check);
        step(out, "promote", new PromoteCommand(), ctx.file().toString(), "--timeout", t);
        pause(out);
        return report(out, ctx) && check == 0 ? 0 : 1;
    }

    private String timeoutArg() {
        return timeout.toMillis() + "ms";
    }

    private void step(PrintWriter out, String title, Object command, String... args) {
        out.println("== " + title);
        out.flush();
        int code = Cli.commandLine(command).setOut(out).setErr(err()).execute(args);
        if (code != 0) {
            throw new UserException(UserException.ENVIRONMENT, "the demo stopped: " + title + " failed with exit code " + code);
        }
    }

    private void pause(PrintWriter out) throws InterruptedException {
        out.println("   (holding " + Durations.format(hold) + " while the producer keeps producing)");
        out.flush();
        Thread.sleep(hold.toMillis());
    }

    /** Stops the producer, lets the new version catch up, and proves from the processed files that nothing was lost or doubled. */
    private boolean report(PrintWriter out, Context ctx) {
        out.println("== closing report");
        Processes processes = new Processes(ctx.stateDir());
        processes.stop(canary.platform.ProcessNames.producer(ctx), Duration.ofSeconds(20));
        out.println("stopped the demo producer to take the final count (setup starts it again)");
        try (Session s = wiring.open(ctx, commandLine(), out, err(), timeout)) {
            Waits.untilNothingLeft("the new version has processed every record of " + ctx.topic(), timeout, Waits.to(out),
                    () -> Lag.remaining("new", s.cluster.unprocessed(ctx.newVersion().group(), ctx.topic(), timeout)));
            Map<String, Integer> produced = idsOn(ctx.kafka().clientProperties(), ctx.topic());
            Map<String, Integer> seen = new HashMap<>();
            Map<String, Long> perVersion = new HashMap<>();
            for (Role role : Role.values()) {
                Path f = ctx.stateDir().resolve("processed").resolve(ctx.service(role).group() + ".tsv");
                List<DummyService.Processed> lines = Files.exists(f) ? DummyService.readProcessed(f) : List.of();
                perVersion.put(role.word(), (long) lines.size());
                for (DummyService.Processed p : lines) {
                    seen.merge(p.id(), 1, Integer::sum);
                }
            }
            long lost = produced.keySet().stream().filter(id -> !seen.containsKey(id)).count();
            long duplicated = seen.values().stream().filter(n -> n > 1).count();
            Table t = new Table("RECORDS", "COUNT");
            t.row("produced to " + ctx.topic(), produced.size());
            t.row("processed by legacy (" + ctx.legacy().group() + ")", perVersion.get("legacy"));
            t.row("processed by new (" + ctx.newVersion().group() + ")", perVersion.get("new"));
            t.row("lost", lost);
            t.row("duplicated", duplicated);
            t.print(out);
            boolean ok = lost == 0 && duplicated == 0;
            out.println(ok ? "demo done: every record was processed exactly once by exactly one version"
                    : "demo FAILED: " + lost + " lost, " + duplicated + " duplicated");
            return ok;
        }
    }

    /** Every record id on a topic (read_committed, from the beginning to the end). */
    static Map<String, Integer> idsOn(Properties client, String topic) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Integer> ids = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            Waits.whileWorking("every record of " + topic + " is read", Duration.ofMinutes(5), () -> {
                c.poll(Duration.ofMillis(200)).forEach(r -> ids.merge(DummyService.idOf(r.value()), 1, Integer::sum));
                return tps.stream().allMatch(tp -> c.position(tp) >= end.get(tp)) ? null : "";
            });
        }
        return ids;
    }

    public static void main(String[] args) {
        Cli.main(new DemoCommand(), args);
    }
}
