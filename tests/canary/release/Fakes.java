package canary.release;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

import canary.context.Context;
import canary.context.Role;

/**
 * In-memory stand-ins for what the release logic talks to, for the fast unit tier: a clock that
 * moves when told, a state store, a cluster, an engine and versions that record what was asked of
 * them. They model the outside world just enough for the logic to be checked in milliseconds; the
 * broker tier proves the real thing.
 */
final class Fakes {

    private Fakes() {
    }

    /** A clock that stands still until {@link #advance} moves it. */
    static final class MutableClock extends Clock {
        private Instant now;

        MutableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    /** The state store: version checks like the real one; {@code reword} changes every history line before it is kept. */
    static final class Store implements StateStore {
        private final Clock clock;
        private final UnaryOperator<String> reword;
        MigrationState state;
        final List<MigrationState> writes = new ArrayList<>();
        boolean exists;

        Store(Clock clock, UnaryOperator<String> reword) {
            this.clock = clock;
            this.reword = reword;
        }

        @Override
        public Optional<MigrationState> read() {
            return Optional.ofNullable(state);
        }

        @Override
        public MigrationState write(long expectedVersion, MigrationState next, String what) {
            long stored = state == null ? -1 : state.version();
            if (stored != expectedVersion) {
                throw new StaleStateException("stale: read " + expectedVersion + ", now " + stored);
            }
            state = next.next(expectedVersion, new MigrationState.Change(clock.instant(), "ops", "host", "test", reword.apply(what)));
            writes.add(state);
            return state;
        }

        /** Other contexts of the topic, in the order of their latest changes: changed before this context's latest change, and after. */
        final Map<String, MigrationState> before = new LinkedHashMap<>();
        final Map<String, MigrationState> after = new LinkedHashMap<>();

        @Override
        public Map<String, MigrationState> contexts() {
            Map<String, MigrationState> all = new LinkedHashMap<>(before);
            if (state != null) {
                all.put(state.context(), state);
            }
            all.putAll(after);
            return all;
        }

        @Override
        public void delete(long expectedVersion) {
            long stored = state == null ? -1 : state.version();
            if (stored != expectedVersion) {
                throw new StaleStateException("stale: read " + expectedVersion + ", now " + stored);
            }
            state = null;
        }

        @Override
        public void ensureExists() {
            exists = true;
        }

        @Override
        public void close() {
        }
    }

    /**
     * A cluster of topics with per-partition end offsets, committed offsets per group, members per
     * group, and lag and counts as set by the test.
     */
    static final class FakeCluster implements Cluster {
        final Map<String, Map<Integer, Long>> ends = new HashMap<>();
        final Map<String, Map<Integer, Long>> committed = new HashMap<>();
        final Map<String, List<Member>> members = new HashMap<>();
        final Map<String, Map<Integer, Long>> lag = new HashMap<>();
        final Map<String, Map<Integer, Long>> counts = new HashMap<>();
        final List<String> offsetsSet = new ArrayList<>();

        void topic(String name, int partitions, long end) {
            Map<Integer, Long> e = new TreeMap<>();
            for (int p = 0; p < partitions; p++) {
                e.put(p, end);
            }
            ends.put(name, e);
        }

        void member(String group, String clientId) {
            members.computeIfAbsent(group, g -> new ArrayList<>()).add(new Member(clientId + "-member", clientId, "127.0.0.1", List.of()));
        }

        void noMembers(String group) {
            members.remove(group);
        }

        static String key(String group, String topic) {
            return group + "@" + topic;
        }

        @Override
        public boolean topicExists(String topic) {
            return ends.containsKey(topic);
        }

        @Override
        public int partitions(String topic) {
            Map<Integer, Long> e = ends.get(topic);
            if (e == null) {
                throw new canary.common.UserException("topic '" + topic + "' does not exist");
            }
            return e.size();
        }

        @Override
        public boolean createTopic(String topic, int partitions, Map<String, String> configs) {
            if (ends.containsKey(topic)) {
                return false;
            }
            topic(topic, partitions, 0);
            return true;
        }

        @Override
        public Map<Integer, Long> committedOffsets(String group, String topic) {
            return new TreeMap<>(committed.getOrDefault(key(group, topic), Map.of()));
        }

        @Override
        public void setOffsets(String group, String topic, Map<Integer, Long> offsets) {
            if (!members.getOrDefault(group, List.of()).isEmpty()) {
                throw new IllegalStateException("offsets of " + group + " set while it has members");
            }
            committed.put(key(group, topic), new TreeMap<>(offsets));
            offsetsSet.add(key(group, topic) + "=" + offsets);
        }

        @Override
        public Map<Integer, Long> beginningOffsets(String topic) {
            Map<Integer, Long> out = new TreeMap<>();
            ends.get(topic).keySet().forEach(p -> out.put(p, 0L));
            return out;
        }

        @Override
        public Map<Integer, Long> endOffsets(String topic) {
            return new TreeMap<>(ends.get(topic));
        }

        @Override
        public Map<Integer, Long> lag(String group, String topic) {
            return unprocessed(group, topic, Duration.ZERO);
        }

        @Override
        public Map<Integer, Long> unprocessed(String group, String topic, Duration timeout) {
            return new TreeMap<>(lag.getOrDefault(key(group, topic), Map.of(0, 0L)));
        }

        @Override
        public Map<Integer, Long> countAll(String topic, Duration timeout) {
            return new TreeMap<>(counts.getOrDefault(topic, Map.of()));
        }

        @Override
        public List<Member> members(String group) {
            return List.copyOf(members.getOrDefault(group, List.of()));
        }
    }

