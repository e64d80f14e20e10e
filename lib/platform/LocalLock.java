package canary.platform;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

import canary.common.UserException;

/**
 * Keeps two scripts of the kit from running at once for one context on one host: an OS file lock
 * under the state folder, released when the process ends, however it ends.
 */
public final class LocalLock implements AutoCloseable {

    private final FileChannel channel;
    private final FileLock lock;

    private LocalLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    public static LocalLock acquire(Path stateDir, String contextName, String command) {
        Path file = stateDir.resolve(contextName + ".lock");
        try {
            StateDir.ensure(stateDir);
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException e) {
                ch.close();
                throw e;
            }
            if (l == null) {
                String holder = Files.readString(file).trim();
                ch.close();
                throw new Busy("another canary-router command is running for context '" + contextName + "' on this host ("
                        + (holder.isEmpty() ? "see " + file : holder) + "): wait until it ends");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((command + ", pid " + ProcessHandle.current().pid() + ", since " + Instant.now())
                    .getBytes(StandardCharsets.UTF_8)), 0);
            return new LocalLock(ch, l);
        } catch (java.nio.channels.OverlappingFileLockException e) {
            throw new Busy("another canary-router command is running for context '" + contextName + "' in this process");
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot lock " + file + ": " + e.getMessage());
        }
    }

    /** The lock is held by another command (exit code 2 like any refusal; rollout.java skips its run instead). */
    public static final class Busy extends UserException {
        Busy(String message) {
            super(BAD_INPUT, message);
        }
    }

    @Override
    public void close() {
        try {
            channel.truncate(0);
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the OS releases the lock with the process anyway
        }
    }
}
