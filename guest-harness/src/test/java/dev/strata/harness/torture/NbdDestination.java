package dev.strata.harness.torture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The far end of a storage migration in a test: {@code qemu-nbd} serving a raw image as export
 * {@code dst} on a unix socket, which the test can kill (SIGKILL, like a host that died) and
 * start again on the same socket and image. With {@link #onSmallTmpfs} the image lives on a
 * tmpfs of a given size mounted in a private mount namespace of the server ({@code unshare -m}),
 * so filling it gives the server a real ENOSPC from the kernel; the mount vanishes with the
 * server, and {@link #grow} makes room without stopping it. Test thread only.
 */
final class NbdDestination implements AutoCloseable {

    private final Path dir;
    private final Path socket;
    private final long imageSize;
    /** Size of the tmpfs under the image, in MiB; 0: the image lives in {@code dir}. */
    private final int tmpfsMiB;
    private final Path image;
    private Process server;

    private NbdDestination(Path dir, long imageSize, int tmpfsMiB) {
        this.dir = dir;
        this.socket = dir.resolve("dst.sock");
        this.imageSize = imageSize;
        this.tmpfsMiB = tmpfsMiB;
        this.image = tmpfsMiB > 0 ? dir.resolve("full").resolve("dst.raw") : dir.resolve("dst.raw");
    }

    /** A blank raw image of {@code imageSize} bytes in {@code dir}, served at once. */
    static NbdDestination inDir(Path dir, long imageSize) throws IOException, InterruptedException {
        NbdDestination d = new NbdDestination(dir, imageSize, 0);
        Tools.must(dir, "qemu-img", "create", "-q", "-f", "raw", d.image.toString(), Long.toString(imageSize));
        d.start();
        return d;
    }

    /** A blank raw image on a tmpfs of {@code tmpfsMiB} MiB that only the server sees, served at once. */
    static NbdDestination onSmallTmpfs(Path dir, long imageSize, int tmpfsMiB) throws IOException, InterruptedException {
        NbdDestination d = new NbdDestination(dir, imageSize, tmpfsMiB);
        Files.createDirectories(d.image.getParent());
        d.start();
        return d;
    }

    /** Why a private mount namespace with a tmpfs cannot be made here, or null when it can. */
    static String whyNoTmpfs() {
        try {
            Process p = new ProcessBuilder("unshare", "-m", "--propagation", "private", "sh", "-c",
                    "mount -t tmpfs -o size=1M strata-probe /mnt").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "cannot mount a tmpfs in a private mount namespace (needs root): " + out;
            }
            return null;
        } catch (IOException | InterruptedException e) {
            return "cannot run unshare: " + e.getMessage();
        }
    }

    String uri() {
        return "nbd+unix:///dst?socket=" + socket;
    }

    Path socket() {
        return socket;
    }

    /** The image as the test can read it: through the server's mount namespace for a tmpfs image. */
    Path imageSeenFromHere() {
        return tmpfsMiB > 0 ? Path.of("/proc/" + server.pid() + "/root").resolve(image.toString().substring(1)) : image;
    }

    /** Starts the server on the socket, and returns once the socket accepts. */
    void start() throws IOException, InterruptedException {
        Files.deleteIfExists(socket);
        List<String> cmd = new ArrayList<>();
        String nbd = "exec qemu-nbd -t -e 4 -x dst -f raw -k '" + socket + "' '" + image + "'";
        if (tmpfsMiB > 0) {
            String mount = "mount -t tmpfs -o size=" + tmpfsMiB + "M strata-enospc '" + image.getParent() + "'";
            String create = "qemu-img create -q -f raw '" + image + "' " + imageSize;
            cmd.addAll(List.of("unshare", "-m", "--propagation", "private", "sh", "-c", mount + " && " + create + " && " + nbd));
        } else {
            cmd.addAll(List.of("sh", "-c", nbd));
        }
        server = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("qemu-nbd.log").toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(socket)) {
            if (!server.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("qemu-nbd did not start: " + Files.readString(dir.resolve("qemu-nbd.log")));
            }
            Thread.sleep(20);
        }
    }

    /** SIGKILL: the server and its connections vanish at once, as when its host dies. */
    void kill() throws InterruptedException {
        server.destroyForcibly();
        server.waitFor(30, TimeUnit.SECONDS);
    }

    /** Makes the tmpfs under the image {@code mib} MiB large, the server running on. */
    void grow(int mib) throws IOException {
        Tools.must(dir, "nsenter", "-t", Long.toString(server.pid()), "-m", "mount", "-o", "remount,size=" + mib + "M",
                image.getParent().toString());
    }

    @Override
    public void close() throws InterruptedException {
        if (server != null) {
            server.destroy();
            if (!server.waitFor(30, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
    }
}
