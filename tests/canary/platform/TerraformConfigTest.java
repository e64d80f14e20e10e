package canary.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import canary.context.Context;

/**
 * What terraform/ promises, read from its files: the provider is pinned to one minor version, names follow the same
 * rule as the context's, and no account gets more than it needs. (terraform validate needs the provider, which CI
 * cannot download; terraform fmt -check runs in KsqlCloudSetupTest and .ci/run.)
 */
@Tag("fast")
class TerraformConfigTest {

    static final Path TF = Path.of(System.getProperty("kit.root", ".")).resolve("terraform");

    static String read(String file) throws IOException {
        return Files.readString(TF.resolve(file));
    }

    /** The pinned version of the confluent provider: "~> MAJOR.MINOR.0". */
    static String pin() throws IOException {
        Matcher m = Pattern.compile("source\\s*=\\s*\"confluentinc/confluent\"[^}]*?version\\s*=\\s*\"([^\"]+)\"", Pattern.DOTALL)
                .matcher(read("versions.tf"));
        assertTrue(m.find(), "versions.tf requires confluentinc/confluent with a version");
        return m.group(1);
    }

    @Test
    void the_provider_is_pinned_to_one_minor_version() throws Exception {
        String pin = pin();
        assertTrue(pin.matches("~> \\d+\\.\\d+\\.0"), "patch releases only, got " + pin);
        assertEquals("~> 2.83.0", pin, "the minor version the configuration was written against (README: the provider version)");
    }

    @Test
    void a_committed_lock_file_locks_a_version_the_pin_allows() throws Exception {
        Path lock = TF.resolve(".terraform.lock.hcl");
        Assumptions.assumeTrue(Files.exists(lock), "terraform/.terraform.lock.hcl is not committed yet: it needs the provider download "
                + "(terraform -chdir=terraform providers lock -platform=linux_amd64 -platform=linux_arm64 -platform=darwin_amd64 "
                + "-platform=darwin_arm64 -platform=windows_amd64)");
        Matcher m = Pattern.compile("provider \"registry.terraform.io/confluentinc/confluent\"\\s*\\{\\s*version\\s*=\\s*\"([^\"]+)\"\\s*"
                + "constraints\\s*=\\s*\"([^\"]+)\"").matcher(Files.readString(lock));
        assertTrue(m.find(), "the lock file has the confluent provider");
        String minor = pin().replaceAll("~> (\\d+\\.\\d+)\\.0", "$1");
        assertTrue(m.group(1).startsWith(minor + "."), "locked " + m.group(1) + ", pinned " + pin());
        assertEquals(pin(), m.group(2), "generated from this pin");
        assertTrue(Files.readString(lock).contains("h1:"), "with checksums");
    }

    @Test
    void the_name_rule_is_the_contexts() throws Exception {
        assertTrue(read("variables.tf").contains("can(regex(\"^" + Context.CLOUD_NAME + "$\", var.name_prefix))"),
                "variables.tf validates name_prefix with Context.CLOUD_NAME");
        Matcher sa = Pattern.compile("resource \"confluent_service_account\" \"(\\w+)\" \\{\\s*display_name = \"([^\"]+)\"").matcher(read("main.tf"));
        List<String> names = new ArrayList<>();
        while (sa.find()) {
            names.add(sa.group(2));
            assertEquals("${var.name_prefix}-" + sa.group(1) + "-${confluent_environment.main.id}", sa.group(2),
                    "a service account name is unique in the organization: the context's name and the environment id");
        }
        assertEquals(4, names.size(), names.toString());
        // with the longest name the context allows and an environment id of "env-" and 8 characters (the provider's
        // documentation shows 6), every service account name fits the 64 characters Confluent Cloud allows
        assertTrue("x".repeat(40).matches(Context.CLOUD_NAME) && !"x".repeat(41).matches(Context.CLOUD_NAME));
        for (String template : names) {
            String longest = template.replace("${var.name_prefix}", "x".repeat(40)).replace("${confluent_environment.main.id}", "env-12345678");
            assertTrue(longest.length() <= 64, longest + " has " + longest.length() + " characters");
        }
    }

