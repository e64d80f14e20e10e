package canary.platform;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import canary.common.AtomicFile;
import canary.common.Text;
import canary.common.UserException;
import canary.context.Context;

/**
 * The confluent-cloud platform: runs {@code terraform} on the kit's {@code terraform/} configuration and
 * turns {@code terraform output -json} into the files the other scripts read. Secrets go only into
 * files of mode 600 in the state folder; they are never printed.
 *
 * <p>Each state folder has its own Terraform state, so each context (and the later releases of its
 * topic, which share its state folder) has its own Confluent Cloud resources:
 * {@code <state_dir>/terraform/} (mode 700) holds {@code terraform.tfstate} and its backup (every
 * secret of the deployment, mode 600), Terraform's working files ({@code .terraform/}, set as
 * {@code TF_DATA_DIR}) and {@code provisioned.json}, which names the context and topic it was made
 * for. Terraform runs with umask 077, so every file it writes is private from its first byte.
 *
 * <ul>
 *   <li>{@code <state_dir>/client.properties}: Kafka client properties (SASL_SSL, PLAIN with the
 *       Kafka API key), for {@code kafka.properties_file}.</li>
 *   <li>{@code <state_dir>/ksqldb.env}: {@code KSQLDB_ENDPOINT}, {@code KSQLDB_API_KEY},
 *       {@code KSQLDB_API_SECRET}; the scripts read it for the {@code ${...}} references of the
 *       context that the environment does not set (a shell can also source it).</li>
 * </ul>
 */
public final class Terraform {

    /** System property naming the terraform binary (default: {@code terraform} on the PATH). */
    public static final String BINARY_PROPERTY = "canary.terraform";
    /** System property naming the terraform folder (default: {@code terraform/} of the kit). */
    public static final String DIR_PROPERTY = "canary.terraform.dir";

    /** The Confluent Cloud API key and secret Terraform needs; from the environment only. */
    public static final List<String> REQUIRED_ENV = List.of("TF_VAR_confluent_cloud_api_key", "TF_VAR_confluent_cloud_api_secret");
    /**
     * Variables with defaults in terraform/variables.tf that the environment may set. The names, the topic and its
     * partition count come from the context ({@code -var}), never from the environment.
     */
    public static final List<String> OPTIONAL_ENV = List.of("TF_VAR_cloud", "TF_VAR_region",
            "TF_VAR_stream_governance_package", "TF_VAR_ksqldb_csu", "TF_VAR_datagen_quickstart");

    public static final String CLIENT_PROPERTIES = "client.properties";
    public static final String KSQLDB_ENV = "ksqldb.env";
    public static final List<String> KSQLDB_VARIABLES = List.of("KSQLDB_ENDPOINT", "KSQLDB_API_KEY", "KSQLDB_API_SECRET");

    /** The folder in the state folder that holds this deployment's Terraform state and working files. */
    public static final String STATE_FOLDER = "terraform";
    public static final String STATE_FILE = "terraform.tfstate";
    /** Terraform's working files (providers), {@code TF_DATA_DIR}: per state folder, so no two contexts share them. */
    public static final String DATA_DIR = ".terraform";
    /** Which context and topic the state was made for. */
    public static final String PROVISIONED_FILE = "provisioned.json";

