package canary.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

import canary.context.Context;
import canary.context.Role;

/**
 * The exact ACLs the kit (its commands and the router: one principal) and each version need, the principals with
 * SCRAM-SHA-512 credentials, and their client properties files (mode 600). The README's table "Least privilege" lists the
 * same bindings; {@code LeastPrivilegeTest} runs the whole lifecycle with only them and shows what each one missing does.
 */
public final class LeastPrivilege {

    /** The principal of the kit's commands and of the router. */
    public static final String KIT = "kit";
    /** The principal of the local platform's demo producer. */
    public static final String PRODUCER = "producer";

    private LeastPrivilege() {
    }

    /** The principal of a version: named after its consumer group. */
    public static String versionPrincipal(Context.Service s) {
        return s.group();
    }

    /**
     * What the kit and its router need: nothing on the cluster itself, nothing beyond the context's topic, groups and ids. No
     * DESCRIBE: the authorizer implies it from READ, WRITE, DELETE or ALTER on the same resource (and DESCRIBE_CONFIGS from
     * ALTER_CONFIGS), so a DESCRIBE entry beside them would grant nothing more.
     */
    public static List<AclBinding> kit(Context ctx) {
        String p = "User:" + KIT;
        List<AclBinding> out = new ArrayList<>();
        // the original topic: read it (router, check_data), its partitions and offsets; DESCRIBE_CONFIGS (not implied by READ):
        // the migration mirrors its configs on the derived topics and the router sizes its clients by its max.message.bytes
        literal(out, p, ResourceType.TOPIC, ctx.topic(), AclOperation.READ, AclOperation.DESCRIBE_CONFIGS);
        // the derived topics, the routed counts and the state topic: the kit creates, writes, reads and deletes them; the
        // router grows the derived topics when partitions are added to the original during a release (ALTER)
        for (String t : List.of(ctx.legacyTopic(), ctx.newTopic())) {
            literal(out, p, ResourceType.TOPIC, t, AclOperation.CREATE, AclOperation.WRITE, AclOperation.READ, AclOperation.DELETE,
                    AclOperation.ALTER);
        }
        literal(out, p, ResourceType.TOPIC, ctx.countsTopic(), AclOperation.CREATE, AclOperation.WRITE, AclOperation.READ, AclOperation.DELETE);
        literal(out, p, ResourceType.TOPIC, ctx.stateTopic(), AclOperation.CREATE, AclOperation.WRITE, AclOperation.READ, AclOperation.DELETE);
        // the router's group: its instances consume with it; the kit sets its start offsets and deletes it
        literal(out, p, ResourceType.GROUP, ctx.routerGroup(), AclOperation.READ, AclOperation.DELETE);
        // the versions' groups: the hand-over reads and sets their committed offsets, stopping waits until they are empty
        for (Role r : Role.values()) {
            literal(out, p, ResourceType.GROUP, ctx.service(r).group(), AclOperation.READ);
        }
        // transactional ids: the router's instances (<router group>-<n>) and the state writer (canary-state-<state topic>-<context>)
        prefixed(out, p, ResourceType.TRANSACTIONAL_ID, ctx.routerGroup() + "-", AclOperation.WRITE);
        prefixed(out, p, ResourceType.TRANSACTIONAL_ID, "canary-state-" + ctx.stateTopic() + "-", AclOperation.WRITE);
        return out;
    }

    /** What a version needs: read the original topic and its derived topic with its own group. */
    public static List<AclBinding> version(Context ctx, Role role) {
        Context.Service s = ctx.service(role);
        String p = "User:" + versionPrincipal(s);
        List<AclBinding> out = new ArrayList<>();
        literal(out, p, ResourceType.TOPIC, ctx.topic(), AclOperation.READ);
        literal(out, p, ResourceType.TOPIC, ctx.derivedTopic(role), AclOperation.READ);
        literal(out, p, ResourceType.GROUP, s.group(), AclOperation.READ);
        return out;
    }

    /** What the demo producer needs: write the original topic (idempotent writes need nothing more since Kafka 3.0). */
    public static List<AclBinding> producer(Context ctx) {
        List<AclBinding> out = new ArrayList<>();
        literal(out, "User:" + PRODUCER, ResourceType.TOPIC, ctx.topic(), AclOperation.WRITE);
        return out;
    }