    /** An engine that routes nothing: it records the calls, joins the routing group on resume, leaves it on pause. */
    static final class FakeEngine implements Engine {
        static final String GROUP = "routing-group";
        final FakeCluster cluster;
        final List<String> calls = new ArrayList<>();
        Map<Integer, Long> position = Map.of();
        Integrity count;
        RuntimeException failCreate;
        RuntimeException failApply;
        /** What the state store holds; {@link #storedAtApply} is what it held when the routing was applied. */
        java.util.function.Supplier<MigrationState> stored = () -> null;
        MigrationState storedAtApply;

        FakeEngine(FakeCluster cluster) {
            this.cluster = cluster;
        }

        @Override
        public Context.EngineKind kind() {
            return Context.EngineKind.ROUTER;
        }

        @Override
        public void preflight(MigrationState planned, boolean allowAtLeastOnce) {
            calls.add("preflight");
        }

        @Override
        public Map<String, String> create(MigrationState state, Map<Integer, Long> startOffsets, Duration timeout) {
            calls.add("create " + startOffsets);
            if (failCreate != null) {
                throw failCreate;
            }
            cluster.createTopic("orders_legacy", startOffsets.size(), Map.of());
            cluster.createTopic("orders_new", startOffsets.size(), Map.of());
            return Map.of();
        }

        @Override
        public void resume(MigrationState state, Duration timeout) {
            calls.add("resume");
            if (cluster.members(GROUP).isEmpty()) {
                cluster.member(GROUP, "router-0");
            }
        }

        @Override
        public void pause(MigrationState state, Duration timeout) {
            calls.add("pause");
            cluster.noMembers(GROUP);
        }

        @Override
        public void applyRouting(MigrationState next) {
            storedAtApply = stored.get();
            if (failApply != null) {
                throw failApply;
            }
            calls.add("share " + next.share() + (next.rules().isEmpty() ? "" : " rules " + canary.context.Rule.describeAll(next.rules()))
                    + (next.newPartitions() == null ? "" : " partitions " + next.newPartitions()));
        }

        /** Whether this engine routes partitions added to the original during a release (the router does, ksqlDB does not). */
        boolean routesAdded = true;

        @Override
        public boolean routesAddedPartitions() {
            return routesAdded;
        }

        @Override
        public Map<Integer, Long> position(MigrationState state) {
            calls.add("position");
            return position;
        }

        @Override
        public Integrity count(MigrationState state, Duration timeout) {
            calls.add("count");
            return count;
        }

        @Override
        public void remove(MigrationState state, Duration timeout) {
            calls.add("remove");
            cluster.ends.remove("orders_legacy");
            cluster.ends.remove("orders_new");
        }

        @Override
        public String routingGroup(MigrationState state) {
            return GROUP;
        }

        @Override
        public String describeInstances(MigrationState state) {
            return "fake";
        }

        @Override
        public void close() {
        }
    }

    /** Versions whose start and stop join and leave their group at once. */
    static final class FakeVersions implements Versions {
        final Context ctx;
        final FakeCluster cluster;
        final List<String> calls = new ArrayList<>();
        final Map<Role, String> on = new LinkedHashMap<>();

        FakeVersions(Context ctx, FakeCluster cluster) {
            this.ctx = ctx;
            this.cluster = cluster;
        }

        @Override
        public void start(Role role, String topic, Duration timeout) {
            calls.add("start " + role + " on " + topic);
            on.put(role, topic);
            if (cluster.members(ctx.service(role).group()).isEmpty()) {
                cluster.member(ctx.service(role).group(), role.word());
            }
        }

        @Override
        public void stop(Role role, String topic, Duration timeout) {
            calls.add("stop " + role);
            on.remove(role);
            cluster.noMembers(ctx.service(role).group());
        }

        @Override
        public boolean running(Role role) {
            return on.containsKey(role);
        }
    }

    /** Who runs the steps in the fast tests. */
    static final Operator OPERATOR = new Operator("ops", "host", "test", 4242);

    /** A release on fakes: the context of {@code contextYaml}, a 3-partition topic, the legacy version running on it. */
    static final class World {
        final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T10:00:00Z"));
        final Context ctx;
        final FakeCluster cluster = new FakeCluster();
        final Store store;
        final FakeEngine engine = new FakeEngine(cluster);
        final FakeVersions versions;
        final StringWriter output = new StringWriter();
        final PrintWriter out = new PrintWriter(output, true);
        final Lifecycle lifecycle;
        /** Steps of these pids count as gone; any other pid as running. */
        final java.util.Set<Long> deadPids = new java.util.HashSet<>();
        final Liveness liveness = (step, now) -> !deadPids.contains(step.pid());

        World(Path dir, String extraYaml, UnaryOperator<String> reword) throws java.io.IOException {
            Path f = MinimalContext.write(dir, "fake", extraYaml);
            ctx = Context.load(f, Map.<String, String>of()::get);
            store = new Store(clock, reword);
            engine.stored = () -> store.state;
            versions = new FakeVersions(ctx, cluster);
            cluster.topic("orders", 3, 100);
            cluster.committed.put(FakeCluster.key("service_v1", "orders"), new TreeMap<>(Map.of(0, 40L, 1, 50L, 2, 60L)));
            versions.start(Role.LEGACY, "orders", Duration.ZERO);
            versions.calls.clear();
            lifecycle = lifecycle(out);
        }

        /** This test's process runs the steps; {@link #deadPids} lists the processes of other steps that are gone. */
        Lifecycle lifecycle(PrintWriter to) {
            return new Lifecycle(ctx, cluster, store, engine, versions, clock, OPERATOR, liveness, to, Duration.ofSeconds(1));
        }

        /** Everything printed so far, and forget it. */
        String takeOutput() {
            String s = output.toString();
            output.getBuffer().setLength(0);
            return s;
        }
    }
}