    /** Terraform gets no more than this: what it writes (the state, its backup, its lock) is readable by its owner only. */
    static final String UMASK = "077";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Written into {@value #PROVISIONED_FILE} before the first apply: the resources are named after {@code context}. */
    public record Provisioned(String context, String topic) {
    }

    private final String binary;
    private final Path dir;
    private final Context ctx;
    private final Path folder;
    private final Function<String, String> env;
    private final PrintWriter out;

    /**
     * @param binary the terraform to run
     * @param dir    the configuration: the kit's terraform/ folder
     * @param ctx    the context; its state folder holds the state
     */
    public Terraform(String binary, Path dir, Context ctx, Function<String, String> env, PrintWriter out) {
        this.binary = binary;
        this.dir = dir;
        this.ctx = ctx;
        this.folder = ctx.stateDir().resolve(STATE_FOLDER).toAbsolutePath().normalize();
        this.env = env;
        this.out = out;
    }

    /** The binary: the given one, else the system property {@value #BINARY_PROPERTY}, else terraform on the PATH. */
    public static String binary(Path given) {
        if (given != null) {
            return given.toString();
        }
        String p = System.getProperty(BINARY_PROPERTY);
        return p == null || p.isBlank() ? "terraform" : p;
    }

    /** The terraform folder: the system property, else terraform/ in the working folder, beside or above the context file. */
    public static Path directory(Context ctx) {
        String p = System.getProperty(DIR_PROPERTY);
        if (p != null && !p.isBlank()) {
            return Path.of(p).toAbsolutePath();
        }
        List<Path> candidates = new ArrayList<>();
        candidates.add(Path.of("terraform").toAbsolutePath());
        candidates.add(ctx.directory().resolve("terraform"));
        if (ctx.directory().getParent() != null) {
            candidates.add(ctx.directory().getParent().resolve("terraform"));
        }
        for (Path c : candidates) {
            if (Files.isRegularFile(c.resolve("main.tf"))) {
                return c.normalize();
            }
        }
        throw new UserException("cannot find the kit's terraform/ folder (looked in " + candidates.stream().map(Path::toString).toList()
                + "): run from the kit's folder or set -D" + DIR_PROPERTY);
    }

    public Path dir() {
        return dir;
    }

    /** {@code <state_dir>/terraform}: the state, its backup, Terraform's working files, {@value #PROVISIONED_FILE}. */
    public Path folder() {
        return folder;
    }

    public Path stateFile() {
        return folder.resolve(STATE_FILE);
    }

    public Path dataDir() {
        return folder.resolve(DATA_DIR);
    }

    // ------------------------------------------------------------------ commands

    public List<String> initArgs() {
        return List.of("init", "-input=false");
    }

    public List<String> applyArgs() {
        List<String> a = new ArrayList<>(List.of("apply", "-auto-approve", "-input=false", "-state=" + stateFile()));
        a.addAll(contextVars());
        return a;
    }

    public List<String> destroyArgs() {
        List<String> a = new ArrayList<>(List.of("destroy", "-auto-approve", "-input=false", "-state=" + stateFile()));
        a.addAll(contextVars());
        return a;
    }

    public List<String> outputArgs() {
        return List.of("output", "-json", "-state=" + stateFile());
    }

    /**
     * The names, the topic and its partition count come from the context, so the two never disagree. The resources
     * are named after the context that made the state: a later release of the topic (another context, the same state
     * folder) keeps them, since renaming the ksqlDB cluster would replace it.
     */
    private List<String> contextVars() {
        return List.of("-var", "name_prefix=" + resourceName(), "-var", "topic=" + ctx.topic(), "-var", "partitions=" + ctx.partitions());
    }

    /** One line per command, for --dry-run and for the log. */
    public String show(List<String> args) {
        return "terraform " + String.join(" ", args) + " (in " + dir + ")";
    }

    /** Where the state and Terraform's working files are, for --dry-run. */
    public String describeFolder() {
        return "Terraform state " + stateFile() + " (mode 600) and working files " + dataDir() + " (TF_DATA_DIR), in " + folder
                + " (mode 700); terraform runs with umask " + UMASK;
    }

    // ------------------------------------------------------------------ whose state

    /** The context and topic this state folder's Terraform state was made for, if any. */
    public Optional<Provisioned> provisioned() {
        Path f = folder.resolve(PROVISIONED_FILE);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            Provisioned p = JSON.readValue(f.toFile(), Provisioned.class);
            if (p.context() == null || p.topic() == null) {
                throw new IOException("no context or topic in it");
            }
            return Optional.of(p);
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot read " + f + ": " + Text.firstLine(e.getMessage())
                    + " (it names the context and topic the Terraform state beside it was made for)");
        }
    }

    /** The name of the Confluent Cloud resources: the context that made the state, else this context. */
    public String resourceName() {
        return provisioned().map(Provisioned::context).orElse(ctx.name());
    }

    /**
     * Refuses, with one line and before anything changes, to run Terraform on a state that is not this context's: the
     * state folder's state belongs to another topic (applying would replace its topic and connector, destroying would
     * delete its environment), or an earlier kit left the state of every context in terraform/terraform.tfstate.
     */
    public void checkState() {
        Optional<Provisioned> p = provisioned();
        if (p.isPresent() && !p.get().topic().equals(ctx.topic())) {
            throw new UserException("state_dir " + ctx.stateDir() + " holds the Confluent Cloud resources of topic '" + p.get().topic()
                    + "' (set up by context '" + p.get().context() + "'): give context '" + ctx.name() + "' (topic '" + ctx.topic()
                    + "') a state_dir of its own");
        }
        Path shared = dir.resolve(STATE_FILE);
        if (holdsResources(shared) && !holdsResources(stateFile())) {
            throw new UserException(shared + " holds Confluent Cloud resources made by an earlier kit, which kept one state for "
                    + "every context: if they are context '" + ctx.name() + "''s, move it to " + stateFile() + " (chmod 600); "
                    + "otherwise destroy them with terraform -chdir=" + dir + " destroy");
        }
    }

    /** Whether the state folder has a Terraform state that still holds resources (teardown has something to destroy). */
    public boolean hasResources() {
        return holdsResources(stateFile());
    }

    /**
     * Whether a Terraform state file lists resources. An unreadable file counts as holding some: a state is never
     * taken for empty, nor deleted, on a guess.
     */
    public static boolean holdsResources(Path stateFile) {
        if (!Files.isRegularFile(stateFile)) {
            return false;
        }
        try {
            JsonNode resources = JSON.readTree(stateFile.toFile()).path("resources");
            return !resources.isArray() || !resources.isEmpty();
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

    /** Creates the private folder and records whose state it holds, before Terraform writes anything into it. */
    private void claim() {
        privateFolder();
        if (provisioned().isEmpty()) {
            try {
                AtomicFile.writePrivate(folder.resolve(PROVISIONED_FILE),
                        JSON.writeValueAsString(new Provisioned(ctx.name(), ctx.topic())) + "\n");
            } catch (IOException e) {
                throw new UserException(UserException.ENVIRONMENT, "cannot write " + folder.resolve(PROVISIONED_FILE) + ": " + e.getMessage());
            }
        }
    }

    /** The folder, mode 700 (created so, never readable by others even for a moment). */
    private void privateFolder() {
        StateDir.ensure(ctx.stateDir());
        try {
            if (!Files.isDirectory(folder)) {
                Files.createDirectory(folder, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing to restrict
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot create " + folder + ": " + e.getMessage());
        }
    }

    /**
     * Every file directly in the folder (the state, its backup, provisioned.json) to mode 600: a state written before
     * (by hand, by another umask) is made private too. The working files' folder to 700.
     */
    void protect() {
        if (!Files.isDirectory(folder)) {
            return;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(folder)) {
            Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
            for (Path p : s) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
                }
            }
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot make " + folder + " private: " + e.getMessage());
        }
    }

    /** Refuses to start when the Confluent Cloud credentials are not in the environment. */
    public void requireCredentials() {
        List<String> missing = REQUIRED_ENV.stream().filter(n -> env.apply(n) == null || env.apply(n).isBlank()).toList();
        if (!missing.isEmpty()) {
            throw new UserException("platform confluent-cloud needs a Confluent Cloud API key in the environment: set "
                    + String.join(" and ", missing) + " (never in a file)");
        }
    }

    /** Which of the variables are set, without their values. */
    public String credentialsStatus() {
        List<String> parts = new ArrayList<>();
        for (String n : REQUIRED_ENV) {
            parts.add(n + (env.apply(n) == null || env.apply(n).isBlank() ? " (not set)" : " (set)"));
        }
        for (String n : OPTIONAL_ENV) {
            if (env.apply(n) != null) {
                parts.add(n + " (set)");
            }
        }
        return String.join(", ", parts);
    }

    public void init() {
        privateFolder();
        run(initArgs(), true);
    }

    /** Records whose state the folder holds, then applies. */
    public void apply() {
        claim();
        run(applyArgs(), true);
    }

    public void destroy() {
        run(destroyArgs(), true);
    }

    /** {@code terraform output -json}, sensitive values included; captured, never printed. */
    public JsonNode outputs() {
        String json = run(outputArgs(), false);
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "terraform output -json did not print JSON: " + Text.firstLine(e.getMessage()));
        }
    }

    /**
     * Runs terraform with umask {@value #UMASK} (through {@code /bin/sh}, which sets it and then becomes terraform: Java
     * cannot set a child's umask) and with this state folder's working files; its output goes to {@code out} (when
     * {@code show}) or is returned (stderr always goes to out). Before and after, the folder's files are made private.
     */
    private String run(List<String> args, boolean show) {
        String exe = executable();
        List<String> command = new ArrayList<>(List.of("/bin/sh", "-c", "umask " + UMASK + " && exec \"$0\" \"$@\"", exe));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        pb.environment().put("TF_IN_AUTOMATION", "1");
        pb.environment().put("TF_DATA_DIR", dataDir().toString());
        pb.redirectErrorStream(show);
        if (show) {
            out.println("running " + show(args));
            out.flush();
        }
        protect();
        try {
            return run(pb, args, show);
        } finally {
            protect();
        }
    }

    /** The binary as a path the shell can exec; one line when there is none. */
    private String executable() {
        String hint = " (install Terraform and put it on the PATH, or set -D" + BINARY_PROPERTY + ")";
        if (binary.contains("/")) {
            if (!Files.isRegularFile(Path.of(binary)) || !Files.isExecutable(Path.of(binary))) {
                throw new UserException(UserException.ENVIRONMENT, "cannot run " + binary + ": no executable file there" + hint);
            }
            return Path.of(binary).toAbsolutePath().toString();
        }
        String path = System.getenv("PATH");
        for (String d : path == null ? new String[0] : path.split(java.io.File.pathSeparator)) {
            Path p = Path.of(d.isEmpty() ? "." : d, binary);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p.toAbsolutePath().toString();
            }
        }
        throw new UserException(UserException.ENVIRONMENT, "cannot run " + binary + ": not found on the PATH" + hint);
    }

    private String run(ProcessBuilder pb, List<String> args, boolean show) {
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot start /bin/sh to run " + binary + ": " + Text.firstLine(e.getMessage()));
        }
        StringBuilder captured = new StringBuilder();
        Thread errors = null;
        if (!show) {
            errors = pipe(p.getErrorStream(), line -> {
                out.println(line);
                out.flush();
            });
        }
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (show) {
                    out.println(line);
                    out.flush();
                } else {
                    captured.append(line).append('\n');
                }
            }
            int code = p.waitFor();
            if (errors != null) {
                errors.join(5_000);
            }
            if (code != 0) {
                throw new UserException(UserException.ENVIRONMENT, "terraform " + args.get(0) + " failed with exit code " + code
                        + " (its output is above)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroy();
            throw new UserException(UserException.ENVIRONMENT, "interrupted while terraform " + args.get(0) + " ran");
        }
        return captured.toString();
    }

    private static Thread pipe(InputStream in, java.util.function.Consumer<String> sink) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    sink.accept(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "terraform-stderr");
        t.setDaemon(true);
        t.start();
        return t;
    }

    // ------------------------------------------------------------------ files from the outputs

    /** Writes client.properties and ksqldb.env (mode 600) into the state folder; returns the two paths. */
    public static List<Path> writeClientFiles(JsonNode outputs, Path stateDir) {
        String bootstrap = output(outputs, "bootstrap_servers");
        String kafkaKey = output(outputs, "kafka_api_key");
        String kafkaSecret = output(outputs, "kafka_api_secret");
        String endpoint = output(outputs, "ksqldb_endpoint");
        String ksqlKey = output(outputs, "ksqldb_api_key");
        String ksqlSecret = output(outputs, "ksqldb_api_secret");
        for (String s : List.of(kafkaKey, kafkaSecret)) {
            if (s.contains("\"") || s.contains("\\")) {
                throw new UserException(UserException.ENVIRONMENT, "the Kafka API key or secret from terraform contains a quote or backslash, "
                        + "which a JAAS configuration cannot hold");
            }
        }
        String properties = "# Kafka client properties for Confluent Cloud, written by setup.java from terraform output.\n"
                + "# Holds the Kafka API secret: keep it out of version control.\n"
                + "bootstrap.servers=" + bootstrap + "\n"
                + "security.protocol=SASL_SSL\n"
                + "sasl.mechanism=PLAIN\n"
                + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + kafkaKey
                + "\" password=\"" + kafkaSecret + "\";\n"
                + "client.dns.lookup=use_all_dns_ips\n";
        Map<String, String> ksql = new LinkedHashMap<>();
        ksql.put("KSQLDB_ENDPOINT", endpoint);
        ksql.put("KSQLDB_API_KEY", ksqlKey);
        ksql.put("KSQLDB_API_SECRET", ksqlSecret);
        StringBuilder envFile = new StringBuilder("# ksqlDB endpoint and credentials, written by setup.java from terraform output.\n"
                + "# The scripts read it for ${KSQLDB_...} references the environment does not set; a shell can source it.\n");
        ksql.forEach((k, v) -> envFile.append(k).append('=').append(quote(v)).append('\n'));
        StateDir.ensure(stateDir);
        Path props = stateDir.resolve(CLIENT_PROPERTIES);
        Path env = stateDir.resolve(KSQLDB_ENV);
        writePrivate(props, properties);
        writePrivate(env, envFile.toString());
        return List.of(props, env);
    }

    private static String output(JsonNode outputs, String name) {
        JsonNode v = outputs.path(name).path("value");
        if (!v.isTextual() || v.asText().isBlank()) {
            throw new UserException(UserException.ENVIRONMENT, "terraform output -json has no value for '" + name
                    + "': is terraform/outputs.tf the kit's?");
        }
        return v.asText();
    }

    /** Writes a file only its owner can read (mode 600 from its first byte). */
    static void writePrivate(Path file, String text) {
        try {
            AtomicFile.writePrivate(file, text);
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot write " + file + ": " + e.getMessage());
        }
    }

    private static String quote(String value) {
        return value.matches("[A-Za-z0-9_./:+=@,-]*") ? value : "'" + value.replace("'", "'\\''") + "'";
    }

    // ------------------------------------------------------------------ reading ksqldb.env back

    /**
     * The environment for loading a context: the process environment, and for what it does not set,
     * the variables setup wrote to {@code <state_dir>/ksqldb.env}.
     */
    public static Function<String, String> contextEnv(Path contextFile, Function<String, String> base) {
        Map<String, String> written = readEnvFile(stateDirOf(contextFile));
        return name -> {
            String v = base.apply(name);
            return v != null ? v : written.get(name);
        };
    }

    /**
     * Loads a context before Terraform has written ksqldb.env (setup, or teardown after a failed
     * setup): the ${KSQLDB_...} references it provides load as placeholders that reach nothing.
     */
    public static Context loadBeforeProvisioned(Path contextFile, Function<String, String> base) {
        Function<String, String> known = contextEnv(contextFile, base);
        return Context.load(contextFile, name -> {
            String v = known.apply(name);
            if (v == null && KSQLDB_VARIABLES.contains(name)) {
                return name.equals("KSQLDB_ENDPOINT") ? "https://ksqldb.not-provisioned-yet.invalid" : "not-provisioned-yet";
            }
            return v;
        });
    }

    /** The state folder a context file names, without loading the rest of it (null when it cannot tell). */
    static Path stateDirOf(Path contextFile) {
        try {
            JsonNode root = new YAMLMapper().readTree(Files.readString(contextFile));
            String dir = root == null ? "etc" : root.path("state_dir").asText("etc");
            if (dir.contains("${")) {
                return null;
            }
            Path p = Path.of(dir);
            return p.isAbsolute() ? p : contextFile.toAbsolutePath().getParent().resolve(p).normalize();
        } catch (IOException | RuntimeException e) {
            return null; // Context.load reports what is wrong with the file
        }
    }

    static Map<String, String> readEnvFile(Path stateDir) {
        Map<String, String> out = new LinkedHashMap<>();
        if (stateDir == null) {
            return out;
        }
        Path f = stateDir.resolve(KSQLDB_ENV);
        if (!Files.isRegularFile(f)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                String l = line.strip();
                int eq = l.indexOf('=');
                if (l.isEmpty() || l.startsWith("#") || eq < 1) {
                    continue;
                }
                String v = l.substring(eq + 1);
                if (v.length() >= 2 && v.startsWith("'") && v.endsWith("'")) {
                    v = v.substring(1, v.length() - 1).replace("'\\''", "'");
                }
                out.put(l.substring(0, eq), v);
            }
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot read " + f + ": " + e.getMessage());
        }
        return out;
    }
}
