package dev.strata.monitor.hmp;

import dev.strata.monitor.Command;
import dev.strata.monitor.Monitor;
import dev.strata.monitor.TestMachine;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A small machine with the real JLine console, for {@link JLineConsoleTest} to drive through tmux.
 * Argument: a scratch directory (holds the disk, the history file and a marker written on quit).
 */
public final class ConsoleMain {

    private ConsoleMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path disk = dir.resolve("disk.img");
        if (!Files.exists(disk)) {
            try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
                f.setLength(16 << 20);
            }
        }
        TestMachine machine = new TestMachine(dir) {
            @Override
            public void quit() {
                super.quit();
                try {
                    Files.writeString(dir.resolve("quit.marker"), "quit");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        machine.addDrive("virtio0", disk, "raw");
        Monitor monitor = machine.monitor();
        // lets the test trigger asynchronous output while a line is half typed
        monitor.registry().register(Command.hmpOnly("x_async", "", "").help("print a line above the prompt in one second")
                .hmpRun((ctx, a) -> Thread.ofVirtual().start(() -> {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                    ctx.events().printAsync("ASYNC-LINE: job done");
                })).build());
        try (JLineConsole console = JLineConsole.onSystemTerminal(monitor, null)) {
            console.run();
        }
        System.exit(0);
    }
}
