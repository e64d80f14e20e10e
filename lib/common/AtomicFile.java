package canary.common;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Files written whole or not at all: written beside the target, then moved in place. */
public final class AtomicFile {

    private AtomicFile() {
    }

    /** Writes {@code text} to {@code file}; a reader sees the old content or the new, never a part. */
    public static void write(Path file, String text) throws IOException {
        write(file, text, false);
    }

    /**
     * Writes a file only its owner can read: the temporary file is created with mode 600 before any
     * byte is written, so a secret is never readable by others, not even for a moment.
     */
    public static void writePrivate(Path file, String text) throws IOException {
        write(file, text, true);
    }

    private static void write(Path file, String text, boolean ownerOnly) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        if (ownerOnly) {
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(tmp);
            }
        }
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
