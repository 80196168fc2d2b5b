package dev.strata.blockdrv.file;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.io.IOException;
import java.nio.file.Path;

/** Factory of the {@code file} protocol driver. */
public final class FileDriverFactory implements BlockDriverFactory {

    @Override
    public String name() {
        return "file";
    }

    @Override
    public boolean isProtocol() {
        return true;
    }

    @Override
    public java.util.Set<String> runtimeOptions() {
        return java.util.Set.of("aio");
    }

    @Override
    public java.util.Set<String> qemuOptionsNotImplemented() {
        return java.util.Set.of("aio-max-batch", "pr-manager", "x-check-cache-dropped", "drop-cache");
    }

    @Override
    public BlockDriver open(BlockNode node, BlockOptions options) {
        String filename = options.get("filename");
        if (filename == null) {
            throw BlockException.invalid("Parameter 'filename' is required");
        }
        String locking = options.get("locking", "auto");
        if (!locking.equals("auto") && !locking.equals("on") && !locking.equals("off")) {
            throw BlockException.invalid("Parameter 'locking' does not accept value '" + locking + "'");
        }
        String aio = options.get("aio", "threads");
        if (!aio.equals("threads")) {
            throw aio.equals("native") || aio.equals("io_uring")
                    ? BlockException.unsupported("aio=" + aio + " is not supported by Strata (its file I/O runs on threads: aio=threads)")
                    : BlockException.invalid("invalid aio option");
        }
        boolean forceShare = options.getBool("force-share", false);
        if (forceShare && !node.isReadOnly()) {
            throw BlockException.invalid("force-share=on can only be used with read-only images");
        }
        return new FileDriver(filename, node.isReadOnly(), options.getBool("x-unshare-write", false),
                !locking.equals("off") && !forceShare, node.cache().direct(), node.cache().noFlush());
    }

    /** Creates (or truncates) the host file to {@code size} bytes; sparse. */
    @Override
    public void create(Path file, long size, BlockOptions options) {
        HostFileTable.Handle claim = HostFileTable.get().claimForCreate(file);
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(0);
            raf.setLength(size); // ftruncate: the file stays sparse
        } catch (IOException e) {
            throw HostFiles.createFailed(file, e);
        } finally {
            claim.release();
        }
    }
}
