package canary.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** CANARY_JAVA_OPTIONS: options for every JVM the kit starts, after the kit's own so that they win. */
@Tag("fast")
class JavaOptionsTest {

    @Test
    void the_value_is_split_at_white_space_and_an_empty_one_adds_nothing() {
        assertEquals(List.of("-Xmx512m", "-Dx=a=b"), Processes.extraJavaOptions("  -Xmx512m \t -Dx=a=b\n"));
        assertEquals(List.of(), Processes.extraJavaOptions(null));
        assertEquals(List.of(), Processes.extraJavaOptions("   "));
    }

    @Test
    void the_options_of_the_environment_come_after_the_kits_own_and_before_the_class_path() {
        // The build sets CANARY_JAVA_OPTIONS for the tests' child JVMs (pom.xml), so this checks a real value there.
        List<String> extra = Processes.extraJavaOptions(System.getenv(Processes.JAVA_OPTIONS_ENV));
        assertFalse(extra.isEmpty(), Processes.JAVA_OPTIONS_ENV + " is set by the build for the tests' child JVMs");
        List<String> argv = Processes.javaCommandWithoutSharing("canary.demo.DummyService", "ctx.yaml");
        int cp = argv.indexOf("-cp");
        assertEquals(extra, argv.subList(cp - extra.size(), cp), String.join(" ", argv));
        assertTrue(argv.indexOf("-Xmx256m") < cp - extra.size(), "a -Xmx of the environment comes after the kit's: " + argv);
        assertEquals(List.of("canary.demo.DummyService", "ctx.yaml"), argv.subList(cp + 2, argv.size()));
    }
}
