package canary.platform;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

import canary.common.UserException;

/**
 * Keeps two scripts of the kit from running at once for one context on one host: an OS file lock
 * on {@code <state_dir>/<context>.lock}, released when the process ends, however it ends.
 *
 * <p>A command leaves the file system as it found it: closing the lock deletes the lock file, and
 * when the lock created the state folder and the command did not {@link #succeeded succeed}, the
 * folder goes too unless something else was written in it. Deleting the file is safe because an
 * acquirer, once it holds an OS lock, checks that the path still names the file it locked: it
 * writes a line only it knows into the file through its channel and reads it back through the path
 * (Java cannot ask an open channel which file it is, and comparing the path's file key before and
 * after is fooled when the file system reuses an inode number at once). If the holder before it
 * deleted the file in between, it starts over on the file the path names now.
 */
public final class LocalLock implements AutoCloseable {

    /** How often an acquirer starts over on a lock file that the command before it deleted while it was opening it. */
    private static final int ATTEMPTS = 10;

    private final Path file;
    private final FileChannel channel;
    /** The channel that read the lock file back through its path: open as long as the lock, since closing it would release it. */
    private final FileChannel check;
    private final FileLock lock;
    /** The identity of the file locked (device and inode; null where the file system has none), checked before deleting it. */
    private final Object key;
    private final Path stateDir;
    /** The outermost folder {@link StateDir#ensure} created for this lock, or null when the state folder existed. */
    private final Path created;
    private boolean succeeded;

    private LocalLock(Path file, FileChannel channel, FileChannel check, FileLock lock, Object key, Path stateDir, Path created) {
        this.file = file;
        this.channel = channel;
        this.check = check;
        this.lock = lock;
        this.key = key;
        this.stateDir = stateDir;
        this.created = created;
    }

    public static LocalLock acquire(Path stateDir, String contextName, String command) {
        Path file = stateDir.resolve(contextName + ".lock");
        Path created = null;
        try {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                Optional<Path> made = StateDir.ensure(stateDir);
                if (made.isPresent()) {
                    created = made.get();
                }
                LocalLock l = tryLock(file, contextName, command, stateDir, created);
                if (l != null) {
                    return l;
                }
            }
            throw new Busy("another canary-router command for context '" + contextName + "' keeps starting and ending on this host"
                    + " (" + file + "): run this again");
        } catch (RuntimeException e) {
            if (created != null) {
                StateDir.removeIfUnused(stateDir, created);
            }
            throw e;
        }
    }

    /** The lock, or null when the file locked is not (or no longer) the one the path names: then the caller starts over. */
    private static LocalLock tryLock(Path file, String contextName, String command, Path stateDir, Path created) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            return null; // a command that failed just now removed the state folder it had created
        } catch (IOException e) {
            throw cannotLock(file, e);
        }
        FileChannel check = null;
        boolean locked = false;
        try {
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                throw new Busy("another canary-router command is running for context '" + contextName + "' in this process");
            }
            if (l == null) {
                Optional<String> holder = read(file);
                if (holder.isEmpty()) {
                    return null; // the holder ended and deleted the file since we opened it
                }
                String who = holder.get().lines().findFirst().orElse("").trim();
                throw new Busy("another canary-router command is running for context '" + contextName + "' on this host ("
                        + (who.isEmpty() ? "see " + file : who) + "): wait until it ends");
            }
            String content = command + ", pid " + ProcessHandle.current().pid() + ", since " + Instant.now() + "\n"
                    + "lock " + UUID.randomUUID() + "\n";
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)), 0);
            // Does the path still name the file we locked? Read it back through the path. That channel stays open as long as
            // the lock: closing any channel of a file releases the process's lock on it (POSIX locks belong to the process).
            try {
                check = FileChannel.open(file, StandardOpenOption.READ);
            } catch (NoSuchFileException e) {
                l.release();
                return null; // the holder before us deleted the file we locked, and nobody made a new one yet
            }
            if (!content.equals(readAll(check))) {
                l.release();
                return null; // we locked a file the holder before us deleted: the path names another file now
            }
            Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
            locked = true;
            return new LocalLock(file, ch, check, l, key, stateDir, created);
        } catch (IOException e) {
            throw cannotLock(file, e);
        } finally {
            if (!locked) {
                closeQuietly(check);
                closeQuietly(ch);
            }
        }
    }

    private static String readAll(FileChannel ch) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(ch.size() + 1, 64 * 1024));
        while (buffer.hasRemaining() && ch.read(buffer, buffer.position()) > 0) {
            // until the end of the file
        }
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
    }

    private static Optional<String> read(Path file) throws IOException {
        try {
            return Optional.of(Files.readString(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    private static UserException cannotLock(Path file, IOException e) {
        return new UserException(UserException.ENVIRONMENT, "cannot lock " + file + ": " + e.getMessage());
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) {
            return;
        }
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing was locked through it
        }
    }

    /** The lock is held by another command (exit code 2 like any refusal; rollout.java skips its run instead). */
    public static final class Busy extends UserException {
        Busy(String message) {
            super(BAD_INPUT, message);
        }
    }

    /** The command did its work: a state folder this lock created stays when the lock is closed. */
    public void succeeded() {
        succeeded = true;
    }

    /**
     * Deletes the lock file while still holding the lock, then releases it. When the lock created the state folder and the
     * command did not succeed, the folder goes too if nothing but the kit's marker is in it.
     */
    @Override
    public void close() {
        try {
            // The path names our file unless something outside the kit's locking replaced it; then that file is not ours to delete.
            if (Objects.equals(Files.readAttributes(file, BasicFileAttributes.class).fileKey(), key)) {
                channel.truncate(0);
                Files.deleteIfExists(file);
            }
        } catch (IOException ignored) {
            // the file is gone already, or an empty lock file is left: the next command locks it as before
        } finally {
            if (!succeeded && created != null) {
                StateDir.removeIfUnused(stateDir, created);
            }
            try {
                lock.release();
            } catch (IOException ignored) {
                // the OS releases the lock with the channel, and with the process anyway
            }
            closeQuietly(check);
            closeQuietly(channel);
        }
    }
}
