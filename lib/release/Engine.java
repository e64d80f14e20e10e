package canary.release;

import java.time.Duration;
import java.util.Map;

import canary.context.Context.EngineKind;

/**
 * What routes the records of the original topic to the two derived topics. Two engines implement
 * it: the embedded router ({@code canary.engine.router.RouterEngine}) and ksqlDB persistent queries. The scripts and
 * {@link Lifecycle} never branch on the engine.
 */
public interface Engine extends AutoCloseable {

    /** Which engine this is (router or ksqldb), as the context and the state name it. */
    EngineKind kind();

    /**
     * Checks, first of all (before the original topic is even described), that the principal the engine uses holds the rights
     * it needs, so that a missing one is named as the operation the kit needs rather than as the first request it denies.
     * Nothing by default.
     */
    default void checkAccess() {
    }

    /**
     * Checks what the engine needs before anything is changed (for example the server's guarantee, and the server version the
     * {@code planned} routing needs: its rules and partitions).
     */
    void preflight(MigrationState planned, boolean allowAtLeastOnce);

    /**
     * {@link #preflight} for a dry run, or not: a dry run leaves out every check that would create something, even for a
     * moment (the ksqlDB engine's probe stream), and says so.
     */
    default void preflight(MigrationState planned, boolean allowAtLeastOnce, boolean dryRun) {
        preflight(planned, allowAtLeastOnce);
    }

    /**
     * Refuses with one line, before anything changed, a routing ({@code next}: share, rules, partitions) that this engine cannot
     * apply to the migration {@code current} runs.
     */
    default void checkRouting(MigrationState current, MigrationState next) {
    }

    /**
     * Creates what routing needs so that it starts exactly at {@code startOffsets} (a committed
     * offset is the next record to process: records with offset >= start are routed). Routing does
     * not run yet. Idempotent while nothing was routed.
     *
     * @return ids to keep in the state (ksqlDB query ids), may be empty
     */
    Map<String, String> create(MigrationState state, Map<Integer, Long> startOffsets, Duration timeout);

    /** Lets routing run (after {@link MigrationState#routerRunning()} was set) and waits until it does. */
    void resume(MigrationState state, Duration timeout);

    /**
     * Stops routing (after the run flag was cleared) and waits until nothing more is routed: no open
     * transaction and, for ksqlDB, the filter queries drained.
     */
    void pause(MigrationState state, Duration timeout);

    /**
     * Applies a new routing to the engine: {@code next} holds its share, rules and partitions. It is written to the state
     * (run flag on) before: applying may start routing at once (ksqlDB's CREATE OR REPLACE restarts a paused query).
     */
    void applyRouting(MigrationState next);

    /**
     * Whether routing takes up partitions added to the original topic during the release (the router grows the derived topics
     * and routes them from offset 0). Where it does not (ksqlDB's persistent queries keep the partitions they were created
     * with), the records of added partitions wait, processed by neither version, until the hand-over gives them to the
     * version that keeps the topic from offset 0: status says so.
     */
    default boolean routesAddedPartitions() {
        return false;
    }

    /** The position routing has reached on the original topic, per partition (routing paused). */
    Map<Integer, Long> position(MigrationState state);

    /** Counts per partition for check_data, read with read_committed (routing paused). */
    Integrity count(MigrationState state, Duration timeout);

    /** The records routed to each version so far, per partition of the original topic. */
    record Routed(Map<Integer, Long> toLegacy, Map<Integer, Long> toNew) {
    }

    /**
     * The records routed to each version per partition, as the engine recorded them while routing (in time proportional to the
     * partitions), or empty when it keeps no such record: then they are counted by reading the derived topics (ksqlDB).
     */
    default java.util.Optional<Routed> routed(MigrationState state, Duration timeout) {
        return java.util.Optional.empty();
    }

    /** Removes what {@link #create} made: derived topics, router group, queries. Idempotent. */
    void remove(MigrationState state, Duration timeout);

    /**
     * The consumer group that routes the original topic: its members are the routing instances and
     * its committed offsets are the position routing has reached (router: the router group; ksqlDB:
     * the rating query's group, from the state).
     */
    String routingGroup(MigrationState state);

    /** One line about the routing instances for status. */
    String describeInstances(MigrationState state);

    @Override
    void close();
}
