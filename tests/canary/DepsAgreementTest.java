package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The scripts' //DEPS (lib/Deps.java) and pom.xml declare the same artifacts at the same versions. */
@Tag("fast")
class DepsAgreementTest {

    static final Path ROOT = Path.of(System.getProperty("kit.root", "."));

    @Test
    void scripts_and_pom_declare_the_same_dependencies() throws IOException {
        TreeSet<String> deps = new TreeSet<>();
        for (String holder : List.of("lib/Deps.java", "lib/platform/broker/BrokerDeps.java")) {
            for (String line : Files.readAllLines(ROOT.resolve(holder))) {
                if (line.startsWith("//DEPS ")) {
                    deps.add(line.substring(7).trim());
                }
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

    /** The scripts that start a local broker (or the demo's processes) compile those folders; the others do not pull in the broker. */
    static final Set<String> WITH_BROKER = Set.of("setup.java", "demo.java", "router_bench.java");

    @Test
    void every_script_pulls_in_lib_and_only_the_broker_scripts_pull_in_the_broker() throws IOException {
        List<Path> scripts;
        try (Stream<Path> files = Stream.of(ROOT, ROOT.resolve("services_examples"), ROOT.resolve("bench")).flatMap(DepsAgreementTest::list)) {
            scripts = files.filter(p -> p.toString().endsWith(".java")).toList();
        }
        int checked = 0;
        for (Path f : scripts) {
            String text = Files.readString(f);
            if (!text.startsWith("///usr/bin/env jbang")) {
                continue;
            }
            checked++;
            String lib = f.getParent().equals(ROOT) ? "lib/" : "../lib/";
            List<String> sources = text.lines().filter(l -> l.startsWith("//SOURCES ")).flatMap(l -> Stream.of(l.substring(10).trim().split("\\s+")))
                    .toList();
            assertTrue(sources.contains(lib + "Deps.java"), f + " lacks //SOURCES " + lib + "Deps.java");
            boolean broker = sources.contains(lib + "platform/broker/*.java");
            assertEquals(WITH_BROKER.contains(f.getFileName().toString()), broker, f + ": //SOURCES " + lib + "platform/broker/*.java "
                    + (broker ? "pulls the broker and Scala into a script that does not start a broker" : "is needed to start the local broker"));
            assertFalse(text.contains("//DEPS") && !f.getFileName().toString().equals("router_bench.java"),
                    f + " declares //DEPS; they belong in lib/Deps.java");
        }
        assertTrue(checked >= 13, "found the scripts: " + checked);
    }

    /** Every folder of lib/ is compiled by the scripts: listed in lib/Deps.java, or one of the two that scripts add themselves. */
    @Test
    void every_folder_of_lib_is_listed_in_deps() throws IOException {
        String deps = Files.readString(ROOT.resolve("lib/Deps.java"));
        Set<String> listed = new TreeSet<>();
        deps.lines().filter(l -> l.startsWith("//SOURCES ")).forEach(l -> listed.addAll(List.of(l.substring(10).trim().split("\\s+"))));
        try (Stream<Path> dirs = Files.walk(ROOT.resolve("lib"))) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                String rel = ROOT.resolve("lib").relativize(d).toString();
                boolean hasJava;
                try (Stream<Path> in = Files.list(d)) {
                    hasJava = in.anyMatch(p -> p.toString().endsWith(".java"));
                }
                if (rel.isEmpty() || !hasJava || rel.equals("platform/broker") || rel.equals("demo")) {
                    continue;
                }
                assertTrue(listed.contains(rel + "/*.java"), "lib/Deps.java does not compile lib/" + rel + " (//SOURCES " + rel + "/*.java)");
            }
        }
    }

    private static Stream<Path> list(Path dir) {
        try {
            return Files.list(dir);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
