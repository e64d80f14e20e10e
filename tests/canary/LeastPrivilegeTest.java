package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import canary.context.Context;
import canary.context.Role;
import canary.kafka.KafkaCluster;
import canary.kafka.LeastPrivilege;
import canary.release.MigrationState;

/**
 * The kit, its router and the versions with exactly the ACLs of {@link LeastPrivilege} (the README's table) on one cluster with
 * SASL (SCRAM-SHA-512) and the standard KRaft authorizer, shared by the class: the whole lifecycle exactly once, and for each
 * ACL of the kit that the migration needs, what its absence does: one line naming the operation and the resource, exit 3,
 * nothing changed.
 */
class LeastPrivilegeTest {

    private static TestCluster cluster;
    private static Admin admin;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        cluster = TestCluster.startSecured(1);
        admin = cluster.admin();
    }

    @AfterAll
    static void stop() {
        if (admin != null) {
            admin.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A context on the secured cluster whose kit and versions are their own principals with exactly their ACLs. */
    private Kit kit(int partitions) {
        String topic = TestBroker.unique("secured");
        try (KafkaCluster c = KafkaCluster.connect(cluster.clientProperties())) {
            c.createTopic(topic, partitions, Map.of());
        }
        Path kitFile = principal(LeastPrivilege.KIT);
        Path legacyFile = principal(topic + "-v1");
        Path newFile = principal(topic + "-v2");
        Kit kit = new Kit(dir, partitions, topic, "kafka:\n  properties_file: " + kitFile + "\n",
                "  kafka_properties: " + legacyFile + "\n", "  kafka_properties: " + newFile + "\n", props(kitFile));
        Context ctx = kit.ctx();
        LeastPrivilege.grant(admin, LeastPrivilege.kit(ctx));
        for (Role r : Role.values()) {
            LeastPrivilege.grant(admin, LeastPrivilege.version(ctx, r));
        }
        return kit;
    }

    /** A SCRAM user with a fresh password and its client properties file (mode 600) in the test's folder. */
    private Path principal(String user) {
        String password = LeastPrivilege.newPassword();
        LeastPrivilege.upsertUser(admin, user, password);
        Path file = dir.resolve(user + ".properties");
        LeastPrivilege.writePrivate(file, cluster.clientProperties(user, password), "test principal " + user);
        return file;
    }

    private static Properties props(Path file) {
        return new Context.KafkaConnection(java.util.Optional.empty(), java.util.Optional.of(file)).clientProperties();
    }

    @Test
    void the_whole_lifecycle_runs_exactly_once_with_only_the_documented_acls() throws Exception {
        try (Kit kit = kit(3); TestProducer producer = new TestProducer(kit.topic, cluster.clientProperties())) {
            kit.legacyHasProcessed(producer, 100);
            producer.startBackground(100);
            kit.migration("0.2").ok();
            kit.awaitRouted(100);
            kit.updateRate("0.6").ok();
            kit.awaitRouted(200);
            kit.updateRate("100%", "--drain").ok();
            kit.checkData().ok();
            kit.promoteAndAssertExactlyOnce(producer);
            assertEquals(MigrationState.Phase.PROMOTED, kit.state().phase());
        }
    }

    /**
     * Each ACL of the kit that the migration's check finds missing before it changes anything: the operations the cluster
     * reports to the principal on existing topics and groups, CREATE on topics still to be made, WRITE on the transactional
     * ids (the only grant there, so without it describing one is denied). Each is a permission without which the kit fails;
     * no DESCRIBE: READ, WRITE, DELETE and ALTER imply it. (WRITE/READ/DELETE on a topic not made yet are found only when used.)
     */
    static Stream<Arguments> missing() {
        return Stream.of(
                Arguments.of(ResourceType.TOPIC, "{topic}", AclOperation.READ),
                Arguments.of(ResourceType.TOPIC, "{topic}", AclOperation.DESCRIBE_CONFIGS),
                Arguments.of(ResourceType.TOPIC, "{topic}_canary_counts", AclOperation.CREATE),
                Arguments.of(ResourceType.TOPIC, "{topic}_canary_state", AclOperation.CREATE),
                Arguments.of(ResourceType.TOPIC, "{topic}_legacy", AclOperation.CREATE),
                Arguments.of(ResourceType.TOPIC, "{topic}_new", AclOperation.CREATE),
                Arguments.of(ResourceType.GROUP, "{topic}-v1", AclOperation.READ),
                Arguments.of(ResourceType.TRANSACTIONAL_ID, "canary-router-{topic}-", AclOperation.WRITE),
                Arguments.of(ResourceType.TRANSACTIONAL_ID, "canary-state-{topic}_canary_state-", AclOperation.WRITE));
    }

    /**
     * The check runs before the migration reads the legacy group's offsets or stops anything, so no version runs here and no
     * record is produced: what "nothing changed" means is that no state, no topic and no committed offset appears and no
     * process is started.
     */
    @ParameterizedTest(name = "without {2} on {0} {1}")
    @MethodSource("missing")
    void a_missing_acl_gives_one_line_exit_3_and_changes_nothing(ResourceType type, String name, AclOperation op) throws Exception {
        try (Kit kit = kit(2)) {
            String resource = name.replace("{topic}", kit.topic);
            List<AclBinding> revoked = LeastPrivilege.kit(kit.ctx()).stream()
                    .filter(b -> b.pattern().resourceType() == type && b.pattern().name().equals(resource) && b.entry().operation() == op).toList();
            assertEquals(1, revoked.size(), "the documented ACLs hold " + op + " on " + type + " " + resource);
            LeastPrivilege.revoke(admin, revoked);
            List<String> topicsBefore = topics();

            Kit.Run run = kit.migration("0.2").expect(3);
            String err = run.err().strip();
            assertEquals(1, err.lines().count(), "one line:\n" + run.err());
            String named = type == ResourceType.TRANSACTIONAL_ID ? resource : resource.replaceAll("-$", "");
            assertTrue(err.contains(named) && err.toLowerCase(java.util.Locale.ROOT).contains(op.name().toLowerCase(java.util.Locale.ROOT)),
                    "names the operation and the resource: " + err);
            assertFalse(err.contains("\tat "), "no stack trace: " + err);

            // nothing changed: no state, no new topic, no group offsets set, no version or router started
            assertEquals(null, readState(kit));
            assertEquals(topicsBefore, topics(), "no topic created");
            try (KafkaCluster c = KafkaCluster.connect(cluster.clientProperties())) {
                for (String group : List.of(kit.legacyGroup, kit.newGroup, kit.ctx().routerGroup())) {
                    assertEquals(Map.of(), c.committedOffsets(group, kit.topic), "no offsets of " + group);
                }
            }
            for (String group : List.of(kit.legacyGroup, kit.newGroup)) {
                assertFalse(kit.processes().isRunning(canary.platform.ProcessVersions.processName(kit.topic, group)), group + " not started");
            }
            assertFalse(kit.processes().isRunning(canary.platform.ProcessNames.router(kit.ctx(), 0)), "no router started");
        }
    }

    private static MigrationState readState(Kit kit) {
        try (KafkaCluster c = KafkaCluster.connect(cluster.clientProperties())) {
            if (!c.topicExists(kit.ctx().stateTopic())) {
                return null;
            }
        }
        return kit.state();
    }

    private static List<String> topics() throws Exception {
        return admin.listTopics().names().get().stream().filter(t -> !t.startsWith("__")).sorted().toList();
    }
}
