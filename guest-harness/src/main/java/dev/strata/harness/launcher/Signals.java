package dev.strata.harness.launcher;

/**
 * SIGTERM and SIGINT end the machine the orderly way (stop workloads, flush and close images),
 * like QEMU's "terminating on signal 15"; a second signal while that shutdown is under way ends the
 * process at once. Uses {@code sun.misc.Signal} from the JDK's
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
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> {
                    if (machine.isQuitRequested()) {
                        // the orderly shutdown is stuck (e.g. I/O that never completes): a second
                        // signal is the user's way out, as with QEMU
                        System.err.println("strata: signal " + s.getNumber() + " during shutdown: exiting without closing the images");
                        Runtime.getRuntime().halt(1);
                    }
                    machine.requestQuit("terminating on signal " + s.getNumber());
                });
            } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
                // signal not available here: the shutdown hook covers it
            }
        }
    }
}
