package dev.strata.blockdrv.nbd;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Binding an {@link NbdServer}'s listening socket (a 0600 unix socket put in place atomically, or
 * TCP with {@code SO_REUSEADDR}) and the system's reasons for failures in QEMU's words.
 * Stateless; the thread that starts the server.
 */
final class NbdListenSockets {

    private NbdListenSockets() {
    }

    /** The C library's words for the common failures, as QEMU prints them. */
    static String reason(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "Permission denied";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * Binds inside a private directory, makes the socket 0600 and renames it into place, so the
     * socket is never reachable with looser permissions.
     */
    static ServerSocketChannel bindUnix(Path path) throws IOException {
        Path abs = path.toAbsolutePath();
        Path parent = abs.getParent();
        Path tmpDir = Files.createTempDirectory(parent, ".nbd-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path tmp = tmpDir.resolve("s");
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(tmp), 128);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            if (Files.isDirectory(abs)) {
                throw new IOException(abs + " is a directory");
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            Files.deleteIfExists(tmp);
            throw e;
        } finally {
            Files.deleteIfExists(tmpDir);
        }
    }

    static ServerSocketChannel bindInet(NbdListenAddress.Inet i) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            InetSocketAddress sa = i.host().isEmpty() ? new InetSocketAddress(i.port()) : new InetSocketAddress(i.host(), i.port());
            if (sa.isUnresolved()) {
                throw new IOException("address resolution failed for " + i.host() + ":" + i.port() + ": Name or service not known");
            }
            ch.bind(sa, 128);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }
}
