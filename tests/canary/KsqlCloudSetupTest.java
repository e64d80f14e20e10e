package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.SetupCommand;
import canary.cli.TeardownCommand;
import canary.context.Context;
import canary.platform.Platform;
import canary.platform.StateDir;
import canary.platform.Terraform;

/**
 * The confluent-cloud platform without Confluent Cloud: a script in a temporary folder stands in
 * for terraform and records every call, so the tests see which commands setup and teardown run,
 * that --dry-run runs none, and what is written from {@code terraform output -json}.
 */
class KsqlCloudSetupTest {

    static final String KAFKA_SECRET = "kafka-SECRET-abc/def+ghi";
    static final String KSQL_SECRET = "ksql-SECRET-xyz";

    @TempDir
    Path dir;

    Path fake;
    Path calls;
    final Map<String, String> env = new HashMap<>();

    @BeforeEach
    void fakeTerraform() throws IOException {
        fake = dir.resolve("fake-terraform");
        calls = dir.resolve("calls.log");
        // Like terraform: the state goes where -state says, written by the shell under the umask it was started with.
        Files.writeString(fake, """
                #!/bin/sh
                here="$(dirname "$0")"
                echo "$*" >> "$here/calls.log"
                echo "$1 umask=$(umask) TF_DATA_DIR=$TF_DATA_DIR" >> "$here/env.log"
                state=""
                for a in "$@"; do case "$a" in -state=*) state="${a#-state=}" ;; esac; done
                case "$1" in
                  output) cat "$here/outputs.json" ;;
                  apply) if [ -f "$here/fail-apply" ]; then echo "Error: creating the ksqlDB cluster: quota reached" >&2; exit 1; fi
                         if [ -f "$state" ]; then cp "$state" "$state.backup"; fi
                         echo "{\\"version\\":4,\\"resources\\":[{\\"type\\":\\"confluent_environment\\"}],\\"applied\\":\\"$*\\"}" > "$state"
                         echo "Apply complete! Resources: 14 added, 0 changed, 0 destroyed." ;;
                  destroy) cp "$state" "$state.backup"
                         echo '{"version":4,"resources":[]}' > "$state"
                         echo "Destroy complete! Resources: 14 destroyed." ;;
                  *) echo "fake terraform: $1 done" ;;
                esac
                """);
        assertTrue(fake.toFile().setExecutable(true));
        Files.writeString(dir.resolve("outputs.json"), """
                {"bootstrap_servers":{"sensitive":false,"type":"string","value":"pkc-test.us-east-2.aws.confluent.cloud:9092"},
                 "kafka_api_key":{"sensitive":true,"type":"string","value":"KAFKAKEY1"},
                 "kafka_api_secret":{"sensitive":true,"type":"string","value":"%s"},
                 "ksqldb_endpoint":{"sensitive":false,"type":"string","value":"https://pksqlc-test.us-east-2.aws.confluent.cloud:443"},
                 "ksqldb_api_key":{"sensitive":true,"type":"string","value":"KSQLKEY1"},
                 "ksqldb_api_secret":{"sensitive":true,"type":"string","value":"%s"}}
                """.formatted(KAFKA_SECRET, KSQL_SECRET));
    }

    static final String PROPERTIES = "kafka:\n  properties_file: state/client.properties\n";

    Path cloudContext(String kafkaYaml) throws IOException {
        return cloudContext("context-cloud.yaml", "orders-cloud", "orders", "state", kafkaYaml);
    }

    /** A cloud context in {@link #dir}; its state folder and Kafka client file relative to it. */
    Path cloudContext(String file, String name, String topic, String stateDir, String kafkaYaml) throws IOException {
        Path f = dir.resolve(file);
        Files.writeString(f, """
                name: %s
                topic: %s
                partitions: 6
                value_format: JSON_SR
                engine: ksqldb
                platform: confluent-cloud
                state_dir: %s
                %s
                ksqldb:
                  endpoint: ${KSQLDB_ENDPOINT}
                  api_key: ${KSQLDB_API_KEY}
                  api_secret: ${KSQLDB_API_SECRET}
                legacy:
                  group: service_v1
                  run: ["true"]
                new:
                  group: service_v2
                  run: ["true"]
                """.formatted(name, topic, stateDir, kafkaYaml));
        return f;
    }

