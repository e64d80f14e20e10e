package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The packages of lib/ are layers: a package uses only packages of its own layer or below. The
 * release logic sees only its ports, and nothing below the CLI reaches up to it.
 */
@Tag("fast")
class LayersTest {

    static final Path LIB = Path.of(System.getProperty("kit.root", ".")).resolve("lib");

    /** The layer of each package, lowest first. */
    static final Map<String, Integer> LAYER = Map.ofEntries(
            Map.entry("canary", 0),
            Map.entry("canary.common", 0),
            Map.entry("canary.context", 1),
            Map.entry("canary.release", 2),
            Map.entry("canary.kafka", 3),
            Map.entry("canary.platform", 3),
            Map.entry("canary.platform.broker", 3),
            Map.entry("canary.engine.router", 4),
            Map.entry("canary.engine.ksqldb", 4),
            Map.entry("canary.cli", 5),
            Map.entry("canary.demo", 6));

    static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    static final Pattern IMPORT = Pattern.compile("^import (?:static )?(canary(?:\\.[a-z]\\w*)*)\\.[A-Z]", Pattern.MULTILINE);
    static final Pattern QUALIFIED = Pattern.compile("(?<![\\w.\"])(canary(?:\\.[a-z]\\w*)+)\\.[A-Z]\\w*");

    @Test
    void no_package_uses_a_package_of_a_higher_layer() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(LIB)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String text = Files.readString(f);
                Matcher pm = PACKAGE.matcher(text);
                assertFalse(!pm.find(), f + " has no package");
                String pkg = pm.group(1);
                Integer mine = LAYER.get(pkg);
                assertFalse(mine == null, f + ": package " + pkg + " has no layer in LayersTest");
                String code = text.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "");
                for (Pattern p : List.of(IMPORT, QUALIFIED)) {
                    Matcher m = p.matcher(code);
                    while (m.find()) {
                        Integer theirs = LAYER.get(m.group(1));
                        if (theirs != null && theirs > mine) {
                            violations.add(LIB.relativize(f) + " (" + pkg + ") uses " + m.group(1));
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }

    @Test
    void the_release_logic_depends_only_on_its_ports() throws IOException {
        try (Stream<Path> files = Files.list(LIB.resolve("release"))) {
            for (Path f : files.toList()) {
                String text = Files.readString(f);
                assertFalse(text.contains("org.apache.kafka"), f + " uses Kafka's client directly; the release logic talks to Cluster");
                assertFalse(text.contains("ProcessBuilder"), f + " starts processes; the release logic talks to Versions and Probe");
            }
        }
    }
}
