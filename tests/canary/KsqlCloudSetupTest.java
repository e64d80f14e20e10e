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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.SetupCommand;
import canary.cli.TeardownCommand;
import canary.context.Context;
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
        Files.writeString(fake, """
                #!/bin/sh
                here="$(dirname "$0")"
                echo "$*" >> "$here/calls.log"
                case "$1" in
                  output) cat "$here/outputs.json" ;;
                  apply) if [ -f "$here/fail-apply" ]; then echo "Error: creating the ksqlDB cluster: quota reached" >&2; exit 1; fi
                         echo "Apply complete! Resources: 14 added, 0 changed, 0 destroyed." ;;
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

    Path cloudContext(String kafkaYaml) throws IOException {
        Path f = dir.resolve("context-cloud.yaml");
        Files.writeString(f, """
                name: orders-cloud
                topic: orders
                partitions: 6
                value_format: JSON_SR
                engine: ksqldb
                platform: confluent-cloud
                state_dir: state
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
                """.formatted(kafkaYaml));
        return f;
    }

    List<String> calls() throws IOException {
        return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
    }

    @Test
    void setup_dry_run_prints_the_plan_and_does_not_call_terraform() throws Exception {
        Path ctx = cloudContext("kafka:\n  properties_file: state/client.properties\n");
        env.put("TF_VAR_confluent_cloud_api_key", "CLOUDKEY");

        Kit.Run run = Kit.run(new SetupCommand(fake, env::get), ctx.toString(), "--dry-run").ok();

        assertEquals(List.of(), calls(), "terraform was not invoked");
        String out = run.out();
        assertTrue(out.contains("terraform init -input=false"), out);
        assertTrue(out.contains("terraform apply -auto-approve -input=false -var topic=orders -var partitions=6"), out);
        assertTrue(out.contains("terraform output -json"), out);
        assertTrue(out.contains(dir.resolve("state").resolve("client.properties") + " (mode 600)"), out);
        assertTrue(out.contains(dir.resolve("state").resolve("ksqldb.env") + " (mode 600)"), out);
        assertTrue(out.contains("TF_VAR_confluent_cloud_api_key (set), TF_VAR_confluent_cloud_api_secret (not set)"), out);
        assertFalse(out.contains("CLOUDKEY"), "no credential is printed");
        assertFalse(Files.exists(dir.resolve("state").resolve("client.properties")));
    }

    @Test
    void setup_without_the_cloud_api_key_is_one_line_and_does_not_call_terraform() throws Exception {
        Path ctx = cloudContext("kafka:\n  properties_file: state/client.properties\n");

        BadInputTest.assertOneLine(Kit.run(new SetupCommand(fake, env::get), ctx.toString()), 2,
                "set TF_VAR_confluent_cloud_api_key and TF_VAR_confluent_cloud_api_secret");

        assertEquals(List.of(), calls());
    }

    @Test
    void a_failed_apply_is_one_line_and_writes_no_client_files() throws Exception {
        Path ctx = cloudContext("kafka:\n  properties_file: state/client.properties\n");
        env.put("TF_VAR_confluent_cloud_api_key", "CLOUDKEY");
        env.put("TF_VAR_confluent_cloud_api_secret", "CLOUDSECRET");
        Files.writeString(dir.resolve("fail-apply"), "");

        Kit.Run run = Kit.run(new SetupCommand(fake, env::get), ctx.toString());

        BadInputTest.assertOneLine(run, 3, "terraform apply failed with exit code 1 (its output is above)");
        assertTrue(run.out().contains("quota reached"), "terraform's own output is shown: " + run.out());
        assertEquals(List.of("init -input=false", "apply -auto-approve -input=false -var topic=orders -var partitions=6"), calls());
        assertFalse(Files.exists(dir.resolve("state").resolve("client.properties")));
    }

    @Test
    void provisioning_writes_private_client_files_from_the_outputs_and_prints_no_secret() throws Exception {
        Path ctxFile = cloudContext("kafka:\n  properties_file: state/client.properties\n");
        Context ctx = Terraform.loadBeforeProvisioned(ctxFile, env::get);
        StringWriter printed = new StringWriter();
        Terraform tf = new Terraform(fake.toString(), Terraform.directory(ctx), env::get, new PrintWriter(printed, true));

        tf.init();
        tf.apply(ctx);
        List<Path> files = Terraform.writeClientFiles(tf.outputs(), ctx.stateDir());

        assertEquals(List.of("init -input=false", "apply -auto-approve -input=false -var topic=orders -var partitions=6", "output -json"),
                calls());
        Path props = dir.resolve("state").resolve("client.properties");
        Path ksqlEnv = dir.resolve("state").resolve("ksqldb.env");
        assertEquals(List.of(props, ksqlEnv), files);
        for (Path f : files) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
        }
        assertFalse(printed.toString().contains(KAFKA_SECRET) || printed.toString().contains(KSQL_SECRET), printed.toString());
        assertTrue(printed.toString().contains("Apply complete!"), "terraform's progress is shown");

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
    void teardown_runs_terraform_destroy_for_confluent_cloud() throws Exception {
        Path ctx = cloudContext("kafka:\n  bootstrap_servers: " + TestBroker.bootstrapServers() + "\n");
        env.put("TF_VAR_confluent_cloud_api_key", "CLOUDKEY");
        env.put("TF_VAR_confluent_cloud_api_secret", "CLOUDSECRET");

        Kit.Run dry = Kit.run(new TeardownCommand(fake, env::get), ctx.toString(), "--dry-run").ok();
        assertEquals(List.of(), calls(), "--dry-run calls nothing");
        assertTrue(dry.out().contains("terraform destroy -auto-approve -input=false -var topic=orders -var partitions=6"), dry.out());

        Kit.Run run = Kit.run(new TeardownCommand(fake, env::get), ctx.toString(), "--yes").ok();

        assertEquals(List.of("destroy -auto-approve -input=false -var topic=orders -var partitions=6"), calls());
        assertTrue(run.out().contains("teardown done"), run.out());
        assertFalse(Files.exists(dir.resolve("state")));
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