    List<String> calls() throws IOException {
        return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
    }

    void credentials() {
        env.put("TF_VAR_confluent_cloud_api_key", "CLOUDKEY");
        env.put("TF_VAR_confluent_cloud_api_secret", "CLOUDSECRET");
    }

    /** The platform of a context, with the fake terraform, as setup and teardown build it. */
    Platform platform(Path ctxFile, StringWriter printed) {
        Context ctx = Terraform.loadBeforeProvisioned(ctxFile, env::get);
        return Platform.of(ctx, ctxFile, fake, env::get, new PrintWriter(printed, true));
    }

    static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    /** Every file and folder under {@code root} with its content (files) or its mode, to show that nothing changed. */
    static Map<Path, String> snapshot(Path root) throws IOException {
        Map<Path, String> out = new TreeMap<>();
        if (!Files.exists(root)) {
            return out;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                out.put(p, mode(p) + (Files.isRegularFile(p) ? " " + Files.readString(p) : ""));
            }
        }
        return out;
    }

    static String applyLine(Path stateDir, String name, String topic) {
        return "apply -auto-approve -input=false -state=" + stateDir.resolve("terraform").resolve("terraform.tfstate")
                + " -var name_prefix=" + name + " -var topic=" + topic + " -var partitions=6";
    }

    @Test
    void setup_dry_run_prints_the_plan_and_does_not_call_terraform() throws Exception {
        Path ctx = cloudContext(PROPERTIES);
        env.put("TF_VAR_confluent_cloud_api_key", "CLOUDKEY");

        Kit.Run run = Kit.run(new SetupCommand(fake, env::get), ctx.toString(), "--dry-run").ok();

        assertEquals(List.of(), calls(), "terraform was not invoked");
        String out = run.out();
        Path state = dir.resolve("state");
        assertTrue(out.contains("terraform init -input=false"), out);
        assertTrue(out.contains("terraform " + applyLine(state, "orders-cloud", "orders")), out);
        assertTrue(out.contains("terraform output -json -state=" + state.resolve("terraform/terraform.tfstate")), out);
        assertTrue(out.contains("Terraform state " + state.resolve("terraform/terraform.tfstate") + " (mode 600) and working files "
                + state.resolve("terraform/.terraform") + " (TF_DATA_DIR)"), out);
        assertTrue(out.contains("waits 5 minutes after creating the ksqlDB API key"), out);
        assertTrue(out.contains(state.resolve("client.properties") + " (mode 600)"), out);
        assertTrue(out.contains(state.resolve("ksqldb.env") + " (mode 600)"), out);
        assertTrue(out.contains("TF_VAR_confluent_cloud_api_key (set), TF_VAR_confluent_cloud_api_secret (not set)"), out);
        assertFalse(out.contains("CLOUDKEY"), "no credential is printed");
        assertFalse(Files.exists(state), "--dry-run writes nothing");
    }

    @Test
    void setup_without_the_cloud_api_key_is_one_line_and_does_not_call_terraform() throws Exception {
        Path ctx = cloudContext(PROPERTIES);

        BadInputTest.assertOneLine(Kit.run(new SetupCommand(fake, env::get), ctx.toString()), 2,
                "set TF_VAR_confluent_cloud_api_key and TF_VAR_confluent_cloud_api_secret");

        assertEquals(List.of(), calls());
    }

    @Test
    void a_failed_apply_is_one_line_and_writes_no_client_files() throws Exception {
        Path ctx = cloudContext(PROPERTIES);
        credentials();
        Files.writeString(dir.resolve("fail-apply"), "");

        Kit.Run run = Kit.run(new SetupCommand(fake, env::get), ctx.toString());

        BadInputTest.assertOneLine(run, 3, "terraform apply failed with exit code 1 (its output is above)");
        assertTrue(run.out().contains("quota reached"), "terraform's own output is shown: " + run.out());
        assertEquals(List.of("init -input=false", applyLine(dir.resolve("state"), "orders-cloud", "orders")), calls());
        assertFalse(Files.exists(dir.resolve("state").resolve("client.properties")));
        // whose state it is was recorded before apply: a partly applied state is this topic's
        assertEquals("{\"context\":\"orders-cloud\",\"topic\":\"orders\"}",
                Files.readString(dir.resolve("state/terraform/provisioned.json")).strip());
    }

    @Test
    void provisioning_keeps_the_state_private_writes_private_client_files_and_prints_no_secret() throws Exception {
        Path ctxFile = cloudContext(PROPERTIES);
        credentials();
        StringWriter printed = new StringWriter();

        platform(ctxFile, printed).provision(new PrintWriter(printed, true), Duration.ofMinutes(1));

        Path state = dir.resolve("state");
        Path tfState = state.resolve("terraform/terraform.tfstate");
        assertEquals(List.of("init -input=false", applyLine(state, "orders-cloud", "orders"), "output -json -state=" + tfState), calls());
        // terraform ran with umask 077 and this state folder's working files
        for (String line : Files.readAllLines(dir.resolve("env.log"))) {
            assertTrue(line.endsWith(" umask=0077 TF_DATA_DIR=" + state.resolve("terraform/.terraform")), line);
        }
        // the state (every secret of the deployment) and what sits beside it: readable by the owner only
        assertEquals("rwx------", mode(state.resolve("terraform")));
        assertEquals("rw-------", mode(tfState));
        assertEquals("rw-------", mode(state.resolve("terraform/provisioned.json")));
        Path props = state.resolve("client.properties");
        Path ksqlEnv = state.resolve("ksqldb.env");
        assertEquals("rw-------", mode(props));
        assertEquals("rw-------", mode(ksqlEnv));
        assertFalse(printed.toString().contains(KAFKA_SECRET) || printed.toString().contains(KSQL_SECRET), printed.toString());
        assertTrue(printed.toString().contains("Apply complete!"), "terraform's progress is shown");
        assertTrue(printed.toString().contains("waits 5 minutes after creating the ksqlDB API key"), printed.toString());

        // applied again (setup run twice): the backup terraform keeps is private too
        platform(ctxFile, printed).provision(new PrintWriter(printed, true), Duration.ofMinutes(1));
        assertEquals("rw-------", mode(state.resolve("terraform/terraform.tfstate.backup")));

        // the context now loads with the written files: Kafka over SASL_SSL with the key, ksqlDB from ksqldb.env
        Context loaded = Context.load(ctxFile, Terraform.contextEnv(ctxFile, env::get));
        Properties client = loaded.kafka().clientProperties();
        assertEquals("pkc-test.us-east-2.aws.confluent.cloud:9092", client.getProperty("bootstrap.servers"));
        assertEquals("SASL_SSL", client.getProperty("security.protocol"));
        assertEquals("PLAIN", client.getProperty("sasl.mechanism"));
        assertEquals("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"KAFKAKEY1\" password=\""
                + KAFKA_SECRET + "\";", client.getProperty("sasl.jaas.config"));
        Context.KsqlConnection k = loaded.ksqldb().orElseThrow();
        assertEquals("https://pksqlc-test.us-east-2.aws.confluent.cloud:443", k.endpoint());
        assertEquals("KSQLKEY1", k.apiKey().orElseThrow());
        assertEquals(KSQL_SECRET, k.apiSecret().orElseThrow());

        // the environment wins over the file
        env.put("KSQLDB_ENDPOINT", "https://other:8088");
        assertEquals("https://other:8088", Context.load(ctxFile, Terraform.contextEnv(ctxFile, env::get)).ksqldb().orElseThrow().endpoint());

        // a shell can source ksqldb.env
        try (Reader r = Files.newBufferedReader(ksqlEnv)) {
            Properties p = new Properties();
            p.load(r);
            assertEquals("KSQLKEY1", p.getProperty("KSQLDB_API_KEY"));
        }
    }

    @Test
    void a_state_written_readable_by_others_is_made_private_before_terraform_runs() throws Exception {
        Path ctxFile = cloudContext(PROPERTIES);
        credentials();
        Path folder = Files.createDirectories(dir.resolve("state/terraform"));
        Path tfState = folder.resolve("terraform.tfstate");
        Files.writeString(tfState, "{\"version\":4,\"resources\":[{\"type\":\"confluent_environment\"}]}");
        Files.setPosixFilePermissions(tfState, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwxr-xr-x"));
        // the fake records the modes it finds when it starts
        Files.writeString(fake, Files.readString(fake).replace("state=\"\"\n",
                "state=\"\"\nstat -c '%A %n' \"$here/state/terraform\" \"$here/state/terraform/terraform.tfstate\" >> \"$here/modes.log\"\n"));

        platform(ctxFile, new StringWriter()).provision(new PrintWriter(new StringWriter(), true), Duration.ofMinutes(1));

        List<String> seen = Files.readAllLines(dir.resolve("modes.log"));
        assertEquals(List.of("drwx------ " + folder, "-rw------- " + tfState), seen.subList(0, 2), "private before the first run: " + seen);
        assertEquals("rw-------", mode(tfState));
        assertEquals("rwx------", mode(folder));
    }

    @Test
    void two_cloud_contexts_are_planned_and_provisioned_with_separate_states_and_names() throws Exception {
        Path a = cloudContext("orders.yaml", "orders-cloud", "orders", "etc-orders",
                "kafka:\n  properties_file: etc-orders/client.properties\n");
        Path b = cloudContext("payments.yaml", "payments-cloud", "payments", "etc-payments",
                "kafka:\n  properties_file: etc-payments/client.properties\n");
        credentials();

        String planA = Kit.run(new SetupCommand(fake, env::get), a.toString(), "--dry-run").ok().out();
        String planB = Kit.run(new SetupCommand(fake, env::get), b.toString(), "--dry-run").ok().out();
        assertTrue(planA.contains("terraform " + applyLine(dir.resolve("etc-orders"), "orders-cloud", "orders")), planA);
        assertTrue(planB.contains("terraform " + applyLine(dir.resolve("etc-payments"), "payments-cloud", "payments")), planB);
        assertEquals(List.of(), calls(), "--dry-run calls nothing");

        platform(a, new StringWriter()).provision(new PrintWriter(new StringWriter(), true), Duration.ofMinutes(1));
        platform(b, new StringWriter()).provision(new PrintWriter(new StringWriter(), true), Duration.ofMinutes(1));
        Path stateA = dir.resolve("etc-orders/terraform/terraform.tfstate");
        Path stateB = dir.resolve("etc-payments/terraform/terraform.tfstate");
        assertTrue(Files.readString(stateA).contains("name_prefix=orders-cloud -var topic=orders"), Files.readString(stateA));
        assertTrue(Files.readString(stateB).contains("name_prefix=payments-cloud -var topic=payments"), Files.readString(stateB));
        assertEquals("rw-------", mode(stateA));
        assertEquals("rw-------", mode(stateB));

        // tearing down the one destroys its own state only
        Files.writeString(calls, "");
        Platform p = platform(a, new StringWriter());
        p.prepareTeardown();
        p.destroy(new PrintWriter(new StringWriter(), true));
        assertEquals(List.of("init -input=false", "destroy -auto-approve -input=false -state=" + stateA
                + " -var name_prefix=orders-cloud -var topic=orders -var partitions=6"), calls());
        assertFalse(Terraform.holdsResources(stateA));
        assertTrue(Terraform.holdsResources(stateB), "the other context's resources stay");
    }

    @Test
    void a_context_of_another_topic_on_a_state_folder_that_holds_one_is_refused_and_nothing_changes() throws Exception {
        Path orders = cloudContext(PROPERTIES);
        credentials();
        platform(orders, new StringWriter()).provision(new PrintWriter(new StringWriter(), true), Duration.ofMinutes(1));
        Path payments = cloudContext("payments.yaml", "payments-cloud", "payments", "state", PROPERTIES);
        Map<Path, String> before = snapshot(dir.resolve("state"));
        List<String> callsBefore = calls();

        String line = "state_dir " + dir.resolve("state") + " holds the Confluent Cloud resources of topic 'orders' (set up by context "
                + "'orders-cloud'): give context 'payments-cloud' (topic 'payments') a state_dir of its own";
        BadInputTest.assertOneLine(Kit.run(new SetupCommand(fake, env::get), payments.toString(), "--dry-run"), 2, line);
        BadInputTest.assertOneLine(Kit.run(new SetupCommand(fake, env::get), payments.toString()), 2, line);
        BadInputTest.assertOneLine(Kit.run(new TeardownCommand(fake, env::get), payments.toString(), "--yes"), 2, line);

        assertEquals(callsBefore, calls(), "terraform was not called");
        assertEquals(before, snapshot(dir.resolve("state")), "nothing in the state folder changed");
    }

    @Test
    void a_later_release_of_the_topic_keeps_the_resource_names_of_the_context_that_made_them() throws Exception {
        Path first = cloudContext(PROPERTIES);
        credentials();
        platform(first, new StringWriter()).provision(new PrintWriter(new StringWriter(), true), Duration.ofMinutes(1));
        Path later = cloudContext("ctx-v3.yaml", "orders-v3", "orders", "state", PROPERTIES);

        String plan = Kit.run(new SetupCommand(fake, env::get), later.toString(), "--dry-run").ok().out();

        // renaming would replace the ksqlDB cluster under the release
        assertTrue(plan.contains("terraform " + applyLine(dir.resolve("state"), "orders-cloud", "orders")), plan);
    }

    @Test
    void a_state_an_earlier_kit_shared_between_contexts_is_refused_with_how_to_move_it() throws Exception {
        Path config = Files.createDirectories(dir.resolve("kit/terraform"));
        Files.writeString(config.resolve("main.tf"), "");
        Files.writeString(config.resolve("terraform.tfstate"), "{\"version\":4,\"resources\":[{\"type\":\"confluent_environment\"}]}");
        Path ctx = cloudContext(PROPERTIES);
        credentials();
        System.setProperty(Terraform.DIR_PROPERTY, config.toString());
        try {
            BadInputTest.assertOneLine(Kit.run(new SetupCommand(fake, env::get), ctx.toString()), 2,
                    config.resolve("terraform.tfstate") + " holds Confluent Cloud resources made by an earlier kit, which kept one state "
                            + "for every context: if they are context 'orders-cloud''s, move it to "
                            + dir.resolve("state/terraform/terraform.tfstate") + " (chmod 600)");
            assertEquals(List.of(), calls());
            assertFalse(Files.exists(dir.resolve("state")));
        } finally {
            System.clearProperty(Terraform.DIR_PROPERTY);
        }
    }

    @Test
    void teardown_runs_terraform_init_then_destroy_on_the_contexts_state_and_deletes_it() throws Exception {
        Path ctx = cloudContext("kafka:\n  bootstrap_servers: " + TestBroker.bootstrapServers() + "\n");
        credentials();
        Path tfState = dir.resolve("state/terraform/terraform.tfstate");
        StateDir.ensure(dir.resolve("state"));
        Files.createDirectories(tfState.getParent());
        Files.writeString(tfState, "{\"version\":4,\"resources\":[{\"type\":\"confluent_environment\"}]}");
        String destroy = "destroy -auto-approve -input=false -state=" + tfState + " -var name_prefix=orders-cloud -var topic=orders"
                + " -var partitions=6";

        Kit.Run dry = Kit.run(new TeardownCommand(fake, env::get), ctx.toString(), "--dry-run").ok();
        assertEquals(List.of(), calls(), "--dry-run calls nothing");
        assertTrue(dry.out().contains("terraform init -input=false"), dry.out());
        assertTrue(dry.out().contains("terraform " + destroy), dry.out());

        Kit.Run run = Kit.run(new TeardownCommand(fake, env::get), ctx.toString(), "--yes").ok();

        assertEquals(List.of("init -input=false", destroy), calls(), "init first: a fresh checkout or another host has no providers");
        assertTrue(run.out().contains("teardown done"), run.out());
        assertFalse(Files.exists(dir.resolve("state")), "the destroyed state goes with the state folder");
    }

    @Test
    void teardown_without_a_terraform_state_runs_no_terraform() throws Exception {
        Path ctx = cloudContext("kafka:\n  bootstrap_servers: " + TestBroker.bootstrapServers() + "\n");
        credentials();

        Kit.Run run = Kit.run(new TeardownCommand(fake, env::get), ctx.toString(), "--yes").ok();

        assertEquals(List.of(), calls());
        assertTrue(run.out().contains("nothing to destroy"), run.out());
    }

    /**
     * The real terraform on a configuration that needs no provider (so it runs offline): the umask reaches it, and the state
     * and its backup it writes itself are mode 600 (terraform writes them 644 under the usual umask 022).
     */
    @Test
    void real_terraform_writes_the_state_and_its_backup_mode_600() throws Exception {
        Assumptions.assumeTrue(onPath("terraform"), "terraform not on the PATH");
        Path config = Files.createDirectories(dir.resolve("offline-config"));
        Files.writeString(config.resolve("main.tf"), """
                variable "name_prefix" {
                  type = string
                }
                variable "topic" {
                  type = string
                }
                variable "partitions" {
                  type = number
                }
                resource "terraform_data" "topic" {
                  input = "${var.name_prefix}/${var.topic}/${var.partitions}"
                }
                output "kafka_api_secret" {
                  value     = "a secret for ${terraform_data.topic.output}"
                  sensitive = true
                }
                """);
        Path ctxFile = cloudContext(PROPERTIES);
        Context ctx = Terraform.loadBeforeProvisioned(ctxFile, env::get);
        StringWriter printed = new StringWriter();
        Terraform tf = new Terraform("terraform", config, ctx, env::get, new PrintWriter(printed, true));

        tf.init();
        tf.apply();
        assertEquals("a secret for orders-cloud/orders/6", tf.outputs().path("kafka_api_secret").path("value").asText());
        assertTrue(tf.hasResources());
        Path folder = dir.resolve("state/terraform");
        assertEquals("rwx------", mode(folder));
        assertEquals("rw-------", mode(folder.resolve("terraform.tfstate")));
        assertFalse(Files.exists(config.resolve("terraform.tfstate")), "no state in the shared configuration folder");
        assertFalse(printed.toString().contains("a secret for"), printed.toString());

        tf.destroy();
        assertFalse(tf.hasResources());
        assertEquals("rw-------", mode(folder.resolve("terraform.tfstate")));
        assertEquals("rw-------", mode(folder.resolve("terraform.tfstate.backup")), "the backup of the applied state, with its secret");
    }

    static boolean onPath(String binary) {
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(java.io.File.pathSeparator)).anyMatch(d -> Files.isExecutable(Path.of(d, binary)));
    }

    @Test
    void terraform_files_are_formatted_when_terraform_is_installed() throws Exception {
        Path root = Path.of(System.getProperty("kit.root", "."));
        Process p;
        try {
            p = new ProcessBuilder("terraform", "fmt", "-check", "-recursive", "terraform").directory(root.toFile())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.assumeTrue(false, "terraform not on the PATH: fmt check skipped");
            return;
        }
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "terraform fmt -check found unformatted files:\n" + output);
    }
}
