package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Random argument vectors built from the parser's own vocabulary (so they get deep into it) plus
 * junk. Whatever comes in, the parser either returns a config or throws the one clean
 * {@link UsageException}; anything else is a bug.
 */
class CommandLineFuzzTest {

    private static final String[] OPTIONS = {"-drive", "-blockdev", "-device", "-monitor", "-qmp", "-chardev", "-mon",
        "-S", "-name", "-guest", "-machine", "-nodefaults", "-display", "-m", "-enable-kvm", "--drive", "-x", "-",
        "--", "", "-qmp-pretty", "-nographic", "disk.img"};
    private static final String[] KEYS = {"file", "format", "if", "id", "node-name", "cache", "readonly", "rerror",
        "werror", "index", "bus", "unit", "driver", "filename", "file.driver", "file.filename", "backing", "drive",
        "rw", "bs", "iodepth", "runtime", "verify", "script", "path", "server", "wait", "chardev", "mode", "media",
        "size", "offset", "seed", "rwmixread", "rate_iops", "snapshot", "cache.direct", "l2-cache-size", "", "guest"};
    private static final String[] VALUES = {"virtio", "ide", "none", "on", "off", "qcow2", "raw", "a.img", "x,,y",
        "writeback", "unsafe", "stop", "enospc", "report", "4k", "0", "-1", "99999999999999999999", "randrw", "1.5k",
        "virtio0", "ide0-hd0", "n1", "1bad", "stdio", "unix:/tmp/s", "control", "readline", "", "=", ",", "{", "}",
        "\"", "\u00e9", "\u0000", "3", "8", "30", "7m", "null", "virtio-blk-pci", "ide-hd", "socket", "help"};
    private static final String[] JSON = {"{", "{}", "{\"driver\":\"raw\"}", "{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{\"driver\":\"file\",\"filename\":\"a\"}}",
        "{\"driver\":[1,2]}", "{\"node-name\":null,\"driver\":true}", "[1]", "{\"a\":{\"b\":{}}}", "{\"\":1}", "{\"driver\":\"raw\",\"node-name\":\"n\",\"x\":1e999}"};

    @Test
    @Timeout(60)
    void randomCommandLinesFailCleanlyOrParse() {
        Random r = new Random(20261126L);
        int parsed = 0;
        int refused = 0;
        for (int round = 0; round < 30_000; round++) {
            List<String> args = randomArgs(r);
            try {
                new CommandLineParser().parse(args);
                parsed++;
            } catch (UsageException e) {
                refused++;
                String line = e.line();
                assertTrue(line.startsWith("strata: "), line);
                if (args.stream().noneMatch(a -> a.contains("\n"))) {
                    assertFalse(line.contains("\n"), "one line only: " + line);
                }
            } catch (Throwable t) {
                fail("parser threw " + t + " for " + args, t);
            }
        }
        assertTrue(parsed > 100 && refused > 100, "the generator must reach both outcomes: " + parsed + "/" + refused);
    }

    private static List<String> randomArgs(Random r) {
        List<String> args = new ArrayList<>();
        int n = r.nextInt(7);
        for (int i = 0; i < n; i++) {
            args.add(pick(r, OPTIONS));
            if (r.nextInt(10) > 0) {
                args.add(r.nextInt(6) == 0 ? pick(r, JSON) : value(r));
            }
        }
        return args;
    }

    private static String value(Random r) {
        StringBuilder b = new StringBuilder();
        int parts = 1 + r.nextInt(5);
        for (int i = 0; i < parts; i++) {
            if (i > 0) {
                b.append(r.nextInt(8) == 0 ? ",," : ",");
            }
            switch (r.nextInt(6)) {
                case 0 -> b.append(pick(r, VALUES));
                case 1 -> b.append(pick(r, KEYS));
                case 2 -> b.append((char) r.nextInt(128));
                default -> b.append(pick(r, KEYS)).append('=').append(pick(r, VALUES));
            }
        }
        String s = b.toString();
        return r.nextInt(12) == 0 ? "unix:" + s : s;
    }

    private static String pick(Random r, String[] a) {
        return a[r.nextInt(a.length)];
    }
}
