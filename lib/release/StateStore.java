package canary.release;

import java.util.Map;
import java.util.Optional;

import canary.common.UserException;

/**
 * Where the state of a migration lives: the latest record for the context in the compacted state
 * topic ({@code canary.kafka.KafkaStateStore}); the fast tests use an in-memory one. A write checks
 * the version it read: a stale write fails with {@link StaleStateException} and writes nothing.
 */
public interface StateStore extends AutoCloseable {

    /** The current state, or empty when there is no migration. */
    Optional<MigrationState> read();

    /**
     * Writes {@code next} if the stored state still has {@code expectedVersion} (-1: there must be
     * none). Returns what was written: {@link MigrationState#next} of it, with {@code what} as the
     * history line.
     */
    MigrationState write(long expectedVersion, MigrationState next, String what);

    /**
     * The latest state of every context kept in the same place (the state topic of one original topic: the releases of that
     * topic, this context's included), keyed by context name, in the order of their latest changes: a context changed after
     * another comes after it. Removed states are absent; an unreadable record is passed over.
     */
    Map<String, MigrationState> contexts();

    /** Removes the state, checking the version like a write. */
    void delete(long expectedVersion);

    /** Creates where the state lives, unless it exists. */
    void ensureExists();

    @Override
    void close();

    /** Another command changed the state since this one read it. */
    final class StaleStateException extends UserException {
        public StaleStateException(String message) {
            super(BAD_INPUT, message);
        }
    }
}
