package canary.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.release.Integrity;

@Command(name = "check_data", mixinStandardHelpOptions = true,
        description = "Stops routing, counts per partition (read_committed) the records routing consumed and the records in "
                + "<topic>_legacy and <topic>_new, resumes routing. Exit code 1 on any difference.",
        footer = {"", "Example:", "  ./jbang check_data.java services_examples/context.yaml"})
public final class CheckDataCommand extends ContextCommand {

    @Option(names = "--dry-run", description = "print what would be counted, change nothing")
    boolean dryRun;

    @Override
    public Integer call() {
        return withLockedSession(session -> {
            Integrity result = session.lifecycle.check(dryRun);
            if (result == null) {
                return 0;
            }
            result.table().print(out());
            out().println(result.clean()
                    ? "integrity: clean (every record consumed from " + session.ctx.topic() + " is in exactly one of the two topics)"
                    : "integrity: MISMATCH on partition(s) " + result.rows().stream().filter(r -> r.difference() != 0)
                    .map(Integrity.Row::partition).toList());
            return result.clean() ? 0 : 1;
        });
    }

    public static void main(String[] args) {
        Cli.main(new CheckDataCommand(), args);
    }
}