    /** One binding as the README and the error lines say it: {@code User:kit READ on topic orders (literal)}. */
    public static String describe(AclBinding b) {
        return b.entry().principal() + " " + b.entry().operation() + " on " + b.pattern().resourceType().name().toLowerCase(java.util.Locale.ROOT)
                .replace('_', ' ') + " " + b.pattern().name() + (b.pattern().patternType() == PatternType.PREFIXED ? "* (prefixed)" : "");
    }

    /**
     * Checks, before a migration changes anything, that the kit's principal holds what it needs, as far as the cluster tells a
     * principal about its own rights: the operations it may do on the original topic, on the derived and state topics that
     * exist (CREATE, by a validate-only creation, on those that do not), on the router's and the versions' groups, and WRITE
     * on the transactional ids (asked by describing one: DESCRIBE, which only WRITE grants the kit there). A resource the
     * principal may not even describe lacks every operation it needs there, since each of them would imply DESCRIBE. A
     * cluster without an authorizer answers with no operations: nothing to check then.
     *
     * @throws canary.common.UserException one line naming each missing operation and its resource (exit 3)
     */
    public static void check(Admin admin, Context ctx) {
        List<String> missing = new ArrayList<>();
        topic(admin, ctx.topic(), false, missing, AclOperation.READ, AclOperation.DESCRIBE_CONFIGS);
        topic(admin, ctx.stateTopic(), true, missing, AclOperation.WRITE, AclOperation.READ, AclOperation.DELETE);
        for (String t : List.of(ctx.legacyTopic(), ctx.newTopic())) {
            topic(admin, t, true, missing, AclOperation.WRITE, AclOperation.READ, AclOperation.DELETE, AclOperation.ALTER);
        }
        topic(admin, ctx.countsTopic(), true, missing, AclOperation.WRITE, AclOperation.READ, AclOperation.DELETE);
        group(admin, ctx.routerGroup(), missing, AclOperation.READ, AclOperation.DELETE);
        for (Role r : Role.values()) {
            group(admin, ctx.service(r).group(), missing, AclOperation.READ);
        }
        for (String id : List.of(ctx.routerGroup() + "-0", "canary-state-" + ctx.stateTopic() + "-" + ctx.name())) {
            try {
                admin.describeTransactions(List.of(id)).all().get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof org.apache.kafka.common.errors.TransactionalIdAuthorizationException) {
                    missing.add("WRITE on transactional id " + id);
                } else if (!(e.getCause() instanceof org.apache.kafka.common.errors.TransactionalIdNotFoundException)) {
                    throw failed("describe transactional id " + id, e.getCause());
                }
            } catch (Exception e) {
                throw failed("describe transactional id " + id, e);
            }
        }
        if (!missing.isEmpty()) {
            throw new canary.common.UserException(canary.common.UserException.ENVIRONMENT, "Kafka denies the kit's principal "
                    + String.join("; ", missing) + ": nothing changed (" + KafkaErrors.SEE + ")");
        }
    }

    private static void topic(Admin admin, String topic, boolean mayBeMissing, List<String> missing, AclOperation... needed) {
        try {
            var d = admin.describeTopics(List.of(topic), new org.apache.kafka.clients.admin.DescribeTopicsOptions().includeAuthorizedOperations(true))
                    .allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
            lacking(d.authorizedOperations(), "topic " + topic, missing, needed);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.TopicAuthorizationException) {
                missing.add(names(needed) + " on topic " + topic);
            } else if (mayBeMissing && e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
                try {
                    admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, java.util.Optional.of(1), java.util.Optional.empty())),
                            new org.apache.kafka.clients.admin.CreateTopicsOptions().validateOnly(true)).all().get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException c) {
                    if (c.getCause() instanceof org.apache.kafka.common.errors.TopicAuthorizationException
                            || c.getCause() instanceof org.apache.kafka.common.errors.ClusterAuthorizationException) {
                        missing.add("CREATE on topic " + topic);
                    } else if (!(c.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                        throw failed("check that topic " + topic + " can be created", c.getCause());
                    }
                } catch (Exception c) {
                    throw failed("check that topic " + topic + " can be created", c);
                }
            } else {
                throw failed("describe topic " + topic, e.getCause());
            }
        } catch (Exception e) {
            throw failed("describe topic " + topic, e);
        }
    }

    private static void group(Admin admin, String group, List<String> missing, AclOperation... needed) {
        try {
            var d = admin.describeConsumerGroups(List.of(group), new org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions()
                    .includeAuthorizedOperations(true)).describedGroups().get(group).get(30, TimeUnit.SECONDS);
            lacking(d.authorizedOperations(), "group " + group, missing, needed);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.GroupAuthorizationException) {
                missing.add(names(needed) + " on group " + group);
            } else if (!(e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException)) {
                throw failed("describe group " + group, e.getCause());
            }
        } catch (Exception e) {
            throw failed("describe group " + group, e);
        }
    }

    private static void lacking(java.util.Set<AclOperation> granted, String resource, List<String> missing, AclOperation... needed) {
        if (granted == null || granted.isEmpty()) {
            return;
        }
        List<String> ops = new ArrayList<>();
        for (AclOperation op : needed) {
            if (!granted.contains(op) && !granted.contains(AclOperation.ALL)) {
                ops.add(op.name());
            }
        }
        if (!ops.isEmpty()) {
            missing.add(String.join(", ", ops) + " on " + resource);
        }
    }

    private static String names(AclOperation... ops) {
        return String.join(", ", java.util.Arrays.stream(ops).map(AclOperation::name).toList());
    }

    private static RuntimeException failed(String what, Throwable cause) {
        if (cause instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        canary.common.UserException known = KafkaErrors.explain(cause);
        return known != null ? new canary.common.UserException(known.exitCode(), "cannot " + what + ": " + known.getMessage(), cause)
                : new IllegalStateException("cannot " + what + ": " + cause.getMessage(), cause);
    }

    /** Creates or updates a SCRAM-SHA-512 user with {@code admin} (a super user's). */
    public static void upsertUser(Admin admin, String user, String password) {
        try {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the SCRAM user " + user + ": " + e.getMessage(), e);
        }
    }

    public static void grant(Admin admin, List<AclBinding> bindings) {
        try {
            admin.createAcls(bindings).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create ACLs: " + e.getMessage(), e);
        }
    }

    public static void revoke(Admin admin, List<AclBinding> bindings) {
        try {
            admin.deleteAcls(bindings.stream().map(AclBinding::toFilter).toList()).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot delete ACLs: " + e.getMessage(), e);
        }
    }

    /** The client properties of a SCRAM-SHA-512 principal over SASL_PLAINTEXT (without bootstrap servers). */
    public static Properties scramClient(String user, String password) {
        Properties p = new Properties();
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", "SCRAM-SHA-512");
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";");
        return p;
    }

    /** A fresh password: 32 hex digits. */
    public static String newPassword() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Writes a properties file readable by its owner only (mode 600), replacing an existing one. */
    public static void writePrivate(Path file, Properties props, String comment) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.deleteIfExists(file);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            // key=value lines as written, without Properties.store's escapes, so that other clients' tools read them too
            StringBuilder w = new StringBuilder("# " + comment + "\n");
            props.stringPropertyNames().stream().sorted().forEach(k -> w.append(k).append('=').append(props.getProperty(k)).append('\n'));
            Files.writeString(file, w.toString(), StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static void literal(List<AclBinding> out, String principal, ResourceType type, String name, AclOperation... ops) {
        add(out, principal, new ResourcePattern(type, name, PatternType.LITERAL), ops);
    }

    private static void prefixed(List<AclBinding> out, String principal, ResourceType type, String name, AclOperation... ops) {
        add(out, principal, new ResourcePattern(type, name, PatternType.PREFIXED), ops);
    }

    private static void add(List<AclBinding> out, String principal, ResourcePattern pattern, AclOperation... ops) {
        for (AclOperation op : ops) {
            out.add(new AclBinding(pattern, new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW)));
        }
    }
}
