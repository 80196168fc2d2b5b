package dev.strata.monitor.qemuio;

import dev.strata.blockdrv.BlockException;
import dev.strata.monitor.Sizes;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * QEMU's {@code qemu-io} commands that the monitor offers: {@code read [-P pattern] [-q] [-v]
 * off len}, {@code write [-P pattern] [-z [-u]] [-q] off len}, {@code discard [-q] off len},
 * {@code flush}, with qemu-io's own messages and report lines. Requests larger than
 * {@value #CHUNK} bytes are issued in chunks so a huge length cannot exhaust the machine's memory.
 *
 * <p>Stateless; runs on the calling monitor thread.
 */
public final class QemuIo {

    static final int CHUNK = 1 << 20;
    static final long MAX_REQUEST = 2147483136L;
    static final long MAX_DUMP = 16L << 20;

    private record Cmd(String name, String options, String withArg, int argmin, String usage) {
    }

    private static final List<Cmd> COMMANDS = List.of(
            new Cmd("read", "qv", "P", 2, "read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset"),
            new Cmd("write", "qzu", "P", 2, "write [-bcCfnquz] [-P pattern | -s source_file] off len -- writes a number of bytes at a specified offset"),
            new Cmd("discard", "q", "", 2, "discard [-Cq] off len -- discards a number of bytes at a specified offset"),
            new Cmd("flush", "", "", 0, "flush  -- flush all in-core file state to disk"));

    /** Options QEMU's qemu-io knows for these commands but Strata does not implement. */
    private static final String QEMU_ONLY = "abCcfnpsl";

    private QemuIo() {
    }

    /** Runs one qemu-io command line against {@code t}; returns what qemu-io would print. */
    static String run(IoTarget t, String line) {
        List<String> argv = new ArrayList<>();
        for (String w : line.split(" ")) {
            if (!w.isEmpty()) {
                argv.add(w);
            }
        }
        StringBuilder out = new StringBuilder();
        if (argv.isEmpty()) {
            return "";
        }
        Cmd cmd = COMMANDS.stream().filter(c -> c.name().equals(argv.get(0))).findFirst().orElse(null);
        if (cmd == null) {
            return "command \"" + argv.get(0) + "\" not found\n";
        }
        // GNU getopt: options anywhere before "--", clustered, an option's argument attached or next
        Set<Character> flags = new HashSet<>();
        String pattern = null;
        List<String> pos = new ArrayList<>();
        boolean endOpts = false;
        for (int i = 1; i < argv.size(); i++) {
            String a = argv.get(i);
            if (endOpts || !a.startsWith("-") || a.length() == 1) {
                pos.add(a);
                continue;
            }
            if (a.equals("--")) {
                endOpts = true;
                continue;
            }
            for (int j = 1; j < a.length(); j++) {
                char c = a.charAt(j);
                if (cmd.withArg().indexOf(c) >= 0) {
                    String arg = j + 1 < a.length() ? a.substring(j + 1) : (i + 1 < argv.size() ? argv.get(++i) : null);
                    if (arg == null) {
                        return cmd.name() + ": option requires an argument -- '" + c + "'\n" + cmd.usage() + "\n";
                    }
                    pattern = arg;
                    flags.add(c);
                    break;
                }
                if (cmd.options().indexOf(c) >= 0) {
                    flags.add(c);
                } else if (QEMU_ONLY.indexOf(c) >= 0) {
                    return cmd.name() + ": option -" + c + " is not implemented by Strata\n";
                } else {
                    return cmd.name() + ": invalid option -- '" + c + "'\n" + cmd.usage() + "\n";
                }
            }
        }
        if (pos.size() < cmd.argmin() || (cmd.argmin() == 0 && !pos.isEmpty())) {
            return "bad argument count " + pos.size() + " to " + cmd.name() + ", expected "
                    + (cmd.argmin() == 0 ? "0 arguments" : "at least " + cmd.argmin() + " arguments") + "\n";
        }
        if (cmd.name().equals("flush")) {
            return io(() -> t.flush(), "flush", out) ? "" : out.toString();
        }
        if (pos.size() != 2) {
            return cmd.usage() + "\n";
        }
        int patternByte = -1;
        if (pattern != null) {
            patternByte = patternByte(pattern);
            if (patternByte < 0) {
                return pattern + " is not a valid pattern byte\n";
            }
        }
        if (flags.contains('z') && pattern != null) {
            return "Only one of -z, -P, and -s can be specified at the same time\n";
        }
        Long offset = number(pos.get(0), out);
        if (offset == null) {
            return out.toString();
        }
        Long count = number(pos.get(1), out);
        if (count == null) {
            return out.toString();
        }
        if (count > MAX_REQUEST) {
            return "length cannot exceed " + MAX_REQUEST + ", given " + pos.get(1) + "\n";
        }
        boolean quiet = flags.contains('q');
        long size = t.size();
        boolean inRange = offset >= 0 && count >= 0 && offset <= size && count <= size - offset;
        long t0 = System.nanoTime();
        switch (cmd.name()) {
            case "read" -> {
                if (flags.contains('v') && count > MAX_DUMP) {
                    return "read: Strata dumps at most " + MAX_DUMP + " bytes with -v\n";
                }
                StringBuilder dump = flags.contains('v') ? new StringBuilder() : null;
                long[] firstBad = {-1};
                int pb = patternByte;
                boolean ok = inRange ? io(() -> chunks(offset, count, (off, len) -> {
                    ByteBuffer b = ByteBuffer.allocate(len);
                    t.read(off, b);
                    byte[] a = b.array();
                    if (pb >= 0 && firstBad[0] < 0) {
                        for (byte x : a) {
                            if ((x & 0xff) != pb) {
                                firstBad[0] = off;
                                break;
                            }
                        }
                    }
                    if (dump != null) {
                        hexdump(a, off, dump);
                    }
                }), "read", out) : fail("read", out);
                if (!ok) {
                    return out.toString();
                }
                long nanos = System.nanoTime() - t0;
                if (firstBad[0] >= 0) {
                    out.append("Pattern verification failed at offset ").append(offset).append(", ").append(count).append(" bytes\n");
                }
                if (!quiet) {
                    if (dump != null) {
                        out.append(dump);
                    }
                    out.append(QemuIoReport.report("read", nanos, offset, count, count, 1));
                }
            }
            case "write" -> {
                boolean zero = flags.contains('z');
                boolean unmap = flags.contains('u');
                byte fill = (byte) (patternByte >= 0 ? patternByte : 0xcd);
                boolean ok = inRange ? io(() -> {
                    if (zero) {
                        t.writeZeroes(offset, count, unmap);
                    } else {
                        chunks(offset, count, (off, len) -> {
                            byte[] a = new byte[len];
                            java.util.Arrays.fill(a, fill);
                            t.write(off, ByteBuffer.wrap(a));
                        });
                    }
                }, "write", out) : fail("write", out);
                if (ok && !quiet) {
                    out.append(QemuIoReport.report("wrote", System.nanoTime() - t0, offset, count, count, 1));
                }
            }
            default -> {
                boolean ok = inRange ? io(() -> t.discard(offset, count), "discard", out) : fail("discard", out);
                if (ok && !quiet) {
                    out.append(QemuIoReport.report("discard", System.nanoTime() - t0, offset, count, count, 1));
                }
            }
        }
        return out.toString();
    }

    @FunctionalInterface
    private interface Chunk {
        void apply(long offset, int len);
    }

    private static void chunks(long offset, long count, Chunk c) {
        long done = 0;
        do {
            int len = (int) Math.min(CHUNK, count - done);
            c.apply(offset + done, len);
            done += len;
        } while (done < count);
    }

    /** Runs {@code r}; on a block-layer failure prints {@code <op> failed: <strerror>}. */
    private static boolean io(Runnable r, String op, StringBuilder out) {
        try {
            r.run();
            return true;
        } catch (BlockException e) {
            String why = e.kind() == BlockException.Kind.PERMISSION ? "Operation not permitted" : e.kind().strerror();
            out.append(op).append(" failed: ").append(why).append('\n');
            return false;
        }
    }

    /** A request outside the device: QEMU's block layer answers EIO. */
    private static boolean fail(String op, StringBuilder out) {
        out.append(op).append(" failed: Input/output error\n");
        return false;
    }

    /** qemu-io's {@code parse_pattern}: strtol base 0, 0..255. */
    private static int patternByte(String s) {
        try {
            long v;
            if (s.startsWith("0x") || s.startsWith("0X")) {
                v = Long.parseLong(s.substring(2), 16);
            } else if (s.length() > 1 && s.startsWith("0")) {
                v = Long.parseLong(s.substring(1), 8);
            } else {
                v = Long.parseLong(s);
            }
            return v < 0 || v > 0xff ? -1 : (int) v;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** qemu-io's {@code cvtnum}: a size in bytes with optional suffix; prints its parse error. */
    private static Long number(String s, StringBuilder out) {
        Sizes.Parsed r = Sizes.parse(s, 0, Sizes.BYTES);
        if (r == null || r.end() != s.length()) {
            boolean big = r == null && s.chars().allMatch(Character::isDigit) && !s.isEmpty();
            out.append(big ? "Parsing error: argument too large -- " + s + "\n"
                    : "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- " + s + "\n");
            return null;
        }
        return r.value();
    }

    /** qemu-io's {@code dump_buffer}. */
    private static void hexdump(byte[] a, long offset, StringBuilder sb) {
        for (int i = 0; i < a.length; i += 16) {
            sb.append(String.format("%08x:  ", offset + i));
            for (int j = 0; j < 16 && i + j < a.length; j++) {
                sb.append(String.format("%02x ", a[i + j] & 0xff));
            }
            sb.append(' ');
            for (int j = 0; j < 16 && i + j < a.length; j++) {
                char c = (char) (a[i + j] & 0xff);
                sb.append(Character.isLetterOrDigit(c) && c < 0x80 ? c : '.');
            }
            sb.append('\n');
        }
    }
}
