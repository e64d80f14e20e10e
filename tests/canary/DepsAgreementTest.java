package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/** The scripts' //DEPS (lib/Deps.java) and pom.xml declare the same artifacts at the same versions. */
class DepsAgreementTest {

    static final Path ROOT = Path.of(System.getProperty("kit.root", "."));

    @Test
    void scripts_and_pom_declare_the_same_dependencies() throws IOException {
        TreeSet<String> deps = new TreeSet<>();
        for (String line : Files.readAllLines(ROOT.resolve("lib/Deps.java"))) {
            if (line.startsWith("//DEPS ")) {
                deps.add(line.substring(7).trim());
            }
        }
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        Matcher props = Pattern.compile("<([a-z0-9.]+)\\.version>([^<]+)</").matcher(pom);
        java.util.Map<String, String> versions = new java.util.HashMap<>();
        while (props.find()) {
            versions.put(props.group(1) + ".version", props.group(2));
        }
        TreeSet<String> pomDeps = new TreeSet<>();
        Matcher dep = Pattern.compile("<dependency><groupId>([^<]+)</groupId><artifactId>([^<]+)</artifactId><version>([^<]+)</version>(<scope>([^<]+)</scope>)?")
                .matcher(pom);
        while (dep.find()) {
            if ("test".equals(dep.group(5))) {
                continue;
            }
            String v = dep.group(3);
            Matcher ref = Pattern.compile("\\$\\{([^}]+)}").matcher(v);
            if (ref.matches()) {
                v = versions.get(ref.group(1));
            }
            pomDeps.add(dep.group(1) + ":" + dep.group(2) + ":" + v);
        }
        assertFalse(deps.isEmpty(), "lib/Deps.java declares dependencies");
        assertEquals(deps, pomDeps, "lib/Deps.java //DEPS and pom.xml disagree");
    }

    @Test
    void every_script_pulls_in_lib_and_declares_no_deps_of_its_own() throws IOException {
        try (Stream<Path> files = Stream.concat(Files.list(ROOT), Files.list(ROOT.resolve("services_examples")))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String text = Files.readString(f);
                if (!text.startsWith("///usr/bin/env jbang")) {
                    continue;
                }
                String expected = f.getParent().equals(ROOT) ? "//SOURCES lib/*.java" : "//SOURCES ../lib/*.java";
                assertFalse(!text.contains(expected), f + " lacks " + expected);
                assertFalse(text.contains("//DEPS"), f + " declares //DEPS; they belong in lib/Deps.java");
            }
        }
    }
}
