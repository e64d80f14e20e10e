package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import canary.cli.CheckDataCommand;
import canary.cli.MigrationCommand;
import canary.cli.PromoteCommand;
import canary.cli.RollbackCommand;
import canary.cli.RolloutCommand;
import canary.cli.RouterCommand;
import canary.cli.StatusCommand;
import canary.cli.TeardownCommand;
import canary.cli.UpdateRateCommand;
import canary.platform.broker.LocalBroker;

/**
 * Every bad input the kit knows, run as users run it against one live release on the test broker:
 * each is refused with exactly one line on stderr, no stack trace and the documented exit code, and
 * changes nothing: the state topic's records, the cluster's topics and the files under the release's
 * folder (state_dir included) are the same after as before. The README's Troubleshooting section
 * lists the same cases.
 *
 * <p>The release moves forward once, in the order of the catalogue: before any migration, routing,
 * promoted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputCatalogueTest {

    /** Where the shared release stands when a case runs. */
    enum Stage { BEFORE_MIGRATION, ROUTING, PROMOTED }

    /** One bad input: what the user runs at which stage, the exit code and a part of the one line it prints. */
    record Case(String name, Stage stage, Supplier<Object> command, Function<BadInputCatalogueTest, List<String>> args, int exit,
                String says) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> catalogue() {
        Stage before = Stage.BEFORE_MIGRATION;
        Stage routing = Stage.ROUTING;
        Stage promoted = Stage.PROMOTED;
        return Stream.of(
                // the context file
                new Case("a context file that does not exist", before, StatusCommand::new,
                        t -> List.of(dir.resolve("missing.yaml").toString()), 2, "the context file does not exist"),
                new Case("a context file that is not YAML", before, MigrationCommand::new,
                        t -> List.of(t.file("malformed", "name: [oops\n")), 2, "not valid YAML"),
                new Case("an empty context file", before, StatusCommand::new,
                        t -> List.of(t.file("empty", "")), 2, "the context file is empty"),
                new Case("an unknown key in the context file", before, PromoteCommand::new,
                        t -> List.of(t.variant("unknown-key", y -> y + "colour: blue\n")), 2, "unknown key 'colour'"),
                new Case("a key written twice in the context file", before, UpdateRateCommand::new,
                        t -> List.of(t.variant("duplicate-key", y -> y + "topic: payments\n"), "0.5"), 2, "Duplicate field 'topic'"),
                new Case("a required key left out of the context file", before, RollbackCommand::new,
                        t -> List.of(t.variant("missing-key", y -> y.replaceFirst("(?m)^topic: .*\n", ""))), 2, "missing key 'topic'"),
                new Case("a word where the context file needs a number", before, CheckDataCommand::new,
                        t -> List.of(t.variant("wrong-type", y -> y.replaceFirst("(?m)^partitions: .*$", "partitions: six"))), 2,
                        "key 'partitions': expected a whole number"),
                new Case("an environment variable the context file names is not set", before, CheckDataCommand::new,
                        t -> List.of(t.variant("unset-variable", y -> y.replaceFirst("(?m)^  bootstrap_servers: .*$",
                                "  bootstrap_servers: \\${CANARY_UNSET_VARIABLE}"))), 2, "CANARY_UNSET_VARIABLE is not set"),
                new Case("both versions in one consumer group", before, MigrationCommand::new,
                        t -> List.of(t.variant("one-group", y -> y.replace("group: " + t.kit.newGroup, "group: " + t.kit.legacyGroup))), 2,
                        "need different consumer groups"),
                new Case("topic '..'", before, MigrationCommand::new,
                        t -> List.of(t.variant("topic-dotdot", y -> y.replaceFirst("(?m)^topic: .*$", "topic: \"..\""))), 2,
                        "key 'topic': expected a valid Kafka topic name"),
                new Case("topic '.'", before, MigrationCommand::new,
                        t -> List.of(t.variant("topic-dot", y -> y.replaceFirst("(?m)^topic: .*$", "topic: \".\""))), 2,
                        "key 'topic': expected a valid Kafka topic name"),
                new Case("a topic name longer than Kafka allows", before, MigrationCommand::new,
                        t -> List.of(t.variant("topic-long", y -> y.replaceFirst("(?m)^topic: .*$", "topic: " + "x".repeat(250)))), 2,
                        "key 'topic': expected a valid Kafka topic name"),

                // the command line
                new Case("update_rate without anything to change", before, UpdateRateCommand::new,
                        t -> List.of(t.ctx()), 2, "nothing to change: give a share (0.5, 50%), --partitions, --rule or --no-rules"),
                new Case("a script without the context file", before, StatusCommand::new,
                        t -> List.of(), 2, "Missing required parameter: 'CONTEXT'"),
                new Case("an option the script does not have", before, StatusCommand::new,
                        t -> List.of(t.ctx(), "--colour"), 2, "Unknown option: '--colour'"),
                new Case("--timeout beyond a year (200000d)", before, StatusCommand::new,
                        t -> List.of(t.ctx(), "--timeout", "200000d"), 2, "expected a duration of at most 365d, got '200000d'"),
                new Case("--timeout 0s", before, MigrationCommand::new,
                        t -> List.of(t.ctx(), "--timeout", "0s"), 2, "expected a duration above 0 such as 30s, 5m or 1h30m, got '0s'"),
                new Case("--timeout without a unit (0)", before, UpdateRateCommand::new,
                        t -> List.of(t.ctx(), "0.5", "--timeout", "0"), 2, "expected a duration such as 30s, 5m or 1h30m, got '0'"),
                new Case("--timeout that is not a duration (soon)", before, PromoteCommand::new,
                        t -> List.of(t.ctx(), "--timeout", "soon"), 2, "expected a duration such as 30s, 5m or 1h30m, got 'soon'"),
                new Case("status --watch --interval 0s", before, StatusCommand::new,
                        t -> List.of(t.ctx(), "--watch", "--interval", "0s"), 2, "expected a duration above 0"),
                new Case("status --output in a format the kit does not print", before, StatusCommand::new,
                        t -> List.of(t.ctx(), "--output", "xml"), 2, "Invalid value for option '--output'"),
                new Case("migration --missing-offsets with a value it does not know", before, MigrationCommand::new,
                        t -> List.of(t.ctx(), "0.1", "--missing-offsets", "sometimes"), 2, "Invalid value for option '--missing-offsets'"),
                new Case("a migration share above 1 (1.5)", before, MigrationCommand::new,
                        t -> List.of(t.ctx(), "1.5"), 2, "invalid share '1.5': it must be between 0 and 1"),
                new Case("router --instance below 0", before, RouterCommand::new,
                        t -> List.of(t.ctx(), "--instance", "-1"), 2, "invalid --instance -1: expected 0 or more"),
                new Case("rollout with two of --plan, --promote-now and --abort", before, RolloutCommand::new,
                        t -> List.of(t.ctx(), "--plan", "--abort"), 2, "choose one of --plan, --promote-now and --abort"),
                new Case("rollout with --pause and --resume", before, RolloutCommand::new,
                        t -> List.of(t.ctx(), "--pause", "--resume"), 2, "are mutually exclusive"),
                new Case("rollout on a context without a plan", before, RolloutCommand::new,
                        t -> List.of(t.ctx(), "--plan"), 2, "missing key 'rollout'"),
                new Case("a metric gate without max or min", before, RolloutCommand::new,
                        t -> List.of(t.variant("gate-no-bound", y -> y + "rollout:\n  steps:\n    - share: 0.1\n  gates:\n    prometheus:\n"
                                + "      url: http://127.0.0.1:9090\n      queries:\n        - {name: a, query: up}\n")), 2,
                        "key 'rollout.gates.prometheus.queries[0]': expected max or min"),
                new Case("router metrics on a port in use (the test broker's)", before, RouterCommand::new,
                        t -> List.of(t.ctx(), "--instance", "5", "--metrics-port", TestBroker.bootstrapServers().replaceAll(".*:", "")), 2,
                        "cannot serve metrics on 127.0.0.1:"),

                // steps that do not apply yet
                new Case("router.java before any migration", before, RouterCommand::new,
                        t -> List.of(t.ctx()), 2, "no migration for context"),
                new Case("update_rate before any migration", before, UpdateRateCommand::new,
                        t -> List.of(t.ctx(), "0.5"), 2, "no migration for context"),
                new Case("check_data before any migration", before, CheckDataCommand::new,
                        t -> List.of(t.ctx()), 2, "no migration for context"),
                new Case("promote before any migration", before, PromoteCommand::new,
                        t -> List.of(t.ctx()), 2, "nothing to promote"),
                new Case("rollback before any migration", before, RollbackCommand::new,
                        t -> List.of(t.ctx()), 2, "nothing to roll back"),
                new Case("rollout --promote-now before any migration", before, RolloutCommand::new,
                        t -> List.of(t.ctx(), "--promote-now"), 2, "nothing to promote"),
                new Case("rollout --pause before any migration", before, RolloutCommand::new,
                        t -> List.of(t.ctx(), "--pause"), 2, "no rollout to pause"),
                new Case("a migration whose legacy group has committed nothing", before, MigrationCommand::new,
                        t -> List.of(t.variant("no-commits", y -> y.replace("group: " + t.kit.legacyGroup, "group: " + t.kit.legacyGroup + "-never"))),
                        2, "has no committed offset on partition(s) [0, 1]"),
                new Case("a migration against a broker nobody listens on", before, MigrationCommand::new,
                        t -> List.of(t.variant("unreachable", y -> y.replaceFirst("(?m)^  bootstrap_servers: .*$",
                                "  bootstrap_servers: 127.0.0.1:" + LocalBroker.freePort()).replace("state_dir: state", "state_dir: unreachable-state")),
                                "--timeout", "5s"), 3, "cannot reach Kafka at 127.0.0.1:"),

                // while routing
                new Case("migration while a migration is active", routing, MigrationCommand::new,
                        t -> List.of(t.ctx(), "0.3"), 2, "a migration is already active"),
                new Case("a share above 1 (1.5)", routing, UpdateRateCommand::new,
                        t -> List.of(t.ctx(), "1.5"), 2, "invalid share '1.5': it must be between 0 and 1"),
                new Case("a share above 100 % (150%)", routing, UpdateRateCommand::new,
                        t -> List.of(t.ctx(), "150%"), 2, "invalid share '150%': it must be between 0 and 1"),
                new Case("a negative share (-0.1)", routing, UpdateRateCommand::new,
                        t -> List.of(t.ctx(), "-0.1"), 2, "invalid share '-0.1'"),
                new Case("a share that is not a number (abc)", routing, UpdateRateCommand::new,
                        t -> List.of(t.ctx(), "abc"), 2, "invalid share 'abc': expected a number from 0 to 1"),
                new Case("teardown without --yes and no terminal", routing, TeardownCommand::new,
                        t -> List.of(t.ctx()), 2, "no terminal is attached to confirm: add --yes"),
                new Case("teardown with state_dir set to the context file's folder", routing, TeardownCommand::new,
                        t -> List.of(t.variant("state-dir-dot", y -> y.replace("state_dir: state", "state_dir: .")), "--yes"), 2,
                        "it holds the context file"),
                new Case("teardown with state_dir set to the home folder", routing, TeardownCommand::new,
                        t -> List.of(t.variant("state-dir-home", y -> y.replace("state_dir: state", "state_dir: \"" + System.getProperty("user.home")
                                + "\"")), "--yes"), 2, "it is the home folder"),
                new Case("teardown with state_dir set to a folder the kit did not create", routing, TeardownCommand::new,
                        t -> List.of(t.variant("state-dir-foreign", y -> y.replace("state_dir: state", "state_dir: " + t.foreignFolder())), "--yes"),
                        2, "the kit did not create it"),

                // after promotion
                new Case("update_rate after promotion", promoted, UpdateRateCommand::new,
                        t -> List.of(t.ctx(), "0.5"), 2, "it is promoted"),
                new Case("check_data after promotion", promoted, CheckDataCommand::new,
                        t -> List.of(t.ctx()), 2, "it is promoted"),
                new Case("rollback after promotion", promoted, RollbackCommand::new,
                        t -> List.of(t.ctx()), 2, "cannot roll back"),
                new Case("migration after promotion", promoted, MigrationCommand::new,
                        t -> List.of(t.ctx(), "0.1"), 2, "was promoted"));
    }

    /** The release's folder, shared by every case: its context file, its state_dir, the variants of the file. */
    @TempDir
    static Path dir;

    Kit kit;
    TestProducer producer;
    Stage stage;

    @ParameterizedTest(name = "{0}")
    @MethodSource("catalogue")
    void is_refused_in_one_line_and_changes_nothing(Case c) throws Exception {
        reach(c.stage());
        List<String> args = c.args().apply(this);
        Snapshot before = snapshot();

        Kit.Run run = Kit.run(c.command().get(), args.toArray(String[]::new)).expect(c.exit());

        String err = run.err().strip();
        assertEquals(1, err.lines().count(), "exactly one line on stderr, got:\n" + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace: " + err);
        assertTrue(err.contains(c.says()), "expected '" + c.says() + "' in: " + err);
        Snapshot after = snapshot();
        assertEquals(before.stateRecords(), after.stateRecords(), "the state topic's records");
        assertEquals(before.topics(), after.topics(), "the cluster's topics");
        assertEquals(before.files(), after.files(), "the files under the release's folder (state_dir included)");
    }

    /** Moves the shared release forward to {@code target} (the catalogue is in stage order). */
    void reach(Stage target) {
        if (stage == null) {
            kit = new Kit(dir, 2, "");
            producer = new TestProducer(kit.topic);
            kit.legacyHasProcessed(producer, 40);
            stage = Stage.BEFORE_MIGRATION;
        }
        if (stage == Stage.BEFORE_MIGRATION && target.compareTo(Stage.ROUTING) >= 0) {
            kit.migration("0.2").ok();
            // Both versions have started and written their files before any case looks at the folder.
            producer.produce(40);
            kit.awaitDrained(kit.legacyGroup, kit.topic + "_legacy", Duration.ofSeconds(60));
            kit.awaitDrained(kit.newGroup, kit.topic + "_new", Duration.ofSeconds(60));
            stage = Stage.ROUTING;
        }
        if (stage == Stage.ROUTING && target == Stage.PROMOTED) {
            kit.promote().ok();
            stage = Stage.PROMOTED;
        }
        assertEquals(target, stage, "the catalogue is in the order of the stages");
    }

    @AfterAll
    void stopTheRelease() {
        if (producer != null) {
            producer.close();
        }
        if (kit != null) {
            kit.close();
        }
    }

    // ------------------------------------------------------------------ inputs

    String ctx() {
        return kit.contextFile.toString();
    }

    /** Writes a context file next to the release's. */
    String file(String name, String yaml) {
        Path f = dir.resolve(name + ".yaml");
        try {
            Files.writeString(f, yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return f.toString();
    }

    /** The release's own context file with one mistake in it. */
    String variant(String name, UnaryOperator<String> mistake) {
        try {
            String yaml = Files.readString(kit.contextFile);
            String wrong = mistake.apply(yaml);
            assertFalse(wrong.equals(yaml), "the variant " + name + " differs from the release's file");
            return file(name, wrong);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A folder with an operator's file in it, which the kit did not create. */
    String foreignFolder() {
        Path f = dir.resolve("foreign");
        try {
            Files.createDirectories(f);
            Files.writeString(f.resolve("keep.txt"), "an operator's file");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return f.toString();
    }

    // ------------------------------------------------------------------ what must not change

    /** The state topic's records (as any client reads them, aborted writes included), the cluster's topics, the files. */
    record Snapshot(List<String> stateRecords, TreeSet<String> topics, List<String> files) {
    }

    Snapshot snapshot() throws Exception {
        TreeSet<String> topics;
        try (Admin admin = TestBroker.admin()) {
            topics = new TreeSet<>(admin.listTopics().names().get());
        }
        List<String> records = new ArrayList<>();
        String stateTopic = kit.topic + "_canary_state";
        if (topics.contains(stateTopic)) {
            Properties p = TestBroker.clientProperties();
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                TopicPartition tp = new TopicPartition(stateTopic, 0);
                c.assign(List.of(tp));
                c.seekToBeginning(List.of(tp));
                long end = c.endOffsets(List.of(tp)).get(tp);
                records.add("end offset " + end);
                while (c.position(tp) < end) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                        records.add(r.offset() + " " + text(r.key()) + " " + text(r.value()));
                    }
                }
            }
        }
        List<String> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.map(f -> dir.relativize(f).toString()).sorted().toList();
        }
        return new Snapshot(records, topics, files);
    }

    private static String text(byte[] b) {
        return b == null ? "null" : new String(b, StandardCharsets.UTF_8);
    }
}
