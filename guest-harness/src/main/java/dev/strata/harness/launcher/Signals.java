package dev.strata.harness.launcher;

/**
 * SIGTERM and SIGINT end the machine the orderly way (stop workloads, flush and close images),
 * like QEMU's "terminating on signal 15". Uses {@code sun.misc.Signal} from the JDK's
 * jdk.unsupported module; where that is missing, the JVM shutdown hook still closes the machine.
 *
 * <p>Installed once per process from the launcher's main thread; handlers run on JVM signal threads.
 */
final class Signals {

    private Signals() {
    }

    static void onTerminate(StrataMachine machine) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name),
                        s -> machine.requestQuit("terminating on signal " + s.getNumber()));
            } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
                // signal not available here: the shutdown hook covers it
            }
        }
    }
}
