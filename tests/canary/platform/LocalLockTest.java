package canary.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host lock leaves the file system as it found it, and two holders never overlap even though it deletes its file. */
@Tag("fast")
class LocalLockTest {

    @TempDir
    Path dir;

    @Test
    void a_command_that_fails_leaves_no_lock_file_and_no_state_folder_it_created() throws Exception {
        Path stateDir = dir.resolve("a/b/etc");
        try (LocalLock lock = LocalLock.acquire(stateDir, "orders", "update_rate ctx.yaml .5")) {
            assertTrue(Files.exists(stateDir.resolve("orders.lock")));
            assertTrue(Files.exists(stateDir.resolve(StateDir.MARKER)));
        }
        assertFalse(Files.exists(dir.resolve("a")), "the folders the lock created are gone, parents included");
        assertEquals(List.of(), list(dir));
    }

    @Test
    void a_command_that_succeeds_keeps_the_state_folder_and_leaves_no_lock_file() throws Exception {
        Path stateDir = dir.resolve("etc");
        try (LocalLock lock = LocalLock.acquire(stateDir, "orders", "setup ctx.yaml")) {
            lock.succeeded();
        }
        assertEquals(List.of(StateDir.MARKER), list(stateDir));
    }

    @Test
    void a_command_that_fails_after_writing_in_the_state_folder_keeps_what_it_wrote() throws Exception {
        Path stateDir = dir.resolve("etc");
        try (LocalLock lock = LocalLock.acquire(stateDir, "orders", "migration ctx.yaml")) {
            Files.createDirectories(stateDir.resolve("logs"));
            Files.writeString(stateDir.resolve("logs/service-new.log"), "exited right after it started");
        }
        assertEquals(List.of(StateDir.MARKER, "logs"), list(stateDir));
    }

    @Test
    void a_folder_that_existed_stays_as_it_was() throws Exception {
        Path mine = Files.createDirectories(dir.resolve("mine"));
        Files.writeString(mine.resolve("notes.txt"), "an operator's file");
        try (LocalLock lock = LocalLock.acquire(mine, "orders", "promote ctx.yaml")) {
            assertTrue(Files.exists(mine.resolve("orders.lock")));
        }
        assertEquals(List.of("notes.txt"), list(mine));
    }

    @Test
    void a_second_command_is_refused_while_the_first_holds_the_lock_and_names_it() throws Exception {
        Path stateDir = dir.resolve("etc");
        try (LocalLock first = LocalLock.acquire(stateDir, "orders", "promote ctx.yaml")) {
            LocalLock.Busy busy = assertThrows(LocalLock.Busy.class, () -> LocalLock.acquire(stateDir, "orders", "rollback ctx.yaml"));
            assertTrue(busy.getMessage().contains("another canary-router command is running for context 'orders'"), busy.getMessage());
            assertTrue(Files.exists(stateDir.resolve("orders.lock")), "the refused command leaves the holder's file alone");
        }
        assertFalse(Files.exists(stateDir), "the holder failed: nothing is left");
    }

    @Test
    void commands_that_start_and_end_at_once_never_hold_the_lock_together() throws Exception {
        // Each holder deletes the lock file before it releases it. A command that opened the file just before it was deleted
        // locks a file nobody else sees: it must notice and start over on the file the path names now, or two would run.
        Path stateDir = Files.createDirectories(dir.resolve("etc"));
        AtomicInteger holding = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        AtomicInteger held = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(new Thread(() -> {
                for (int i = 0; i < 1000; i++) {
                    try (LocalLock lock = LocalLock.acquire(stateDir, "orders", "command " + i)) {
                        if (holding.incrementAndGet() > 1) {
                            overlaps.incrementAndGet();
                        }
                        held.incrementAndGet();
                        Thread.yield();
                        holding.decrementAndGet();
                        lock.succeeded();
                    } catch (LocalLock.Busy refused) {
                        // another one holds it: that is the point
                    }
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, overlaps.get(), "two commands held the lock at once");
        assertTrue(held.get() > 0, "some command got the lock");
        assertEquals(List.of(), list(stateDir), "no lock file is left");
    }

    private static List<String> list(Path folder) throws Exception {
        try (var s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
