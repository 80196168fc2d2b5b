package dev.strata.blockdrv.nbd.client;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import dev.strata.blockdrv.nbd.tls.X509Credentials;
import java.util.Set;
import java.util.function.Function;
import java.util.concurrent.TimeUnit;

/**
 * Factory of the {@code nbd} protocol driver: {@code server.type=inet|unix} with
 * {@code server.host}/{@code server.port} or {@code server.path}, {@code export},
 * {@code reconnect-delay}, {@code open-timeout}, {@code tls-creds} (a client
 * {@code tls-creds-x509} object) and {@code tls-hostname}, or a filename
 * ({@code nbd://}, {@code nbd+tcp://}, {@code nbd+unix://}, {@code nbd:}). Stateless.
 */
public final class NbdClientFactory implements BlockDriverFactory {

    @Override
    public String name() {
        return "nbd";
    }

    @Override
    public boolean isProtocol() {
        return true;
    }

    @Override
    public boolean ownsFilename(String filename) {
        return filename.startsWith("nbd:") || filename.startsWith("nbd+");
    }

    @Override
    public Set<String> runtimeOptions() {
        return Set.of("server.type", "server.host", "server.port", "server.path", "export", "reconnect-delay",
                "open-timeout", "tls-creds", "tls-hostname");
    }

    @Override
    public Set<String> qemuOptionsNotImplemented() {
        return Set.of("x-dirty-bitmap", "server.cid", "server.str", "server.numeric", "server.to",
                "server.ipv4", "server.ipv6", "server.keep-alive", "server.mptcp", "server.abstract", "server.tight");
    }

    @Override
    public BlockDriver open(BlockNode node, BlockOptions options) {
        return open(node, options, id -> null);
    }

    @Override
    public BlockDriver open(BlockNode node, BlockOptions options, Function<String, Object> objects) {
        NbdClientTarget target = NbdClientTarget.of(options);
        String credsId = options.get("tls-creds");
        if (credsId != null) {
            X509Credentials creds = X509Credentials.forClient(objects.apply(credsId), credsId);
            target = target.withTls(creds.context(), options.get("tls-hostname"));
        } else if (options.has("tls-hostname")) {
            throw BlockException.invalid("tls-hostname is set but tls-creds is not");
        }
        NbdClientConnection c = connect(target);
        if (c.info.readOnly() && !node.isReadOnly()) {
            if (options.has("filename")) {
                // -drive file=nbd://...: QEMU's implicit auto-read-only makes the protocol node read-only
                node.setReadOnly(true);
            } else {
                c.close();
                throw new BlockException(BlockException.Kind.PERMISSION, "Could not open image: Permission denied");
            }
        }
        return new NbdClientDriver(target, c);
    }

    /** The first connection; with {@code open-timeout} connect failures are retried until it passes. */
    private static NbdClientConnection connect(NbdClientTarget target) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(target.openTimeoutSeconds());
        while (true) {
            try {
                return NbdClientConnection.open(target);
            } catch (BlockException e) {
                boolean retry = target.openTimeoutSeconds() > 0 && System.nanoTime() < deadline
                        && e.getMessage().startsWith("Failed to connect");
                if (!retry) {
                    throw e;
                }
            }
            try {
                Thread.sleep(NbdClientDriver.RETRY_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BlockException(BlockException.Kind.CANCELLED, "NBD connect interrupted");
            }
        }
    }
}
