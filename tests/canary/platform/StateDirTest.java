package canary.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.UserException;

/** Teardown deletes only what the kit wrote, only in a folder the kit created, never the root, the home or the context's folder. */
@Tag("fast")
class StateDirTest {

    @TempDir
    Path dir;

    @Test
    void a_folder_the_kit_creates_is_marked_and_an_existing_one_is_left_as_it_is() throws Exception {
        Path created = dir.resolve("etc");
        StateDir.ensure(created);
        assertTrue(Files.exists(created.resolve(StateDir.MARKER)));
        Path existing = Files.createDirectories(dir.resolve("mine"));
        StateDir.ensure(existing);
        assertFalse(Files.exists(existing.resolve(StateDir.MARKER)));
    }

    @Test
    void a_terraform_state_that_still_holds_resources_is_never_deleted_and_one_destroyed_is() throws Exception {
        Path etc = dir.resolve("ctx").resolve("etc");
        StateDir.ensure(etc);
        Path tf = Files.createDirectories(etc.resolve(Terraform.STATE_FOLDER));
        Files.writeString(tf.resolve(Terraform.STATE_FILE), "{\"version\":4,\"resources\":[{\"type\":\"confluent_environment\"}]}");
        Files.createDirectories(etc.resolve("pids"));

        // the teardown of another context in the same folder (or one whose destroy did not happen) keeps the live state
        assertFalse(StateDir.delete(etc, dir.resolve("ctx")));
        assertEquals(List.of(tf), StateDir.others(etc));
        assertTrue(Files.exists(tf.resolve(Terraform.STATE_FILE)));
        assertTrue(Files.exists(etc.resolve(StateDir.MARKER)), "still the kit's folder: the cloud context's teardown deletes it later");
        assertFalse(Files.exists(etc.resolve("pids")));

        // an unreadable state is kept too: it is never taken for empty on a guess
        Files.writeString(tf.resolve(Terraform.STATE_FILE), "{ truncated");
        assertFalse(StateDir.delete(etc, dir.resolve("ctx")));

        // destroyed: the folder goes, state, backup and working files with it
        Files.writeString(tf.resolve(Terraform.STATE_FILE), "{\"version\":4,\"resources\":[]}");
        Files.writeString(tf.resolve(Terraform.STATE_FILE + ".backup"), "{\"version\":4,\"resources\":[{}]}");
        Files.createDirectories(tf.resolve(Terraform.DATA_DIR).resolve("providers"));
        assertTrue(StateDir.delete(etc, dir.resolve("ctx")));
        assertFalse(Files.exists(etc));
    }

    @Test
    void deletes_the_kits_files_and_keeps_a_folder_with_other_files_in_it() throws Exception {
        Path etc = dir.resolve("ctx").resolve("etc");
        StateDir.ensure(etc);
        Files.createDirectories(etc.resolve("logs"));
        Files.writeString(etc.resolve("logs/router-0.log"), "x");
        Files.writeString(etc.resolve("orders.lock"), "");
        Files.writeString(etc.resolve("notes.txt"), "an operator's file");
        assertFalse(StateDir.delete(etc, dir.resolve("ctx")));
        assertEquals(List.of(etc.resolve("notes.txt")), StateDir.others(etc));
        assertFalse(Files.exists(etc.resolve("logs")));
        assertFalse(Files.exists(etc.resolve(StateDir.MARKER)), "the kit's marker goes too");

        Path clean = dir.resolve("ctx").resolve("clean");
        StateDir.ensure(clean);
        Files.createDirectories(clean.resolve("pids"));
        assertTrue(StateDir.delete(clean, dir.resolve("ctx")));
        assertFalse(Files.exists(clean));
    }

    @Test
    void refuses_the_root_the_home_the_contexts_folder_and_a_folder_it_did_not_create() throws Exception {
        Path ctxDir = Files.createDirectories(dir.resolve("ctx"));
        assertTrue(refused(Path.of("/"), ctxDir).contains("it is the root folder"));
        assertTrue(refused(Path.of(System.getProperty("user.home")), ctxDir).contains("it is the home folder"));
        assertTrue(refused(ctxDir, ctxDir).contains("it holds the context file"));
        assertTrue(refused(dir, ctxDir).contains("it holds the context file"));
        Path foreign = Files.createDirectories(dir.resolve("foreign"));
        Files.writeString(foreign.resolve("data.csv"), "1,2");
        assertTrue(refused(foreign, ctxDir).contains("the kit did not create it"));
        assertTrue(Files.exists(foreign.resolve("data.csv")));
    }

    private static String refused(Path stateDir, Path contextFolder) {
        return assertThrows(UserException.class, () -> StateDir.delete(stateDir, contextFolder)).getMessage();
    }
}
