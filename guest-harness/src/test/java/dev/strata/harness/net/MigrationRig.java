package dev.strata.harness.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The pieces of a storage migration between the two hosts of a {@link TwoHostLink}: images, a
 * destination (Strata or QEMU) serving a blank image over NBD, a source (Strata with a verifying
 * guest, or QEMU with a disk and no guest OS), and the checks at the end.
 *
 * <p>Used from the test thread; closes what it started.
 */
final class MigrationRig implements AutoCloseable {

    static final long SIZE = 64L << 20;
    static final int NBD_PORT = 10809;
    static final Duration JOB_TIMEOUT = Duration.ofSeconds(150);
    /** The source's guest: verifying random writes and reads over the whole disk, rate-capped. */
    static final String GUEST = "drive=virtio0,rw=randrw,rwmixread=30,verify=on,bs=4k,iodepth=4,rate_iops=300,seed=17";

    final TwoHostLink link;
    final Path dir;
    private final List<MachineProcess> machines = new ArrayList<>();

    MigrationRig(TwoHostLink link, Path dir) {
        this.link = link;
        this.dir = dir;
    }

    /** A qcow2 of {@link #SIZE}; with data: 8 MiB at 0 and 4 MiB at 40 MiB of patterns. */
    Path image(String name, boolean withData) throws IOException {
        Path p = dir.resolve(name);
        must("qemu-img", "create", "-q", "-f", "qcow2", p.toString(), Long.toString(SIZE));
        if (withData) {
            must("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 8M", "-c", "write -P 0x6b 40M 4M", p.toString());
        }
        return p;
    }

    MachineProcess strata(NetHost host, String name, String... args) throws Exception {
        return keep(MachineProcess.strata(host, dir, name, args));
    }

    MachineProcess qemu(NetHost host, String name, String... args) throws Exception {
        return keep(MachineProcess.qemu(host, dir, name, args));
    }

    private MachineProcess keep(MachineProcess m) {
        machines.add(m);
        return m;
    }

    /** A Strata source on host A running the verifying guest on {@code image} (drive virtio0). */
    MachineProcess strataSource(Path image, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("-drive", "file=" + image + ",format=qcow2,if=virtio,node-name=src", "-guest", GUEST));
        args.addAll(List.of(extra));
        return strata(link.source(), "src", args.toArray(String[]::new));
    }

    /**
     * A QEMU source on host A with {@code image} as drive {@code drv0} (node {@code src}) and no
     * guest OS; HMP {@code qemu-io drv0} writes through the drive, so after a pivot it writes the
     * remote disk, as a guest would.
     */
    MachineProcess qemuSource(Path image, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("-drive",
                "file=" + image + ",format=qcow2,if=none,id=drv0,node-name=src"));
        args.addAll(List.of(extra));
        return qemu(link.source(), "src", args.toArray(String[]::new));
    }

    /**
     * Starts the NBD server of {@code dst} on host B's address and exports node {@code dst}
     * writable as {@code disk}; {@code serverExtra} is added to {@code nbd-server-start}'s arguments.
     *
     * @return the address host A uses to reach it (through the delay proxy when there is one)
     */
    HostPort serve(MachineProcess dst, String serverExtra) throws Exception {
        dst.ok("nbd-server-start", "\"addr\": {\"type\": \"inet\", \"data\": {\"host\": \"" + link.destination().address()
                + "\", \"port\": \"" + NBD_PORT + "\"}}" + serverExtra);
        dst.ok("block-export-add", "\"type\": \"nbd\", \"id\": \"exp0\", \"node-name\": \"dst\", \"name\": \"disk\", \"writable\": true");
        return link.reach(link.destination(), NBD_PORT);
    }

    /** The destination's blockdev for {@code image}, for Strata's and QEMU's command lines alike. */
    static String[] destinationDisk(Path image) {
        return new String[] {"-blockdev", "driver=qcow2,node-name=dst,file.driver=file,file.filename=" + image};
    }

    /** {@code blockdev-add} of an nbd node {@code remote} for {@code at} on {@code src}; {@code extra} adds options. */
    static void addRemote(MachineProcess src, HostPort at, String extra) throws Exception {
        src.ok("blockdev-add", "\"driver\": \"nbd\", \"node-name\": \"remote\", \"export\": \"disk\", \"server\": {\"type\": \"inet\", "
                + "\"host\": \"" + at.host() + "\", \"port\": \"" + at.port() + "\"}" + extra);
    }

    /** Waits for the job's READY event; returns the event count before it. */
    static void awaitReady(MachineProcess src, int since) throws InterruptedException {
        src.awaitEvent("BLOCK_JOB_READY", since, JOB_TIMEOUT);
    }

    /** Ends the job with {@code command} (cancel or complete) and waits for BLOCK_JOB_COMPLETED without an error. */
    static void finish(MachineProcess src, String command) throws Exception {
        int since = src.eventCount();
        src.ok(command, "\"device\": \"mig\"");
        String done = src.awaitEvent("BLOCK_JOB_COMPLETED", since, JOB_TIMEOUT);
        assertFalse(done.contains("\"error\""), done);
    }

    /**
     * {@code qemu-img compare} of the source image (opened shared: the source still runs) with the
     * destination's export, read over the link from host A.
     */
    void assertSameOverNbd(Path source, HostPort at, String... tlsArgs) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "compare", "-U"));
        if (tlsArgs.length == 0) {
            cmd.addAll(List.of("-f", "qcow2", "-F", "raw", source.toString(), "nbd://" + at + "/disk"));
        } else {
            cmd.addAll(List.of(tlsArgs));
            cmd.addAll(List.of("--image-opts", "driver=qcow2,file.driver=file,file.filename=" + source,
                    "driver=nbd,host=" + at.host() + ",port=" + at.port() + ",export=disk,tls-creds=tls0"));
        }
        String out = link.source().exec(cmd.toArray(String[]::new));
        assertTrue(out.contains("Images are identical"), out);
    }

    /** {@code qemu-img compare -U} equal (the source may still be open, paused). */
    static void assertSame(Path a, Path b) throws IOException {
        String out = must("qemu-img", "compare", "-U", a.toString(), b.toString());
        assertTrue(out.contains("Images are identical"), out);
    }

    /** {@code qemu-img compare} equal and {@code qemu-img check} clean on both (after both ends quit). */
    static void assertSameAndClean(Path a, Path b) throws IOException {
        String out = must("qemu-img", "compare", a.toString(), b.toString());
        assertTrue(out.contains("Images are identical"), out);
        assertClean(a);
        assertClean(b);
    }

    static void assertClean(Path image) throws IOException {
        String out = must("qemu-img", "check", image.toString());
        assertTrue(out.contains("No errors were found"), out);
    }

    /** The verifying guest's verdict in the source's output at quit: checked, nothing lost, torn or stale. */
    static void assertGuestVerified(String output) {
        assertTrue(output.contains("guest verify: virtio0: verified") && output.contains("OK, no failures"), output);
        assertFalse(output.contains("FAILED"), output);
    }

    static String must(String... cmd) throws IOException {
        NetCommands.Result r = NetCommands.run(cmd);
        assertEquals(0, r.status(), () -> String.join(" ", cmd) + ": " + r.output());
        return r.output();
    }

    @Override
    public void close() {
        for (MachineProcess m : machines) {
            try {
                m.close();
            } catch (IOException e) {
                // already gone
            }
        }
    }
}
