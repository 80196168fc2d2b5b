package dev.strata.harness.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code strata nbd --fork}: a JVM cannot fork, so the parent starts the same command again
 * without {@code --fork} as a child process and exits 0 once the child says its server is
 * listening (qemu-nbd's parent likewise exits once the server runs); if the child fails first,
 * the parent exits with the child's status. The child's errors reach the parent's stderr.
 * Stateless; the launcher's main thread.
 */
final class NbdFork {

    private NbdFork() {
    }

    static int startChild(String[] argv, PrintStream err) {
        ProcessHandle.Info me = ProcessHandle.current().info();
        List<String> cmd = new ArrayList<>();
        cmd.add(me.command().orElse("java"));
        String[] jvmAndArgs = me.arguments().orElse(new String[0]);
        String mainClass = mainClass();
        int main = -1;
        for (int i = 0; mainClass != null && i < jvmAndArgs.length; i++) {
            if (jvmAndArgs[i].equals(mainClass)) {
                main = i;
                break;
            }
        }
        if (main < 0) {
            err.println("strata nbd: --fork: cannot find how this JVM was started");
            return 1;
        }
        for (int i = 0; i <= main; i++) {
            cmd.add(jvmAndArgs[i]);
        }
        cmd.add("nbd");
        cmd.addAll(NbdTool.withoutFork(argv));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put(NbdTool.FORK_CHILD, "1");
        try {
            Process p = pb.start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals(NbdTool.READY)) {
                        return 0;
                    }
                }
            }
            return p.waitFor();
        } catch (IOException e) {
            err.println("strata nbd: --fork: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /**
     * The class this JVM was started with ({@code bin/strata} starts {@code dev.strata.harness.Main}),
     * as the JVM records it: the first word of {@code sun.java.command}. Null when unknown.
     */
    private static String mainClass() {
        String command = System.getProperty("sun.java.command", "").strip();
        return command.isEmpty() ? null : command.split("\\s+", 2)[0];
    }

    /** In a forked child: tells the parent the server is listening, then lets go of stdout. */
    static void reportReady() {
        if (System.getenv(NbdTool.FORK_CHILD) != null) {
            System.out.println(NbdTool.READY);
            System.out.flush();
            System.out.close();
        }
    }
}