    /** role binding resource -> "ROLE PRINCIPAL". */
    static Map<String, String> roleBindings() throws IOException {
        Matcher m = Pattern.compile("resource \"confluent_role_binding\" \"(\\w+)\" \\{\\s*principal\\s*=\\s*\"User:\\$\\{confluent_service_account\\."
                + "(\\w+)\\.id}\"\\s*role_name\\s*=\\s*\"(\\w+)\"").matcher(read("main.tf"));
        Map<String, String> out = new TreeMap<>();
        while (m.find()) {
            out.put(m.group(1), m.group(3) + " " + m.group(2));
        }
        return out;
    }

    @Test
    void no_account_is_an_environment_or_organization_admin_and_only_the_manager_administers_the_cluster() throws Exception {
        Map<String, String> bindings = roleBindings();
        assertEquals(Map.of(
                "manager_cluster_admin", "CloudClusterAdmin manager",
                "ksqldb_subjects", "ResourceOwner ksqldb",
                "ksqldb_internal_subjects", "ResourceOwner ksqldb",
                "datagen_subject", "DeveloperWrite datagen",
                "ksqldb_ksql_admin", "KsqlAdmin ksqldb",
                "kit_ksql_admin", "KsqlAdmin kit"), bindings);
        String main = read("main.tf");
        assertEquals(bindings.size(), main.split("resource \"confluent_role_binding\"", -1).length - 1, "every role binding was read");
        for (String admin : List.of("EnvironmentAdmin", "OrganizationAdmin")) {
            assertFalse(main.contains("\"" + admin + "\""), admin);
        }
    }

    @Test
    void the_keys_setup_writes_into_the_state_folder_are_the_kits_and_the_managers_key_is_no_output() throws Exception {
        String main = read("main.tf");
        for (String key : List.of("kafka", "ksqldb")) {
            Matcher m = Pattern.compile("resource \"confluent_api_key\" \"" + key + "\" \\{.*?owner \\{\\s*id\\s*=\\s*confluent_service_account\\.(\\w+)\\.id",
                    Pattern.DOTALL).matcher(main);
            assertTrue(m.find(), key);
            assertEquals("kit", m.group(1), "the " + key + " API key's owner");
        }
        String outputs = read("outputs.tf");
        assertTrue(outputs.contains("confluent_api_key.kafka.secret") && outputs.contains("confluent_api_key.ksqldb.secret"));
        assertFalse(outputs.contains("confluent_api_key.manager"), "the manager's key stays in the state");
    }

    /** ACL entry -> "PRINCIPAL TYPE NAME PATTERN OPERATION", from the acls map of main.tf. */
    static Map<String, String> acls() throws IOException {
        Matcher m = Pattern.compile("(\\w+)\\s*=\\s*\\{\\s*principal = local\\.(\\w+), type = \"(\\w+)\", name = ([^,]+), pattern = \"(\\w+)\", "
                + "operation = \"(\\w+)\" }").matcher(read("main.tf"));
        Map<String, String> out = new TreeMap<>();
        while (m.find()) {
            out.put(m.group(1), String.join(" ", m.group(2), m.group(3), m.group(4), m.group(5), m.group(6)));
        }
        return out;
    }

    @Test
    void the_kit_reads_the_original_topic_and_only_the_datagen_connector_writes_it() throws Exception {
        Map<String, String> acls = acls();
        assertTrue(acls.size() >= 20, acls.toString());
        for (Map.Entry<String, String> e : acls.entrySet()) {
            String[] f = e.getValue().split(" ");
            if (f[1].equals("TOPIC") && f[2].equals("var.topic")) {
                Set<String> allowed = f[0].equals("datagen") ? Set.of("WRITE") : Set.of("READ", "DESCRIBE", "DESCRIBE_CONFIGS");
                assertTrue(allowed.contains(f[4]), e.getKey() + ": " + e.getValue());
            }
            if (f[0].equals("kit")) {
                assertFalse(f[4].equals("ALL") || f[1].equals("CLUSTER"), "the kit has no ALL and no cluster-wide ACL: " + e);
            }
        }
        assertEquals("kit TOPIC \"${var.topic}_\" PREFIXED CREATE", acls.get("kit_create_derived"));
        assertEquals("kit TOPIC \"${var.topic}_\" PREFIXED ALTER", acls.get("kit_alter_derived"), "the router grows the derived topics");
    }
}
